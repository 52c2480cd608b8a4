//! Which devices a run uses, and the simulated bench's physics in physical units
//! (docs/scenario-format.md, `[bench]`). The same settings drive `sim` (in this process),
//! `served` (a `qkdbench sim serve` elsewhere) and `hardware` (the boards): one line,
//! `device`, chooses.

use std::path::{Path, PathBuf};

use drivers::sim::{
    BenchConfig, ChannelModel, CircularOrbit, DetectorConfig, Fault, Fidelity, OpticsConfig, PassProfile,
    ReceiverConfig, SourceConfig, SyncConfig,
};
use serde::{Deserialize, Serialize};

use super::SettingError;

/// Where the tags come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The simulated bench in this process.
    Sim,
    /// A bench hosted by `qkdbench sim serve` (its pty and sockets).
    Served,
    /// The boards: the pattern generator on a serial port, the tagger on USB.
    Hardware,
    /// A recording replayed (`bench.recording`): scenarios only; the generator's settings
    /// and the optics are the recording's (`qkdbench replay` replays one from the command
    /// line).
    #[value(skip)]
    Replay,
}

/// Which implementation of the FPGA designs the simulated bench runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FidelityKind {
    /// Golden models, event-driven: whole passes in seconds.
    Fast,
    /// Verilated RTL, cycle-accurate: slower than real time.
    Rtl,
}

/// The channel's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// Fixed attenuation (`loss_db`) and path length (`range_km`).
    Constant,
    /// A measured pass: `track_csv` (time,distance) and `link_csv` (distance,loss).
    Pass,
    /// A circular orbit: `altitude_km`, `max_elevation_deg`, `min_elevation_deg`,
    /// `loss_at_zenith_db`, `atmosphere_db`.
    Orbit,
}

/// The light source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSettings {
    /// True mean photon number at DAC full scale; unset: the generator's calibration
    /// (`generator.mu_full_scale`), i.e. a calibrated modulator.
    pub mu_full_scale: Option<f64>,
    /// True / nominal mean photon number per class: a miscalibrated modulator.
    pub class_mu_factor: [f64; 4],
    /// Relative RMS pulse-to-pulse intensity noise.
    pub intensity_noise_rel: f64,
    /// Intensity factor by [previous class][this class] (patterning).
    pub patterning: [[f64; 4]; 4],
}

impl Default for SourceSettings {
    fn default() -> Self {
        let s = SourceConfig::default();
        SourceSettings {
            mu_full_scale: None,
            class_mu_factor: s.class_mu_factor,
            intensity_noise_rel: s.intensity_noise_rel,
            patterning: s.patterning,
        }
    }
}

/// The channel: loss and range over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelSettings {
    /// constant, pass or orbit.
    pub kind: ChannelKind,
    /// Constant channel: loss, dB.
    pub loss_db: f64,
    /// Constant channel: path length, km (time of flight; no Doppler).
    pub range_km: f64,
    /// Pass: the `time,distance` table (s, km); relative to the scenario file.
    pub track_csv: Option<PathBuf>,
    /// Pass: the `distance,loss` table (km, dB); relative to the scenario file.
    pub link_csv: Option<PathBuf>,
    /// Orbit: altitude, km.
    pub altitude_km: f64,
    /// Orbit: highest elevation of the pass, degrees (10-90).
    pub max_elevation_deg: f64,
    /// Orbit: the pass is the time above this elevation, degrees.
    pub min_elevation_deg: f64,
    /// Orbit: loss at zenith, dB.
    pub loss_at_zenith_db: f64,
    /// Orbit: extra loss of one air mass beyond zenith, dB.
    pub atmosphere_db: f64,
}

impl Default for ChannelSettings {
    fn default() -> Self {
        ChannelSettings {
            kind: ChannelKind::Constant,
            loss_db: 30.0,
            range_km: 0.0,
            track_csv: None,
            link_csv: None,
            altitude_km: 500.0,
            max_elevation_deg: 60.0,
            min_elevation_deg: 10.0,
            loss_at_zenith_db: 28.0,
            atmosphere_db: 1.0,
        }
    }
}

