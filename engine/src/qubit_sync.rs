//! Qubit-based synchronisation: no sync channel. The pulse period and phase come from the
//! arrival phase of the detections themselves, and the absolute pulse index from
//! correlating the detected bits with the known pseudo-random pattern symbol(i)
//! (Calderaro et al., "Fast and simple qubit-based synchronization for quantum key
//! distribution", Phys. Rev. Applied 13, 054041 (2020)).
//!
//! Acquisition: (1) a search over the frequency offset for the one where the detections'
//! phases cohere (|sum exp(2 pi i t/T)| largest), coarse then fine; (2) the phase of that
//! sum; (3) a search over pulse-index offsets for the one whose symbols match the detected
//! bits (QBER well under 50%), abandoning each wrong candidate after a few errors.
//! Tracking: a second-order loop on the gated detections' residuals.

use std::f64::consts::TAU;

use rtl::model::pattern_gen::{self as pg, PatternSettings};

use super::clock::round_fast;

/// Settings of the qubit-based sync.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QubitSyncConfig {
    /// Nominal pulse period, ps.
    pub pulse_period_ps: f64,
    /// Largest relative frequency offset to search (Doppler + clocks), e.g. 1e-4.
    pub max_offset: f64,
    /// Detections collected before acquiring.
    pub acquire_detections: usize,
    /// The generator started at most this long before the first detection, s.
    pub max_start_lead_s: f64,
    /// Phase gain per tracked detection.
    pub alpha: f64,
    /// Period gain per period measurement.
    pub beta: f64,
    /// Pulses between period measurements.
    pub period_every_pulses: f64,
    /// Only detections this close to the acquired arrival phase (full width, ps) take part
    /// in the index search: the rest are mostly noise, which would hide the right offset
    /// behind its errors.
    pub index_gate_ps: f64,
}

impl QubitSyncConfig {
    /// The search's defaults for a nominal pulse period of `pulse_period_ps`.
    pub fn new(pulse_period_ps: f64) -> Self {
        QubitSyncConfig {
            pulse_period_ps,
            max_offset: 5e-5,
            acquire_detections: 600,
            max_start_lead_s: 0.02,
            alpha: 0.05,
            beta: 0.5,
            period_every_pulses: 1e7,
            index_gate_ps: 1000.0,
        }
    }
}

/// The acquired clock.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Acquired {
    /// Arrival time of pulse `i_ref`, ps.
    t_ref: f64,
    i_ref: i64,
    period: f64,
    /// Reference at the last period measurement.
    t_mark: f64,
    i_mark: i64,
}

/// The qubit-based sync.
#[derive(Debug, Clone)]
pub struct QubitSync {
    cfg: QubitSyncConfig,
    buffer: Vec<(f64, u8)>,
    /// Buffered detections at which the next acquisition attempt runs. An attempt costs
    /// (detections x frequency candidates), both growing with the buffer: attempts are
    /// spaced geometrically so that noise alone cannot make every detection pay for one.
    next_attempt: usize,
    acq: Option<Acquired>,
    /// Candidate pulse offsets tried in the last acquisition (for reports).
    pub candidates_tried: u64,
}

/// Coherence of arrival phases for period `period`: |mean exp(2 pi i t / T)| and its phase.
fn coherence(times: &[f64], period: f64) -> (f64, f64) {
    let (mut re, mut im) = (0.0, 0.0);
    let t0 = times[0];
    for t in times {
        let x = (t - t0) / period;
        let ph = TAU * (x - round_fast(x));
        re += ph.cos();
        im += ph.sin();
    }
    let n = times.len() as f64;
    ((re * re + im * im).sqrt() / n, im.atan2(re))
}

/// Sifted detections that decide a pulse-index candidate: accepted with at most a quarter
/// wrong. A wrong candidate (half wrong) passes with probability ~1e-12, so even the ~2e6
/// candidates of a 20 ms search give no false lock; the right one passes up to ~45% noise
/// among the gated detections.
const INDEX_SIFTED: u32 = 200;

