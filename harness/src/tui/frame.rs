//! From the engine's thread to the TUI's: each pipeline update becomes an owned
//! [`LiveFrame`] on a bounded channel. The engine never waits for the display: when the
//! TUI is behind (a slow terminal, a frozen `ssh`), frames are dropped, except what must
//! not be lost (closed windows, command notes, the last frame), which rides on the next
//! frame that gets through.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use engine::windows::WindowRecord;
use engine::Snapshot;

use crate::pipeline::{Flow, Observer, Update};

/// One update, owned.
#[derive(Debug, Clone)]
pub struct LiveFrame {
    /// The engine's state.
    pub snapshot: Snapshot,
    /// Windows closed since the previous frame that got through, oldest first.
    pub windows: Vec<WindowRecord>,
    /// The arrival-phase histogram (10 ps bins from -T/2, clicks per detector).
    pub histogram: Vec<[u64; 4]>,
    /// Wall time since the run started.
    pub wall: Duration,
    /// Tags read from the device.
    pub tags_read: u64,
    /// The run's last frame.
    pub last: bool,
    /// What came of commands (gate changes).
    pub notes: Vec<String>,
}

/// The observer that feeds the TUI.
#[derive(Debug)]
pub struct Forward {
    tx: Sender<LiveFrame>,
    quit: Arc<AtomicBool>,
    windows: Vec<WindowRecord>,
    notes: Vec<String>,
}

impl Forward {
    /// Frames go to `tx`; when `quit` is set, the run ends as complete (the user's `q`).
    pub fn new(tx: Sender<LiveFrame>, quit: Arc<AtomicBool>) -> Self {
        Forward { tx, quit, windows: Vec::new(), notes: Vec::new() }
    }
}

impl Observer for Forward {
    fn update(&mut self, u: &Update<'_>) -> Flow {
        self.windows.extend(u.windows.iter().cloned());
        self.notes.extend(u.notes.iter().cloned());
        let frame = LiveFrame {
            snapshot: u.snapshot.clone(),
            windows: std::mem::take(&mut self.windows),
            histogram: u.histogram.map(<[_]>::to_vec).unwrap_or_default(),
            wall: u.wall,
            tags_read: u.tags_read,
            last: u.last,
            notes: std::mem::take(&mut self.notes),
        };
        if u.last {
            // The final totals must reach the display; a second is plenty for a live TUI.
            let _ = self.tx.send_timeout(frame, Duration::from_secs(1));
        } else if let Err(TrySendError::Full(back)) = self.tx.try_send(frame) {
            self.windows = back.windows;
            self.notes = back.notes;
        }
        if self.quit.load(Ordering::Relaxed) {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }

    fn wants_histogram(&self) -> bool {
        true
    }
}
