// UART receiver, 8 data bits, no parity, 1 stop bit (8N1), LSB first.
// CLKS_PER_BIT clock cycles per bit; the line is synchronised with two flops and each bit is
// sampled once, in its middle. A frame whose stop bit is low (framing error) is dropped.
module uart_rx #(
    parameter CLKS_PER_BIT = 868
) (
    input  wire       clk,
    input  wire       rst,
    input  wire       rx,
    output reg  [7:0] data,
    output reg        valid
);
  localparam [31:0] LAST = CLKS_PER_BIT - 1;
  localparam [31:0] HALF = CLKS_PER_BIT / 2 - 1;
  localparam IDLE = 2'd0, START = 2'd1, DATA = 2'd2, STOP = 2'd3;
  reg rx_s1, rx_s2;
  reg [1:0] state;
  reg [31:0] cnt;
  reg [2:0] bitn;

  // Registers only this block reads are assigned with blocking assignments (in the order
  // a non-blocking update would see them): the simulation then needs no shadow copies.
  /* verilator lint_off BLKSEQ */
  always @(posedge clk) begin
    valid <= 1'b0;
    if (rst) begin
      state = IDLE;
      cnt   = 32'd0;
      bitn  = 3'd0;
      rx_s1 = 1'b1;
      rx_s2 = 1'b1;
    end else begin
      case (state)
        IDLE:
        if (!rx_s2) begin
          state = START;
          cnt   = 32'd0;
        end
        START:
        if (cnt == HALF) begin
          cnt   = 32'd0;
          bitn  = 3'd0;
          state = rx_s2 ? IDLE : DATA;  // a glitch, not a start bit
        end else cnt = cnt + 32'd1;
        DATA:
        if (cnt == LAST) begin
          cnt  = 32'd0;
          data <= {rx_s2, data[7:1]};
          if (bitn == 3'd7) state = STOP;
          bitn = bitn + 3'd1;
        end else cnt = cnt + 32'd1;
        default:  // STOP
        if (cnt == LAST) begin
          cnt   = 32'd0;
          state = IDLE;
          valid <= rx_s2;
        end else cnt = cnt + 32'd1;
      endcase
      // the synchroniser shifts last: the state machine above saw last cycle's sample
      rx_s2 = rx_s1;
      rx_s1 = rx;
    end
  end
  /* verilator lint_on BLKSEQ */
endmodule