/// Bins of the coarse frequency search's transform at most (4 MiB of complex numbers).
const MAX_FFT: usize = 1 << 18;

/// The relative period offset `e` in +-`max_offset` (period `t0 (1 + e)`) at which the
/// detections' phases cohere best, to within `1 / (8 x span in pulses)`, and that coherence
/// (|mean of exp(i phase)|, a few per cent low: the bins and the transform's grid blur it).
///
/// The coherence at offset e is |sum_j z_j exp(-2 pi i e u_j)|, with z_j detection j's phase
/// at the nominal period and u_j its time in nominal pulses: a Fourier transform of the z_j
/// over slow time. Binned (a bin is short enough that e u_j moves little within it) and
/// padded four times, an FFT gives every candidate at once: O(N + M log M) instead of
/// O(N x candidates), which grows with the span (a brute-force search over a 1 s buffer at
/// 35 dB took seconds per attempt). Detections older than the transform can hold are
/// ignored; `times` must be sorted.
fn coarse_offset(times: &[f64], t0: f64, max_offset: f64) -> (f64, f64) {
    use rustfft::num_complex::Complex;
    let width = 1.0 / (8.0 * max_offset);
    let last = times[times.len() - 1];
    let oldest = last - (MAX_FFT / 4) as f64 * width * t0;
    let times = &times[times.partition_point(|&t| t < oldest)..];
    let first = times[0];
    let bins = ((last - first) / t0 / width) as usize + 1;
    let m = (4 * bins).next_power_of_two().clamp(64, MAX_FFT);
    let mut z = vec![Complex::new(0.0, 0.0); m];
    for &t in times {
        let u = (t - first) / t0;
        let ph = TAU * (u - round_fast(u));
        z[((u / width) as usize).min(m - 1)] += Complex::from_polar(1.0, ph);
    }
    rustfft::FftPlanner::new().plan_fft_forward(m).process(&mut z);
    let reach = ((max_offset * m as f64 * width) as usize).min(m / 2 - 1);
    let best = (0..=reach)
        .map(|k| (k as f64, z[k].norm_sqr()))
        .chain((1..=reach).map(|k| (-(k as f64), z[m - k].norm_sqr())))
        .fold((0.0, -1.0), |b, x| if x.1 > b.1 { x } else { b });
    (best.0 / (m as f64 * width), best.1.sqrt() / times.len() as f64)
}

impl QubitSync {
    /// A qubit sync, acquiring.
    pub fn new(cfg: QubitSyncConfig) -> Self {
        QubitSync {
            cfg,
            buffer: Vec::new(),
            next_attempt: cfg.acquire_detections.max(1),
            acq: None,
            candidates_tried: 0,
        }
    }

    /// Whether acquired.
    pub fn locked(&self) -> bool {
        self.acq.is_some()
    }

    /// The pulse period now, ps.
    pub fn pulse_period_ps(&self) -> f64 {
        self.acq.map_or(self.cfg.pulse_period_ps, |a| a.period)
    }

    /// Pulse index and residual of an arrival at `t`, once acquired.
    #[inline]
    pub fn pulse_of(&self, t: f64) -> Option<(i64, f64)> {
        let a = self.acq?;
        let x = (t - a.t_ref) / a.period;
        let j = round_fast(x);
        Some((a.i_ref + j as i64, (x - j) * a.period))
    }

    /// Feeds a gated detection's residual to the tracking loop. The phase follows every
    /// detection (the reference moves to it, nudged by `alpha` of the residual); the period
    /// is re-measured from the reference's own progress over at least `period_every` pulses
    /// (a single residual over a short gap says nothing about the period).
    #[inline]
    pub fn track(&mut self, pulse: i64, residual: f64) {
        if let Some(a) = &mut self.acq {
            let n = (pulse - a.i_ref) as f64;
            if n < 0.0 {
                return;
            }
            a.t_ref += n * a.period + self.cfg.alpha * residual;
            a.i_ref = pulse;
            let span = a.i_ref - a.i_mark;
            if span as f64 >= self.cfg.period_every_pulses {
                let measured = (a.t_ref - a.t_mark) / span as f64;
                a.period += self.cfg.beta * (measured - a.period);
                a.i_mark = a.i_ref;
                a.t_mark = a.t_ref;
            }
        }
    }

