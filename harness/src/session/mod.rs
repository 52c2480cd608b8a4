//! The session layer: one run of the devices (or of a recording) through the engine, with
//! an optional recording, as a library call. Settings in, status and report out.
//!
//! `record`, `replay`, `demo`, `live` and every scenario phase run a session; none of them
//! assembles devices, engine and recorder itself. A session prints nothing and installs no
//! signal handler: the caller owns the terminal and the signals, and watches the run through
//! an [`Observer`] (progress bars, the TUI, a scenario's stop conditions).

mod config_values;
mod devices;
mod replay;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use drivers::time_tagger::TimeTagger;
use engine::{Engine, EngineConfig, WorkerPriority};
use recordings::{Compression, RecordingError, RecordingWriter, RunMeta, RunStatus};

use crate::pipeline::{self, EndReason, Observer, PipelineConfig, PipelineReport, RecordItem};
use crate::recorder::RecorderStatus;
use crate::report::RunReport;
use crate::settings::{SettingError, Settings};

pub use config_values::settings_config_values;
pub use replay::{replay, ReplayPlan};

/// Why a session could not run (or could not keep what it measured).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A setting is out of range or settings disagree; nothing was touched.
    #[error("{0}")]
    Setting(#[from] SettingError),
    /// A device could not be opened or configured; the message names it.
    #[error("{what}: {source}")]
    Device {
        /// What was being done, e.g. "opening the pattern generator at /dev/ttyUSB0".
        what: String,
        /// The driver's error.
        source: drivers::DriverError,
    },
    /// An input recording cannot be read.
    #[error("{0}")]
    Input(RecordingError),
    /// The output recording could not be created or written; the run's data are not safe.
    #[error("writing {path}: {source}")]
    Output {
        /// The recording.
        path: PathBuf,
        /// What failed.
        source: RecordingError,
    },
    /// A thread of the session died.
    #[error("{0}")]
    Internal(String),
}

impl SessionError {
    /// The process exit code this error means (docs/exit-codes.md): 2 for bad input (a
    /// setting, a missing device, an unreadable file), 1 for a run that could not be kept.
    pub fn exit_code(&self) -> u8 {
        match self {
            SessionError::Setting(_) | SessionError::Device { .. } | SessionError::Input(_) => 2,
            SessionError::Output { .. } | SessionError::Internal(_) => 1,
        }
    }
}

/// Where and how to record a session.
#[derive(Debug, Clone)]
pub struct OutputPlan {
    /// The HDF5 file (replaced if it exists).
    pub path: PathBuf,
    /// Compression of the tag datasets.
    pub compression: Compression,
    /// The configuration as the user gave it (command line or scenario text).
    pub config_text: String,
    /// The scenario the run belongs to, if any.
    pub scenario_text: Option<String>,
    /// Open `path` when the run starts (true), or only when a live view asks
    /// ([`crate::pipeline::Command::StartRecording`]).
    pub start_now: bool,
    /// Where the recorder reports the open file and its tags, for a live view.
    pub status: Option<Arc<Mutex<RecorderStatus>>>,
}

/// A session on devices: what to run, for how long, and where to record it.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// Every setting.
    pub settings: Settings,
    /// Device time to run, s; None: until the stream ends (a pass ends by itself) or stop.
    pub duration_s: Option<f64>,
    /// Pace the simulated bench to wall-clock time, like a live instrument.
    pub realtime: bool,
    /// The recording, if any.
    pub output: Option<OutputPlan>,
    /// The pipeline's ring and update interval.
    pub pipeline: PipelineConfig,
}

impl RunPlan {
    /// A plan for `settings`, run for `duration_s` of device time, not recorded.
    pub fn new(settings: Settings, duration_s: Option<f64>) -> Self {
        RunPlan { settings, duration_s, realtime: false, output: None, pipeline: PipelineConfig::default() }
    }
}

/// What a finished recording holds.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The file.
    pub path: PathBuf,
    /// Tags in it.
    pub tags: u64,
    /// In-band events in it.
    pub events: u64,
}

/// A finished session.
#[derive(Debug)]
pub struct Outcome {
    /// How the run ended: complete, or aborted with the reason (Ctrl-C, a device error).
    pub status: RunStatus,
    /// The devices (or the file) the tags came from.
    pub source: String,
    /// The settings the run used (for a replay: the recording's, with the overrides).
    pub settings: Settings,
    /// The engine after the run (flushed): snapshot, windows, histogram, key, report.
    pub engine: Engine,
    /// The pipeline's counters.
    pub pipeline: PipelineReport,
    /// The recording, when one was made.
    pub recorded: Option<Recorded>,
    /// Things the caller should tell the user (e.g. which recorded settings a flag overrode).
    pub notes: Vec<String>,
}

