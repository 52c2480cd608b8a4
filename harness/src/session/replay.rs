//! A recording through the engine as a session: the recording's own settings (its
//! generator, pulse rate and engine settings from `/pattern` and `/config`), with what the
//! caller overrides, each override reported.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use recordings::replay::ReplayTagger;
use recordings::RecordingError;

use super::{Drive, Outcome, SessionError};
use crate::pipeline::{Observer, PipelineConfig};
use crate::settings::{EngineOverrides, EngineSettings, SettingError, Settings};

/// A replay: which file, how fast, and which settings to override.
#[derive(Debug, Clone)]
pub struct ReplayPlan {
    /// The recording.
    pub path: PathBuf,
    /// Pace to the recorded time instead of as fast as possible.
    pub realtime: bool,
    /// The pulse rate, Hz, overriding the recording's.
    pub pulse_rate_hz: Option<f64>,
    /// Engine settings overriding the recording's.
    pub engine: EngineOverrides,
    /// The pipeline's ring and update interval.
    pub pipeline: PipelineConfig,
}

impl ReplayPlan {
    /// Replays `path` as fast as possible with the recorded settings.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ReplayPlan {
            path: path.into(),
            realtime: false,
            pulse_rate_hz: None,
            engine: EngineOverrides::default(),
            pipeline: PipelineConfig::default(),
        }
    }
}

/// Replays a recording. The engine runs with the settings recorded in the file; the plan's
/// overrides replace single fields and are listed in the outcome's notes.
pub fn replay(plan: &ReplayPlan, observer: &mut dyn Observer, stop: Arc<AtomicBool>) -> Result<Outcome, SessionError> {
    let (src, run) = recordings::replay::open_run(&plan.path).map_err(SessionError::Input)?;
    let pattern = run.info.pattern.ok_or_else(|| {
        SessionError::Input(RecordingError::Unsupported {
            path: plan.path.clone(),
            reason: "no /pattern group: the generator's settings were not recorded, so the engine cannot \
                     sift (a file converted from another instrument has none; `qkdbench dump` prints its events)"
                .into(),
        })
    })?;
    let mut notes = Vec::new();
    let recorded_rate = run.info.pulse_rate_hz;
    let pulse_rate_hz = match (plan.pulse_rate_hz, recorded_rate) {
        (Some(r), Some(f)) if r != f => {
            notes.push(format!("pulse rate {r} Hz from the flag (the recording says {f} Hz)"));
            r
        }
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) => {
            let r = drivers::DEFAULT_PULSE_RATE_HZ;
            notes.push(format!("the recording has no pulse rate: assuming {r} Hz (--pulse-rate-hz sets it)"));
            r
        }
    };
    let mut settings = Settings::default();
    settings.generator.pulse_rate_hz = pulse_rate_hz;
    settings.generator.validate().map_err(|e| {
        if plan.pulse_rate_hz.is_some() {
            SettingError::new("--pulse-rate-hz", e.reason)
        } else {
            SettingError::new(format!("{}: pulse_rate_hz", plan.path.display()), e.reason)
        }
    })?;
    let config = run.config.clone();
    let in_file = |e: SettingError| SettingError::new(format!("{}: {}", plan.path.display(), e.field), e.reason);
    let (mut engine, found) = EngineSettings::from_config_values(&config, pulse_rate_hz).map_err(in_file)?;
    if found.is_empty() {
        notes.push("the recording has no engine settings in /config: the engine's defaults are used".into());
    }
    // The recorded settings must make sense on their own: an error here is the file's.
    engine.validate(pulse_rate_hz).map_err(|e| in_file(SettingError::new(format!("/config {}", e.field), e.reason)))?;
    let recorded = engine.clone();
    for (field, value) in plan.engine.apply(&mut engine) {
        notes.push(format!("engine.{field} = {value} from the flag (recorded: {})", recorded.field_text(field)));
    }
    settings.engine = engine;
    // The intensities the key is computed with: as set, else from the DAC codes.
    let mu = match (&run.info.pattern_mu, run.info.mu_full_scale) {
        (Some(mu), _) => std::array::from_fn(|k| mu.get(k).copied().unwrap_or(0.0)),
        (None, full_scale) => {
            let cal = drivers::pattern_gen::IntensityCalibration { mu_full_scale: full_scale.unwrap_or(1.0) };
            std::array::from_fn(|k| cal.mu(pattern.dac_code[k]))
        }
    };
    settings.generator.mu = mu.to_vec();
    let mut engine_cfg = settings.engine.engine_config(pattern, pulse_rate_hz, mu)?;
    // A recording opened in the middle of a run carries the pulse index of a frame mark.
    engine_cfg.clock.index_reference = run.info.frame_reference;
    let kind = if matches!(src, recordings::EventSource::PhotonHdf5(_)) { "Photon-HDF5 export" } else { "recording" };
    let source = format!("{kind} {} ({})", plan.path.display(), run.run_status);
    let mut tagger = ReplayTagger::from_source(src, run.info.time_base);
    tagger.realtime = plan.realtime;
    let drive = Drive { settings, engine_cfg, source, meta: None, pipeline: &plan.pipeline, notes };
    drive.go(tagger, observer, stop, || {})
}
