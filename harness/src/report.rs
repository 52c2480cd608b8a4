//! The run report: what a bench engineer reads after a run, and what a scenario's limits
//! test. Lock and clock, tags and loss, QBER and gains per intensity class, the run's
//! finite key, and the optical-module characterisation. `Display` gives text with a unit
//! on every figure; `Serialize` gives the same as JSON (units in the field names).

use std::fmt;

use serde::Serialize;

use engine::characterise::Characterisation;
use engine::finite_key::KeyRateOutput;
use engine::{Engine, Snapshot};

/// Names of the intensity classes as the pattern generator numbers them.
const CLASS: [&str; 4] = ["signal", "decoy", "vacuum", "class 3"];
/// Detector names by index.
const DETECTOR: [&str; 4] = ["H", "V", "D", "A"];
/// Sent states by index (basis, bit).
const STATE: [&str; 4] = ["Z0", "Z1", "X0", "X1"];

/// Everything a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Where the timing came from: "channel" (sync channel and frame marks) or "qubit"
    /// (the detections alone).
    pub sync: &'static str,
    /// The engine's state at the end.
    pub snapshot: Snapshot,
    /// Device time from the first to the last tag, s.
    pub duration_s: f64,
    /// Tags per second on each tagger channel over the run, Hz.
    pub channel_rate_hz: [f64; 8],
    /// Probability of each intensity class, as the generator was set.
    pub class_probability: [f64; 4],
    /// QBER by [class][basis Z, X].
    pub qber_by_class: [[Option<f64>; 2]; 4],
    /// Intensity of each class relative to the signal class, as set (DAC codes through a
    /// linear modulator): compare with `characterisation.intensity_ratio`.
    pub set_intensity_ratio: [Option<f64>; 4],
    /// The mean photon numbers of classes 0-2 the finite key was computed with (the
    /// generator's settings).
    pub key_mu: [f64; 3],
    /// Finite-key result for the whole run, with every intermediate bound (None: the
    /// counts certify no single-photon events yet).
    pub key: Option<KeyRateOutput>,
    /// The optical-module characterisation.
    pub characterisation: Characterisation,
}

impl RunReport {
    /// The report of `engine` as it stands (call `Engine::flush` first at the end of a run).
    pub fn of(engine: &Engine) -> Self {
        let snapshot = engine.snapshot();
        let pattern = &engine.config().pattern;
        let duration_s = (snapshot.last_tag_ps - snapshot.first_tag_ps).max(0) as f64 * 1e-12;
        let channel_rate_hz =
            std::array::from_fn(|c| if duration_s > 0.0 { snapshot.channel_tags[c] as f64 / duration_s } else { 0.0 });
        let class_probability = pattern.class_probabilities();
        let qber_by_class =
            std::array::from_fn(|k| [snapshot.counts.qber(0, Some(k)), snapshot.counts.qber(1, Some(k))]);
        let signal = f64::from(pattern.dac_code[0]);
        let set_intensity_ratio = std::array::from_fn(|k| {
            (class_probability[k] > 0.0 && signal > 0.0).then(|| f64::from(pattern.dac_code[k]) / signal)
        });
        let sync = match engine.config().sync {
            engine::SyncMode::Channel => "channel",
            engine::SyncMode::Qubit(_) => "qubit",
        };
        RunReport {
            sync,
            duration_s,
            channel_rate_hz,
            class_probability,
            qber_by_class,
            set_intensity_ratio,
            key_mu: engine.config().key.mu,
            key: engine.run_key(),
            characterisation: engine.characterise(),
            snapshot,
        }
    }
}

/// A fraction as a percentage with two decimals ("1.23 %"), or "-" when not measured.
pub fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.2} %", 100.0 * x))
}

/// A number with `digits` decimals and a unit (none for a ratio), or "-".
fn num(x: Option<f64>, digits: usize, unit: &str) -> String {
    let sep = if unit.is_empty() { "" } else { " " };
    x.filter(|x| x.is_finite()).map_or("-".into(), |x| format!("{x:.digits$}{sep}{unit}"))
}

