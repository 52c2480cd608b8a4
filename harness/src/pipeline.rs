//! The live pipeline (DESIGN.md decision 6): a reader thread drains the tagger into a
//! lock-free single-producer single-consumer ring; the engine, on the calling thread,
//! processes each batch and hands it on over bounded channels to the recorder (blocking:
//! never dropped) and to snapshot consumers such as the TUI (non-blocking: a consumer
//! that lags gets the next snapshot instead; snapshots are views, not data).
//!
//! Memory is bounded by the ring and the channel capacities. When the recorder lags, the
//! engine waits, the ring fills, the reader stops reading, and the device's FIFO overflows:
//! the loss then arrives in band (OVF/MISSED records) and is counted, never silent.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, TimeTagger};
use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::HeapRb;

use crate::engine::windows::WindowRecord;
use crate::engine::{Engine, Snapshot};

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The stream ended (replay or simulated run over).
    Complete,
    /// Stopped by the user (Ctrl-C) or the caller.
    Aborted,
    /// The device failed (e.g. unplugged); the message names it.
    DeviceError(String),
}

/// What goes to the recorder, in stream order.
#[derive(Debug)]
pub enum RecordItem {
    /// A batch of tags and events, after the engine processed it.
    Batch(TagBatch),
    /// A snapshot of the engine (metrics time series).
    Snapshot(Box<Snapshot>),
    /// Metric windows closed since the previous `Windows` item, oldest first (sent before
    /// the snapshot that counts them).
    Windows(Vec<WindowRecord>),
    /// The end of the run and why.
    End(EndReason),
}

/// Settings of the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Batches the ring between reader and engine holds.
    pub ring_batches: usize,
    /// How often a snapshot goes to the snapshot consumers and the recorder.
    pub snapshot_interval: Duration,
    /// Wait per device read.
    pub read_timeout: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            ring_batches: 64,
            snapshot_interval: Duration::from_millis(100),
            read_timeout: Duration::from_millis(50),
        }
    }
}

/// Counters of a finished run.
#[derive(Debug, Clone)]
pub struct PipelineReport {
    /// How it ended.
    pub end: EndReason,
    /// Batches processed.
    pub batches: u64,
    /// Tags processed.
    pub tags: u64,
    /// Times the reader found the ring full and had to wait (back-pressure).
    pub reader_waits: u64,
    /// Snapshots a lagging snapshot consumer did not take.
    pub snapshots_skipped: u64,
    /// The engine's final state.
    pub last: Snapshot,
}

enum Msg {
    Batch(TagBatch),
    End(EndReason),
}

/// Runs the pipeline until the stream ends, the device fails or `stop` is set.
pub fn run<T>(
    mut tagger: T,
    engine: &mut Engine,
    cfg: &PipelineConfig,
    recorder: Option<Sender<RecordItem>>,
    snapshots: Option<Sender<Snapshot>>,
    stop: Arc<AtomicBool>,
) -> PipelineReport
where
    T: TimeTagger + Send + 'static,
{
    let (mut prod, mut cons) = HeapRb::<Msg>::new(cfg.ring_batches.max(2)).split();
    let waits = Arc::new(AtomicU64::new(0));
    let reader_waits = waits.clone();
    let read_timeout = cfg.read_timeout;
    let stop_reader = stop.clone();
    let reader = thread::Builder::new()
        .name("tag-reader".into())
        .spawn(move || {
            let mut push = |mut m: Msg| loop {
                match prod.try_push(m) {
                    Ok(()) => return,
                    Err(back) => {
                        m = back;
                        waits.fetch_add(1, Ordering::Relaxed);
                        thread::sleep(Duration::from_micros(100));
                    }
                }
            };
            loop {
                if stop_reader.load(Ordering::Relaxed) {
                    push(Msg::End(EndReason::Aborted));
                    return;
                }
                let mut b = TagBatch::default();
                let r = tagger.read_batch(&mut b, read_timeout);
                if !b.is_empty() {
                    push(Msg::Batch(b));
                }
                match r {
                    Ok(ReadState::Streaming) => {}
                    Ok(ReadState::Ended) => return push(Msg::End(EndReason::Complete)),
                    Err(e) => return push(Msg::End(EndReason::DeviceError(e.to_string()))),
                }
            }
        })
        .expect("spawn the reader thread");

    let (mut batches, mut tags, mut skipped) = (0u64, 0u64, 0u64);
    let mut next_snapshot = Instant::now() + cfg.snapshot_interval;
    let mut windows_sent = 0u64;
    let end = loop {
        match cons.try_pop() {
            Some(Msg::Batch(b)) => {
                engine.process(&b);
                batches += 1;
                tags += b.len() as u64;
                if let Some(r) = &recorder {
                    // Blocking: the recorder never loses data; its lag becomes back-pressure.
                    let _ = r.send(RecordItem::Batch(b));
                }
                if Instant::now() >= next_snapshot {
                    next_snapshot += cfg.snapshot_interval;
                    let s = engine.snapshot();
                    if let Some(r) = &recorder {
                        let _ = r.send(RecordItem::Windows(engine.windows_after(windows_sent).cloned().collect()));
                        windows_sent = s.windows_closed;
                        let _ = r.send(RecordItem::Snapshot(Box::new(s.clone())));
                    }
                    if let Some(tx) = &snapshots {
                        if let Err(TrySendError::Full(_)) = tx.try_send(s) {
                            skipped += 1;
                        }
                    }
                }
            }
            Some(Msg::End(reason)) => break reason,
            None => thread::sleep(Duration::from_micros(50)),
        }
    };
    let _ = reader.join();
    engine.flush();
    let last = engine.snapshot();
    if let Some(r) = &recorder {
        let _ = r.send(RecordItem::Windows(engine.windows_after(windows_sent).cloned().collect()));
        let _ = r.send(RecordItem::Snapshot(Box::new(last.clone())));
        let _ = r.send(RecordItem::End(end.clone()));
    }
    if let Some(tx) = &snapshots {
        // Never block on a view: a consumer that is not reading misses it, counted.
        if let Err(TrySendError::Full(_)) = tx.try_send(last.clone()) {
            skipped += 1;
        }
    }
    PipelineReport {
        end,
        batches,
        tags,
        reader_waits: reader_waits.load(Ordering::Relaxed),
        snapshots_skipped: skipped,
        last,
    }
}
