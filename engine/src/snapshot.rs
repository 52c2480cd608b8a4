//! What the engine reports: the state a live view draws, a recording's metrics row holds
//! and a scenario's limits test. Built by `Engine::snapshot` (cheap enough at 10 Hz).

use serde::Serialize;

use super::clock::{ClockStats, LockState};
use super::sift::SiftCounts;

/// A lock-state change, for the record and the TUI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LockEvent {
    /// Device time of the change, ps.
    pub time_ps: i64,
    /// The new state.
    pub state: LockState,
}

/// Everything the engine reports.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Lock state now.
    pub lock: LockState,
    /// Relative offset of the received pulse rate from nominal (Doppler + clocks).
    pub rate_offset: f64,
    /// Clock-recovery counters.
    pub clock: ClockStats,
    /// Sifting counts since the start.
    pub counts: SiftCounts,
    /// QBER per basis [Z, X], all classes.
    pub qber: [Option<f64>; 2],
    /// Gain per class: detected pulses / pulses of that class sent.
    pub gain: [Option<f64>; 4],
    /// Pulse index of the latest indexed detection.
    pub last_pulse: i64,
    /// Detections inside the gate.
    pub gated: u64,
    /// Detections outside the gate.
    pub outside_gate: u64,
    /// Detections that could not be given a pulse index (no lock or no frame mark yet).
    pub unindexed: u64,
    /// RMS of the gated detections' arrival residuals, ps.
    pub residual_rms_ps: Option<f64>,
    /// Arrival offset of each detector from its sync, ps (from calibration).
    pub detector_offset_ps: [Option<f64>; 4],
    /// Loss events seen in the stream: overflows and missed tags.
    pub overflows: u64,
    /// Tags the device lost (in-band counts).
    pub missed_tags: u64,
    /// Stream errors.
    pub stream_errors: u64,
    /// Lock-state changes.
    pub lock_events: Vec<LockEvent>,
    /// The clock fit: (time of the filtered reference sync, sync period), ps (sync-channel
    /// mode, once locked).
    pub clock_fit: Option<(f64, f64)>,
    /// Finite-key length of the run so far, bits (0 while the counts give no key).
    pub key_length_bits: u64,
    /// Metric windows closed since the start.
    pub windows_closed: u64,
    /// Tags per tagger channel since the start (detections, syncs, frame marks): count
    /// rates are the difference of two snapshots over the difference of `last_tag_ps`.
    pub channel_tags: [u64; 8],
    /// Device time of the first and the latest tag, ps (0 before the first).
    pub first_tag_ps: i64,
    /// Device time of the first sync tag, ps: when the transmitter's output began (None
    /// before it, and on links without a sync channel).
    pub first_sync_ps: Option<i64>,
    /// See `first_tag_ps`.
    pub last_tag_ps: i64,
    /// Tags a live run could not analyse in time (the pipeline skipped their blocks; they
    /// are in the recording all the same).
    pub skipped_tags: u64,
    /// Analysed tags / all tags (1 when nothing was skipped: offline, always).
    pub analysed_fraction: f64,
}