/// A small or large number in scientific notation with a unit, or "-".
fn sci(x: Option<f64>, unit: &str) -> String {
    x.filter(|x| x.is_finite()).map_or("-".into(), |x| format!("{x:.3e} {unit}"))
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.snapshot;
        let c = &s.clock;
        if self.sync == "qubit" {
            writeln!(f, "lock          {:?} (qubit-based sync: from the detections alone)", s.lock)?;
        } else {
            writeln!(
                f,
                "lock          {:?}: {} lock(s), {} frame slip(s); syncs {} accepted, {} rejected, {} missing",
                s.lock, c.locks, c.frame_slips, c.syncs_accepted, c.syncs_rejected, c.syncs_missing
            )?;
        }
        writeln!(
            f,
            "clock         rate offset {}, residual RMS {}",
            num(Some(s.rate_offset * 1e6), 3, "ppm"),
            num(s.residual_rms_ps, 1, "ps")
        )?;
        let rates: Vec<String> = (0..8)
            .filter(|&c| s.channel_tags[c] > 0)
            .map(|c| format!("ch{c} {}", sci(Some(self.channel_rate_hz[c]), "Hz")))
            .collect();
        writeln!(
            f,
            "tags          {} in {}: {}",
            s.channel_tags.iter().sum::<u64>(),
            num(Some(self.duration_s), 3, "s"),
            rates.join(", ")
        )?;
        writeln!(
            f,
            "detections    {} gated, {} outside the gate, {} not indexed (no lock or frame yet)",
            s.gated, s.outside_gate, s.unindexed
        )?;
        writeln!(
            f,
            "loss          {} overflow(s), {} tag(s) missed, {} stream error(s)",
            s.overflows, s.missed_tags, s.stream_errors
        )?;
        if s.skipped_tags > 0 {
            writeln!(
                f,
                "analysed      {:.2} % of the tags: the engine fell behind the device and skipped the \
                 detections of {} tag(s) (recorded all the same); gains, QBER and key are of the analysed part",
                s.analysed_fraction * 100.0,
                s.skipped_tags
            )?;
        }
        let sifted = |b: usize| s.counts.sifted.iter().map(|x| x[b]).sum::<u64>();
        writeln!(
            f,
            "QBER          Z {} of {} sifted, X {} of {} sifted; {} double click(s), {} cross-basis",
            pct(s.qber[0]),
            sifted(0),
            pct(s.qber[1]),
            sifted(1),
            s.counts.double_clicks,
            s.counts.cross_basis
        )?;
        let ch = &self.characterisation;
        for k in (0..4).filter(|&k| self.class_probability[k] > 0.0) {
            writeln!(
                f,
                "{:13} p {:.3}: gain {}, QBER Z {} X {}, intensity ratio {} (set {})",
                CLASS[k],
                self.class_probability[k],
                sci(s.gain[k], "/pulse"),
                pct(self.qber_by_class[k][0]),
                pct(self.qber_by_class[k][1]),
                num(ch.intensity_ratio[k], 4, ""),
                num(self.set_intensity_ratio[k], 4, ""),
            )?;
        }
        match &self.key {
            Some(k) => writeln!(
                f,
                "finite key    {} bits (s_X0 {:.0}, s_X1 {:.0}, phase error {}, EC leak {:.0} bits)",
                k.key_length_bits,
                k.s_x0,
                k.s_x1,
                pct(Some(k.phi_x)),
                k.lambda_ec
            )?,
            None => writeln!(f, "finite key    0 bits (no single-photon events certified yet)")?,
        }
        writeln!(
            f,
            "module        vacuum leakage {}, noise in the gate {}",
            sci(ch.vacuum_leakage_per_pulse, "/pulse"),
            sci(ch.noise_per_pulse, "/pulse")
        )?;
        let contrast: Vec<String> = (0..4).map(|i| format!("{} {}", STATE[i], num(ch.contrast[i], 4, ""))).collect();
        writeln!(f, "contrast      {}", contrast.join(", "))?;
        for (d, e) in ch.detectors.iter().enumerate() {
            writeln!(
                f,
                "detector {}    dead time {}, afterpulse {}, arrival FWHM {}, efficiency {} of H",
                DETECTOR[d],
                num(e.dead_time_ps.map(|x| x * 1e-3), 1, "ns"),
                pct(e.afterpulse_probability),
                num(e.arrival_fwhm_ps, 0, "ps"),
                num(e.relative_efficiency, 3, "")
            )?;
        }
        let classes: Vec<usize> = (0..4).filter(|&k| self.class_probability[k] > 0.0).collect();
        write!(f, "patterning    gain after [previous class] / mean gain:")?;
        for &j in &classes {
            let row: Vec<String> =
                classes.iter().map(|&k| format!("{} {}", CLASS[k], num(ch.patterning[j][k], 3, ""))).collect();
            write!(f, "\n              after {}: {}", CLASS[j], row.join(", "))?;
        }
        writeln!(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_carry_their_unit_and_missing_ones_show_a_dash() {
        assert_eq!(pct(Some(0.01234)), "1.23 %");
        assert_eq!(pct(None), "-");
        assert_eq!(num(Some(56.25), 1, "ps"), "56.2 ps");
        assert_eq!(num(Some(0.125), 4, ""), "0.1250");
        assert_eq!(num(Some(f64::NAN), 1, "ps"), "-");
        assert_eq!(sci(Some(3.991e-4), "/pulse"), "3.991e-4 /pulse");
        assert_eq!(sci(None, "Hz"), "-");
    }
}