impl ChannelSettings {
    /// The pass tables of a folder laid out like `shared/data/passes`.
    pub fn micius_pass(dir: &Path) -> Self {
        ChannelSettings {
            kind: ChannelKind::Pass,
            track_csv: Some(dir.join("micius2017_track.csv")),
            link_csv: Some(dir.join("micius2017_link_efficiency.csv")),
            ..Default::default()
        }
    }

    /// The drivers' channel model (loads a pass's tables).
    pub fn model(&self) -> Result<ChannelModel, SettingError> {
        match self.kind {
            ChannelKind::Constant => Ok(ChannelModel::Constant { loss_db: self.loss_db, range_km: self.range_km }),
            ChannelKind::Pass => {
                let track = self.track_csv.as_ref().ok_or_else(|| {
                    SettingError::new("bench.channel.track_csv", "a pass needs its time,distance table")
                })?;
                let link = self.link_csv.as_ref().ok_or_else(|| {
                    SettingError::new("bench.channel.link_csv", "a pass needs its distance,loss table")
                })?;
                PassProfile::from_csv(track, link)
                    .map(ChannelModel::Pass)
                    .map_err(|e| SettingError::new("bench.channel.track_csv", e.to_string()))
            }
            ChannelKind::Orbit => Ok(ChannelModel::Orbit(CircularOrbit {
                altitude_km: self.altitude_km,
                max_elevation_deg: self.max_elevation_deg,
                min_elevation_deg: self.min_elevation_deg,
                loss_at_zenith_db: self.loss_at_zenith_db,
                atmosphere_db: self.atmosphere_db,
            })),
        }
    }

