//! The recorder: the pipeline's recorder channel into a `RecordingWriter`, on its own
//! thread. Tags, events, metric rows, windows and lock changes all go into the one file;
//! the run status says how the run ended (docs/recording-schema.md).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crossbeam_channel::Receiver;
use recordings::{MetricsRow, RecordingError, RecordingWriter, RunStatus, WindowRow};

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
    }
}

/// Writes everything that arrives on `rx` into `writer` until the channel closes; `last_ps`
/// follows the latest tag's time (for progress displays). Returns the writer (to finish
/// with the status) and how the run ended.
pub fn record(
    mut writer: RecordingWriter,
    rx: Receiver<RecordItem>,
    last_ps: Arc<AtomicI64>,
) -> Result<(RecordingWriter, RunStatus), RecordingError> {
    let mut status = RunStatus::Aborted("the pipeline ended without saying why".into());
    let mut lock_changes_written = 0usize;
    for item in rx {
        match item {
            RecordItem::Batch(b) => {
                if let Some(t) = b.time_ps.last() {
                    last_ps.store(*t, Ordering::Relaxed);
                }
                if let Err(e) = writer.append(&b) {
                    // Close the file as what it is: aborted, with the error and the tags
                    // really in it. The pipeline sees this thread go and ends the run.
                    let status = RunStatus::Aborted(format!("writing the recording failed: {e}"));
                    let _ = writer.finish(&status);
                    return Err(e);
                }
            }
            RecordItem::Windows(ws) => ws.iter().for_each(|w| writer.append_window(&window_row(w))),
            RecordItem::Snapshot(s) => {
                for e in s.lock_events.iter().skip(lock_changes_written) {
                    writer.append_lock_change(e.time_ps, lock_code(e.state));
                }
                lock_changes_written = s.lock_events.len();
                writer.append_metrics(&metrics_row(&s, last_ps.load(Ordering::Relaxed)));
            }
            RecordItem::End(EndReason::Complete) => status = RunStatus::Complete,
            RecordItem::End(EndReason::Aborted) => {
                status = RunStatus::Aborted("interrupted (Ctrl-C, SIGTERM or SIGHUP)".into())
            }
            RecordItem::End(EndReason::DeviceError(m)) => status = RunStatus::Aborted(m),
        }
    }
    Ok((writer, status))
}
