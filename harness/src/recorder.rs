//! The recorder: the pipeline's recorder channel into a `RecordingWriter`, on its own
//! thread. Tags, events, metric rows, windows and lock changes all go into the one file;
//! the run status says how the run ended (docs/recording-schema.md).

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_channel::Receiver;
use recordings::{MetricsRow, RecordingError, RecordingWriter, RunMeta, RunStatus, WindowRow};

use crate::pipeline::{EndReason, RecordItem};
use engine::clock::LockState;
use engine::finite_key::Bound;
use engine::windows::WindowRecord;
use engine::{EngineConfig, Snapshot, SyncMode};

/// The engine's settings as structured values for a recording's `/config` group.
pub fn engine_config_values(c: &EngineConfig) -> Vec<(String, recordings::ConfigValue)> {
    use recordings::ConfigValue::{Float, Int, Text};
    let list = |v: &[u8]| v.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
    vec![
        ("engine.gate_width_ps".to_string(), Float(c.gate_width_ps)),
        ("engine.detector_channels_hvda".into(), Text(list(&c.channels.detectors_hvda))),
        ("engine.sync_channel".into(), Int(i64::from(c.channels.sync))),
        ("engine.frame_channel".into(), Int(i64::from(c.channels.frame))),
        ("engine.window_pulses".into(), Int(c.window_pulses)),
        (
            "engine.sync_mode".into(),
            Text(match c.sync {
                SyncMode::Channel => "channel".into(),
                SyncMode::Qubit(_) => "qubit".into(),
            }),
        ),
        ("engine.clock.pulse_period_ps".into(), Float(c.clock.pulse_period_ps)),
        ("engine.clock.sync_period_pulses".into(), Int(i64::from(c.clock.sync_period_pulses))),
        ("engine.clock.frame_period_syncs".into(), Int(i64::from(c.clock.frame_period_syncs))),
        ("engine.clock.max_offset_ppm".into(), Float(c.clock.max_offset_ppm)),
        ("engine.clock.lock_after_syncs".into(), Int(i64::from(c.clock.lock_after_syncs))),
        ("engine.clock.locked_gate_ps".into(), Float(c.clock.locked_gate_ps)),
        ("engine.clock.max_holdover_s".into(), Float(c.clock.max_holdover_s)),
        ("engine.clock.alpha".into(), Float(c.clock.alpha)),
        ("engine.clock.beta".into(), Float(c.clock.beta)),
        ("engine.key.mu".into(), Text(c.key.mu.iter().map(f64::to_string).collect::<Vec<_>>().join(","))),
        ("engine.key.eps_sec".into(), Float(c.key.eps_sec)),
        ("engine.key.eps_cor".into(), Float(c.key.eps_cor)),
        ("engine.key.f_ec".into(), Float(c.key.f_ec)),
        (
            "engine.key.bound".into(),
            Text(match c.key.bound {
                Bound::Hoeffding => "hoeffding".into(),
                Bound::Chernoff => "chernoff".into(),
            }),
        ),
        ("engine.key.key_basis".into(), Text(if c.key.key_basis == 0 { "Z".into() } else { "X".into() })),
    ]
}

/// The code of a lock state in the file.
pub fn lock_code(s: LockState) -> u8 {
    match s {
        LockState::Searching => 0,
        LockState::Locked => 1,
        LockState::Holdover => 2,
        LockState::Lost => 3,
    }
}

/// The recorded view of an engine snapshot, taken when the latest tag was at `time_ps`.
pub fn metrics_row(s: &Snapshot, time_ps: i64) -> MetricsRow {
    let sum = |m: &[[u64; 2]; 4], b: usize| m.iter().map(|x| x[b]).sum::<u64>();
    MetricsRow {
        time_ps,
        lock_state: lock_code(s.lock),
        rate_offset: s.rate_offset,
        sync_period_ps: s.clock_fit.map_or(f64::NAN, |f| f.1),
        sync_phase_ps: s.clock_fit.map_or(f64::NAN, |f| f.0),
        gated: s.gated,
        sifted: [sum(&s.counts.sifted, 0), sum(&s.counts.sifted, 1)],
        errors: [sum(&s.counts.errors, 0), sum(&s.counts.errors, 1)],
        key_length_bits: s.key_length_bits,
        overflows: s.overflows,
        missed: s.missed_tags,
        analysed_fraction: s.analysed_fraction,
    }
}

/// The recorded view of a closed window.
pub fn window_row(w: &WindowRecord) -> WindowRow {
    let sum = |m: &[[u64; 2]; 4], b: usize| m.iter().map(|x| x[b]).sum::<u64>();
    WindowRow {
        index: w.index,
        duration_s: w.duration_s,
        qber: [w.qber[0].unwrap_or(f64::NAN), w.qber[1].unwrap_or(f64::NAN)],
        sifted: [sum(&w.counts.sifted, 0), sum(&w.counts.sifted, 1)],
        errors: [sum(&w.counts.errors, 0), sum(&w.counts.errors, 1)],
        key_length_bits: w.key_length_bits,
        detector_tags: [w.channel_tags[0], w.channel_tags[1], w.channel_tags[2], w.channel_tags[3]],
        overflows: w.overflows,
        missed: w.missed,
        analysed_fraction: w.analysed_fraction,
    }
}

/// What the recorder thread tells a live view (the TUI's header), updated per batch.
#[derive(Debug, Clone, Default)]
pub struct RecorderStatus {
    /// The recording open now.
    pub file: Option<PathBuf>,
    /// Tags written into it so far.
    pub tags: u64,
    /// Recordings closed during the run (a live view's `r`): file, tags, status.
    pub closed: Vec<(PathBuf, u64, String)>,
    /// The last recording that could not be opened, and why.
    pub error: Option<String>,
}

