//! The engine's hot path: a block of detections between two clock updates, indexed, gated
//! and given their symbols in one pass of plain array arithmetic that the compiler turns
//! into SIMD code (AVX-512 where the CPU has it, chosen at run time).
//!
//! Why hand-written: this is the per-tag cost of the whole engine. The arithmetic is the
//! same, operation for operation, as the per-tag path in `engine.rs` (`Engine::tag` →
//! `classify`, and `symbol_key`), so results do not depend on which path a tag took (the engine tests'
//! chunking invariance checks exactly that).

use rtl::model::pattern_gen::{mix64, PatternSettings, GAMMA};

use super::clock::round_fast;

/// Detections per block.
pub const BLOCK: usize = 256;

/// What the block pass needs: the clock fit, the detector offsets and the pattern.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kernel {
    /// Time of the reference sync, ps.
    pub t_ref: f64,
    /// Per tagger channel: the detector's arrival offset, ps.
    pub offset: [f64; 8],
    /// Per tagger channel: the detector (0 H, 1 V, 2 D, 3 A).
    pub detector: [u8; 8],
    /// 1 / pulse period, 1/ps.
    pub inv_pulse_period: f64,
    /// Pulse period, ps.
    pub pulse_period: f64,
    /// Half the gate width, ps.
    pub half_gate: f64,
    /// Pulse index of the reference sync.
    pub pulse_base: i64,
    /// 1 / arrival histogram bin, 1/ps.
    pub inv_bin: f64,
    /// Generator seed.
    pub seed: u64,
    /// Class thresholds.
    pub class_thr: [u32; 3],
    /// Basis threshold.
    pub basis_thr: u32,
}

/// Per detection of a block. (On cache lines of its own: with threads, each writes its
/// own per block, and a line shared with another thread's data would be false sharing.)
#[derive(Debug, Clone)]
#[repr(align(128))]
pub struct Out {
    /// Pulse index.
    pub pulse: [i64; BLOCK],
    /// Arrival-phase histogram bin (saturating; compare with the histogram length).
    pub bin: [u32; BLOCK],
    /// Squared residual in 1/256 ps^2 (gated detections; 0 otherwise).
    pub r2: [u64; BLOCK],
    /// 1 if inside the gate with a valid pulse index.
    pub gated: [u8; BLOCK],
    /// `symbol_key` of the pulse and detector.
    pub key: [u8; BLOCK],
}

impl Default for Out {
    fn default() -> Self {
        Out { pulse: [0; BLOCK], bin: [0; BLOCK], r2: [0; BLOCK], gated: [0; BLOCK], key: [0; BLOCK] }
    }
}

/// Squared residual as counted: 1/256 ps^2 units, so sums are exact and order-free.
#[inline(always)]
pub fn r2_units(r: f64) -> u64 {
    trunc_i64(r * r * 256.0 + 0.5) as u64
}

/// The class the RTL's priority chain picks for 16 random bits `u` ("first k with u < thr_k,
/// else 3"), as selects.
#[inline(always)]
fn class_of(u: u32, thr: [u32; 3]) -> u8 {
    // From the last threshold back: selects, not branches (a random class would
    // mispredict a branch every other pulse where the loop is not vectorised).
    let c = if u < thr[2] { 2 } else { 3 };
    let c = if u < thr[1] { 1 } else { c };
    if u < thr[0] {
        0
    } else {
        c
    }
}

/// The counting key of a single click of detector `d` on `pulse` (> 0): previous pulse's
/// class (bits 7..6), class (5..4), sent basis (3), sent bit (2), detector (1..0).
#[inline(always)]
pub fn symbol_key(seed: u64, class_thr: [u32; 3], basis_thr: u32, pulse: i64, d: u8) -> u8 {
    let p = pulse as u64;
    let w = mix64(seed.wrapping_add(p.wrapping_add(1).wrapping_mul(GAMMA)));
    let prev = mix64(seed.wrapping_add(p.wrapping_mul(GAMMA)));
    let class = class_of((w & 0xFFFF) as u32, class_thr);
    let basis = u8::from(((w >> 16) & 0xFFFF) as u32 >= basis_thr);
    let bit = ((w >> 32) & 1) as u8;
    let prev_class = class_of((prev & 0xFFFF) as u32, class_thr);
    prev_class << 6 | class << 4 | basis << 3 | bit << 2 | (d & 3)
}

