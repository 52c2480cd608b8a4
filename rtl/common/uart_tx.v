// UART transmitter, 8N1, LSB first. `start` with `data` is taken when `busy` is low.
module uart_tx #(
    parameter CLKS_PER_BIT = 868
) (
    input  wire       clk,
    input  wire       rst,
    input  wire [7:0] data,
    input  wire       start,
    output reg        tx,
    output wire       busy
);
  localparam [31:0] LAST = CLKS_PER_BIT - 1;
  reg [9:0] shreg;
  reg [3:0] nbits;
  reg [31:0] cnt;
  assign busy = nbits != 4'd0;

  // shreg and cnt are only read here: blocking assignments, no shadow copies.
  /* verilator lint_off BLKSEQ */
  always @(posedge clk) begin
    if (rst) begin
      tx    <= 1'b1;
      nbits <= 4'd0;
      cnt   = 32'd0;
      shreg = 10'h3FF;
    end else if (nbits == 4'd0) begin
      tx <= 1'b1;
      if (start) begin
        shreg = {1'b1, data, 1'b0};
        nbits <= 4'd10;
        cnt   = 32'd0;
      end
    end else begin
      tx <= shreg[0];
      if (cnt == LAST) begin
        cnt   = 32'd0;
        shreg = {1'b1, shreg[9:1]};
        nbits <= nbits - 4'd1;
      end else cnt = cnt + 32'd1;
    end
  end
  /* verilator lint_on BLKSEQ */
endmodule
