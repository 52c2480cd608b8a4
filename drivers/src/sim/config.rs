//! Settings of the simulated bench: the physics between the two FPGAs, and its faults.
//! Defaults are the Micius reference of QKD-REFERENCE.md where one exists.

use super::geometry::ChannelModel;

/// Which implementation of the two FPGA designs the bench runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fidelity {
    /// Verilated RTL, cycle for cycle: for conformance and short runs.
    Rtl,
    /// The golden models, visiting only pulses that produce a click: for whole passes.
    Fast,
}

/// The transmitter's light source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Pulse repetition rate, Hz (one pulse per pattern-generator clock).
    pub pulse_rate_hz: f64,
    /// Mean photon number per pulse at DAC full scale (the modulator's true curve).
    pub mu_full_scale: f64,
    /// True / nominal mean photon number per class: a miscalibrated modulator.
    pub class_mu_factor: [f64; 4],
    /// Relative RMS pulse-to-pulse intensity noise (Gaussian, clipped at 6 sigma).
    pub intensity_noise_rel: f64,
    /// Patterning effect: a pulse's intensity is multiplied by `patterning[previous][this]`
    /// (previous and this intensity class).
    pub patterning: [[f64; 4]; 4],
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            pulse_rate_hz: crate::DEFAULT_PULSE_RATE_HZ,
            mu_full_scale: 1.0,
            class_mu_factor: [1.0; 4],
            intensity_noise_rel: 0.0,
            patterning: [[1.0; 4]; 4],
        }
    }
}

/// Atmospheric scintillation: log-normal transmittance, constant over one coherence time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scintillation {
    /// Standard deviation of ln(transmittance factor); the factor's mean is 1.
    pub sigma_ln: f64,
    /// Coherence time, seconds (a new factor is drawn this often).
    pub coherence_s: f64,
}

/// A passive BB84 receiver: a beam splitter to a Z (H/V) and an X (D/A) analyser.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverConfig {
    /// Transmittance of the receiver optics (excluding detectors).
    pub efficiency: f64,
    /// Fraction of the light sent to the Z analyser.
    pub z_split: f64,
    /// Probability that a photon of a matching basis lands on the wrong detector, [Z, X].
    pub misalignment: [f64; 2],
    /// Polarisation drift: misalignment grows by this much per second, [Z, X].
    pub misalignment_drift_per_s: [f64; 2],
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig { efficiency: 1.0, z_split: 0.5, misalignment: [0.01, 0.01], misalignment_drift_per_s: [0.0; 2] }
    }
}

/// One single-photon detector.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    /// Detection efficiency.
    pub efficiency: f64,
    /// Dark count rate, Hz.
    pub dark_rate_hz: f64,
    /// Dead time after a click, ps (non-paralysable).
    pub dead_time_ps: f64,
    /// Probability that a click is followed by an afterpulse.
    pub afterpulse_probability: f64,
    /// Mean delay of an afterpulse after the dead time, ps (exponential).
    pub afterpulse_delay_ps: f64,
    /// RMS timing jitter, ps (Gaussian).
    pub jitter_ps: f64,
    /// Fixed delay (cable, electronics), ps.
    pub delay_ps: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            efficiency: 0.5,
            dark_rate_hz: 100.0,
            dead_time_ps: 50_000.0,
            afterpulse_probability: 0.0,
            afterpulse_delay_ps: 1_000_000.0,
            jitter_ps: 50.0,
            delay_ps: 0.0,
        }
    }
}

/// The sync and frame-mark path (a bright sync laser: always detected unless a fault).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncConfig {
    /// RMS timing jitter, ps.
    pub jitter_ps: f64,
    /// Fixed delay, ps.
    pub delay_ps: f64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig { jitter_ps: 30.0, delay_ps: 0.0 }
    }
}

/// Faults the bench can inject (times are seconds of bench time).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// No sync or frame pulses reach the tagger.
    SyncDropout {
        /// Start, s.
        from_s: f64,
        /// End, s.
        to_s: f64,
    },
    /// A detector gives no clicks at all (blinded by bright light).
    DetectorBlinded {
        /// Detector 0..=3.
        detector: u8,
        /// Start, s.
        from_s: f64,
        /// End, s.
        to_s: f64,
    },
    /// A detector clicks by itself once per dead time (latched comparator).
    DetectorLatched {
        /// Detector 0..=3.
        detector: u8,
        /// Start, s.
        from_s: f64,
        /// End, s.
        to_s: f64,
    },
    /// The host stops reading: the tagger's FIFO fills and overflows.
    HostStall {
        /// Start, s.
        from_s: f64,
        /// End, s.
        to_s: f64,
    },
    /// The tagger disappears (cable pulled).
    Disconnect {
        /// When, s.
        at_s: f64,
    },
    /// Background light changes (dawn, a door opened): background multiplied by `factor`.
    BackgroundStep {
        /// When, s.
        at_s: f64,
        /// Multiplier of the background rate from then on.
        factor: f64,
    },
}

