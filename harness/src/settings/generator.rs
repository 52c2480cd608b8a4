//! What the transmitter sends: the one owner of the pulse rate, and of the intensities the
//! finite key is computed with.

use drivers::pattern_gen::{IntensityCalibration, PatternConfig};
use drivers::DEFAULT_PULSE_RATE_HZ;
use serde::{Deserialize, Serialize};

use super::SettingError;

/// The pattern generator's settings, in physical terms (docs/scenario-format.md, `[generator]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorSettings {
    /// Pulse repetition rate, Hz: the transmitter's clock. Every rate-dependent figure (the
    /// engine's nominal period, the metrics window, the simulated source) comes from here.
    pub pulse_rate_hz: f64,
    /// Seed of the counter-mode symbol generator.
    pub seed: u64,
    /// Mean photon number per intensity class (signal, decoy, vacuum or weak; 1 to 4 classes).
    /// The finite key uses these values.
    pub mu: Vec<f64>,
    /// Probability of each class; sums to 1.
    pub class_probabilities: Vec<f64>,
    /// Probability of basis Z.
    pub z_basis_probability: f64,
    /// A sync pulse every this many pulses.
    pub sync_period_pulses: u32,
    /// A frame mark every this many syncs.
    pub frame_period_syncs: u32,
    /// The intensity modulator's calibration: mean photon number at DAC full scale.
    pub mu_full_scale: f64,
    /// Laser / polarisation select for the states (Z,0), (Z,1), (X,0), (X,1).
    pub pol_select: [u8; 4],
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        let p = PatternConfig::default();
        GeneratorSettings {
            pulse_rate_hz: DEFAULT_PULSE_RATE_HZ,
            seed: p.seed,
            mu: p.mu,
            class_probabilities: p.class_probabilities,
            z_basis_probability: p.z_basis_probability,
            sync_period_pulses: p.sync_period_pulses,
            frame_period_syncs: p.frame_period_syncs,
            mu_full_scale: p.calibration.mu_full_scale,
            pol_select: p.pol_select,
        }
    }
}

impl GeneratorSettings {
    /// The driver's configuration.
    pub fn pattern_config(&self) -> PatternConfig {
        PatternConfig {
            seed: self.seed,
            mu: self.mu.clone(),
            class_probabilities: self.class_probabilities.clone(),
            z_basis_probability: self.z_basis_probability,
            pol_select: self.pol_select,
            sync_period_pulses: self.sync_period_pulses,
            frame_period_syncs: self.frame_period_syncs,
            calibration: IntensityCalibration { mu_full_scale: self.mu_full_scale },
        }
    }

    /// The intensities of classes 0..3 for the finite key (a class not sent is 0).
    pub fn key_mu(&self) -> [f64; 3] {
        std::array::from_fn(|k| self.mu.get(k).copied().unwrap_or(0.0))
    }

    /// Checks every field; the error names it as `generator.<field>`.
    pub fn validate(&self) -> Result<(), SettingError> {
        let (lo, hi) = engine::PULSE_RATE_RANGE_HZ;
        if !(self.pulse_rate_hz.is_finite() && (lo..=hi).contains(&self.pulse_rate_hz)) {
            return Err(SettingError::new(
                "generator.pulse_rate_hz",
                format!("{} Hz is outside {lo}..={hi} Hz", self.pulse_rate_hz),
            ));
        }
        if !(self.mu_full_scale.is_finite() && self.mu_full_scale > 0.0 && self.mu_full_scale <= 100.0) {
            return Err(SettingError::new(
                "generator.mu_full_scale",
                format!("{} is not in (0, 100]", self.mu_full_scale),
            ));
        }
        self.pattern_config()
            .to_settings()
            .map_err(|e| match e {
                drivers::DriverError::InvalidSetting { field, reason } => {
                    SettingError::new(format!("generator.{field}"), reason)
                }
                other => SettingError::new("generator", other.to_string()),
            })
            .map(|_| ())
    }
}
