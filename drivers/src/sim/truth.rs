//! Ground truth kept by the simulated bench, so tests can check the engine against it.

use super::optics::Cause;

/// One event that reached the tagger's inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TruthRecord {
    /// Time at the tagger input in the tagger's time base, ps (rounded).
    pub tagger_time_ps: i64,
    /// Tagger channel.
    pub channel: u8,
    /// What caused it (the pulse index for signal, sync and frame events).
    pub cause: Cause,
}

/// Counters (always kept) and, optionally, every event.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Pulses emitted since the pattern generator's last start.
    pub pulses_emitted: u64,
    /// Events that reached tagger channel c, by cause:
    /// [signal, dark, background, afterpulse, latched, sync, frame].
    pub events: [[u64; 7]; 8],
    /// Detector clicks lost to the detector's own dead time, per detector.
    pub dead_time_losses: [u64; 4],
    /// Clicks suppressed by a blinding fault, per detector.
    pub blinded_losses: [u64; 4],
    /// Hits the tagger model refused as late (only around register accesses).
    pub late_hits: u64,
    /// Every event, if the bench was asked to keep them.
    pub records: Option<Vec<TruthRecord>>,
}

impl Truth {
    /// Index of a cause in [`Truth::events`].
    pub fn cause_index(c: Cause) -> usize {
        match c {
            Cause::Signal { .. } => 0,
            Cause::Dark => 1,
            Cause::Background => 2,
            Cause::Afterpulse => 3,
            Cause::Latched => 4,
            Cause::Sync { .. } => 5,
            Cause::Frame { .. } => 6,
        }
    }

    /// Signal clicks on detector channels 0..=3.
    pub fn signal_clicks(&self) -> u64 {
        self.events[..4].iter().map(|c| c[0]).sum()
    }
}