    /// Buffers a detection while acquiring; returns the buffered detections once the
    /// acquisition succeeds (to be replayed), or None while it needs more.
    pub fn acquire(&mut self, t: f64, d: u8, pattern: &PatternSettings) -> Option<Vec<(f64, u8)>> {
        self.buffer.push((t, d));
        if self.buffer.len() < self.next_attempt {
            return None;
        }
        let times: Vec<f64> = self.buffer.iter().map(|x| x.0).collect();
        let span = times[times.len() - 1] - times[0];
        let t0 = self.cfg.pulse_period_ps;
        // (1) frequency: the transform's best offset, to within a step small enough that
        // the phase slips < 1/8 period over the span ...
        let mut best = (0.0, 0.0, 0.0);
        let step = t0 / (8.0 * span.max(1.0));
        let (offset, coherence_seen) = coarse_offset(&times, t0, self.cfg.max_offset);
        if coherence_seen < 0.2 {
            // Far from coherent (the exact test below wants 0.3): not worth refining.
            self.retry_later();
            return None;
        }
        let coarse = t0 * (1.0 + offset);
        // ... refined by a factor of 16 with the exact sum.
        for k in -16..=16 {
            let period = coarse * (1.0 + k as f64 * step / 16.0);
            let (c, ph) = coherence(&times, period);
            if c > best.0 {
                best = (c, period, ph);
            }
        }
        let (c, period, phase) = best;
        if c < 0.3 {
            // Not coherent yet (too few signal clicks among the noise).
            self.retry_later();
            return None;
        }
        let t_ref = times[0] + phase / TAU * period;
        // (2)+(3) index: detection j is pulse n_j - n0 for the right offset n0.
        let half_gate = self.cfg.index_gate_ps / 2.0;
        let rel: Vec<(i64, u8)> = self
            .buffer
            .iter()
            .filter_map(|&(t, d)| {
                let x = (t - t_ref) / period;
                let j = round_fast(x);
                (((x - j) * period).abs() <= half_gate).then_some((j as i64, d))
            })
            .collect();
        if rel.is_empty() {
            self.retry_later();
            return None;
        }
        let lead = (self.cfg.max_start_lead_s * 1e12 / period) as i64;
        let first = rel[0].0;
        for n0 in (first - lead..=first).rev() {
            self.candidates_tried += 1;
            let (mut sifted, mut errors) = (0u32, 0u32);
            for &(r, d) in &rel {
                let w = pg::slot_word(pattern, (r - n0) as u64);
                if w.basis() as u8 == d / 2 {
                    sifted += 1;
                    errors += u32::from(w.bit() != d % 2);
                    if errors > 8 + sifted / 4 {
                        break;
                    }
                }
                if sifted >= INDEX_SIFTED {
                    break;
                }
            }
            if sifted >= INDEX_SIFTED && errors <= sifted / 4 {
                self.acq = Some(Acquired { t_ref, i_ref: -n0, period, t_mark: t_ref, i_mark: -n0 });
                return Some(std::mem::take(&mut self.buffer));
            }
        }
        // No offset fits: the generator started earlier than assumed, or too much noise.
        self.retry_later();
        None
    }