/// The recorder thread's state: the open file (if any), and how to open another.
struct Recorder {
    writer: Option<(PathBuf, RecordingWriter)>,
    meta: RunMeta,
    status: Option<Arc<Mutex<RecorderStatus>>>,
    /// Lock changes of the engine's list already written into the open file; None until the
    /// first snapshot after a file was opened mid-run (earlier changes belong to no file).
    lock_changes_written: Option<usize>,
    /// Time of the first tag written into the open file, ps.
    from_ps: Option<i64>,
}

impl Recorder {
    fn share(&self) {
        if let Some(st) = &self.status {
            let mut st = st.lock().unwrap_or_else(|p| p.into_inner());
            st.file = self.writer.as_ref().map(|(p, _)| p.clone());
            st.tags = self.writer.as_ref().map_or(0, |(_, w)| w.tags() as u64);
        }
    }

    fn note(&self, f: impl FnOnce(&mut RecorderStatus)) {
        if let Some(st) = &self.status {
            f(&mut st.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }

    fn start(&mut self, path: PathBuf, frame_reference: Option<(f64, i64)>, gate_width_ps: f64) {
        if let Some((open, _)) = &self.writer {
            let msg = format!("already recording into {}", open.display());
            return self.note(|s| s.error = Some(msg));
        }
        let mut meta = RunMeta { frame_reference, ..self.meta.clone() };
        // The gate may have changed since the run started (the live view's g/G).
        for (k, v) in meta.config.iter_mut() {
            if k == "engine.gate_width_ps" {
                *v = recordings::ConfigValue::Float(gate_width_ps);
            }
        }
        match RecordingWriter::create(&path, &meta) {
            Ok(w) => {
                self.writer = Some((path, w));
                self.lock_changes_written = None;
                self.from_ps = None;
                self.note(|s| s.error = None);
            }
            Err(e) => self.note(|s| s.error = Some(e.to_string())),
        }
        self.share();
    }

    /// Closes the open recording as complete: it holds every tag from its start to here.
    fn stop(&mut self) {
        if let Some((path, w)) = self.writer.take() {
            let tags = w.tags() as u64;
            let status = match w.finish(&RunStatus::Complete) {
                Ok(()) => "complete".to_string(),
                Err(e) => format!("closing failed: {e}"),
            };
            self.note(|s| s.closed.push((path, tags, status)));
        }
        self.share();
    }
}

/// Writes everything that arrives on `rx` into the open recording until the channel
/// closes: `writer` is open from the start (`record`, scenarios) or None until a
/// [`RecordItem::Start`] (a live view's `r`); `meta` describes any file opened later.
/// `last_ps` follows the latest tag's time (for progress displays). Returns the writer
/// still open (to finish with the status) and how the run ended.
pub fn record(
    writer: Option<(PathBuf, RecordingWriter)>,
    meta: RunMeta,
    rx: Receiver<RecordItem>,
    last_ps: Arc<AtomicI64>,
    status: Option<Arc<Mutex<RecorderStatus>>>,
) -> Result<(Option<(PathBuf, RecordingWriter)>, RunStatus), RecordingError> {
    let mut run_status = RunStatus::Aborted("the pipeline ended without saying why".into());
    let mut r = Recorder { writer, meta, status, lock_changes_written: Some(0), from_ps: None };
    r.share();
    for item in rx {
        match item {
            RecordItem::Batch(b) => {
                if let Some(t) = b.time_ps.last() {
                    last_ps.store(*t, Ordering::Relaxed);
                }
                let Some((_, writer)) = r.writer.as_mut() else { continue };
                if r.from_ps.is_none() {
                    r.from_ps = b.time_ps.first().copied();
                }
                if let Err(e) = writer.append(&b) {
                    // Close the file as what it is: aborted, with the error and the tags
                    // really in it. The pipeline sees this thread go and ends the run.
                    let status = RunStatus::Aborted(format!("writing the recording failed: {e}"));
                    if let Some((_, w)) = r.writer.take() {
                        let _ = w.finish(&status);
                    }
                    return Err(e);
                }
                r.share();
            }
            RecordItem::Windows(ws) => {
                if let Some((_, writer)) = r.writer.as_mut() {
                    ws.iter().for_each(|w| writer.append_window(&window_row(w)));
                }
            }
            RecordItem::Snapshot(s, at_ps) => {
                let Some((_, writer)) = r.writer.as_mut() else { continue };
                let from = r.from_ps.unwrap_or(i64::MAX);
                let done = *r
                    .lock_changes_written
                    .get_or_insert_with(|| s.lock_events.iter().filter(|e| e.time_ps < from).count());
                for e in s.lock_events.iter().skip(done) {
                    writer.append_lock_change(e.time_ps, lock_code(e.state));
                }
                r.lock_changes_written = Some(s.lock_events.len().max(done));
                writer.append_metrics(&metrics_row(&s, at_ps));
            }
            RecordItem::Start(path, frame_reference, gate) => r.start(path, frame_reference, gate),
            RecordItem::Stop => r.stop(),
            RecordItem::End(EndReason::Complete) => run_status = RunStatus::Complete,
            RecordItem::End(EndReason::Aborted) => {
                run_status = RunStatus::Aborted("interrupted (Ctrl-C, SIGTERM or SIGHUP)".into())
            }
            RecordItem::End(EndReason::DeviceError(m)) => run_status = RunStatus::Aborted(m),
        }
    }
    Ok((r.writer, run_status))
}
