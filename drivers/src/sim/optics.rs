//! The optics model: from pulse symbols to detector and sync events, event-driven.
//!
//! Per detector, photon clicks are drawn by thinning: candidate pulses are spaced by a
//! geometric gap for an upper bound `p_max` of the click probability over a window of
//! pulses, and each candidate is kept with probability `p(i) / p_max`. Only candidates are
//! visited, each at the cost of one `symbol(i)`, which is why a whole pass (2.7e10 pulses)
//! takes seconds. Detectors are independent given the pulse (Poisson splitting of a
//! coherent state), so drawing them separately gives the exact joint distribution,
//! double clicks included (QKD-REFERENCE.md section 2).

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, Normal, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::config::{Fault, OpticsConfig, FRAME_CHANNEL, SYNC_CHANNEL};
use super::geometry::C_KM_PER_PS;
use super::symbols::SymbolSource;
use rtl::slot::Basis;

/// What caused an event at a tagger input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Photons of this pulse.
    Signal {
        /// Pulse index.
        pulse: u64,
    },
    /// Detector dark count.
    Dark,
    /// Background light.
    Background,
    /// Afterpulse of an earlier click.
    Afterpulse,
    /// A latched detector clicking by itself.
    Latched,
    /// Sync pulse emitted with this pulse.
    Sync {
        /// Pulse index.
        pulse: u64,
    },
    /// Frame mark emitted with this pulse.
    Frame {
        /// Pulse index.
        pulse: u64,
    },
}

/// An event at a tagger input, in true time since the start of the bench.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    /// True time, ps (before the tagger's clock error).
    pub t_ps: f64,
    /// Tagger channel.
    pub channel: u8,
    /// Why it happened.
    pub cause: Cause,
}

/// Pulses at or before this many per window share one bound `p_max`.
pub const WINDOW_PULSES: u64 = 1 << 17;

/// The optics model's state.
#[derive(Debug)]
pub struct Optics {
    cfg: OpticsConfig,
    rng: Xoshiro256PlusPlus,
    period_ps: f64,
    /// Scintillation factor and until when it holds, ps.
    scint: (f64, f64),
    /// Dark/background generated up to this time, ps.
    noise_until_ps: f64,
}

impl Optics {
    /// A model with its own random stream (from `cfg.seed`).
    pub fn new(cfg: OpticsConfig) -> Self {
        let period_ps = 1e12 / cfg.source.pulse_rate_hz;
        let rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
        Optics { cfg, rng, period_ps, scint: (1.0, f64::NEG_INFINITY), noise_until_ps: 0.0 }
    }

    /// The configuration.
    pub fn config(&self) -> &OpticsConfig {
        &self.cfg
    }

    /// Pulse period of the transmitter, ps.
    pub fn period_ps(&self) -> f64 {
        self.period_ps
    }

    /// Time of flight for a pulse emitted at `t_ps`, ps (range at emission time).
    pub fn tof_ps(&self, t_ps: f64) -> f64 {
        self.cfg.channel.range_km(t_ps * 1e-12) / C_KM_PER_PS
    }

    /// Channel x receiver transmittance at emission time `t_ps` (scintillation excluded).
    pub fn eta(&self, t_ps: f64) -> f64 {
        10f64.powf(-self.cfg.channel.loss_db(t_ps * 1e-12) / 10.0) * self.cfg.receiver.efficiency
    }

    /// Mean photon number of class `k` with DAC code `dac`, before noise and patterning.
    pub fn mu_of(&self, k: u8, dac: u16) -> f64 {
        self.cfg.source.mu_full_scale * f64::from(dac) / 65535.0 * self.cfg.source.class_mu_factor[usize::from(k)]
    }

    /// Misalignment of basis `b` at time `t_ps`.
    pub fn misalignment(&self, b: usize, t_ps: f64) -> f64 {
        let r = &self.cfg.receiver;
        (r.misalignment[b] + r.misalignment_drift_per_s[b] * t_ps * 1e-12).clamp(0.0, 0.5)
    }

    fn in_fault(&self, t_ps: f64, f: impl Fn(&Fault) -> Option<(f64, f64)>) -> bool {
        let t = t_ps * 1e-12;
        self.cfg.faults.iter().filter_map(f).any(|(a, b)| t >= a && t < b)
    }

