//! The live pipeline (DESIGN.md decision 6): a reader thread drains the tagger and hands
//! each batch first to the recorder, over a bounded channel (blocking: never dropped), then
//! to the engine through a lock-free single-producer single-consumer ring. The recording
//! never waits on the analysis. Live consumers (the TUI, a scenario's measurements, a
//! progress bar) get an [`Update`] through an [`Observer`] on a timer, also while no batch
//! arrives (a sync dropout must not freeze a live view): the snapshot, the windows closed
//! since the last update, and the arrival histogram when the observer asks for it.
//!
//! Memory is bounded by the ring and the channel capacities. When the recorder lags, the
//! reader waits, and the device's FIFO overflows: the loss then arrives in band (OVF/MISSED
//! records) and is counted, never silent. When the engine lags on a live device
//! ([`PipelineConfig::keep_up`]), the reader hands it only the syncs, frame marks and events
//! of the next blocks while its ring is half full: the engine keeps lock and clock, skips
//! those blocks' detections, and says which fraction it analysed. Offline (replay, convert,
//! scenarios on the fast bench) nothing is skipped: the engine's pace is the run's.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, TimeTagger};
use ringbuf::traits::{Consumer, Observer as _, Producer, Split};
use ringbuf::HeapRb;

use engine::windows::WindowRecord;
use engine::{Engine, Snapshot};

/// What an observer tells the pipeline after an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on.
    Continue,
    /// End the run now, as if the stream had ended (e.g. a scenario's lock condition met).
    Stop,
}

/// A live view of the run, sent on a timer.
#[derive(Debug)]
pub struct Update<'a> {
    /// The engine's state now.
    pub snapshot: &'a Snapshot,
    /// Metric windows closed since the previous update, oldest first.
    pub windows: &'a [WindowRecord],
    /// The arrival-phase histogram (10 ps bins from -T/2, clicks per detector), when the
    /// observer asked for it ([`Observer::wants_histogram`]).
    pub histogram: Option<&'a [[u64; 4]]>,
    /// Wall time since the pipeline started.
    pub wall: Duration,
    /// Tags the reader has read from the device so far (the engine may lag behind).
    pub tags_read: u64,
    /// True for the last update of the run (after the engine flushed).
    pub last: bool,
    /// What happened to commands since the previous update (applied or refused, and why).
    pub notes: &'a [String],
}

/// A live consumer of a run. Every method does nothing by default, so an observer
/// implements only what it needs (the model is ripgrep's `Sink`). Called on the engine's
/// thread: keep it short, or hand the data to a thread of your own.
pub trait Observer {
    /// A live update (about every `PipelineConfig::update_interval`, and once at the end).
    fn update(&mut self, _update: &Update<'_>) -> Flow {
        Flow::Continue
    }
    /// Whether the next update should carry the arrival histogram (it is copied, so only
    /// when someone draws it).
    fn wants_histogram(&self) -> bool {
        false
    }
}

/// An observer that observes nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}

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
    /// A batch of tags and events, as the reader read it (shared with the engine).
    Batch(Arc<TagBatch>),
    /// A snapshot of the engine (metrics time series), taken at this device time (ps): every
    /// 100 ms of device time ([`METRICS_INTERVAL_PS`]) and at the last tag.
    Snapshot(Box<Snapshot>, i64),
    /// Metric windows closed since the previous `Windows` item, oldest first (sent before
    /// the snapshot that counts them).
    Windows(Vec<WindowRecord>),
    /// Open a recording into this file from here on (a live view's `r`), with the engine's
    /// latest frame mark (device time, ps; absolute pulse index) so that the file can be
    /// indexed on its own, and the gate width in use (ps; for its `/config`).
    Start(std::path::PathBuf, Option<(f64, i64)>, f64),
    /// Close the open recording as complete; the run goes on.
    Stop,
    /// The end of the run and why.
    End(EndReason),
}

/// A change asked for while the run goes on (a live view's keys), applied by the engine's
/// thread between batches, so it takes effect at a well-defined place in the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Set the gate width, ps (refused widths are reported in the next update's `notes`).
    SetGateWidthPs(f64),
    /// Start recording into this file (when the run has a recorder and none is open).
    StartRecording(std::path::PathBuf),
    /// Close the open recording as complete; the run goes on.
    StopRecording,
}

/// Device time between two rows of a recording's `/metrics`, ps: sampled on the tags' own
/// time, so that a paced run, a fast run and a replay of the same stream give the same rows.
pub const METRICS_INTERVAL_PS: i64 = 100_000_000_000;