/// Everything between the pattern generator's outputs and the tagger's inputs.
#[derive(Debug, Clone)]
pub struct OpticsConfig {
    /// The light source.
    pub source: SourceConfig,
    /// Loss and range over time.
    pub channel: ChannelModel,
    /// Optional scintillation.
    pub scintillation: Option<Scintillation>,
    /// The tagger's clock runs fast by this many parts per million relative to the
    /// transmitter's.
    pub tagger_clock_ppm: f64,
    /// The receiver.
    pub receiver: ReceiverConfig,
    /// Detectors H, V, D, A (tagger channels 0..=3).
    pub detectors: [DetectorConfig; 4],
    /// Background light per detector, Hz.
    pub background_rate_hz: f64,
    /// Sync (tagger channel 4) and frame mark (channel 5).
    pub sync: SyncConfig,
    /// Injected faults.
    pub faults: Vec<Fault>,
    /// Seed of every random draw of the optics; the same seed gives the same run.
    pub seed: u64,
}

impl Default for OpticsConfig {
    fn default() -> Self {
        OpticsConfig {
            source: SourceConfig::default(),
            channel: ChannelModel::Constant { loss_db: 30.0, range_km: 0.0 },
            scintillation: None,
            tagger_clock_ppm: 0.0,
            receiver: ReceiverConfig::default(),
            detectors: std::array::from_fn(|_| DetectorConfig::default()),
            background_rate_hz: 200.0,
            sync: SyncConfig::default(),
            faults: Vec::new(),
            seed: 1,
        }
    }
}

impl OpticsConfig {
    /// A bench with no dark counts and no background: every click is signal (tests that
    /// compare with analytic expectations start from here).
    pub fn noiseless(loss_db: f64) -> Self {
        let mut o = OpticsConfig {
            channel: ChannelModel::Constant { loss_db, range_km: 0.0 },
            background_rate_hz: 0.0,
            ..Default::default()
        };
        for d in &mut o.detectors {
            d.dark_rate_hz = 0.0;
        }
        o
    }
}

/// Tagger channel of the sync (the bench's wiring, [`crate::ChannelMap::BENCH`]).
pub const SYNC_CHANNEL: u8 = crate::ChannelMap::BENCH.sync;
/// Tagger channel of the frame mark.
pub const FRAME_CHANNEL: u8 = crate::ChannelMap::BENCH.frame;

impl OpticsConfig {
    /// Checks the settings; the message names the field.
    pub fn validate(&self) -> Result<(), crate::DriverError> {
        let bad = |field: &'static str, reason: String| Err(crate::DriverError::InvalidSetting { field, reason });
        let prob = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        if !(self.source.pulse_rate_hz.is_finite()
            && self.source.pulse_rate_hz > 0.0
            && self.source.pulse_rate_hz <= 1e10)
        {
            return bad("source.pulse_rate_hz", format!("{} is not in (0, 1e10]", self.source.pulse_rate_hz));
        }
        if !(self.source.mu_full_scale.is_finite() && self.source.mu_full_scale >= 0.0) {
            return bad("source.mu_full_scale", format!("{} is not >= 0", self.source.mu_full_scale));
        }
        if !prob(self.receiver.efficiency) {
            return bad("receiver.efficiency", format!("{} is not in 0..=1", self.receiver.efficiency));
        }
        if !prob(self.receiver.z_split) {
            return bad("receiver.z_split", format!("{} is not in 0..=1", self.receiver.z_split));
        }
        if self.receiver.misalignment.iter().any(|e| !(e.is_finite() && (0.0..=0.5).contains(e))) {
            return bad("receiver.misalignment", format!("{:?} is not in 0..=0.5", self.receiver.misalignment));
        }
        for d in &self.detectors {
            if !prob(d.efficiency) || !prob(d.afterpulse_probability) {
                return bad("detectors", format!("efficiency and afterpulse probability must be in 0..=1: {d:?}"));
            }
            if [d.dark_rate_hz, d.dead_time_ps, d.jitter_ps, d.afterpulse_delay_ps]
                .iter()
                .any(|x| !(x.is_finite() && *x >= 0.0))
            {
                return bad("detectors", format!("rates, times and jitter must be >= 0: {d:?}"));
            }
        }
        if !(self.background_rate_hz.is_finite() && self.background_rate_hz >= 0.0) {
            return bad("background_rate_hz", format!("{} is not >= 0", self.background_rate_hz));
        }
        if !self.tagger_clock_ppm.is_finite() || self.tagger_clock_ppm.abs() > 1000.0 {
            return bad("tagger_clock_ppm", format!("{} is not within +-1000", self.tagger_clock_ppm));
        }
        Ok(())
    }
}