/// `symbol_key` with the pattern's settings.
pub fn key_for(s: &PatternSettings, pulse: i64, d: u8) -> u8 {
    symbol_key(s.seed, s.class_thr, s.basis_thr, pulse, d)
}

/// How many of the first `max` channel bytes `ch` are detections (bit `c & 7` of `mask`
/// set), up to the first that is not: where a block ends.
///
/// Written by hand because it runs once per tag on the engine's sequential path (with
/// threads, the caller's): eight bytes at a time, a byte stops the block when its channel
/// equals one of the channels outside `mask` (a zero byte of the word xor that channel,
/// found with the borrow trick; the lowest hit is exact). Not timed on its own: the
/// engine's figures moved by less than their noise.
#[inline]
pub fn leading_detections(ch: &[u8], mask: u8, max: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let ch = &ch[..ch.len().min(max)];
    let mut words = ch.chunks_exact(8);
    let mut i = 0;
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().expect("8 bytes")) & (7 * ONES);
        let (mut hit, mut others) = (0u64, !mask);
        while others != 0 {
            let x = w ^ (u64::from(others.trailing_zeros()) * ONES);
            hit |= x.wrapping_sub(ONES) & !x & (0x80 * ONES);
            others &= others - 1;
        }
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + words.remainder().iter().take_while(|&&c| mask >> (c & 7) & 1 != 0).count()
}

/// Truncation towards zero that the compiler vectorises: the value is clamped into i64's
/// range first (NaN goes to the lower end), so the unchecked conversion is sound for every
/// input. Saturating `as i64` would be the same for in-range values but blocks the
/// vectorisation of the block pass's loops; the clamp is two vector min/max instructions.
#[inline(always)]
#[allow(clippy::manual_clamp)] // clamp() keeps NaN, which the unchecked cast must not see
fn trunc_i64(x: f64) -> i64 {
    let c = x.max(-9.0e18).min(9.0e18);
    // SAFETY: `c` is finite and within +-9e18, inside i64's range (NaN became -9e18).
    unsafe { c.to_int_unchecked::<i64>() }
}

/// The arrival-histogram bin of residual `r` (ps) with pulse period `tp` (a residual is
/// within half a period either way, so the bin is in range).
#[inline(always)]
pub fn bin_of(r: f64, tp: f64, inv_bin: f64) -> u32 {
    trunc_i64((r + tp / 2.0) * inv_bin) as u32
}

#[inline(always)]
fn body(k: &Kernel, t: &[i64], ch: &[u8], out: &mut Out) {
    let n = t.len().min(BLOCK);
    let (t, ch) = (&t[..n], &ch[..n]);
    // Detector of each channel as bytes of one word: a shift, not a table lookup.
    let detectors = u64::from_le_bytes(k.detector);
    // Two loops, each short enough for the out-of-order core to overlap iterations: the
    // floating-point indexing, then the integer symbol hash.
    for i in 0..n {
        let c = usize::from(ch[i] & 7);
        let x = ((t[i] as f64 - k.t_ref) - k.offset[c]) * k.inv_pulse_period;
        let j = round_fast(x);
        let r = (x - j) * k.pulse_period;
        let pulse = k.pulse_base + trunc_i64(j);
        let gated = (r.abs() <= k.half_gate) & (pulse >= 0);
        out.pulse[i] = pulse;
        out.bin[i] = bin_of(r, k.pulse_period, k.inv_bin);
        out.r2[i] = if gated { r2_units(r) } else { 0 };
        out.gated[i] = u8::from(gated);
    }
    for ((key, &c), &pulse) in out.key[..n].iter_mut().zip(ch).zip(&out.pulse[..n]) {
        let d = (detectors >> (8 * u64::from(c & 7))) as u8;
        *key = symbol_key(k.seed, k.class_thr, k.basis_thr, pulse, d);
    }
}

/// # Safety
/// The CPU must have AVX-512 F, DQ, VL and BW, AVX2, FMA and BMI2 (`best_simd`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,bmi2")]
unsafe fn body_avx512(k: &Kernel, t: &[i64], ch: &[u8], out: &mut Out) {
    body(k, t, ch, out)
}

/// # Safety
/// The CPU must have AVX2, FMA and BMI2 (`best_simd`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi2")]
unsafe fn body_avx2(k: &Kernel, t: &[i64], ch: &[u8], out: &mut Out) {
    body(k, t, ch, out)
}