/// Settings of the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Batches the ring between reader and engine holds.
    pub ring_batches: usize,
    /// How often a snapshot goes to the recorder and an update to the observer.
    pub update_interval: Duration,
    /// Wait per device read.
    pub read_timeout: Duration,
    /// Commands from a live view, if any.
    pub commands: Option<crossbeam_channel::Receiver<Command>>,
    /// Keep up with a live device: while the engine's ring is half full, hand it only the
    /// syncs, frame marks and events of a batch (its detections are recorded, not analysed;
    /// the snapshot says which fraction was). False (the default): the engine analyses
    /// every tag, at its own pace (offline: replay, convert, the fast simulated bench).
    pub keep_up: bool,
    /// Threads of the engine's block pass (`Engine::set_threads`): the results are the same
    /// whatever the number, only the speed changes. Default: every core.
    pub engine_threads: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            ring_batches: 64,
            update_interval: Duration::from_millis(100),
            read_timeout: Duration::from_millis(50),
            commands: None,
            keep_up: false,
            engine_threads: crate::engine_threads_default(),
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
    /// Tags the engine analysed.
    pub tags: u64,
    /// Tags read but not analysed (their blocks skipped to keep up; `keep_up` only).
    pub skipped_tags: u64,
    /// Times the reader found the ring full and had to wait (back-pressure).
    pub reader_waits: u64,
    /// Updates sent to the observer.
    pub updates: u64,
    /// The engine's final state.
    pub last: Snapshot,
}

enum Msg {
    Batch(Arc<TagBatch>),
    /// A block the engine skips: its other tags and events, its detections left out, and
    /// its span.
    Skipped {
        kept: TagBatch,
        detections: [u64; 8],
        from_ps: i64,
        to_ps: i64,
    },
    End(EndReason),
}

/// A batch without its detections (channels in `detectors`): the syncs, frame marks and
/// events that keep the engine's clock and loss accounting whole; and how many detections
/// it left out, per channel (count rates include them).
fn without_detections(b: &TagBatch, detectors: u8) -> (TagBatch, [u64; 8]) {
    let mut kept = TagBatch::default();
    let mut left = [0u64; 8];
    let mut ev = b.events.iter().peekable();
    for (i, (&t, &c)) in b.time_ps.iter().zip(&b.channel).enumerate() {
        while let Some((_, e)) = ev.next_if(|(at, _)| *at <= i) {
            kept.events.push((kept.len(), *e));
        }
        if detectors >> (c & 7) & 1 == 0 {
            kept.push(t, c);
        } else {
            left[usize::from(c & 7)] += 1;
        }
    }
    for (_, e) in ev {
        kept.events.push((kept.len(), *e));
    }
    (kept, left)
}