impl Outcome {
    /// The run report.
    pub fn report(&self) -> RunReport {
        RunReport::of(&self.engine)
    }

    /// True when the run completed.
    pub fn complete(&self) -> bool {
        self.status == RunStatus::Complete
    }

    /// The status as written in a recording: `complete` or `aborted: <reason>`.
    pub fn status_text(&self) -> String {
        self.status.to_string()
    }
}

/// Validates `plan`, opens and configures the devices, runs until the duration, the end of
/// the stream, `stop`, or the observer says stop; records when asked.
pub fn run(plan: &RunPlan, observer: &mut dyn Observer, stop: Arc<AtomicBool>) -> Result<Outcome, SessionError> {
    plan.settings.validate()?;
    if let Some(d) = plan.duration_s {
        if !(d.is_finite() && d > 0.0 && d <= 1e7) {
            return Err(SettingError::new("duration_s", format!("{d} s is not in (0, 1e7]")).into());
        }
    }
    devices::open_and_run(plan, observer, stop)
}

/// The common part of every session once the devices (or the file) are open: engine,
/// recorder, pipeline; the status and the engine come back.
pub(crate) struct Drive<'a> {
    pub settings: Settings,
    pub engine_cfg: EngineConfig,
    pub source: String,
    pub meta: Option<(RunMeta, &'a OutputPlan)>,
    pub pipeline: &'a PipelineConfig,
    pub notes: Vec<String>,
}

impl Drive<'_> {
    pub(crate) fn go<T: TimeTagger + Send + 'static>(
        self,
        tagger: T,
        observer: &mut dyn Observer,
        stop: Arc<AtomicBool>,
        after: impl FnOnce(),
    ) -> Result<Outcome, SessionError> {
        let mut engine =
            Engine::try_new(self.engine_cfg).map_err(|e| SettingError::new(format!("engine.{}", e.field), e.reason))?;
        // A live run's workers take only the CPU its reader and recorder leave.
        let priority = if self.pipeline.keep_up { WorkerPriority::Background } else { WorkerPriority::Normal };
        engine
            .set_threads_with(self.pipeline.engine_threads, priority)
            .map_err(|e| SettingError::new(e.field, e.reason))?;
        let mut recorder = None;
        let mut tx = None;
        if let Some((meta, out)) = &self.meta {
            let writer = if out.start_now {
                let w = RecordingWriter::create(&out.path, meta)
                    .map_err(|source| SessionError::Output { path: out.path.clone(), source })?;
                Some((out.path.clone(), w))
            } else {
                None
            };
            let (t, rx) = crossbeam_channel::bounded::<RecordItem>(64);
            tx = Some(t);
            let last = Arc::new(std::sync::atomic::AtomicI64::new(0));
            let (meta, status) = (meta.clone(), out.status.clone());
            recorder = Some(
                std::thread::Builder::new()
                    .name("recorder".into())
                    .spawn(move || crate::recorder::record(writer, meta, rx, last, status))
                    .map_err(|e| SessionError::Internal(format!("starting the recorder thread: {e}")))?,
            );
        }
        let report = pipeline::run(tagger, &mut engine, self.pipeline, tx, observer, stop);
        after();
        let mut status = match &report.end {
            EndReason::Complete => RunStatus::Complete,
            EndReason::Aborted => RunStatus::Aborted("interrupted".into()),
            EndReason::DeviceError(m) => RunStatus::Aborted(m.clone()),
        };
        let mut recorded = None;
        if let (Some(handle), Some((_, out))) = (recorder, &self.meta) {
            let (writer, st) = match handle.join() {
                Ok(Ok(x)) => x,
                Ok(Err(source)) => return Err(SessionError::Output { path: out.path.clone(), source }),
                Err(_) => return Err(SessionError::Internal("the recorder thread panicked".into())),
            };
            status = st;
            if let Some((path, writer)) = writer {
                let (tags, events) = (writer.tags() as u64, writer.events() as u64);
                writer.finish(&status).map_err(|source| SessionError::Output { path: path.clone(), source })?;
                if let Some(s) = &out.status {
                    let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
                    s.file = None;
                    s.closed.push((path.clone(), tags, status.to_string()));
                }
                recorded = Some(Recorded { path, tags, events });
            }
        }
        Ok(Outcome {
            status,
            source: self.source,
            settings: self.settings,
            engine,
            pipeline: report,
            recorded,
            notes: self.notes,
        })
    }
}

/// Writes a scenario's verdict into a finished recording's `verdict` attribute.
pub fn write_verdict(path: &std::path::Path, verdict: &str) -> Result<(), SessionError> {
    recordings::writer::write_verdict(path, verdict)
        .map_err(|source| SessionError::Output { path: path.to_path_buf(), source })
}
