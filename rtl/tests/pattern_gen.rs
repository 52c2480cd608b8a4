//! The pattern-generator RTL against its golden model, and its UART register bridge.

use proptest::prelude::*;
use rtl::frame::{self, Op};
use rtl::model::pattern_gen::{self as model, PatternSettings};
use rtl::regmap::{pattern_gen as reg, status};
use rtl::{PatternGenRtl, RtlError};

const CTRL_RUN: u32 = 1;
const CTRL_EXT: u32 = 2;
const CTRL_CLEAR: u32 = 4;

fn program(pg: &mut PatternGenRtl, s: &PatternSettings) {
    for (addr, v) in s.register_writes() {
        pg.write_reg(addr, v).unwrap_or_else(|e| panic!("write {addr:#x} = {v}: {e}"));
    }
}

/// Runs `slots` pulse slots from a cleared counter and returns every slot word.
fn run_slots(pg: &mut PatternGenRtl, n: usize) -> Vec<u32> {
    let mut out = Vec::with_capacity(n + 200_000);
    pg.write_reg(reg::CTRL, CTRL_RUN | CTRL_CLEAR).unwrap();
    while out.len() < n {
        pg.step((n - out.len()) as u64, &mut out);
    }
    out
}

fn settings_strategy() -> impl Strategy<Value = PatternSettings> {
    (
        any::<u64>(),
        prop::collection::vec(0u32..=65536, 3),
        0u32..=65536,
        any::<[u16; 4]>(),
        any::<u16>(),
        1u32..5000,
        1u32..200,
        any::<bool>(),
    )
        .prop_map(|(seed, mut thr, basis_thr, dac_code, pol_map, sync_period, frame_period, sorted)| {
            // Thresholds out of order are legal register values: the priority chain ("first
            // class k with u < thr_k") must behave the same in RTL and model.
            if sorted {
                thr.sort_unstable();
            }
            PatternSettings {
                seed,
                class_thr: [thr[0], thr[1], thr[2]],
                basis_thr,
                dac_code,
                pol_map,
                sync_period,
                frame_period,
            }
        })
}

proptest! {
    // Shrinking a 1e6-slot case can take hours: capped (ms).
    #![proptest_config(ProptestConfig { cases: 8, max_shrink_time: 60_000, ..ProptestConfig::default() })]

    /// Bench mode: 1e6 slots per case, RTL and model word for word.
    #[test]
    fn rtl_matches_model_in_bench_mode(s in settings_strategy()) {
        let mut pg = PatternGenRtl::new();
        program(&mut pg, &s);
        let n = 1_000_000;
        let words = run_slots(&mut pg, n);
        for (i, w) in words.iter().enumerate().take(n) {
            let want = model::slot_word(&s, i as u64).0;
            prop_assert_eq!(*w, want, "slot {} differs: rtl {:#010x} model {:#010x}", i, w, want);
        }
    }
}

/// CTRL.CLEAR while running (issue 16): the pulse index restarts at 0, and after the
/// write's reply every word is the model's from there on; then new settings, programmed
/// while stopped, take effect at the next start.
#[test]
fn clear_restarts_the_index_and_new_settings_apply_at_the_next_start() {
    let s = PatternSettings { sync_period: 50, frame_period: 3, ..Default::default() };
    let mut pg = PatternGenRtl::new();
    program(&mut pg, &s);
    let first = run_slots(&mut pg, 100_000);
    assert_eq!(first[..1000], (0..1000).map(|i| model::slot_word(&s, i).0).collect::<Vec<_>>()[..]);
    pg.write_reg(reg::CTRL, CTRL_RUN | CTRL_CLEAR).unwrap();
    let mut after = Vec::new();
    pg.step(100_000, &mut after);
    // The slots emitted while the write was on the wire come first (kept by the bridge): the
    // old index runs on until the write's strobe, then index 0 again. Find the restart.
    let restart: Vec<u32> = (0..64).map(|i| model::slot_word(&s, i).0).collect();
    let k0 = after.windows(64).position(|w| w == &restart[..]).expect("the index restarts at 0 after CLEAR");
    // A write is a 8-byte request and an 8-byte reply at 115200 baud: at most ~140k cycles.
    assert!(k0 < 150_000, "CLEAR took effect {k0} slots into the write");
    for (k, w) in after[k0..].iter().enumerate() {
        assert_eq!(*w, model::slot_word(&s, k as u64).0, "slot {k} after CLEAR");
    }
    // Before the strobe, the old index ran on without a gap.
    let old_from = first.len() as u64;
    for (k, w) in after[..k0].iter().enumerate() {
        assert_eq!(
            *w,
            model::slot_word(&s, old_from + k as u64).0,
            "slot {} before CLEAR took effect",
            old_from + k as u64
        );
    }
    // Stop, program other settings (thresholds out of order too), start: the model of the
    // new settings from index 0.
    pg.write_reg(reg::CTRL, 0).unwrap();
    // The slots emitted while the stop was on the wire (kept by the bridge) belong to the
    // old run.
    let mut tail = Vec::new();
    pg.step(0, &mut tail);
    let s2 = PatternSettings { seed: 99, class_thr: [50_000, 20_000, 65_536], sync_period: 7, ..s };
    program(&mut pg, &s2);
    let words = run_slots(&mut pg, 50_000);
    for (i, w) in words.iter().enumerate().take(50_000) {
        assert_eq!(*w, model::slot_word(&s2, i as u64).0, "slot {i} with the new settings");
    }
}