/// Runs the pipeline until the stream ends, the device fails, `stop` is set or the observer
/// says stop.
pub fn run<T>(
    mut tagger: T,
    engine: &mut Engine,
    cfg: &PipelineConfig,
    recorder: Option<Sender<RecordItem>>,
    observer: &mut dyn Observer,
    stop: Arc<AtomicBool>,
) -> PipelineReport
where
    T: TimeTagger + Send + 'static,
{
    let capacity = cfg.ring_batches.max(2);
    let (mut prod, mut cons) = HeapRb::<Msg>::new(capacity).split();
    let waits = Arc::new(AtomicU64::new(0));
    let read = Arc::new(AtomicU64::new(0));
    let reader_waits = waits.clone();
    let tags_read = read.clone();
    let read_timeout = cfg.read_timeout;
    let stop_reader = stop.clone();
    // Set when the observer has seen enough: the reader ends the stream as complete. (The
    // caller's `stop` is left alone: it may outlive this run, e.g. across scenario phases.)
    let halt = Arc::new(AtomicBool::new(false));
    let halt_reader = halt.clone();
    let to_recorder = recorder.clone();
    let (keep_up, detectors) = (cfg.keep_up, engine.detector_channels());
    let reader = thread::Builder::new()
        .name("tag-reader".into())
        .spawn(move || {
            let push = |mut m: Msg, prod: &mut ringbuf::HeapProd<Msg>| loop {
                match prod.try_push(m) {
                    Ok(()) => return,
                    Err(back) => {
                        m = back;
                        waits.fetch_add(1, Ordering::Relaxed);
                        thread::sleep(Duration::from_micros(100));
                    }
                }
            };
            // The last tag time handed on: a skipped block's span starts there.
            let mut last_end: Option<i64> = None;
            loop {
                if stop_reader.load(Ordering::Relaxed) {
                    push(Msg::End(EndReason::Aborted), &mut prod);
                    return;
                }
                if halt_reader.load(Ordering::Relaxed) {
                    push(Msg::End(EndReason::Complete), &mut prod);
                    return;
                }
                let mut b = TagBatch::default();
                let r = tagger.read_batch(&mut b, read_timeout);
                if !b.is_empty() {
                    read.fetch_add(b.len() as u64, Ordering::Relaxed);
                    let b = Arc::new(b);
                    let previous_end = last_end.replace(*b.time_ps.last().expect("not empty"));
                    // The recording first, whatever the engine's pace. Blocking: its lag is
                    // back-pressure on the device. A recorder that is gone failed to write:
                    // the run ends (its file says why).
                    if let Some(r) = &to_recorder {
                        let sent = match r.try_send(RecordItem::Batch(b.clone())) {
                            Ok(()) => true,
                            Err(TrySendError::Full(item)) => {
                                waits.fetch_add(1, Ordering::Relaxed);
                                r.send(item).is_ok()
                            }
                            Err(TrySendError::Disconnected(_)) => false,
                        };
                        if !sent {
                            let why = "the recording could not be written".to_string();
                            return push(Msg::End(EndReason::DeviceError(why)), &mut prod);
                        }
                    }
                    if keep_up && prod.occupied_len() >= capacity / 2 {
                        let (kept, detections) = without_detections(&b, detectors);
                        // From the previous batch's last tag: skipped spans tile the stream.
                        let (from_ps, to_ps) =
                            (previous_end.unwrap_or(b.time_ps[0]), *b.time_ps.last().expect("not empty"));
                        push(Msg::Skipped { kept, detections, from_ps, to_ps }, &mut prod);
                    } else {
                        push(Msg::Batch(b), &mut prod);
                    }
                }
                match r {
                    Ok(ReadState::Streaming) => {}
                    Ok(ReadState::Ended) => return push(Msg::End(EndReason::Complete), &mut prod),
                    Err(e) => return push(Msg::End(EndReason::DeviceError(e.to_string())), &mut prod),
                }
            }
        })
        .expect("spawn the reader thread");
    // A live run: the engine (this thread, and its workers) below the reader and recorder.
    // (After the reader's spawn: a thread starts at its parent's nice value.)
    let _background = keep_up.then(crate::priority::Background::enter);

    let started = Instant::now();
    let (mut batches, mut tags, mut updates, mut skipped_tags) = (0u64, 0u64, 0u64, 0u64);
    let mut next_update = started + cfg.update_interval;
    // Windows already handed to the recorder and to the observer.
    let mut windows_sent = 0u64;
    let mut send_update = |engine: &Engine, windows_sent: &mut u64, notes: &mut Vec<String>, last: bool| -> Flow {
        let s = engine.snapshot();
        let new: Vec<WindowRecord> = engine.windows_after(*windows_sent).cloned().collect();
        *windows_sent = s.windows_closed;
        updates += 1;
        let histogram = observer.wants_histogram().then(|| engine.histogram());
        let flow = observer.update(&Update {
            snapshot: &s,
            windows: &new,
            histogram: histogram.as_deref(),
            wall: started.elapsed(),
            tags_read: tags_read.load(Ordering::Relaxed),
            last,
            notes,
        });
        notes.clear();
        flow
    };
    let mut notes: Vec<String> = Vec::new();
    let mut sampler = MetricsSampler::default();
    let end = loop {
        if let Some(rx) = &cfg.commands {
            for c in rx.try_iter() {
                apply(c, engine, recorder.as_ref(), &mut notes);
            }
        }
        let msg = cons.try_pop();
        let idle = msg.is_none();
        match msg {
            Some(Msg::Batch(b)) => {
                sampler.process(engine, &b, recorder.as_ref());
                batches += 1;
                tags += b.len() as u64;
            }
            Some(Msg::Skipped { kept, detections, from_ps, to_ps }) => {
                engine.skipped(detections, from_ps, to_ps);
                sampler.process(engine, &kept, recorder.as_ref());
                batches += 1;
                tags += kept.len() as u64;
                skipped_tags += detections.iter().sum::<u64>();
            }
            Some(Msg::End(reason)) => break reason,
            None => {}
        }
        // On the timer, batch or not: a live view keeps moving through a dropout.
        if Instant::now() >= next_update {
            next_update = Instant::now() + cfg.update_interval;
            if send_update(engine, &mut windows_sent, &mut notes, false) == Flow::Stop {
                halt.store(true, Ordering::Relaxed);
            }
        }
        if idle {
            thread::sleep(Duration::from_micros(50));
        }
    };
    let _ = reader.join();
    engine.flush();
    sampler.finish(engine, recorder.as_ref());
    send_update(engine, &mut windows_sent, &mut notes, true);
    let last = engine.snapshot();
    if let Some(r) = &recorder {
        let _ = r.send(RecordItem::End(end.clone()));
    }
    PipelineReport {
        end,
        batches,
        tags,
        skipped_tags,
        reader_waits: reader_waits.load(Ordering::Relaxed),
        updates,
        last,
    }
}

