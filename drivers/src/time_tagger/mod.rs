//! The time-tagger role: configure channels, start, stop, stream tags with loss in band.

use std::time::Duration;

use rtl::model::time_tagger::TaggerSettings;

use crate::error::DriverError;
use crate::protocol::tag_stream::TimeBase;
use crate::stream::TagBatch;

pub mod limit;
pub mod stream;

pub use limit::Limited;
pub use stream::StreamTimeTagger;

/// What a user asks of the tagger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggerConfig {
    /// One bit per channel to enable.
    pub channel_mask: u8,
    /// Dead time per channel, coarse cycles (10 ns).
    pub dead_time_cycles: [u16; 8],
    /// Fine bins per coarse cycle (10 ps at 1000).
    pub fine_bins: u16,
    /// Channel carrying the sync.
    pub sync_channel: u8,
    /// Forward every K-th sync.
    pub sync_divider: u16,
    /// Conditional sync filter window, coarse cycles; 0 = off.
    pub sync_window_cycles: u32,
    /// Channels that count as detections for the conditional filter.
    pub detector_mask: u8,
}

impl Default for TaggerConfig {
    /// Channels 0-3 detectors, 4 sync, 5 frame mark; 10 ps bins; dead time 1 cycle.
    fn default() -> Self {
        TaggerConfig {
            channel_mask: 0x3F,
            dead_time_cycles: [1; 8],
            fine_bins: 1000,
            sync_channel: 4,
            sync_divider: 1,
            sync_window_cycles: 0,
            detector_mask: 0x0F,
        }
    }
}

impl TaggerConfig {
    /// Checks the settings and turns them into register values.
    pub fn to_settings(&self) -> Result<TaggerSettings, DriverError> {
        let bad = |field: &'static str, reason: String| Err(DriverError::InvalidSetting { field, reason });
        if !(1..=1024).contains(&self.fine_bins) {
            return bad("fine_bins", format!("{} is not in 1..=1024", self.fine_bins));
        }
        if self.sync_channel > 7 {
            return bad("sync_channel", format!("{} is not a channel 0..=7", self.sync_channel));
        }
        if self.sync_divider == 0 {
            return bad("sync_divider", "must be at least 1".into());
        }
        Ok(TaggerSettings {
            run: false,
            ch_enable: self.channel_mask,
            det_mask: self.detector_mask,
            fine_bins: self.fine_bins,
            sync_channel: self.sync_channel,
            sync_divider: self.sync_divider,
            cond_window_cyc: self.sync_window_cycles,
            dead_time_cyc: self.dead_time_cycles,
        })
    }
}

/// The outcome of [`TimeTagger::read_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadState {
    /// Tags or events were added (or the device had nothing yet); the stream goes on.
    Streaming,
    /// The stream ended cleanly (a replay or a simulated pass is over).
    Ended,
}

/// A time tagger.
pub trait TimeTagger {
    /// Validates and programs `cfg`; returns the time base the stream will use.
    fn configure(&mut self, cfg: &TaggerConfig) -> Result<TimeBase, DriverError>;
    /// Clears the FIFO and counters and starts tagging.
    fn start(&mut self) -> Result<(), DriverError>;
    /// Stops tagging.
    fn stop(&mut self) -> Result<(), DriverError>;
    /// Appends the next tags and in-band events to `out`, waiting at most `timeout`.
    /// On an error (a vanished device), `out` keeps everything decoded before it.
    fn read_batch(&mut self, out: &mut TagBatch, timeout: Duration) -> Result<ReadState, DriverError>;
}