#[test]
fn rtl_matches_model_in_external_random_mode() {
    let s =
        PatternSettings { class_thr: [40000, 60000, 65000], sync_period: 97, frame_period: 7, ..Default::default() };
    let mut pg = PatternGenRtl::new();
    program(&mut pg, &s);
    pg.write_reg(reg::CTRL, CTRL_EXT | CTRL_CLEAR).unwrap();
    let mut pre = Vec::new();
    pg.step(10, &mut pre);
    assert!(pre.is_empty(), "slots before RUN");
    // A 1e6-slot external stream with 10% of the slots lacking random bits.
    let n = 1_000_000usize;
    let ext: Vec<u64> = (0..n as u64).map(|i| model::random_word(0xABCD, i)).collect();
    let valid: Vec<bool> = (0..n).map(|i| !model::random_word(7, i as u64).is_multiple_of(10)).collect();
    // RUN takes effect one cycle after the write's strobe; start feeding right after it.
    pg.write_reg(reg::CTRL, CTRL_EXT | CTRL_RUN).unwrap();
    let mut backlog = Vec::new();
    pg.step(0, &mut backlog);
    assert!(!backlog.is_empty(), "slots emitted while the reply was sent are kept");
    let mut words = Vec::new();
    pg.step_ext(&ext, &valid, &mut words);
    // One word per fed slot: a run that emitted nothing must not pass the loop below.
    assert_eq!(words.len(), n, "words emitted while the external bits were fed");
    let first = backlog.len() as u64;
    for (j, w) in words.iter().enumerate() {
        let i = first + j as u64;
        // The output register delays a slot's word by one cycle.
        let src = j.checked_sub(1);
        let want = match src {
            None => continue,
            Some(k) if valid[k] => model::slot_word_from(&s, i, ext[k]).0,
            Some(_) => model::underflow_slot_word(&s, i).0,
        };
        assert_eq!(*w, want, "slot {i}");
    }
    pg.write_reg(reg::CTRL, CTRL_EXT).unwrap();
    let underflows = u64::from(pg.read_reg(reg::EXT_UNDERFLOW_CNT).unwrap());
    // Exact: the slots emitted while RUN's reply was on the wire (the backlog) had no bits,
    // nor had the first fed cycle's slot (the output register is one cycle behind), and of
    // the fed slots those `valid` marks bitless. (The slots while the final write that stops
    // the run is on the wire count as pulses, not as underflows, as the RTL behaves.)
    let invalid = valid.iter().filter(|v| !**v).count() as u64;
    assert_eq!(
        underflows,
        invalid + first + 1,
        "underflows: {invalid} bitless fed slots, {first} during the RUN write"
    );
    assert_eq!(pg.read_reg(reg::STATUS).unwrap() & 0b110, 0b110, "ext mode and underflow seen");
}

#[test]
fn uart_register_round_trip_and_pulse_counter() {
    let mut pg = PatternGenRtl::new();
    assert_eq!(pg.read_reg(reg::ID).unwrap(), 0x5150_4731);
    pg.write_reg(reg::SCRATCH, 0xCAFE_F00D).unwrap();
    assert_eq!(pg.read_reg(reg::SCRATCH).unwrap(), 0xCAFE_F00D);
    for r in reg::REGISTERS.iter().filter(|r| r.addr != reg::SCRATCH && r.addr != reg::STATUS) {
        assert_eq!(u64::from(pg.read_reg(r.addr).unwrap()), r.reset, "reset value of {}", r.name);
    }
    let mut slots = Vec::new();
    pg.write_reg(reg::CTRL, CTRL_RUN | CTRL_CLEAR).unwrap();
    pg.step(123_457, &mut slots);
    pg.write_reg(reg::CTRL, 0).unwrap();
    pg.step(100, &mut slots);
    let lo = pg.read_reg(reg::PULSE_CNT_LO).unwrap();
    let hi = pg.read_reg(reg::PULSE_CNT_HI).unwrap();
    assert_eq!((u64::from(hi) << 32) | u64::from(lo), slots.len() as u64);
}

fn raw_reply(pg: &mut PatternGenRtl, bytes: &[u8]) -> frame::Reply {
    frame::decode_reply(&pg.exchange(bytes).expect("a reply")).expect("a well-formed reply")
}