/// Samples the engine for the recorder on device time: before the first tag at or after
/// each multiple of [`METRICS_INTERVAL_PS`], a `/metrics` row at that time (the batch is
/// processed in parts around it), with the windows closed since the last row; and a last
/// row at the last tag. Batches arrive as the device delivers them, so only the tags' own
/// time makes the rows of a paced run, a fast run and a replay the same.
#[derive(Debug, Default)]
struct MetricsSampler {
    next_ps: Option<i64>,
    windows_sent: u64,
    last_row_ps: Option<i64>,
}

impl MetricsSampler {
    fn process(&mut self, engine: &mut Engine, b: &TagBatch, recorder: Option<&Sender<RecordItem>>) {
        let (Some(recorder), Some(&first)) = (recorder, b.time_ps.first()) else {
            engine.process(b);
            return;
        };
        let mut next = *self.next_ps.get_or_insert((first.div_euclid(METRICS_INTERVAL_PS) + 1) * METRICS_INTERVAL_PS);
        if b.time_ps.last().is_some_and(|&t| t < next) {
            engine.process(b);
            return;
        }
        let mut from = 0;
        while let Some(i) = b.time_ps[from..].iter().position(|&t| t >= next).map(|i| from + i) {
            engine.process_part(b, from, i, false);
            let at = next;
            // Past every boundary this tag crossed (a dropout crosses several): one row.
            while b.time_ps[i] >= next {
                next += METRICS_INTERVAL_PS;
            }
            self.next_ps = Some(next);
            self.row(engine, recorder, at);
            from = i;
        }
        engine.process_part(b, from, b.len(), true);
    }

    fn row(&mut self, engine: &Engine, recorder: &Sender<RecordItem>, at_ps: i64) {
        let s = engine.snapshot();
        let new: Vec<WindowRecord> = engine.windows_after(self.windows_sent).cloned().collect();
        self.windows_sent = s.windows_closed;
        let _ = recorder.send(RecordItem::Windows(new));
        let _ = recorder.send(RecordItem::Snapshot(Box::new(s), at_ps));
        self.last_row_ps = Some(at_ps);
    }

    /// The last row, at the last tag (after the engine flushed).
    fn finish(&mut self, engine: &Engine, recorder: Option<&Sender<RecordItem>>) {
        let Some(recorder) = recorder else { return };
        let t = engine.snapshot().last_tag_ps;
        if self.last_row_ps.is_none_or(|last| t > last) {
            self.row(engine, recorder, t);
        } else {
            // Windows the flush closed still go out.
            let new: Vec<WindowRecord> = engine.windows_after(self.windows_sent).cloned().collect();
            let _ = recorder.send(RecordItem::Windows(new));
        }
    }
}

/// Applies one command between batches; what came of it goes into `notes`.
fn apply(c: Command, engine: &mut Engine, recorder: Option<&Sender<RecordItem>>, notes: &mut Vec<String>) {
    match c {
        Command::SetGateWidthPs(ps) => match engine.set_gate_width_ps(ps) {
            Ok(()) => notes.push(format!("gate width set to {ps:.0} ps")),
            Err(e) => notes.push(format!("gate width {ps:.0} ps refused: {}", e.reason)),
        },
        Command::StartRecording(path) => match recorder {
            Some(r) => {
                let _ = r.send(RecordItem::Start(path, engine.frame_reference(), engine.config().gate_width_ps));
            }
            None => notes.push("this run has no recorder: recording cannot start".into()),
        },
        Command::StopRecording => {
            if let Some(r) = recorder {
                let _ = r.send(RecordItem::Stop);
            }
        }
    }
}
