//! The pattern-generator role: what a decoy-state BB84 transmitter board does for the bench.

use rtl::model::pattern_gen::{PatternSettings, THRESHOLD_ONE};

use crate::error::DriverError;

pub mod uart;

pub use uart::UartPatternGenerator;

/// How the intensity modulator turns a DAC code into a mean photon number.
///
/// Linear: `mu = mu_full_scale * code / 65535`. A bench calibrates `mu_full_scale` with a
/// power meter; the simulated bench's source uses the same curve (and may be told that the
/// real modulator deviates from it, to test the engine's intensity-ratio estimate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntensityCalibration {
    /// Mean photon number per pulse at DAC code 65535.
    pub mu_full_scale: f64,
}

impl Default for IntensityCalibration {
    fn default() -> Self {
        IntensityCalibration { mu_full_scale: 1.0 }
    }
}

impl IntensityCalibration {
    /// The DAC code for `mu`, or why it cannot be made.
    pub fn dac_code(&self, mu: f64) -> Result<u16, String> {
        if !(self.mu_full_scale.is_finite() && self.mu_full_scale > 0.0) {
            return Err(format!("calibration mu_full_scale must be > 0, got {}", self.mu_full_scale));
        }
        if !(mu.is_finite() && (0.0..=self.mu_full_scale).contains(&mu)) {
            return Err(format!("mu {mu} is outside 0 ..= {} (the modulator's full scale)", self.mu_full_scale));
        }
        Ok((mu / self.mu_full_scale * 65535.0).round() as u16)
    }

    /// The mean photon number a DAC code gives.
    pub fn mu(&self, code: u16) -> f64 {
        self.mu_full_scale * f64::from(code) / 65535.0
    }
}

/// What a user asks of the pattern generator, in physical terms.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternConfig {
    /// Seed of the counter-mode generator (bench mode).
    pub seed: u64,
    /// Mean photon number per intensity class (1 to 4 classes: signal, decoy, vacuum, ...).
    pub mu: Vec<f64>,
    /// Probability of each class; must sum to 1.
    pub class_probabilities: Vec<f64>,
    /// Probability of basis Z.
    pub z_basis_probability: f64,
    /// Laser / polarisation select for the states (Z,0), (Z,1), (X,0), (X,1).
    pub pol_select: [u8; 4],
    /// Sync output every this many pulses.
    pub sync_period_pulses: u32,
    /// Frame mark every this many syncs.
    pub frame_period_syncs: u32,
    /// The intensity modulator's calibration.
    pub calibration: IntensityCalibration,
}