#[test]
fn bad_frames_get_error_replies_not_silence() {
    let mut pg = PatternGenRtl::new();
    let mut f = frame::encode_request(Op::Write, reg::SCRATCH, 5);
    f[7] ^= 0xFF;
    assert_eq!(raw_reply(&mut pg, &f).status, status::BAD_CRC);
    assert_eq!(pg.read_reg(reg::SCRATCH).unwrap(), 0, "a bad frame changes nothing");

    let unknown = raw_reply(&mut pg, &frame::encode_request(Op::Read, 0x7F, 0));
    assert_eq!((unknown.status, unknown.addr), (status::UNKNOWN_REG, 0x7F));
    assert_eq!(raw_reply(&mut pg, &frame::encode_request(Op::Write, 0x7F, 1)).status, status::UNKNOWN_REG);
    assert_eq!(raw_reply(&mut pg, &frame::encode_request(Op::Write, reg::ID, 1)).status, status::READ_ONLY);
    assert_eq!(raw_reply(&mut pg, &frame::encode_request(Op::Write, reg::CLASS_THR0, 65537)).status, status::BAD_VALUE);
    assert_eq!(raw_reply(&mut pg, &frame::encode_request(Op::Write, reg::SYNC_PERIOD, 0)).status, status::BAD_VALUE);
    let mut bad_op = frame::encode_request(Op::Read, reg::ID, 0);
    bad_op[1] = 0x33;
    bad_op[7] = frame::crc8(&bad_op[..7]);
    assert_eq!(raw_reply(&mut pg, &bad_op).status, status::BAD_OP);
    assert_eq!(
        pg.write_reg(reg::ID, 0),
        Err(RtlError::Status { addr: reg::ID, status: status::READ_ONLY, what: "read-only register" })
    );
}

#[test]
fn truncated_frame_and_junk_do_not_wedge_the_bridge() {
    let mut pg = PatternGenRtl::new();
    // Three bytes of a frame, then silence: no reply, and the parser gives up on it.
    let f = frame::encode_request(Op::Write, reg::SCRATCH, 9);
    pg.uart_write(&f[..3]);
    let mut sink = Vec::new();
    pg.step(u64::from(rtl::uart_clks_per_bit()) * 10 * 10, &mut sink);
    let mut got = Vec::new();
    pg.uart_read(&mut got);
    assert!(got.is_empty(), "no reply to a truncated frame");
    // Junk without a sync byte is skipped; the next good frame works.
    pg.uart_write(&[0x00, 0x13, 0x37]);
    pg.write_reg(reg::SCRATCH, 42).unwrap();
    assert_eq!(pg.read_reg(reg::SCRATCH).unwrap(), 42);
}

/// Chi-square of observed counts against expected probabilities.
fn chi_square(counts: &[u64], probs: &[f64]) -> f64 {
    let n: u64 = counts.iter().sum();
    counts
        .iter()
        .zip(probs)
        .filter(|(_, p)| **p > 0.0)
        .map(|(c, p)| {
            let e = p * n as f64;
            (*c as f64 - e).powi(2) / e
        })
        .sum()
}

#[test]
fn class_and_basis_frequencies_match_thresholds() {
    // p = 0.5 / 0.25 / 0.2 / 0.05 and P(Z) = 0.7, from the RTL's own slots.
    let s = PatternSettings { class_thr: [32768, 49152, 62259], basis_thr: 45875, ..Default::default() };
    let mut pg = PatternGenRtl::new();
    program(&mut pg, &s);
    let words = run_slots(&mut pg, 2_000_000);
    let mut class = [0u64; 4];
    let mut basis = [0u64; 2];
    for w in &words {
        let w = rtl::slot::SlotWord(*w);
        class[usize::from(w.class())] += 1;
        basis[w.basis() as usize] += 1;
    }
    let pc = s.class_probabilities();
    let pz = f64::from(s.basis_thr) / 65536.0;
    // 99.9% quantiles of chi-square with 3 and 1 degrees of freedom.
    let (c3, c1) = (chi_square(&class, &pc), chi_square(&basis, &[pz, 1.0 - pz]));
    assert!(c3 < 16.27, "class chi-square {c3:.2} for counts {class:?}, p {pc:?}");
    assert!(c1 < 10.83, "basis chi-square {c1:.2} for counts {basis:?}");
}

/// The frame-level register model (used by the fast bench) answers like the RTL bridge.
#[test]
fn register_model_replies_like_the_rtl_bridge() {
    use rtl::model::pattern_gen_regs::PatternGenRegisters;
    let mut pg = PatternGenRtl::new();
    let mut regs = PatternGenRegisters::new();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for k in 0..300 {
        x = model::mix64(x);
        // Addresses around the map, both ops, a few bad opcodes, values of every size.
        let addr = (x % 0x18) as u8;
        let op = match (x >> 8) % 10 {
            0 => 0x07,
            1..=5 => Op::Write as u8,
            _ => Op::Read as u8,
        };
        // Never start the generator: its counters would then depend on timing.
        let data = if addr == reg::CTRL { ((x >> 16) as u32) & 6 } else { (x >> 16) as u32 >> ((x >> 50) % 32) };
        let mut f = frame::encode_request(Op::Read, addr, data);
        f[1] = op;
        f[7] = frame::crc8(&f[..7]);
        if (x >> 60) == 0 {
            f[7] ^= 0x40;
        }
        let want = pg.exchange(&f).unwrap();
        assert_eq!(regs.handle_request(&f), want, "frame {k}: {f:02x?}");
    }
}