    fn validate(&self) -> Result<(), SettingError> {
        let bad = |f: &str, r: String| Err(SettingError::new(format!("bench.channel.{f}"), r));
        match self.kind {
            ChannelKind::Constant => {
                if !(self.loss_db.is_finite() && (0.0..=200.0).contains(&self.loss_db)) {
                    return bad("loss_db", format!("{} dB is not in 0..=200", self.loss_db));
                }
                if !(self.range_km.is_finite() && (0.0..=1e6).contains(&self.range_km)) {
                    return bad("range_km", format!("{} km is not in 0..=1e6", self.range_km));
                }
            }
            ChannelKind::Pass => {
                for (f, p) in [("track_csv", &self.track_csv), ("link_csv", &self.link_csv)] {
                    match p {
                        None => return bad(f, "a pass needs it".into()),
                        Some(p) if !p.is_file() => return bad(f, format!("{} is not a readable file", p.display())),
                        _ => {}
                    }
                }
            }
            ChannelKind::Orbit => {
                if !(self.altitude_km.is_finite() && (150.0..=40_000.0).contains(&self.altitude_km)) {
                    return bad("altitude_km", format!("{} km is not in 150..=40000", self.altitude_km));
                }
                if !(self.min_elevation_deg.is_finite() && (0.0..90.0).contains(&self.min_elevation_deg)) {
                    return bad("min_elevation_deg", format!("{} is not in 0..90", self.min_elevation_deg));
                }
                if !(self.max_elevation_deg.is_finite()
                    && self.max_elevation_deg > self.min_elevation_deg
                    && self.max_elevation_deg <= 90.0)
                {
                    return bad(
                        "max_elevation_deg",
                        format!("{} is not in ({}, 90]", self.max_elevation_deg, self.min_elevation_deg),
                    );
                }
                for (f, x) in [("loss_at_zenith_db", self.loss_at_zenith_db), ("atmosphere_db", self.atmosphere_db)] {
                    if !(x.is_finite() && (0.0..=200.0).contains(&x)) {
                        return bad(f, format!("{x} dB is not in 0..=200"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Atmospheric scintillation: log-normal transmittance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScintillationSettings {
    /// Standard deviation of ln(transmittance factor).
    pub sigma_ln: f64,
    /// Coherence time, s.
    pub coherence_s: f64,
}

impl Default for ScintillationSettings {
    fn default() -> Self {
        ScintillationSettings { sigma_ln: 0.0, coherence_s: 0.01 }
    }
}

/// The passive BB84 receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiverSettings {
    /// Transmittance of the receiver optics (excluding detectors), 0..=1.
    pub efficiency: f64,
    /// Fraction of the light sent to the Z analyser.
    pub z_split: f64,
    /// Probability that a photon lands on the wrong detector of its basis, [Z, X], 0..=0.5.
    pub misalignment: [f64; 2],
    /// Growth of the misalignment per second, [Z, X] (polarisation drift).
    pub misalignment_drift_per_s: [f64; 2],
}

impl Default for ReceiverSettings {
    fn default() -> Self {
        let r = ReceiverConfig::default();
        ReceiverSettings {
            efficiency: r.efficiency,
            z_split: r.z_split,
            misalignment: r.misalignment,
            misalignment_drift_per_s: r.misalignment_drift_per_s,
        }
    }
}

/// One single-photon detector, as the bench uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorSettings {
    /// Detection efficiency, 0..=1.
    pub efficiency: f64,
    /// Dark count rate, Hz.
    pub dark_rate_hz: f64,
    /// Dead time after a click, ps.
    pub dead_time_ps: f64,
    /// Probability that a click is followed by an afterpulse.
    pub afterpulse_probability: f64,
    /// Mean delay of an afterpulse after the dead time, ps.
    pub afterpulse_delay_ps: f64,
    /// RMS timing jitter, ps.
    pub jitter_ps: f64,
    /// Fixed delay (cable, electronics), ps.
    pub delay_ps: f64,
}

impl Default for DetectorSettings {
    fn default() -> Self {
        let d = DetectorConfig::default();
        DetectorSettings {
            efficiency: d.efficiency,
            dark_rate_hz: d.dark_rate_hz,
            dead_time_ps: d.dead_time_ps,
            afterpulse_probability: d.afterpulse_probability,
            afterpulse_delay_ps: d.afterpulse_delay_ps,
            jitter_ps: d.jitter_ps,
            delay_ps: d.delay_ps,
        }
    }
}

/// Fields of one detector that differ from the common settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorOverride {
    /// See [`DetectorSettings`].
    pub efficiency: Option<f64>,
    /// See [`DetectorSettings`].
    pub dark_rate_hz: Option<f64>,
    /// See [`DetectorSettings`].
    pub dead_time_ps: Option<f64>,
    /// See [`DetectorSettings`].
    pub afterpulse_probability: Option<f64>,
    /// See [`DetectorSettings`].
    pub afterpulse_delay_ps: Option<f64>,
    /// See [`DetectorSettings`].
    pub jitter_ps: Option<f64>,
    /// See [`DetectorSettings`].
    pub delay_ps: Option<f64>,
}

/// The four detectors: settings of all four, and per detector what differs
/// (`[bench.detectors.v]`).
///
/// The common fields repeat those of [`DetectorSettings`] on purpose:
/// `#[serde(flatten)]` cannot be combined with `deny_unknown_fields`, and a
/// misspelt detector field must be an error naming it, not silently ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorsSettings {
    /// Detection efficiency, 0..=1.
    pub efficiency: f64,
    /// Dark count rate, Hz.
    pub dark_rate_hz: f64,
    /// Dead time after a click, ps.
    pub dead_time_ps: f64,
    /// Probability that a click is followed by an afterpulse.
    pub afterpulse_probability: f64,
    /// Mean delay of an afterpulse after the dead time, ps.
    pub afterpulse_delay_ps: f64,
    /// RMS timing jitter, ps.
    pub jitter_ps: f64,
    /// Fixed delay (cable, electronics), ps.
    pub delay_ps: f64,
    /// Detector H.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h: Option<DetectorOverride>,
    /// Detector V.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v: Option<DetectorOverride>,
    /// Detector D.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d: Option<DetectorOverride>,
    /// Detector A.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<DetectorOverride>,
}

impl Default for DetectorsSettings {
    fn default() -> Self {
        let d = DetectorSettings::default();
        DetectorsSettings {
            efficiency: d.efficiency,
            dark_rate_hz: d.dark_rate_hz,
            dead_time_ps: d.dead_time_ps,
            afterpulse_probability: d.afterpulse_probability,
            afterpulse_delay_ps: d.afterpulse_delay_ps,
            jitter_ps: d.jitter_ps,
            delay_ps: d.delay_ps,
            h: None,
            v: None,
            d: None,
            a: None,
        }
    }
}

impl DetectorsSettings {
    /// The settings of detector `i` (0 H, 1 V, 2 D, 3 A).
    pub fn of(&self, i: usize) -> DetectorSettings {
        let mut d = DetectorSettings {
            efficiency: self.efficiency,
            dark_rate_hz: self.dark_rate_hz,
            dead_time_ps: self.dead_time_ps,
            afterpulse_probability: self.afterpulse_probability,
            afterpulse_delay_ps: self.afterpulse_delay_ps,
            jitter_ps: self.jitter_ps,
            delay_ps: self.delay_ps,
        };
        if let Some(o) = [&self.h, &self.v, &self.d, &self.a][i] {
            let set = |x: &mut f64, v: Option<f64>| {
                if let Some(v) = v {
                    *x = v;
                }
            };
            set(&mut d.efficiency, o.efficiency);
            set(&mut d.dark_rate_hz, o.dark_rate_hz);
            set(&mut d.dead_time_ps, o.dead_time_ps);
            set(&mut d.afterpulse_probability, o.afterpulse_probability);
            set(&mut d.afterpulse_delay_ps, o.afterpulse_delay_ps);
            set(&mut d.jitter_ps, o.jitter_ps);
            set(&mut d.delay_ps, o.delay_ps);
        }
        d
    }
}

/// The sync and frame-mark path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncPathSettings {
    /// RMS timing jitter, ps.
    pub jitter_ps: f64,
    /// Fixed delay, ps.
    pub delay_ps: f64,
}

impl Default for SyncPathSettings {
    fn default() -> Self {
        let s = SyncConfig::default();
        SyncPathSettings { jitter_ps: s.jitter_ps, delay_ps: s.delay_ps }
    }
}

/// A fault of the simulated bench, at a time of the run (s of device time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultSettings {
    /// No sync or frame pulses reach the tagger from `from_s` to `to_s`.
    SyncDropout {
        /// Start, s.
        from_s: f64,
        /// End, s.
        to_s: f64,
    },
    /// Detector `detector` (h, v, d, a) gives no clicks (blinded by bright light).
    DetectorBlinded {
        /// h, v, d or a.
        detector: String,
        /// Start, s.
        from_s: f64,
        /// End, s.
        to_s: f64,
    },
    /// Detector `detector` clicks once per dead time by itself (latched comparator).
    DetectorLatched {
        /// h, v, d or a.
        detector: String,
        /// Start, s.
        from_s: f64,
        /// End, s.
        to_s: f64,
    },
    /// The host stops reading: the tagger's FIFO overflows.
    HostStall {
        /// Start, s.
        from_s: f64,
        /// End, s.
        to_s: f64,
    },
    /// The tagger disappears (cable pulled) at `at_s`.
    Disconnect {
        /// When, s.
        at_s: f64,
    },
    /// The background light is multiplied by `factor` from `at_s` on.
    BackgroundStep {
        /// When, s.
        at_s: f64,
        /// Multiplier.
        factor: f64,
    },
}

fn detector_index(name: &str) -> Result<u8, SettingError> {
    match name.to_ascii_lowercase().as_str() {
        "h" | "0" => Ok(0),
        "v" | "1" => Ok(1),
        "d" | "2" => Ok(2),
        "a" | "3" => Ok(3),
        other => Err(SettingError::new("bench.faults.detector", format!("{other:?} is not one of h, v, d, a"))),
    }
}

impl FaultSettings {
    /// The latest time the fault names, s.
    pub fn last_time_s(&self) -> f64 {
        match self {
            FaultSettings::SyncDropout { to_s, .. }
            | FaultSettings::DetectorBlinded { to_s, .. }
            | FaultSettings::DetectorLatched { to_s, .. }
            | FaultSettings::HostStall { to_s, .. } => *to_s,
            FaultSettings::Disconnect { at_s } | FaultSettings::BackgroundStep { at_s, .. } => *at_s,
        }
    }

    /// The bench's fault.
    pub fn fault(&self) -> Result<Fault, SettingError> {
        let span = |from_s: f64, to_s: f64| -> Result<(), SettingError> {
            if from_s.is_finite() && to_s.is_finite() && from_s >= 0.0 && to_s > from_s {
                Ok(())
            } else {
                Err(SettingError::new(
                    "bench.faults",
                    format!("from_s {from_s} to to_s {to_s} is not a time span >= 0"),
                ))
            }
        };
        let at = |at_s: f64| -> Result<(), SettingError> {
            if at_s.is_finite() && (0.0..=1e6).contains(&at_s) {
                Ok(())
            } else {
                Err(SettingError::new("bench.faults.at_s", format!("{at_s} is not a time >= 0")))
            }
        };
        Ok(match self {
            FaultSettings::SyncDropout { from_s, to_s } => {
                span(*from_s, *to_s)?;
                Fault::SyncDropout { from_s: *from_s, to_s: *to_s }
            }
            FaultSettings::DetectorBlinded { detector, from_s, to_s } => {
                span(*from_s, *to_s)?;
                Fault::DetectorBlinded { detector: detector_index(detector)?, from_s: *from_s, to_s: *to_s }
            }
            FaultSettings::DetectorLatched { detector, from_s, to_s } => {
                span(*from_s, *to_s)?;
                Fault::DetectorLatched { detector: detector_index(detector)?, from_s: *from_s, to_s: *to_s }
            }
            FaultSettings::HostStall { from_s, to_s } => {
                span(*from_s, *to_s)?;
                Fault::HostStall { from_s: *from_s, to_s: *to_s }
            }
            FaultSettings::Disconnect { at_s } => {
                at(*at_s)?;
                Fault::Disconnect { at_s: *at_s }
            }
            FaultSettings::BackgroundStep { at_s, factor } => {
                at(*at_s)?;
                // 1e4 x the default 200 Hz is 2 MHz per detector, beyond daylight through a
                // filter; more only makes the simulation slow and large.
                if !(factor.is_finite() && *factor >= 0.0 && *factor <= 1e4) {
                    return Err(SettingError::new("bench.faults.factor", format!("{factor} is not in 0..=1e4")));
                }
                Fault::BackgroundStep { at_s: *at_s, factor: *factor }
            }
        })
    }
}

/// The devices, and the simulated bench's physics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BenchSettings {
    /// sim, served or hardware.
    pub device: DeviceKind,
    /// served / hardware: the pattern generator's serial port (served: the pty `sim serve`
    /// printed).
    pub pattern_gen_port: Option<String>,
    /// served: the folder of `tagger.sock` and `tagger-ctl.sock`.
    pub tagger_socket_dir: Option<PathBuf>,
    /// hardware: the USB tagger's serial number (default: the first one found).
    pub tagger_serial: Option<String>,
    /// replay: the recording (or Photon-HDF5 export of one) to replay, relative to the
    /// scenario file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<PathBuf>,
    /// sim: fast (golden models) or rtl (Verilator).
    pub fidelity: FidelityKind,
    /// sim: seed of every random draw of the optics.
    pub seed: u64,
    /// sim: the tagger's clock runs fast by this many ppm relative to the transmitter.
    pub tagger_clock_ppm: f64,
    /// sim: background light per detector, Hz.
    pub background_rate_hz: f64,
    /// sim: the light source.
    pub source: SourceSettings,
    /// sim: the channel.
    pub channel: ChannelSettings,
    /// sim: scintillation (none when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scintillation: Option<ScintillationSettings>,
    /// sim: the receiver.
    pub receiver: ReceiverSettings,
    /// sim: the detectors.
    pub detectors: DetectorsSettings,
    /// sim: the sync path.
    pub sync: SyncPathSettings,
    /// sim: faults, at times of the run.
    pub faults: Vec<FaultSettings>,
}

impl Default for BenchSettings {
    fn default() -> Self {
        let o = OpticsConfig::default();
        BenchSettings {
            device: DeviceKind::Sim,
            pattern_gen_port: None,
            tagger_socket_dir: None,
            tagger_serial: None,
            recording: None,
            fidelity: FidelityKind::Fast,
            seed: o.seed,
            tagger_clock_ppm: o.tagger_clock_ppm,
            background_rate_hz: o.background_rate_hz,
            source: SourceSettings::default(),
            channel: ChannelSettings::default(),
            scintillation: None,
            receiver: ReceiverSettings::default(),
            detectors: DetectorsSettings::default(),
            sync: SyncPathSettings::default(),
            faults: Vec::new(),
        }
    }
}

/// The devices a run opens, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceSelection {
    /// The simulated bench in this process.
    Sim,
    /// A served bench.
    Served {
        /// The pattern generator's pty.
        pattern_gen_port: String,
        /// The folder of the tagger's sockets.
        tagger_socket_dir: PathBuf,
    },
    /// The boards.
    Hardware {
        /// The pattern generator's serial port.
        pattern_gen_port: String,
        /// The USB tagger's serial number, if one was named.
        tagger_serial: Option<String>,
    },
}

