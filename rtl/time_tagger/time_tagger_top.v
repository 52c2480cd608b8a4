// Time tagger FPGA: 8 input channels, coarse counter + fine code per hit, per-channel enable
// and dead time, on-device sync reduction, a FIFO whose overflow becomes in-band records, and a
// packer to the 32-bit word stream of docs/wire-format.md. The analogue TDC is outside: the
// front end hands each hit's fine code (0 .. FINE_BINS-1) in with it.
//
// Output: one word per clock when `out_ready` (an FT601-style 32-bit FIFO bus at 100 MHz,
// 400 MB/s, on hardware). Registers: a one-cycle register bus (the USB control endpoint).
//
// Per clock, in this order (rtl::model::time_tagger mirrors it, cycle for cycle):
//   1. front end: a hit is accepted when RUN, its channel enabled, and its dead time over;
//   2. sync reduction on SYNC_CHANNEL: divide by K; with the conditional filter, hold it;
//   3. a held sync is released when a detection arrives within the window, same epoch;
//   4. packer: WRAP at an epoch start (or the first running cycle), then the released sync,
//      then tags in channel order; if they do not fit below DEPTH - RESERVE the tagger enters
//      overflow: writes OVF_BEGIN, drops tags and counts them per channel, writes nothing else,
//      until the level (before this cycle's read) is <= LOW_WM; then it writes WRAP, OVF_END
//      and the missed counts, and drops that cycle's tags into those counts.
module time_tagger_top #(
    parameter DEPTH_LOG2 = 10,
    parameter RESERVE = 16,
    parameter LOW_WM = 256
) (
    input  wire        clk,
    input  wire        rst,
    input  wire [ 7:0] hit,
    input  wire [ 9:0] fine0,
    input  wire [ 9:0] fine1,
    input  wire [ 9:0] fine2,
    input  wire [ 9:0] fine3,
    input  wire [ 9:0] fine4,
    input  wire [ 9:0] fine5,
    input  wire [ 9:0] fine6,
    input  wire [ 9:0] fine7,
    input  wire        out_ready,
    output wire        out_valid,
    output wire [31:0] out_data,
    input  wire        reg_we,
    input  wire        reg_re,
    input  wire [ 7:0] reg_addr,
    input  wire [31:0] reg_wdata,
    output reg  [31:0] reg_rdata,
    output reg  [ 2:0] reg_status
);
`include "regmap.vh"
  localparam DEPTH = 1 << DEPTH_LOG2;
  localparam [3:0] K_WRAP = 4'h8, K_OVF_BEGIN = 4'h9, K_OVF_END = 4'hA, K_MISSED = 4'hC, K_MISSED_HI = 4'hD;

  // ---- FIFO ----
  reg [31:0] mem[0:DEPTH-1];
  reg [DEPTH_LOG2:0] wp, rp;
  wire [DEPTH_LOG2:0] level = wp - rp;
  assign out_valid = level != 0;
  assign out_data  = mem[rp[DEPTH_LOG2-1:0]];

  // ---- registers ----
  reg run;
  reg [7:0] ch_enable, det_mask;
  reg [10:0] fine_bins;
  reg [2:0] sync_ch;
  reg [15:0] sync_div;
  reg [31:0] cond_window;
  reg [15:0] dead_cyc[0:7];

  // ---- state ----
  reg [63:0] coarse;
  reg was_running, ovf;
  // First cycle each channel accepts a hit again (dead time as a time stamp, not a down
  // counter: an idle cycle then costs nothing per channel).
  reg [63:0] dead_until[0:7];
  reg [49:0] missed[0:7];
  reg [15:0] div_cnt;
  reg pend_valid;
  reg [63:0] pend_coarse;
  reg [9:0] pend_fine;
  reg [DEPTH_LOG2:0] max_level;
  reg [31:0] ovf_count, missed_total, tag_hi_latch;
  reg [63:0] tag_count;

  wire [17:0] coarse_lo = coarse[17:0];
  wire [27:0] epoch = coarse[45:18];
  wire [9:0] fine_in[0:7];
  assign fine_in[0] = fine0;
  assign fine_in[1] = fine1;
  assign fine_in[2] = fine2;
  assign fine_in[3] = fine3;
  assign fine_in[4] = fine4;
  assign fine_in[5] = fine5;
  assign fine_in[6] = fine6;
  assign fine_in[7] = fine7;

  // ---- register reads and write checks ----
  always @(*) begin
    reg_rdata  = 32'd0;
    reg_status = ST_OK;
    if (reg_we) reg_status = tt_write_status(reg_addr, reg_wdata);
    case (reg_addr)
      TT_ID: reg_rdata = TT_ID_RESET;
      TT_VERSION: reg_rdata = TT_VERSION_RESET;
      TT_CTRL: reg_rdata = {31'd0, run};
      TT_STATUS: reg_rdata = {30'd0, ovf, run};
      TT_CH_ENABLE: reg_rdata = {24'd0, ch_enable};
      TT_FINE_BINS: reg_rdata = {21'd0, fine_bins};
      TT_COARSE_PERIOD_PS: reg_rdata = TT_COARSE_PERIOD_PS_RESET;
      TT_SYNC_CHANNEL: reg_rdata = {29'd0, sync_ch};
      TT_SYNC_DIVIDER: reg_rdata = {16'd0, sync_div};
      TT_SYNC_COND_WINDOW_CYC: reg_rdata = cond_window;
      TT_DET_MASK: reg_rdata = {24'd0, det_mask};
      TT_FIFO_DEPTH: reg_rdata = DEPTH;
      TT_FIFO_LEVEL: reg_rdata = {{(31 - DEPTH_LOG2) {1'b0}}, level};
      TT_FIFO_MAX_LEVEL: reg_rdata = {{(31 - DEPTH_LOG2) {1'b0}}, max_level};
      TT_OVERFLOW_COUNT: reg_rdata = ovf_count;
      TT_TAG_COUNT_LO: reg_rdata = tag_count[31:0];
      TT_TAG_COUNT_HI: reg_rdata = tag_hi_latch;
      TT_MISSED_COUNT: reg_rdata = missed_total;
      TT_DEAD_TIME_CYC0, TT_DEAD_TIME_CYC1, TT_DEAD_TIME_CYC2, TT_DEAD_TIME_CYC3,
      TT_DEAD_TIME_CYC4, TT_DEAD_TIME_CYC5, TT_DEAD_TIME_CYC6, TT_DEAD_TIME_CYC7:
      reg_rdata = {16'd0, dead_cyc[reg_addr[2:0]]};
      default: if (reg_re) reg_status = ST_UNKNOWN_REG;
    endcase
  end

  // ---- datapath ----
  // Blocking assignments to the per-channel arrays and the FIFO memory: each is read and
  // written only in this block, and Verilator cannot delay array writes inside loops.
  /* verilator lint_off BLKSEQ */
  integer k, n;
  reg [7:0] acc;
  reg sync_pass, release_sync, cond_on, wrap_now, det_any;
  reg [4:0] ntag;
  reg [DEPTH_LOG2-1:0] widx;
  reg [31:0] rel_word;
  reg [DEPTH_LOG2:0] level_next;

  // Appends a word at the n-th free place (a macro, not a task: an inlined task costs the
  // simulation temporaries in every cycle).
`define PUT(word) begin widx = wp[DEPTH_LOG2-1:0] + n[DEPTH_LOG2-1:0]; mem[widx] = (word); n = n + 1; end

  // A fine code clamped to FINE_BINS - 1 (a macro: computed only for accepted hits).
