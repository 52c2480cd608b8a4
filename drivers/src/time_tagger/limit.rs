//! A time tagger whose stream ends after a given span of device time: a recording of "30 s"
//! from an instrument that streams until stopped.

use std::time::Duration;

use super::{ReadState, TaggerConfig, TimeTagger};
use crate::error::DriverError;
use crate::protocol::tag_stream::TimeBase;
use crate::stream::TagBatch;

/// `inner`, ending its stream (and stopping it) once a tag is `span_ps` after the first.
#[derive(Debug)]
pub struct Limited<T> {
    inner: T,
    span_ps: i64,
    first_ps: Option<i64>,
    ended: bool,
}

impl<T> Limited<T> {
    /// Limits `inner` to `span` of device time from its first tag.
    pub fn new(inner: T, span: Duration) -> Self {
        Limited {
            inner,
            span_ps: span.as_nanos().min(i64::MAX as u128 / 1000) as i64 * 1000,
            first_ps: None,
            ended: false,
        }
    }
}

impl<T: TimeTagger> TimeTagger for Limited<T> {
    fn configure(&mut self, cfg: &TaggerConfig) -> Result<TimeBase, DriverError> {
        self.inner.configure(cfg)
    }

    fn start(&mut self) -> Result<(), DriverError> {
        self.inner.start()
    }

    fn stop(&mut self) -> Result<(), DriverError> {
        self.inner.stop()
    }

    fn read_batch(&mut self, out: &mut TagBatch, timeout: Duration) -> Result<ReadState, DriverError> {
        if self.ended {
            return Ok(ReadState::Ended);
        }
        let from = out.len();
        let state = self.inner.read_batch(out, timeout)?;
        let Some(&first) = self.first_ps.as_ref().or(out.time_ps.get(from)) else { return Ok(state) };
        self.first_ps = Some(first);
        let end = first.saturating_add(self.span_ps);
        let Some(cut) = out.time_ps[from..].iter().position(|&t| t >= end) else { return Ok(state) };
        let cut = from + cut;
        out.time_ps.truncate(cut);
        out.channel.truncate(cut);
        out.events.retain(|(at, _)| *at <= cut);
        self.ended = true;
        // The span is recorded; the device may stop (a failure here loses nothing).
        let _ = self.inner.stop();
        Ok(ReadState::Ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tags every 1 µs, in batches of 1000, forever.
    #[derive(Debug, Default)]
    struct Endless {
        next: i64,
        stopped: bool,
    }

    impl TimeTagger for Endless {
        fn configure(&mut self, _: &TaggerConfig) -> Result<TimeBase, DriverError> {
            Ok(TimeBase::default())
        }
        fn start(&mut self) -> Result<(), DriverError> {
            Ok(())
        }
        fn stop(&mut self) -> Result<(), DriverError> {
            self.stopped = true;
            Ok(())
        }
        fn read_batch(&mut self, out: &mut TagBatch, _: Duration) -> Result<ReadState, DriverError> {
            for _ in 0..1000 {
                out.push(self.next, 0);
                self.next += 1_000_000;
            }
            Ok(ReadState::Streaming)
        }
    }

    #[test]
    fn the_stream_ends_at_the_span_after_the_first_tag() {
        let mut t = Limited::new(Endless { next: 5_000_000, stopped: false }, Duration::from_micros(2500));
        let mut all = TagBatch::default();
        let mut reads = 0;
        while t.read_batch(&mut all, Duration::from_secs(1)).unwrap() == ReadState::Streaming {
            reads += 1;
        }
        assert_eq!(reads, 2);
        assert_eq!(all.len(), 2500);
        assert_eq!(*all.time_ps.last().unwrap(), 5_000_000 + 2499 * 1_000_000);
        assert!(t.inner.stopped);
        assert_eq!(t.read_batch(&mut all, Duration::from_secs(1)).unwrap(), ReadState::Ended);
        assert_eq!(all.len(), 2500);
    }
}