impl BenchSettings {
    /// The devices to open.
    pub fn selection(&self) -> Result<DeviceSelection, SettingError> {
        let port = || {
            self.pattern_gen_port.clone().ok_or_else(|| {
                SettingError::new(
                    "bench.pattern_gen_port",
                    format!("device {:?} needs the pattern generator's serial port", self.device),
                )
            })
        };
        Ok(match self.device {
            DeviceKind::Sim => DeviceSelection::Sim,
            DeviceKind::Served => DeviceSelection::Served {
                pattern_gen_port: port()?,
                tagger_socket_dir: self.tagger_socket_dir.clone().ok_or_else(|| {
                    SettingError::new(
                        "bench.tagger_socket_dir",
                        "device served needs the folder of the tagger's sockets",
                    )
                })?,
            },
            DeviceKind::Hardware => {
                DeviceSelection::Hardware { pattern_gen_port: port()?, tagger_serial: self.tagger_serial.clone() }
            }
            DeviceKind::Replay => {
                return Err(SettingError::new(
                    "bench.device",
                    "replay opens no devices: it replays bench.recording (a scenario runs it as such; `qkdbench \
                     replay` from the command line)",
                ))
            }
        })
    }

    /// The simulated bench's configuration at `pulse_rate_hz` with the generator's
    /// calibration `mu_full_scale`, ending after `duration_s` of device time (a pass ends by
    /// itself).
    pub fn bench_config(
        &self,
        pulse_rate_hz: f64,
        mu_full_scale: f64,
        duration_s: Option<f64>,
    ) -> Result<BenchConfig, SettingError> {
        self.validate()?;
        let mut optics = OpticsConfig {
            source: SourceConfig {
                pulse_rate_hz,
                mu_full_scale: self.source.mu_full_scale.unwrap_or(mu_full_scale),
                class_mu_factor: self.source.class_mu_factor,
                intensity_noise_rel: self.source.intensity_noise_rel,
                patterning: self.source.patterning,
            },
            channel: self.channel.model()?,
            scintillation: self
                .scintillation
                .as_ref()
                .map(|s| drivers::sim::config::Scintillation { sigma_ln: s.sigma_ln, coherence_s: s.coherence_s }),
            tagger_clock_ppm: self.tagger_clock_ppm,
            receiver: ReceiverConfig {
                efficiency: self.receiver.efficiency,
                z_split: self.receiver.z_split,
                misalignment: self.receiver.misalignment,
                misalignment_drift_per_s: self.receiver.misalignment_drift_per_s,
            },
            detectors: std::array::from_fn(|i| {
                let d = self.detectors.of(i);
                DetectorConfig {
                    efficiency: d.efficiency,
                    dark_rate_hz: d.dark_rate_hz,
                    dead_time_ps: d.dead_time_ps,
                    afterpulse_probability: d.afterpulse_probability,
                    afterpulse_delay_ps: d.afterpulse_delay_ps,
                    jitter_ps: d.jitter_ps,
                    delay_ps: d.delay_ps,
                }
            }),
            background_rate_hz: self.background_rate_hz,
            sync: SyncConfig { jitter_ps: self.sync.jitter_ps, delay_ps: self.sync.delay_ps },
            faults: Vec::new(),
            seed: self.seed,
        };
        for f in &self.faults {
            optics.faults.push(f.fault()?);
        }
        optics.validate().map_err(|e| match e {
            drivers::DriverError::InvalidSetting { field, reason } => {
                SettingError::new(format!("bench.{field}"), reason)
            }
            other => SettingError::new("bench", other.to_string()),
        })?;
        let fidelity = match self.fidelity {
            FidelityKind::Fast => Fidelity::Fast,
            FidelityKind::Rtl => Fidelity::Rtl,
        };
        Ok(BenchConfig { fidelity, optics, keep_truth: false, duration_s })
    }

