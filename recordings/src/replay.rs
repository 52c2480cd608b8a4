//! A recording as a time tagger: the engine (and the TUI) runs on a file exactly as on a
//! device. A qkdbench recording, or a Photon-HDF5 export of one (its run in
//! `/user/qkdbench`).

use std::time::{Duration, Instant};

use drivers::protocol::tag_stream::TimeBase;
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, TaggerConfig, TimeTagger};
use drivers::DriverError;

use crate::error::RecordingError;
use crate::import::EventSource;
use crate::reader::{RecordedRun, Recording};

/// Tags per replayed batch.
const BATCH: usize = 1 << 16;

/// Replays a recording through the [`TimeTagger`] role.
#[derive(Debug)]
pub struct ReplayTagger {
    src: EventSource,
    time_base: TimeBase,
    /// Pace to the tags' own time (a live view of an old run) instead of as fast as possible.
    pub realtime: bool,
    started: Option<(Instant, i64)>,
}

impl ReplayTagger {
    /// Wraps an open recording.
    pub fn new(rec: Recording) -> Self {
        let time_base = rec.info.time_base;
        ReplayTagger { src: EventSource::Recording(Box::new(rec)), time_base, realtime: false, started: None }
    }

    /// Wraps a source that is a recording's tag stream (see [`open_run`]) with its run's
    /// time base.
    pub fn from_source(src: EventSource, time_base: TimeBase) -> Self {
        ReplayTagger { src, time_base, realtime: false, started: None }
    }
}

/// Opens a file to replay: a qkdbench recording, or a Photon-HDF5 export of one; with the
/// run it carries (pattern, settings, time base, how it ended). Any other file is refused,
/// saying why: without the generator's pattern the engine cannot sift.
pub fn open_run(path: &std::path::Path) -> Result<(EventSource, RecordedRun), RecordingError> {
    let src = crate::import::open(path)?;
    let refuse = |what: &str| RecordingError::Refused {
        path: path.into(),
        reason: format!(
            "cannot replay {what}: it carries no qkdbench run (the generator's pattern and settings), so the engine \
             cannot sift (`qkdbench dump` prints its events, `qkdbench convert` converts it)"
        ),
    };
    if !src.is_tag_stream() {
        return Err(refuse(&format!("a {} file", src.describe())));
    }
    match src.run()? {
        Some(run) => Ok((src, run)),
        None => Err(refuse("a Photon-HDF5 file without /user/qkdbench (not a qkdbench recording's export)")),
    }
}

impl TimeTagger for ReplayTagger {
    /// A replay plays what was recorded: the configuration cannot change it.
    fn configure(&mut self, _cfg: &TaggerConfig) -> Result<TimeBase, DriverError> {
        Ok(self.time_base)
    }

    fn start(&mut self) -> Result<(), DriverError> {
        Ok(())
    }

    fn stop(&mut self) -> Result<(), DriverError> {
        Ok(())
    }

    fn read_batch(&mut self, out: &mut TagBatch, _timeout: Duration) -> Result<ReadState, DriverError> {
        let n = self
            .src
            .read_batch(out, BATCH)
            .unwrap_or(Ok(0))
            .map_err(|e| DriverError::Disconnected { device: "recording".into(), reason: e.to_string() })?;
        if self.realtime {
            if let (Some(&first), Some(&t)) = (out.time_ps.first(), out.time_ps.last()) {
                // The clock starts at the first tag; a batch is handed over once the time of
                // its last tag has passed, as a live tagger would hand it over.
                let (w0, t0) = *self.started.get_or_insert((Instant::now(), first));
                let ahead = (t - t0) as f64 * 1e-12 - w0.elapsed().as_secs_f64();
                // A gap longer than a minute (a damaged time, a pause in the run) is not
                // waited out: the pacing starts again after it.
                if ahead > 60.0 {
                    self.started = Some((Instant::now(), t));
                } else if ahead > 0.0 {
                    std::thread::sleep(Duration::from_secs_f64(ahead));
                }
            }
        }
        Ok(if n == 0 { ReadState::Ended } else { ReadState::Streaming })
    }
}
