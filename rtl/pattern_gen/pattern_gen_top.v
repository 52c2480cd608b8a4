// Top of the pattern-generator FPGA: UART PHY + register bridge + generator core.
// On a board, `rx`/`tx` go to the USB-UART chip and the slot outputs to the laser drivers,
// the intensity-modulator DAC and the sync/frame outputs.
module pattern_gen_top #(
    parameter CLKS_PER_BIT = 868
) (
    input  wire        clk,
    input  wire        rst,
    input  wire        rx,
    output wire        tx,
    input  wire [63:0] ext_rand,
    input  wire        ext_valid,
    output wire        slot_valid,
    output wire        laser_fire,
    output wire [ 1:0] sym_class,
    output wire        sym_basis,
    output wire        sym_bit,
    output wire [15:0] dac_code,
    output wire [ 3:0] pol_sel,
    output wire        sync_out,
    output wire        frame_out
);
  wire [7:0] rx_data, tx_data;
  wire rx_valid, tx_start, tx_busy;
  wire bus_we, bus_re;
  wire [7:0] bus_addr;
  wire [31:0] bus_wdata, bus_rdata;
  wire [2:0] bus_status;

  uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_rx (
      .clk(clk), .rst(rst), .rx(rx), .data(rx_data), .valid(rx_valid)
  );
  uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_tx (
      .clk(clk), .rst(rst), .data(tx_data), .start(tx_start), .tx(tx), .busy(tx_busy)
  );
  reg_bridge #(.CLKS_PER_BIT(CLKS_PER_BIT)) u_bridge (
      .clk(clk), .rst(rst),
      .rx_data(rx_data), .rx_valid(rx_valid),
      .tx_data(tx_data), .tx_start(tx_start), .tx_busy(tx_busy),
      .bus_we(bus_we), .bus_re(bus_re), .bus_addr(bus_addr), .bus_wdata(bus_wdata),
      .bus_rdata(bus_rdata), .bus_status(bus_status)
  );
  pattern_gen_core u_core (
      .clk(clk), .rst(rst),
      .bus_we(bus_we), .bus_re(bus_re), .bus_addr(bus_addr), .bus_wdata(bus_wdata),
      .bus_rdata(bus_rdata), .bus_status(bus_status),
      .ext_rand(ext_rand), .ext_valid(ext_valid),
      .slot_valid(slot_valid), .laser_fire(laser_fire), .sym_class(sym_class),
      .sym_basis(sym_basis), .sym_bit(sym_bit), .dac_code(dac_code), .pol_sel(pol_sel),
      .sync_out(sync_out), .frame_out(frame_out)
  );
endmodule