    /// Checks the fields a run on this device uses; the error names the field.
    pub fn validate(&self) -> Result<(), SettingError> {
        if self.device == DeviceKind::Replay {
            // The scenario checks the recording (docs/scenario-format.md, "Replay bench").
            return Ok(());
        }
        self.selection()?;
        if self.device != DeviceKind::Sim {
            return Ok(());
        }
        let bad = |f: &str, r: String| Err(SettingError::new(format!("bench.{f}"), r));
        let prob = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        let nonneg = |x: f64| x.is_finite() && x >= 0.0;
        if !(self.tagger_clock_ppm.is_finite() && self.tagger_clock_ppm.abs() <= 1000.0) {
            return bad("tagger_clock_ppm", format!("{} is not within +-1000", self.tagger_clock_ppm));
        }
        if !(nonneg(self.background_rate_hz) && self.background_rate_hz <= 1e7) {
            return bad("background_rate_hz", format!("{} Hz is not in 0..=1e7", self.background_rate_hz));
        }
        for f in &self.faults {
            if let FaultSettings::BackgroundStep { factor, .. } = f {
                if self.background_rate_hz * factor > 1e7 {
                    return bad(
                        "faults.factor",
                        format!("background {} Hz x {factor} is above 1e7 Hz per detector", self.background_rate_hz),
                    );
                }
            }
            // Fault times of the bench itself (every run): at most 1e6 s.
            let t = f.last_time_s();
            if t > 1e6 {
                return bad("faults", format!("a fault time of {t} s is beyond 1e6 s"));
            }
        }
        if let Some(m) = self.source.mu_full_scale {
            if !(m.is_finite() && m > 0.0 && m <= 100.0) {
                return bad("source.mu_full_scale", format!("{m} is not in (0, 100]"));
            }
        }
        if self.source.class_mu_factor.iter().any(|x| !(nonneg(*x) && *x <= 100.0)) {
            return bad(
                "source.class_mu_factor",
                format!("{:?}: each must be in 0..=100", self.source.class_mu_factor),
            );
        }
        if !(nonneg(self.source.intensity_noise_rel) && self.source.intensity_noise_rel <= 1.0) {
            return bad("source.intensity_noise_rel", format!("{} is not in 0..=1", self.source.intensity_noise_rel));
        }
        if self.source.patterning.iter().flatten().any(|x| !(nonneg(*x) && *x <= 100.0)) {
            return bad("source.patterning", "each factor must be in 0..=100".into());
        }
        self.channel.validate()?;
        if let Some(s) = &self.scintillation {
            if !(nonneg(s.sigma_ln) && s.sigma_ln <= 5.0) {
                return bad("scintillation.sigma_ln", format!("{} is not in 0..=5", s.sigma_ln));
            }
            if !(s.coherence_s.is_finite() && s.coherence_s > 0.0 && s.coherence_s <= 3600.0) {
                return bad("scintillation.coherence_s", format!("{} s is not in (0, 3600]", s.coherence_s));
            }
        }
        let r = &self.receiver;
        if !prob(r.efficiency) {
            return bad("receiver.efficiency", format!("{} is not in 0..=1", r.efficiency));
        }
        if !prob(r.z_split) {
            return bad("receiver.z_split", format!("{} is not in 0..=1", r.z_split));
        }
        if r.misalignment.iter().any(|e| !(e.is_finite() && (0.0..=0.5).contains(e))) {
            return bad("receiver.misalignment", format!("{:?}: each must be in 0..=0.5", r.misalignment));
        }
        if r.misalignment_drift_per_s.iter().any(|e| !(e.is_finite() && e.abs() <= 1.0)) {
            return bad(
                "receiver.misalignment_drift_per_s",
                format!("{:?}: each must be within +-1", r.misalignment_drift_per_s),
            );
        }
        for (i, name) in ["h", "v", "d", "a"].iter().enumerate() {
            let d = self.detectors.of(i);
            let at = |f: &str| {
                if [&self.detectors.h, &self.detectors.v, &self.detectors.d, &self.detectors.a][i].is_some() {
                    format!("detectors.{name}.{f}")
                } else {
                    format!("detectors.{f}")
                }
            };
            if !prob(d.efficiency) {
                return bad(&at("efficiency"), format!("{} is not in 0..=1", d.efficiency));
            }
            if !prob(d.afterpulse_probability) {
                return bad(&at("afterpulse_probability"), format!("{} is not in 0..=1", d.afterpulse_probability));
            }
            for (f, x, max) in [
                ("dark_rate_hz", d.dark_rate_hz, 1e9),
                ("dead_time_ps", d.dead_time_ps, 1e12),
                ("afterpulse_delay_ps", d.afterpulse_delay_ps, 1e12),
                ("jitter_ps", d.jitter_ps, 1e9),
                ("delay_ps", d.delay_ps, 1e12),
            ] {
                if !(nonneg(x) && x <= max) {
                    return bad(&at(f), format!("{x} is not in 0..={max}"));
                }
            }
        }
        for (f, x) in [("sync.jitter_ps", self.sync.jitter_ps), ("sync.delay_ps", self.sync.delay_ps)] {
            if !(nonneg(x) && x <= 1e12) {
                return bad(f, format!("{x} is not in 0..=1e12"));
            }
        }
        for f in &self.faults {
            f.fault()?;
        }
        Ok(())
    }