`define CLAMP(f) (({1'b0, (f)} >= fine_bins) ? fine_bins[9:0] - 10'd1 : (f))

  always @(posedge clk) begin
    if (rst) begin
      run = 1'b0;
      ch_enable = TT_CH_ENABLE_RESET[7:0];
      det_mask = TT_DET_MASK_RESET[7:0];
      fine_bins = TT_FINE_BINS_RESET[10:0];
      sync_ch = TT_SYNC_CHANNEL_RESET[2:0];
      sync_div = TT_SYNC_DIVIDER_RESET[15:0];
      cond_window = TT_SYNC_COND_WINDOW_CYC_RESET;
      for (k = 0; k < 8; k = k + 1) dead_cyc[k] = TT_DEAD_TIME_CYC0_RESET[15:0];
      coarse = 64'd0;
    end
    if (rst || (reg_we && reg_addr == TT_CTRL && reg_status == ST_OK && reg_wdata[1])) begin
      // reset or CLEAR: the coarse counter keeps running (time is continuous)
      if (!rst) coarse = coarse + 64'd1;
      wp = 0;
      rp = 0;
      was_running = 1'b0;
      ovf = 1'b0;
      div_cnt = 16'd0;
      pend_valid = 1'b0;
      pend_coarse = 64'd0;
      pend_fine = 10'd0;
      max_level = 0;
      ovf_count = 32'd0;
      missed_total = 32'd0;
      tag_count = 64'd0;
      tag_hi_latch = 32'd0;
      for (k = 0; k < 8; k = k + 1) begin
        dead_until[k] = 64'd0;
        missed[k] = 50'd0;
      end
      if (!rst) run = reg_wdata[0];
    end else begin
      n = 0;
      cond_on = cond_window != 32'd0;
      // 1. front end
      acc = 8'd0;
      if (run && (hit & ch_enable) != 8'd0) begin
        for (k = 0; k < 8; k = k + 1) begin
          if (ch_enable[k] && hit[k] && coarse >= dead_until[k]) begin
            acc[k] = 1'b1;
            dead_until[k] = coarse + {48'd0, dead_cyc[k]} + 64'd1;
          end
        end
      end
      // 2. sync reduction
      sync_pass = 1'b0;
      if (acc[sync_ch]) begin
        sync_pass = div_cnt == 16'd0;
        div_cnt = ({16'd0, div_cnt} + 32'd1 >= {16'd0, sync_div}) ? 16'd0 : div_cnt + 16'd1;
        acc[sync_ch] = sync_pass && !cond_on;
      end
      // 3. release of a held sync
      det_any = (acc & det_mask & ~(8'd1 << sync_ch)) != 8'd0;
      release_sync = cond_on && pend_valid && det_any && (coarse - pend_coarse <= {32'd0, cond_window})
                     && (pend_coarse[63:18] == coarse[63:18]);
      // keep the released sync: a new sync in this cycle takes its place in the hold register
      rel_word = {1'b0, sync_ch, pend_coarse[17:0], pend_fine};
      if (release_sync) pend_valid = 1'b0;
      if (cond_on && sync_pass) begin
        pend_valid = 1'b1;
        pend_coarse = coarse;
        pend_fine = `CLAMP(fine_in[sync_ch]);
      end
      // 4. packer
      wrap_now = run && (coarse_lo == 18'd0 || !was_running);
      was_running = run;
      ntag = {4'd0, release_sync};
      if (acc != 8'd0) for (k = 0; k < 8; k = k + 1) ntag = ntag + {4'd0, acc[k]};
      if (!ovf) begin
        if ({21'd0, level} + {31'd0, wrap_now} + {27'd0, ntag} > DEPTH - RESERVE) begin
          if (wrap_now) `PUT({K_WRAP, epoch})
          `PUT({K_OVF_BEGIN, coarse_lo, 10'd0})
          ovf = 1'b1;
          ovf_count = ovf_count + 32'd1;
          if (release_sync) missed[sync_ch] = missed[sync_ch] + 50'd1;
          if (acc != 8'd0) for (k = 0; k < 8; k = k + 1) if (acc[k]) missed[k] = missed[k] + 50'd1;
          missed_total = missed_total + {27'd0, ntag};
        end else begin
          if (wrap_now) `PUT({K_WRAP, epoch})
          if (release_sync) `PUT(rel_word)
          if (acc != 8'd0)
            for (k = 0; k < 8; k = k + 1) if (acc[k]) `PUT({1'b0, k[2:0], coarse_lo, `CLAMP(fine_in[k])})
          tag_count = tag_count + {59'd0, ntag};
        end
      end else begin
        if (release_sync) missed[sync_ch] = missed[sync_ch] + 50'd1;
        if (acc != 8'd0) for (k = 0; k < 8; k = k + 1) if (acc[k]) missed[k] = missed[k] + 50'd1;
        missed_total = missed_total + {27'd0, ntag};
        if ({21'd0, level} <= LOW_WM) begin
          `PUT({K_WRAP, epoch})
          `PUT({K_OVF_END, coarse_lo, 10'd0})
          for (k = 0; k < 8; k = k + 1) begin
            if (missed[k] != 50'd0) begin
              if (missed[k][49:25] != 25'd0) `PUT({K_MISSED_HI, k[2:0], missed[k][49:25]})
              `PUT({K_MISSED, k[2:0], missed[k][24:0]})
              missed[k] = 50'd0;
            end
          end
          ovf = 1'b0;
        end
      end
      // read side and pointers
      level_next = level + n[DEPTH_LOG2:0] - {{DEPTH_LOG2{1'b0}}, (out_ready && level != 0)};
      if (out_ready && level != 0) rp = rp + 1;
      wp = wp + n[DEPTH_LOG2:0];
      if (level_next > max_level) max_level = level_next;
      coarse = coarse + 64'd1;

      // register side effects (settings apply from the next cycle)
      if (reg_re && reg_addr == TT_TAG_COUNT_LO) tag_hi_latch = tag_count[63:32];
      if (reg_we && reg_status == ST_OK) begin
        case (reg_addr)
          TT_CTRL: run = reg_wdata[0];
          TT_CH_ENABLE: ch_enable = reg_wdata[7:0];
          TT_FINE_BINS: fine_bins = reg_wdata[10:0];
          TT_SYNC_CHANNEL: sync_ch = reg_wdata[2:0];
          TT_SYNC_DIVIDER: sync_div = reg_wdata[15:0];
          TT_SYNC_COND_WINDOW_CYC: cond_window = reg_wdata;
          TT_DET_MASK: det_mask = reg_wdata[7:0];
          TT_DEAD_TIME_CYC0, TT_DEAD_TIME_CYC1, TT_DEAD_TIME_CYC2, TT_DEAD_TIME_CYC3,
          TT_DEAD_TIME_CYC4, TT_DEAD_TIME_CYC5, TT_DEAD_TIME_CYC6, TT_DEAD_TIME_CYC7:
          dead_cyc[reg_addr[2:0]] = reg_wdata[15:0];
          default: ;
        endcase
      end
    end
  end
  /* verilator lint_on BLKSEQ */
`undef PUT
`undef CLAMP
endmodule
