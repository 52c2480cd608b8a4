// UART register bridge: turns 8-byte request frames into register-bus accesses and answers
// every frame it receives with an 8-byte reply frame, including an error reply for a bad CRC,
// an unknown register, a read-only register, a bad value or a bad opcode (never silence, so a
// host never waits for a reply that will not come).
//
//   request  A5 op addr d0 d1 d2 d3 crc     op 01 write, 02 read; data little-endian
//   reply    5A st addr d0 d1 d2 d3 crc     st = status code (regmap.toml [status])
//
// Bytes before a sync byte are skipped. A partial frame followed by TIMEOUT_BYTES byte-times of
// silence is discarded, so a truncated frame cannot wedge the parser.
module reg_bridge #(
    parameter CLKS_PER_BIT  = 868,
    parameter TIMEOUT_BYTES = 4
) (
    input  wire        clk,
    input  wire        rst,
    input  wire [ 7:0] rx_data,
    input  wire        rx_valid,
    output reg  [ 7:0] tx_data,
    output reg         tx_start,
    input  wire        tx_busy,
    output reg         bus_we,
    output reg         bus_re,
    output reg  [ 7:0] bus_addr,
    output reg  [31:0] bus_wdata,
    input  wire [31:0] bus_rdata,
    input  wire [ 2:0] bus_status
);
`include "regmap.vh"
`include "crc8.vh"
  localparam [31:0] TIMEOUT_CYC = CLKS_PER_BIT * 10 * TIMEOUT_BYTES;
  localparam [1:0] S_IDLE = 2'd0, S_EXEC = 2'd1, S_SEND = 2'd2;
  localparam [1:0] T_ISSUE = 2'd0, T_WAIT_BUSY = 2'd1, T_WAIT_IDLE = 2'd2;

  // Frame assembly.
  reg [2:0] idx;
  reg [7:0] crc;
  reg [7:0] f_op, f_addr;
  reg [31:0] f_data;
  reg [31:0] silence;
  // The last complete frame, waiting to be executed.
  reg pending, p_crc_ok;
  reg [7:0] p_op, p_addr;
  reg [31:0] p_data;
  // Execution and reply.
  reg [1:0] state, tstate;
  reg [2:0] nsent;
  reg [7:0] r_status, r_addr;
  reg [31:0] r_data;

  function automatic [7:0] reply_byte(input [2:0] i, input [7:0] st, input [7:0] ad, input [31:0] d);
    reg [7:0] c;
    begin
      c = crc8_byte(8'h00, 8'h5A);
      c = crc8_byte(c, st);
      c = crc8_byte(c, ad);
      c = crc8_byte(c, d[7:0]);
      c = crc8_byte(c, d[15:8]);
      c = crc8_byte(c, d[23:16]);
      c = crc8_byte(c, d[31:24]);
      case (i)
        3'd0: reply_byte = 8'h5A;
        3'd1: reply_byte = st;
        3'd2: reply_byte = ad;
        3'd3: reply_byte = d[7:0];
        3'd4: reply_byte = d[15:8];
        3'd5: reply_byte = d[23:16];
        3'd6: reply_byte = d[31:24];
        default: reply_byte = c;
      endcase
    end
  endfunction

  // Registers only this block reads use blocking assignments (each is read before it is
  // written in a cycle), so the simulation keeps no shadow copies of them. Outputs to the
  // UART and the core stay non-blocking.
  /* verilator lint_off BLKSEQ */
  always @(posedge clk) begin
    bus_we   <= 1'b0;
    bus_re   <= 1'b0;
    tx_start <= 1'b0;
    if (rst) begin
      idx     = 3'd0;
      crc     = 8'd0;
      silence = 32'd0;
      pending = 1'b0;
      state   = S_IDLE;
      tstate  = T_ISSUE;
      nsent   = 3'd0;
    end else begin
      // ---- receive ----
      if (rx_valid) begin
        silence = 32'd0;
        if (idx == 3'd0) begin
          if (rx_data == 8'hA5) begin
            idx = 3'd1;
            crc = crc8_byte(8'h00, 8'hA5);
          end
        end else begin
          case (idx)
            3'd1: f_op = rx_data;
            3'd2: f_addr = rx_data;
            3'd3: f_data[7:0] = rx_data;
            3'd4: f_data[15:8] = rx_data;
            3'd5: f_data[23:16] = rx_data;
            3'd6: f_data[31:24] = rx_data;
            default: ;
          endcase
          if (idx == 3'd7) begin
            idx      = 3'd0;
            pending  = 1'b1;  // a frame arriving while one waits replaces it
            p_crc_ok = (rx_data == crc);
            p_op     = f_op;
            p_addr   = f_addr;
            p_data   = f_data;
          end else begin
            idx = idx + 3'd1;
            crc = crc8_byte(crc, rx_data);
          end
        end
      end else if (idx != 3'd0) begin
        if (silence >= TIMEOUT_CYC) begin
          idx     = 3'd0;
          silence = 32'd0;
        end else silence = silence + 32'd1;
      end

      // ---- execute and reply ----
      case (state)
        S_IDLE:
        if (pending) begin
          pending   = 1'b0;
          r_addr    = p_addr;
          bus_addr  <= p_addr;
          bus_wdata <= p_data;
          if (!p_crc_ok) begin
            r_status = {5'd0, ST_BAD_CRC};
            r_data   = 32'd0;
            state    = S_SEND;
          end else if (p_op == 8'h01) begin
            bus_we <= 1'b1;
            state  = S_EXEC;
          end else if (p_op == 8'h02) begin
            bus_re <= 1'b1;
            state  = S_EXEC;
          end else begin
            r_status = {5'd0, ST_BAD_OP};
            r_data   = 32'd0;
            state    = S_SEND;
          end
        end
        S_EXEC: begin
          // The core answers combinationally during the strobe cycle.
          r_status = {5'd0, bus_status};
          r_data   = (bus_status == ST_OK) ? (bus_we ? bus_wdata : bus_rdata) : 32'd0;
          state    = S_SEND;
        end
        default:  // S_SEND
        case (tstate)
          T_ISSUE: begin
            tx_data  <= reply_byte(nsent, r_status, r_addr, r_data);
            tx_start <= 1'b1;
            tstate   = T_WAIT_BUSY;
          end
          T_WAIT_BUSY: if (tx_busy) tstate = T_WAIT_IDLE;
          default:
          if (!tx_busy) begin
            tstate = T_ISSUE;
            if (nsent == 3'd7) begin
              nsent = 3'd0;
              state = S_IDLE;
            end else nsent = nsent + 3'd1;
          end
        endcase
      endcase
    end
  end
  /* verilator lint_on BLKSEQ */
endmodule