/// Which build of the block pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Simd {
    /// Whatever the compiler's baseline target allows.
    Plain = 0,
    /// AVX2 and FMA (no 64-bit vector multiply: the hash runs in halves).
    Avx2 = 1,
    /// AVX-512 F, DQ, VL and BW.
    Avx512 = 2,
}

/// The best build this CPU runs.
pub fn best_simd() -> Simd {
    #[cfg(target_arch = "x86_64")]
    {
        // Every feature the bodies enable (`#[target_feature]` above), not only the ones
        // their loops are known to use: the compiler may use any of them.
        let avx2 = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("bmi2");
        if avx2
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("avx512bw")
        {
            return Simd::Avx512;
        }
        if avx2 {
            return Simd::Avx2;
        }
    }
    Simd::Plain
}

/// An upper limit on the build `run` uses (benchmarks compare them); the best by default.
static SIMD_LIMIT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(Simd::Avx512 as u8);

/// Limits the builds `run` may use to `level` and below (for comparisons: results are the
/// same with every build).
pub fn limit_simd(level: Simd) {
    SIMD_LIMIT.store(level as u8, std::sync::atomic::Ordering::Relaxed);
}

/// The build the block pass uses now: the best this CPU runs, within the limit.
pub fn simd_level() -> Simd {
    let limit = SIMD_LIMIT.load(std::sync::atomic::Ordering::Relaxed);
    match best_simd() {
        Simd::Avx512 if limit >= Simd::Avx512 as u8 => Simd::Avx512,
        Simd::Avx512 | Simd::Avx2 if limit >= Simd::Avx2 as u8 => Simd::Avx2,
        _ => Simd::Plain,
    }
}