    /// After a failed attempt: try again with half as many detections again, up to a limit
    /// (beyond it the oldest third is forgotten), so that the attempts' cost stays a fixed
    /// multiple of the detections' (noise alone used to rerun the search on every one).
    fn retry_later(&mut self) {
        let cap = 20 * self.cfg.acquire_detections.max(1);
        let n = self.buffer.len();
        if n >= cap {
            self.buffer.drain(..n / 3);
            self.next_attempt = cap;
        } else {
            self.next_attempt = (n + n / 2).clamp(n + 1, cap);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn uniform(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Detections of pulses `first..` with a clock `offset` fast, one click per `every`
    /// pulses on average, the right detector for the sent state but for `qber`, 30 ps of
    /// jitter: (time ps, detector, pulse).
    fn detections(s: &PatternSettings, first: i64, offset: f64, qber: f64, n: usize) -> Vec<(f64, u8, i64)> {
        let mut rng = Rng(0x1234_5678_9ABC);
        let period = 10_000.0 * (1.0 + offset);
        let (mut out, mut p) = (Vec::new(), first);
        while out.len() < n {
            p += 1 + (rng.next() % 400) as i64;
            let w = pg::slot_word(s, p as u64);
            let bit = w.bit() ^ u8::from(rng.uniform() < qber);
            let d = 2 * w.basis() as u8 + bit;
            let jitter = 30.0 * (rng.uniform() + rng.uniform() + rng.uniform() - 1.5) * 2.0;
            out.push((5.0e6 + (p - first) as f64 * period + jitter, d, p));
        }
        out
    }

    #[test]
    fn acquires_period_phase_and_absolute_index_from_the_detections_alone() {
        let s = PatternSettings::default();
        let mut q = QubitSync::new(QubitSyncConfig::new(10_000.0));
        // The generator started 1.2 ms (120,000 pulses) before the first detection.
        // 15% wrong bits: a noisy link (the index search takes up to 25%).
        let det = detections(&s, 120_000, 3e-5, 0.15, 5000);
        let mut replay = None;
        for &(t, d, _) in &det {
            if let Some(r) = q.acquire(t, d, &s) {
                replay = Some(r);
                break;
            }
        }
        let replay = replay.expect("acquired");
        assert!(q.locked() && !replay.is_empty());
        assert!((q.pulse_period_ps() - 10_000.3).abs() < 0.01, "period {}", q.pulse_period_ps());
        for &(t, _, p) in &det {
            let (i, r) = q.pulse_of(t).expect("indexed");
            assert_eq!(i, p);
            assert!(r.abs() < 200.0, "residual {r} ps");
            q.track(i, r);
        }
    }

    #[test]
    fn the_transform_finds_the_rate_offset_among_noise() {
        // 800 clicks on pulses of a clock 37 ppm slow, 1200 noise clicks anywhere.
        let mut rng = Rng(7);
        let mut times: Vec<f64> = (0..800).map(|_| (rng.next() % 50_000_000) as f64 * 10_000.37).collect();
        times.extend((0..1200).map(|_| rng.uniform() * 5e11));
        times.sort_by(f64::total_cmp);
        let (e, c) = coarse_offset(&times, 10_000.0, 5e-5);
        let span_pulses = (times[times.len() - 1] - times[0]) / 10_000.0;
        assert!((e - 37e-6).abs() <= 1.0 / (8.0 * span_pulses), "offset {e:e}");
        assert!((c - 0.4).abs() < 0.05, "coherence {c}: 800 of 2000 clicks coherent");
        // Noise alone: no coherence.
        let noise: Vec<f64> = {
            let mut v: Vec<f64> = (0..2000).map(|_| rng.uniform() * 5e11).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        assert!(coarse_offset(&noise, 10_000.0, 5e-5).1 < 0.15);
    }

    #[test]
    fn noise_alone_never_locks_and_the_buffer_stays_bounded() {
        let s = PatternSettings::default();
        let cfg = QubitSyncConfig::new(10_000.0);
        let mut q = QubitSync::new(cfg);
        let mut rng = Rng(99);
        let mut t = 0.0;
        for _ in 0..50 * cfg.acquire_detections {
            t += 1e6 * rng.uniform();
            assert!(q.acquire(t, (rng.next() % 4) as u8, &s).is_none());
        }
        assert!(!q.locked());
        assert!(q.buffer.len() <= 21 * cfg.acquire_detections, "{} buffered", q.buffer.len());
    }
}