    /// Whether detector `d` is blinded at `t_ps`.
    pub fn blinded(&self, d: u8, t_ps: f64) -> bool {
        self.in_fault(t_ps, |f| match f {
            Fault::DetectorBlinded { detector, from_s, to_s } if *detector == d => Some((*from_s, *to_s)),
            _ => None,
        })
    }

    /// Probability that a photon of state (basis, bit) reaches detector `d` (0 H, 1 V, 2 D, 3 A).
    #[inline]
    fn q(&self, d: usize, basis: Basis, bit: u8, t_ps: f64) -> f64 {
        let db = d / 2;
        let split = if db == 0 { self.cfg.receiver.z_split } else { 1.0 - self.cfg.receiver.z_split };
        if db == basis as usize {
            let e = self.misalignment(db, t_ps);
            split * if (d % 2) as u8 == bit { 1.0 - e } else { e }
        } else {
            split * 0.5
        }
    }

    /// Draws the events of pulses `i0..i1` (emitted at `t0_ps + i * period`) and the noise
    /// up to the last of their arrival times; appends them to `out` unsorted.
    pub fn window(&mut self, src: &dyn SymbolSource, i0: u64, i1: u64, t0_ps: f64, out: &mut Vec<Event>) {
        debug_assert!(i1 - i0 <= WINDOW_PULSES);
        let t_a = t0_ps + i0 as f64 * self.period_ps;
        let t_b = t0_ps + i1 as f64 * self.period_ps;
        if t_a >= self.scint.1 {
            self.draw_scintillation(t_a);
        }
        let scint = self.scint.0;
        let eta_max = self.eta(t_a).max(self.eta(t_b)) * scint * 1.0001;
        let src_cfg = &self.cfg.source;
        let noise = src_cfg.intensity_noise_rel;
        let pattern_max = src_cfg.patterning.iter().flatten().fold(0f64, |m, x| m.max(*x));
        let mu_bound = src_cfg.mu_full_scale
            * src_cfg.class_mu_factor.iter().fold(0f64, |m, x| m.max(*x))
            * pattern_max
            * (1.0 + 6.0 * noise);
        for d in 0..4usize {
            let det = self.cfg.detectors[d].clone();
            let split = if d < 2 { self.cfg.receiver.z_split } else { 1.0 - self.cfg.receiver.z_split };
            let lam_max = mu_bound * eta_max * det.efficiency * split;
            if lam_max <= 0.0 {
                continue;
            }
            let p_max = -(-lam_max).exp_m1();
            let ln_q = (-p_max).ln_1p();
            let mut i = i0;
            loop {
                // Geometric gap: the next candidate pulse.
                let u: f64 = 1.0 - self.rng.random::<f64>();
                let gap = (u.ln() / ln_q).floor();
                // NaN-safe: a NaN gap (p_max rounding to 1) also ends the window.
                if gap.is_nan() || gap >= (i1 - i) as f64 {
                    break;
                }
                i += gap as u64;
                let slot = src.slot(i);
                if slot.fired() {
                    let t_tx = t0_ps + i as f64 * self.period_ps;
                    let mut mu = self.mu_of(slot.class(), slot.dac_code());
                    if pattern_max != 1.0 && i > 0 {
                        mu *=
                            self.cfg.source.patterning[usize::from(src.slot(i - 1).class())][usize::from(slot.class())];
                    }
                    if noise > 0.0 {
                        let z: f64 = self.rng.sample(StandardNormal);
                        mu *= (1.0 + noise * z.clamp(-6.0, 6.0)).max(0.0);
                    }
                    let lam = mu * self.eta(t_tx) * scint * det.efficiency * self.q(d, slot.basis(), slot.bit(), t_tx);
                    let p = -(-lam).exp_m1();
                    if self.rng.random::<f64>() * p_max < p {
                        let t = t_tx + self.tof_ps(t_tx) + det.delay_ps + self.jitter(det.jitter_ps);
                        out.push(Event { t_ps: t, channel: d as u8, cause: Cause::Signal { pulse: i } });
                    }
                }
                i += 1;
                if i >= i1 {
                    break;
                }
            }
        }
        // Sync and frame marks travel with the pulses (a co-propagating sync laser).
        let mut syncs = Vec::new();
        src.syncs(i0, i1, &mut syncs);
        for (i, frame) in syncs {
            let t_tx = t0_ps + i as f64 * self.period_ps;
            let t = t_tx + self.tof_ps(t_tx) + self.cfg.sync.delay_ps;
            let dropped = self.in_fault(t, |f| match f {
                Fault::SyncDropout { from_s, to_s } => Some((*from_s, *to_s)),
                _ => None,
            });
            if dropped {
                continue;
            }
            let j = self.jitter(self.cfg.sync.jitter_ps);
            out.push(Event { t_ps: t + j, channel: SYNC_CHANNEL, cause: Cause::Sync { pulse: i } });
            if frame {
                let j = self.jitter(self.cfg.sync.jitter_ps);
                out.push(Event { t_ps: t + j, channel: FRAME_CHANNEL, cause: Cause::Frame { pulse: i } });
            }
        }
        let until = t_b + self.tof_ps(t_b);
        self.noise(until, out);
    }

