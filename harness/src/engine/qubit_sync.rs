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
}

impl Default for QubitSyncConfig {
    fn default() -> Self {
        QubitSyncConfig {
            pulse_period_ps: 10_000.0,
            max_offset: 5e-5,
            acquire_detections: 600,
            max_start_lead_s: 0.02,
            alpha: 0.05,
            beta: 0.5,
            period_every_pulses: 1e7,
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
        // (1) frequency: steps small enough that the phase slips < 1/8 period over the span.
        let mut best = (0.0, 0.0, 0.0);
        let step = t0 / (8.0 * span.max(1.0));
        let n = (self.cfg.max_offset / step).ceil() as i64;
        for k in -n..=n {
            let period = t0 * (1.0 + k as f64 * step);
            let (c, ph) = coherence(&times, period);
            if c > best.0 {
                best = (c, period, ph);
            }
        }
        // Refine around the best by a factor of 16.
        let coarse = best.1;
        for k in -16..=16 {
            let period = coarse * (1.0 + k as f64 * step / 16.0);
            let (c, ph) = coherence(&times, period);
            if c > best.0 {
                best = (c, period, ph);
            }
        }
        let (c, period, phase) = best;
        if c < 0.3 {
            // Not coherent yet (too few signal clicks among the noise): collect half as many
            // again, up to a limit; beyond it forget the oldest third.
            let cap = 20 * self.cfg.acquire_detections;
            let n = self.buffer.len();
            if n >= cap {
                self.buffer.drain(..n / 3);
                self.next_attempt = cap;
            } else {
                self.next_attempt = (n + n / 2).min(cap);
            }
            return None;
        }
        let t_ref = times[0] + phase / TAU * period;
        // (2)+(3) index: detection j is pulse n_j - n0 for the right offset n0.
        let rel: Vec<(i64, u8)> =
            self.buffer.iter().map(|&(t, d)| (round_fast((t - t_ref) / period) as i64, d)).collect();
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
                    if errors > 6 + sifted / 8 {
                        break;
                    }
                }
                if sifted >= 60 {
                    break;
                }
            }
            if sifted >= 60 && errors <= sifted / 8 {
                self.acq = Some(Acquired { t_ref, i_ref: -n0, period, t_mark: t_ref, i_mark: -n0 });
                return Some(std::mem::take(&mut self.buffer));
            }
        }
        // No offset fits: the generator started earlier than assumed, or too much noise.
        self.buffer.drain(..self.cfg.acquire_detections / 2);
        self.next_attempt = self.buffer.len() + (self.cfg.acquire_detections / 4).max(1);
        None
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
        let mut q = QubitSync::new(QubitSyncConfig::default());
        // The generator started 1.2 ms (120,000 pulses) before the first detection.
        let det = detections(&s, 120_000, 3e-5, 0.02, 5000);
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
    fn noise_alone_never_locks_and_the_buffer_stays_bounded() {
        let s = PatternSettings::default();
        let cfg = QubitSyncConfig::default();
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