    pub(super) fn resolve_paths(&mut self, base: &Path) {
        // Made absolute, so that resolving again (after a `configure` or for a sweep step)
        // leaves them alone: a relative base joined twice names another file.
        let fix = |p: &mut Option<PathBuf>| {
            if let Some(x) = p {
                if x.is_relative() {
                    let joined = base.join(&*x);
                    *x = std::path::absolute(&joined).unwrap_or(joined);
                }
            }
        };
        fix(&mut self.channel.track_csv);
        fix(&mut self.channel.link_csv);
        fix(&mut self.tagger_socket_dir);
        fix(&mut self.recording);
    }

    /// A description of the source for reports and the recording.
    pub fn describe(&self) -> String {
        match self.device {
            DeviceKind::Sim => format!("simulated bench ({:?})", self.fidelity).to_lowercase(),
            DeviceKind::Served => format!(
                "served bench: pattern generator {}, tagger {}",
                self.pattern_gen_port.as_deref().unwrap_or("?"),
                self.tagger_socket_dir.as_deref().map_or("?".into(), |d| d.display().to_string())
            ),
            DeviceKind::Hardware => {
                format!("boards: pattern generator {}, USB tagger", self.pattern_gen_port.as_deref().unwrap_or("?"))
            }
            DeviceKind::Replay => {
                format!("replay of {}", self.recording.as_deref().map_or("?".into(), |p| p.display().to_string()))
            }
        }
    }
}