    /// Dark counts, background and latched-detector clicks up to `until_ps`.
    pub fn noise(&mut self, until_ps: f64, out: &mut Vec<Event>) {
        let from = self.noise_until_ps;
        if until_ps <= from {
            return;
        }
        for d in 0..4u8 {
            let det = self.cfg.detectors[usize::from(d)].clone();
            // Piecewise over background steps.
            let mut t = from;
            while t < until_ps {
                let (factor, next_step) = self.background_factor(t);
                let end = until_ps.min(next_step);
                let dark = det.dark_rate_hz * 1e-12;
                let bg = self.cfg.background_rate_hz * factor * 1e-12;
                let rate = dark + bg;
                if rate > 0.0 {
                    let exp = Exp::new(rate).expect("positive rate");
                    let mut s = t + exp.sample(&mut self.rng);
                    while s < end {
                        let cause =
                            if self.rng.random::<f64>() * rate < dark { Cause::Dark } else { Cause::Background };
                        out.push(Event { t_ps: s + det.delay_ps, channel: d, cause });
                        s += exp.sample(&mut self.rng);
                    }
                }
                t = end;
            }
            for f in &self.cfg.faults {
                if let Fault::DetectorLatched { detector, from_s, to_s } = f {
                    if *detector == d && det.dead_time_ps > 0.0 {
                        let (a, b) = ((from_s * 1e12).max(from), (to_s * 1e12).min(until_ps));
                        let period = det.dead_time_ps.max(10_000.0);
                        let mut s = (a / period).ceil() * period;
                        while s < b {
                            out.push(Event { t_ps: s, channel: d, cause: Cause::Latched });
                            s += period;
                        }
                    }
                }
            }
        }
        self.noise_until_ps = until_ps;
    }

    /// Background multiplier at `t_ps` and the time of the next step after it.
    fn background_factor(&self, t_ps: f64) -> (f64, f64) {
        let mut factor = 1.0;
        let mut next = f64::INFINITY;
        for f in &self.cfg.faults {
            if let Fault::BackgroundStep { at_s, factor: k } = f {
                let at = at_s * 1e12;
                if at <= t_ps {
                    factor *= k;
                } else {
                    next = next.min(at);
                }
            }
        }
        (factor, next)
    }

    fn draw_scintillation(&mut self, t_ps: f64) {
        match self.cfg.scintillation {
            Some(s) if s.sigma_ln > 0.0 => {
                // Log-normal with mean 1: ln X ~ N(-sigma^2/2, sigma^2).
                let n = Normal::new(-s.sigma_ln * s.sigma_ln / 2.0, s.sigma_ln).expect("sigma > 0");
                self.scint = (n.sample(&mut self.rng).exp(), t_ps + s.coherence_s * 1e12);
            }
            _ => self.scint = (1.0, f64::INFINITY),
        }
    }

    /// An afterpulse delay after a click of detector `d`, if one occurs.
    pub fn afterpulse(&mut self, d: u8) -> Option<f64> {
        let det = &self.cfg.detectors[usize::from(d)];
        if det.afterpulse_probability > 0.0 && self.rng.random::<f64>() < det.afterpulse_probability {
            let mean = det.afterpulse_delay_ps.max(1.0);
            let e = Exp::new(1.0 / mean).expect("positive mean");
            Some(det.dead_time_ps + e.sample(&mut self.rng))
        } else {
            None
        }
    }

    #[inline]
    fn jitter(&mut self, sigma: f64) -> f64 {
        if sigma > 0.0 {
            let z: f64 = self.rng.sample(StandardNormal);
            sigma * z
        } else {
            0.0
        }
    }
}