impl Default for PatternConfig {
    /// The Micius reference settings (Liao et al. 2017): mu 0.8 / 0.1 / 0 with p 0.5 / 0.25
    /// / 0.25, bases 50/50; sync every 10,000 pulses (10 kHz at 100 MHz).
    fn default() -> Self {
        PatternConfig {
            seed: 0x005E_ED0F_0B84,
            mu: vec![0.8, 0.1, 0.0],
            class_probabilities: vec![0.5, 0.25, 0.25],
            z_basis_probability: 0.5,
            pol_select: [0, 1, 2, 3],
            sync_period_pulses: 10_000,
            frame_period_syncs: 100,
            calibration: IntensityCalibration::default(),
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> DriverError {
    DriverError::InvalidSetting { field, reason: reason.into() }
}

impl PatternConfig {
    /// Checks the configuration and turns it into register settings. Nothing is sent to
    /// a device before this succeeds.
    pub fn to_settings(&self) -> Result<PatternSettings, DriverError> {
        let n = self.class_probabilities.len();
        if !(1..=4).contains(&n) {
            return Err(invalid("class_probabilities", format!("1 to 4 classes, got {n}")));
        }
        if self.mu.len() != n {
            return Err(invalid(
                "mu",
                format!(
                    "{} intensities but {n} class probabilities: mu and class_probabilities need one value per class each",
                    self.mu.len()
                ),
            ));
        }
        if let Some(p) = self.class_probabilities.iter().find(|p| !(p.is_finite() && (0.0..=1.0).contains(*p))) {
            return Err(invalid("class_probabilities", format!("{p} is not a probability")));
        }
        let sum: f64 = self.class_probabilities.iter().sum();
        if (sum - 1.0).abs() > 1e-9 {
            return Err(invalid("class_probabilities", format!("sum to {sum}, not 1")));
        }
        let z = self.z_basis_probability;
        if !(z.is_finite() && (0.0..=1.0).contains(&z)) {
            return Err(invalid("z_basis_probability", format!("{z} is not a probability")));
        }
        if self.sync_period_pulses == 0 {
            return Err(invalid("sync_period_pulses", "must be at least 1"));
        }
        if self.frame_period_syncs == 0 {
            return Err(invalid("frame_period_syncs", "must be at least 1"));
        }
        if let Some(p) = self.pol_select.iter().find(|p| **p > 15) {
            return Err(invalid("pol_select", format!("{p} does not fit the 4-bit select")));
        }
        let mut dac_code = [0u16; 4];
        for (k, mu) in self.mu.iter().enumerate() {
            dac_code[k] = self.calibration.dac_code(*mu).map_err(|r| invalid("mu", r))?;
        }
        let one = f64::from(THRESHOLD_ONE);
        let mut cum = 0.0;
        let mut class_thr = [THRESHOLD_ONE; 3];
        for (k, thr) in class_thr.iter_mut().enumerate().take(n - 1) {
            cum += self.class_probabilities[k];
            *thr = (cum * one).round().min(one) as u32;
        }
        let pol_map = self.pol_select.iter().enumerate().fold(0u16, |m, (i, p)| m | (u16::from(*p) << (4 * i)));
        Ok(PatternSettings {
            seed: self.seed,
            class_thr,
            basis_thr: (z * one).round() as u32,
            dac_code,
            pol_map,
            sync_period: self.sync_period_pulses,
            frame_period: self.frame_period_syncs,
        })
    }
}

/// Identity registers of a pattern generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// ID register (ASCII).
    pub id: u32,
    /// VERSION register (major << 16 | minor).
    pub version: u32,
}

/// Live state of a pattern generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternStatus {
    /// Emitting pulses.
    pub running: bool,
    /// Taking symbols from external random bits.
    pub external_mode: bool,
    /// Pulse slots emitted since the last start.
    pub pulses: u64,
    /// External-mode slots that found no random bits since the last start.
    pub underflows: u32,
}

/// A decoy-state BB84 pattern generator.
pub trait PatternGenerator {
    /// Reads the identity registers (and so checks the link).
    fn identify(&mut self) -> Result<DeviceIdentity, DriverError>;
    /// Validates `cfg`, then programs it. Returns the register settings now in force,
    /// which is what the host needs to compute `symbol(i)`.
    fn configure(&mut self, cfg: &PatternConfig) -> Result<PatternSettings, DriverError>;
    /// Clears the counters and starts emitting from pulse index 0.
    fn start(&mut self) -> Result<(), DriverError>;
    /// Stops emitting.
    fn stop(&mut self) -> Result<(), DriverError>;
    /// Reads the live state.
    fn status(&mut self) -> Result<PatternStatus, DriverError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micius_settings_become_exact_thresholds() {
        let s = PatternConfig::default().to_settings().unwrap();
        assert_eq!(s.class_thr, [32768, 49152, 65536]);
        assert_eq!(s.basis_thr, 32768);
        assert_eq!(s.dac_code[..3], [52428, 6554, 0]);
        assert_eq!(s.class_probabilities(), [0.5, 0.25, 0.25, 0.0]);
    }

    #[test]
    fn bad_settings_are_refused_with_the_field_named() {
        let field = |c: PatternConfig| match c.to_settings() {
            Err(DriverError::InvalidSetting { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        let base = PatternConfig::default();
        assert_eq!(
            field(PatternConfig { class_probabilities: vec![0.5, 0.3, 0.3], ..base.clone() }),
            "class_probabilities"
        );
        assert_eq!(field(PatternConfig { mu: vec![1.5, 0.1, 0.0], ..base.clone() }), "mu");
        assert_eq!(field(PatternConfig { mu: vec![0.5, 0.1], ..base.clone() }), "mu");
        assert_eq!(field(PatternConfig { z_basis_probability: 1.2, ..base.clone() }), "z_basis_probability");
        assert_eq!(field(PatternConfig { sync_period_pulses: 0, ..base.clone() }), "sync_period_pulses");
        assert_eq!(field(PatternConfig { pol_select: [0, 1, 2, 16], ..base }), "pol_select");
    }
}
