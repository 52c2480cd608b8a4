// Decoy-state BB84 pattern generator core: one symbol per pulse slot (one slot per clock while
// running), chosen by a counter-mode generator so that the symbol of slot i is a pure function
// of (seed, settings, i) that the host recomputes in O(1) (rtl::model::pattern_gen).
//
// Counter-mode generator: r_i = mix64(seed + (i + 1) * GAMMA), the SplitMix64 output function
// (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014). It is
// statistically strong but NOT cryptographic: bench mode tests optics; a real key needs the
// external-random mode fed by a QRNG. On an FPGA the two multiplies map to DSP blocks and are
// pipelined; here the output register gives the one-cycle latency such a pipeline would have.
//
//   class  = first k with r[15:0] < CLASS_THRk, else 3
//   basis  = r[31:16] < BASIS_THR ? Z (0) : X (1)
//   bit    = r[32]
//   sync   = i % SYNC_PERIOD == 0;  frame = sync && (i / SYNC_PERIOD) % FRAME_PERIOD == 0
module pattern_gen_core (
    input  wire        clk,
    input  wire        rst,
    // register bus (one-cycle strobes)
    input  wire        bus_we,
    input  wire        bus_re,
    input  wire [ 7:0] bus_addr,
    input  wire [31:0] bus_wdata,
    output reg  [31:0] bus_rdata,
    output reg  [ 2:0] bus_status,
    // external random bits (EXT_MODE), one 64-bit word per slot
    input  wire [63:0] ext_rand,
    input  wire        ext_valid,
    // slot outputs, registered
    output reg         slot_valid,
    output reg         laser_fire,
    output reg  [ 1:0] sym_class,
    output reg         sym_basis,
    output reg         sym_bit,
    output reg  [15:0] dac_code,
    output reg  [ 3:0] pol_sel,
    output reg         sync_out,
    output reg         frame_out
);
`include "regmap.vh"
  localparam [63:0] GAMMA = 64'h9E3779B97F4A7C15;

  // Registers.
  reg run, ext_mode, underflow_seen;
  reg [63:0] seed;
  reg [16:0] thr0, thr1, thr2, basis_thr;
  reg [15:0] dac0, dac1, dac2, dac3, pol_map;
  reg [31:0] sync_period, frame_period, scratch;
  // Counters.
  reg [63:0] pulse_cnt;
  reg [31:0] sync_cnt, frame_cnt, pulse_hi_latch, underflow_cnt;

  // ---- register reads and write checks (combinational) ----
  always @(*) begin
    bus_rdata = 32'd0;
    bus_status = ST_OK;
    if (bus_we) bus_status = pg_write_status(bus_addr, bus_wdata);
    case (bus_addr)
      PG_ID: bus_rdata = PG_ID_RESET;
      PG_VERSION: bus_rdata = PG_VERSION_RESET;
      PG_CTRL: bus_rdata = {30'd0, ext_mode, run};
      PG_STATUS: bus_rdata = {29'd0, underflow_seen, ext_mode, run};
      PG_SEED_LO: bus_rdata = seed[31:0];
      PG_SEED_HI: bus_rdata = seed[63:32];
      PG_CLASS_THR0: bus_rdata = {15'd0, thr0};
      PG_CLASS_THR1: bus_rdata = {15'd0, thr1};
      PG_CLASS_THR2: bus_rdata = {15'd0, thr2};
      PG_BASIS_THR: bus_rdata = {15'd0, basis_thr};
      PG_DAC_CODE0: bus_rdata = {16'd0, dac0};
      PG_DAC_CODE1: bus_rdata = {16'd0, dac1};
      PG_DAC_CODE2: bus_rdata = {16'd0, dac2};
      PG_DAC_CODE3: bus_rdata = {16'd0, dac3};
      PG_POL_MAP: bus_rdata = {16'd0, pol_map};
      PG_SYNC_PERIOD: bus_rdata = sync_period;
      PG_FRAME_PERIOD: bus_rdata = frame_period;
      PG_PULSE_CNT_LO: bus_rdata = pulse_cnt[31:0];
      PG_PULSE_CNT_HI: bus_rdata = pulse_hi_latch;
      PG_EXT_UNDERFLOW_CNT: bus_rdata = underflow_cnt;
      PG_SCRATCH: bus_rdata = scratch;
      default: if (bus_re) bus_status = ST_UNKNOWN_REG;
    endcase
  end

  // ---- symbol of the current slot (combinational) ----
  // mix64 as three wires (a function inlined into the clocked block costs the simulation
  // a set of temporaries per cycle; in hardware it is the same two-multiplier pipeline).
  wire [63:0] z0 = seed + (pulse_cnt + 64'd1) * GAMMA;
  wire [63:0] z1 = (z0 ^ (z0 >> 30)) * 64'hBF58476D1CE4E5B9;
  wire [63:0] z2 = (z1 ^ (z1 >> 27)) * 64'h94D049BB133111EB;
  wire [63:0] r_prng = z2 ^ (z2 >> 31);
  wire [63:0] r = ext_mode ? ext_rand : r_prng;
  wire fire = !ext_mode || ext_valid;
  wire [1:0] cls = ({1'b0, r[15:0]} < thr0) ? 2'd0 : ({1'b0, r[15:0]} < thr1) ? 2'd1 :
                   ({1'b0, r[15:0]} < thr2) ? 2'd2 : 2'd3;
  wire basis = ({1'b0, r[31:16]} < basis_thr) ? 1'b0 : 1'b1;
  wire bitv = r[32];
  wire [1:0] state_idx = {basis, bitv};
  wire [15:0] dac = (cls == 2'd0) ? dac0 : (cls == 2'd1) ? dac1 : (cls == 2'd2) ? dac2 : dac3;
  wire [3:0] pol = pol_map[state_idx*4+:4];

  always @(posedge clk) begin
    slot_valid <= 1'b0;
    if (rst) begin
      run <= 1'b0;
      ext_mode <= 1'b0;
      underflow_seen <= 1'b0;
      seed <= {PG_SEED_HI_RESET, PG_SEED_LO_RESET};
      thr0 <= PG_CLASS_THR0_RESET[16:0];
      thr1 <= PG_CLASS_THR1_RESET[16:0];
      thr2 <= PG_CLASS_THR2_RESET[16:0];
      basis_thr <= PG_BASIS_THR_RESET[16:0];
      dac0 <= PG_DAC_CODE0_RESET[15:0];
      dac1 <= PG_DAC_CODE1_RESET[15:0];
      dac2 <= PG_DAC_CODE2_RESET[15:0];
      dac3 <= PG_DAC_CODE3_RESET[15:0];
      pol_map <= PG_POL_MAP_RESET[15:0];
      sync_period <= PG_SYNC_PERIOD_RESET;
      frame_period <= PG_FRAME_PERIOD_RESET;
      scratch <= 32'd0;
      pulse_cnt <= 64'd0;
      sync_cnt <= 32'd0;
      frame_cnt <= 32'd0;
      pulse_hi_latch <= 32'd0;
      underflow_cnt <= 32'd0;
      laser_fire <= 1'b0;
    end else begin
      // ---- one pulse slot per clock while running ----
      if (run) begin
        slot_valid <= 1'b1;
        laser_fire <= fire;
        sym_class <= fire ? cls : 2'd0;
        sym_basis <= fire ? basis : 1'b0;
        sym_bit <= fire ? bitv : 1'b0;
        dac_code <= fire ? dac : 16'd0;
        pol_sel <= fire ? pol : 4'd0;
        sync_out <= sync_cnt == 32'd0;
        frame_out <= sync_cnt == 32'd0 && frame_cnt == 32'd0;
        pulse_cnt <= pulse_cnt + 64'd1;
        if (!fire) begin
          underflow_seen <= 1'b1;
          underflow_cnt <= underflow_cnt + 32'd1;
        end
        if (sync_cnt + 32'd1 >= sync_period) begin
          sync_cnt <= 32'd0;
          frame_cnt <= (frame_cnt + 32'd1 >= frame_period) ? 32'd0 : frame_cnt + 32'd1;
        end else sync_cnt <= sync_cnt + 32'd1;
      end

      // ---- register accesses ----
      if (bus_re && bus_addr == PG_PULSE_CNT_LO) pulse_hi_latch <= pulse_cnt[63:32];
      if (bus_we && bus_status == ST_OK) begin
        case (bus_addr)
          PG_CTRL: begin
            run <= bus_wdata[0];
            ext_mode <= bus_wdata[1];
            if (bus_wdata[2]) begin
              pulse_cnt <= 64'd0;
              sync_cnt <= 32'd0;
              frame_cnt <= 32'd0;
              underflow_cnt <= 32'd0;
              underflow_seen <= 1'b0;
            end
          end
          PG_SEED_LO: seed[31:0] <= bus_wdata;
          PG_SEED_HI: seed[63:32] <= bus_wdata;
          PG_CLASS_THR0: thr0 <= bus_wdata[16:0];
          PG_CLASS_THR1: thr1 <= bus_wdata[16:0];
          PG_CLASS_THR2: thr2 <= bus_wdata[16:0];
          PG_BASIS_THR: basis_thr <= bus_wdata[16:0];
          PG_DAC_CODE0: dac0 <= bus_wdata[15:0];
          PG_DAC_CODE1: dac1 <= bus_wdata[15:0];
          PG_DAC_CODE2: dac2 <= bus_wdata[15:0];
          PG_DAC_CODE3: dac3 <= bus_wdata[15:0];
          PG_POL_MAP: pol_map <= bus_wdata[15:0];
          PG_SYNC_PERIOD: sync_period <= bus_wdata;
          PG_FRAME_PERIOD: frame_period <= bus_wdata;
          PG_SCRATCH: scratch <= bus_wdata;
          default: ;
        endcase
      end
    end
  end
endmodule