/// Indexes, gates and keys up to BLOCK detections (`t` and `ch` of equal length).
pub fn run(k: &Kernel, t: &[i64], ch: &[u8], out: &mut Out) {
    #[cfg(target_arch = "x86_64")]
    match simd_level() {
        // SAFETY: simd_level() only returns a level best_simd detected.
        Simd::Avx512 => return unsafe { body_avx512(k, t, ch, out) },
        // SAFETY: as above.
        Simd::Avx2 => return unsafe { body_avx2(k, t, ch, out) },
        Simd::Plain => {}
    }
    body(k, t, ch, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtl::model::pattern_gen::{slot_word, symbol};

    #[test]
    fn keys_carry_the_symbol_and_the_previous_class() {
        let s = PatternSettings { class_thr: [30000, 50000, 60000], ..PatternSettings::default() };
        for p in 1..2000i64 {
            let key = key_for(&s, p, (p % 4) as u8);
            let w = slot_word(&s, p as u64);
            assert_eq!(key >> 4 & 3, w.class(), "pulse {p}");
            assert_eq!(key >> 3 & 1, w.basis() as u8);
            assert_eq!(key >> 2 & 1, w.bit());
            assert_eq!(key & 3, (p % 4) as u8);
            assert_eq!(key >> 6, symbol(&s, p as u64 - 1).class);
        }
    }

    #[test]
    fn the_avx512_and_the_plain_builds_agree() {
        // The plain body runs on every CPU; the SIMD builds only where the CPU has them.
        // Say which ran, so a log shows what this machine tested.
        let best = best_simd();
        eprintln!(
            "block pass builds tested here: plain{}{} (this CPU's best: {best:?})",
            if best >= Simd::Avx2 { ", avx2" } else { "" },
            if best >= Simd::Avx512 { ", avx512" } else { "" },
        );
        let k = Kernel {
            t_ref: 7.7e11,
            offset: [1.5, -2_000.25, 23_456.0, -4_321.0, 0.0, 0.0, 0.0, 0.0],
            detector: [0, 1, 2, 3, 0, 0, 0, 0],
            inv_pulse_period: 1.0 / 10_000.25,
            pulse_period: 10_000.25,
            half_gate: 500.0,
            pulse_base: 77_000_000,
            inv_bin: 0.1,
            seed: 0xDEAD_BEEF,
            class_thr: [32768, 49152, 65536],
            basis_thr: 30000,
        };
        let mut x = 12345u64;
        let t: Vec<i64> = (0..BLOCK)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                770_000_000_000 + i as i64 * 37_000 + (x % 9_000) as i64
            })
            .collect();
        let ch: Vec<u8> = (0..BLOCK).map(|i| (i * 7 % 4) as u8).collect();
        for n in [BLOCK, 100, 13, 1] {
            let (mut dispatched, mut plain) = (Out::default(), Out::default());
            run(&k, &t[..n], &ch[..n], &mut dispatched);
            body(&k, &t[..n], &ch[..n], &mut plain);
            #[cfg(target_arch = "x86_64")]
            if best_simd() >= Simd::Avx2 {
                let mut avx2 = Out::default();
                // SAFETY: the features were just detected.
                unsafe { body_avx2(&k, &t[..n], &ch[..n], &mut avx2) };
                assert_eq!(avx2.pulse[..n], plain.pulse[..n]);
                assert_eq!(avx2.key[..n], plain.key[..n]);
                assert_eq!(avx2.bin[..n], plain.bin[..n]);
                assert_eq!(avx2.r2[..n], plain.r2[..n]);
                assert_eq!(avx2.gated[..n], plain.gated[..n]);
            }
            assert_eq!(dispatched.pulse[..n], plain.pulse[..n]);
            assert_eq!(dispatched.bin[..n], plain.bin[..n]);
            assert_eq!(dispatched.r2[..n], plain.r2[..n]);
            assert_eq!(dispatched.gated[..n], plain.gated[..n]);
            assert_eq!(dispatched.key[..n], plain.key[..n]);
        }
    }

    proptest::proptest! {
        #[test]
        fn the_word_scan_finds_the_end_of_a_block_as_the_plain_scan(
            mask in proptest::prelude::any::<u8>(),
            // (Mostly a detector's channel, the odd other byte; high bits at times.)
            bytes in proptest::collection::vec((0u8..12, proptest::prelude::any::<u8>()), 0..300),
            max in 0usize..320,
        ) {
            let det = mask.trailing_zeros().min(7) as u8;
            let ch: Vec<u8> = bytes.iter().map(|&(r, b)| if r < 11 { det | (b & 0xf8) } else { b }).collect();
            let plain = ch.iter().take(max).take_while(|&&c| mask >> (c & 7) & 1 != 0).count();
            proptest::prop_assert_eq!(leading_detections(&ch, mask, max), plain);
        }
    }

    #[test]
    fn truncation_is_defined_for_every_input() {
        assert_eq!(trunc_i64(f64::NAN), -9_000_000_000_000_000_000);
        assert_eq!(trunc_i64(f64::INFINITY), 9_000_000_000_000_000_000);
        assert_eq!(trunc_i64(-1e300), -9_000_000_000_000_000_000);
        assert_eq!(trunc_i64(-2.7), -2);
        assert_eq!(trunc_i64(123_456.9), 123_456);
        // A NaN residual is never gated; its value only has to be defined.
        assert_eq!(r2_units(f64::NAN), (-9_000_000_000_000_000_000i64) as u64);
    }

    #[test]
    fn the_simd_pass_equals_the_per_tag_arithmetic() {
        let k = Kernel {
            t_ref: 1.234e9,
            offset: [100.0, -200.0, 333.3, 0.0, 0.0, 0.0, 0.0, 0.0],
            detector: [0, 1, 2, 3, 0, 0, 0, 0],
            inv_pulse_period: 1.0 / 9999.87,
            pulse_period: 9999.87,
            half_gate: 500.0,
            pulse_base: 123_456,
            inv_bin: 0.1,
            seed: 42,
            class_thr: [40000, 60000, 65536],
            basis_thr: 32768,
        };
        let t: Vec<i64> = (0..BLOCK as i64).map(|i| 1_234_000_000 + i * 7_777_777 % 9_000_000_000).collect();
        let ch: Vec<u8> = (0..BLOCK).map(|i| (i % 4) as u8).collect();
        let mut out = Out::default();
        run(&k, &t, &ch, &mut out);
        for i in 0..BLOCK {
            let c = usize::from(ch[i]);
            let x = ((t[i] as f64 - k.t_ref) - k.offset[c]) * k.inv_pulse_period;
            let j = round_fast(x);
            let r = (x - j) * k.pulse_period;
            let p = k.pulse_base + j as i64;
            assert_eq!(out.pulse[i], p);
            assert_eq!(out.gated[i] == 1, r.abs() <= 500.0 && p >= 0);
            assert_eq!(out.bin[i], ((r + k.pulse_period / 2.0) * 0.1) as u32);
            assert_eq!(out.r2[i], if out.gated[i] == 1 { (r * r * 256.0 + 0.5) as u64 } else { 0 });
            assert_eq!(out.key[i], symbol_key(42, k.class_thr, k.basis_thr, p, c as u8));
        }
    }
}
