//! `qkdbench bench capture`: the whole capture path at a given tag rate. A synthetic tagger
//! offers a stream paced to `rate` tags per second of wall time through the real pipeline:
//! the reader thread, the ring, the engine and the recorder writing HDF5 (gzip by default)
//! into a folder. The stream is the simulated bench's (4 detectors, the sync channel, frame
//! marks, at 3 dB: a realistic mix), decoded once before the clock starts and replayed in a
//! loop with its times shifted by whole sync periods, so that the source costs a copy per
//! batch and nothing else.
//!
//! The synthetic tagger has a FIFO like a real one: what the reader has not taken within
//! `FIFO_TAGS` of the offered stream is dropped and reported in band (a missed-tags event),
//! as a USB tagger's overflow is. So `lost_tags` (offered minus recorded) splits into what
//! the device reported (`device_loss_in_band_tags`) and what vanished without a word
//! (`silent_loss_tags`, which must be 0).
//!
//! The baseline, in the same run: the synthetic source drained alone (no engine, no
//! recorder), its tags per second.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use drivers::protocol::tag_stream::{Decoder, TimeBase};
use drivers::stream::{StreamEvent, TagBatch};
use drivers::time_tagger::{ReadState, TaggerConfig, TimeTagger};
use drivers::DriverError;
use recordings::{Compression, RunMeta};
use serde::Serialize;

use crate::pipeline::{Observer, PipelineConfig, Update};
use crate::session::{Drive, OutputPlan};
use crate::settings::Settings;

/// The synthetic tagger's FIFO, tags: what the reader may fall behind the offered stream
/// before tags are dropped (a USB 3 tagger's on-board FIFO holds tens of millions).
pub const FIFO_TAGS: u64 = 32 << 20;

/// Tags per batch the synthetic tagger hands over.
const BATCH: usize = 1 << 16;

/// The figures.
#[derive(Debug, Serialize)]
pub struct CaptureBench {
    /// Tags per second asked for.
    pub rate_tags_per_s: f64,
    /// Tags per second the source offered while it offered (the run's seconds; the drain
    /// after it is not counted).
    pub offered_tags_per_s: f64,
    /// Tags offered.
    pub offered_tags: u64,
    /// Tags in the recording.
    pub recorded_tags: u64,
    /// Offered minus recorded.
    pub lost_tags: u64,
    /// Of those, dropped by the device's FIFO and reported in band (missed-tags events).
    pub device_loss_in_band_tags: u64,
    /// Of those, lost without a word (must be 0).
    pub silent_loss_tags: u64,
    /// Tags the engine analysed / tags read (the engine skips blocks it cannot analyse in
    /// time; the recording has them all).
    pub analysed_fraction: f64,
    /// Most the engine was behind the reader (tags read, neither analysed nor skipped yet),
    /// s of the offered stream.
    pub engine_lag_s_max: f64,
    /// Peak resident memory of the process, MiB (VmHWM; includes the source pool kept in
    /// memory so that the source costs nothing).
    pub peak_rss_mib: f64,
    /// Resident memory of the source pool, MiB (part of the peak).
    pub source_pool_mib: f64,
    /// CPU of each thread over the run, % of one core, by thread name (`qkdbench` is the
    /// engine's thread, `engine-worker-N` its workers; `(process)` all threads together).
    pub cpu_pct_by_thread: std::collections::BTreeMap<String, f64>,
    /// Compression of the recording.
    pub compression: String,
    /// Threads of the engine's block pass.
    pub engine_threads: usize,
    /// Bytes per tag in the recording.
    pub file_bytes_per_tag: f64,
    /// How the run ended.
    pub status: String,
    /// The engine's lock state at the end, and its clock's locks and frame slips over the
    /// run: the analysis was real (the looped stream keeps the clock locked).
    pub engine_lock_at_end: String,
    /// Locks and frame slips of the clock over the run.
    pub engine_locks_and_frame_slips: (u64, u64),
    /// Detections inside the gate / tags analysed.
    pub gated_fraction: f64,
    /// Baseline: the synthetic source drained alone, tags per second.
    pub source_only_tags_per_s: f64,
    /// Wall seconds of the run.
    pub seconds: f64,
}

/// The stream, decoded once: batches covering `span_ps` of device time, a whole number of
/// sync periods.
struct Pool {
    batches: Vec<TagBatch>,
    span_ps: i64,
}

fn pool() -> (Pool, rtl::model::pattern_gen::PatternSettings) {
    let (bytes, settings) = super::engine::recorded_stream(0.05);
    let mut d = Decoder::new(TimeBase::default());
    let mut all = TagBatch::default();
    d.decode(&bytes, &mut all);
    let mut batches = Vec::new();
    for (t, c) in all.time_ps.chunks(BATCH).zip(all.channel.chunks(BATCH)) {
        let mut b = TagBatch::with_capacity(t.len());
        b.time_ps.extend_from_slice(t);
        b.channel.extend_from_slice(c);
        batches.push(b);
    }
    // Whole sync periods (1000 pulses at 100 MHz: 10 µs): the clock carries on across loops.
    let sync_ps = 10_000_000i64;
    let (first, last) = (all.time_ps[0], *all.time_ps.last().expect("a stream"));
    let span_ps = ((last - first) / sync_ps + 1) * sync_ps;
    (Pool { batches, span_ps }, settings)
}

/// A tagger that offers the pool, looped, at `rate` tags per second of wall time, for
/// `seconds`, dropping (and reporting in band) what its FIFO cannot hold.
struct Synthetic {
    pool: Arc<Pool>,
    rate: f64,
    seconds: f64,
    next: usize,
    /// Tags of batch `next` already handed over (a slow rate hands out parts).
    offset: usize,
    loops: i64,
    started: Option<Instant>,
    offered: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    /// Tags taken by the reader so far.
    taken: u64,
    /// Paced to `rate` (false: as fast as it goes, for the baseline).
    paced: bool,
    /// The FIFO, tags.
    fifo: u64,
    pending_missed: u64,
}

impl Synthetic {
    fn new(pool: Arc<Pool>, rate: f64, seconds: f64) -> Self {
        Synthetic {
            pool,
            rate,
            seconds,
            next: 0,
            offset: 0,
            loops: 0,
            started: None,
            offered: Arc::new(AtomicU64::new(0)),
            dropped: Arc::new(AtomicU64::new(0)),
            taken: 0,
            pending_missed: 0,
            paced: true,
            fifo: FIFO_TAGS,
        }
    }

    /// The next pool batch, shifted to its loop, and the cursor moved on (to the start of
    /// the batch after it).
    fn advance(&mut self) -> (&TagBatch, i64) {
        let i = self.next;
        let shift = self.loops * self.pool.span_ps;
        self.offset = 0;
        self.next += 1;
        if self.next == self.pool.batches.len() {
            self.next = 0;
            self.loops += 1;
        }
        (&self.pool.batches[i], shift)
    }
}

impl TimeTagger for Synthetic {
    fn configure(&mut self, _cfg: &TaggerConfig) -> Result<TimeBase, DriverError> {
        Ok(TimeBase::default())
    }

    fn start(&mut self) -> Result<(), DriverError> {
        self.started = Some(Instant::now());
        Ok(())
    }

    fn stop(&mut self) -> Result<(), DriverError> {
        Ok(())
    }

    fn read_batch(&mut self, out: &mut TagBatch, timeout: Duration) -> Result<ReadState, DriverError> {
        let started = *self.started.get_or_insert_with(Instant::now);
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed >= self.seconds {
            return Ok(ReadState::Ended);
        }
        if !self.paced {
            let (b, shift) = self.advance();
            out.time_ps.extend(b.time_ps.iter().map(|t| t + shift));
            out.channel.extend_from_slice(&b.channel);
            return Ok(ReadState::Streaming);
        }
        // Offered so far by the clock; what the reader has not taken beyond the FIFO is
        // dropped, whole batches, and reported before the next tags.
        let due = (self.rate * elapsed) as u64;
        let mut backlog = due.saturating_sub(self.taken + self.dropped.load(Ordering::Relaxed));
        while backlog > self.fifo {
            // The rest of the batch under way, then whole batches.
            let done = self.offset;
            let n = (self.advance().0.len() - done) as u64;
            self.dropped.fetch_add(n, Ordering::Relaxed);
            self.pending_missed += n;
            backlog = backlog.saturating_sub(n);
        }
        // The rest of the pool batch under way, handed over once due; at a low rate, what
        // 10 ms of it brings (a slow stream still flows).
        let rest = (self.pool.batches[self.next].len() - self.offset) as u64;
        let want = rest.min(((self.rate * 0.01) as u64).max(1));
        if backlog < want {
            // Not yet due: wait for it (at most the timeout).
            let wait = (want - backlog) as f64 / self.rate;
            std::thread::sleep(Duration::from_secs_f64(wait.min(timeout.as_secs_f64())));
            return Ok(ReadState::Streaming);
        }
        if self.pending_missed > 0 {
            out.events.push((out.len(), StreamEvent::Missed { channel: 0, count: self.pending_missed }));
            self.pending_missed = 0;
        }
        let n = rest.min(backlog) as usize;
        let (from, shift) = (self.offset, self.loops * self.pool.span_ps);
        let b = &self.pool.batches[self.next];
        out.time_ps.extend(b.time_ps[from..from + n].iter().map(|t| t + shift));
        out.channel.extend_from_slice(&b.channel[from..from + n]);
        self.offset += n;
        if self.offset == b.len() {
            self.advance();
        }
        let n = n as u64;
        self.taken += n;
        self.offered.store(self.taken + self.dropped.load(Ordering::Relaxed), Ordering::Relaxed);
        Ok(ReadState::Streaming)
    }
}

/// The engine's lag behind the reader, at each update; and the threads' CPU, sampled while
/// they live (the reader and the recorder are gone by the end).
struct Lag {
    rate: f64,
    max_s: f64,
    cpu: std::collections::BTreeMap<String, f64>,
    sampled: Option<Instant>,
}

impl Observer for Lag {
    fn update(&mut self, u: &Update<'_>) -> crate::pipeline::Flow {
        // Read but neither analysed nor skipped: waiting in the ring.
        let handled = u.snapshot.channel_tags.iter().sum::<u64>() + u.snapshot.skipped_tags;
        let lag = u.tags_read.saturating_sub(handled) as f64 / self.rate;
        self.max_s = self.max_s.max(lag);
        if self.sampled.is_none_or(|t| t.elapsed() >= Duration::from_millis(500)) || u.last {
            self.sampled = Some(Instant::now());
            for (name, s) in thread_cpu() {
                let e = self.cpu.entry(name).or_insert(0.0);
                *e = e.max(s);
            }
        }
        crate::pipeline::Flow::Continue
    }
}

/// CPU seconds of the whole process so far.
fn process_cpu_s() -> f64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).map_or(0.0, |u| {
        u.user_time().tv_sec() as f64
            + u.user_time().tv_usec() as f64 * 1e-6
            + u.system_time().tv_sec() as f64
            + u.system_time().tv_usec() as f64 * 1e-6
    })
}

/// CPU seconds of each thread of this process, by name (threads of one name summed).
fn thread_cpu() -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    let tick = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return out };
    for task in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // comm is in parentheses and may hold spaces: the fields after it are fixed.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        let name = stat[open + 1..close].to_string();
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
        *out.entry(name).or_insert(0.0) += ticks / tick;
    }
    out
}

/// Bytes of recording per tag, about (this stream; `file_bytes_per_tag` says what a run
/// really took).
fn bytes_per_tag(compression: Compression) -> f64 {
    match compression {
        Compression::Gzip => 3.4,
        Compression::None => 9.0,
    }
}

/// Bytes of recording a run of `tags` tags over `seconds` may take, at most about: the tags,
/// 10 % over the typical bytes a tag (a slow stream compresses less: 4-5 bytes a tag at
/// 1e5 tags/s), a copy of the partial last chunk per second's flush (never written over),
/// and the metadata.
fn bytes_needed(tags: f64, seconds: f64, compression: Compression) -> f64 {
    let per_tag = bytes_per_tag(compression);
    let chunk = recordings::TAG_CHUNK as f64 * 9.0;
    tags * per_tag * 1.1 + (seconds + 1.0) * chunk + 16e6
}

/// Bytes as GB or MB, whichever reads better.
fn size_text(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.0} MB", (bytes / 1e6).ceil())
    }
}

/// Whether the file system of `dir` has room for a capture of `tags` tags over `seconds`;
/// the error says how much is needed and free.
fn room_for(dir: &std::path::Path, tags: f64, seconds: f64, compression: Compression) -> Result<(), String> {
    let need = bytes_needed(tags, seconds, compression);
    let st = nix::sys::statvfs::statvfs(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let free = st.blocks_available() as f64 * st.fragment_size() as f64;
    if need > free {
        return Err(format!(
            "{}: this capture needs up to about {} ({tags:.3e} tags at about {} bytes a tag with {}, and the \
             file's overhead), and its file system has {} free: use --dir on a larger disk, fewer --seconds or \
             a lower --rate",
            dir.display(),
            size_text(need),
            bytes_per_tag(compression),
            format!("{compression:?}").to_lowercase(),
            size_text(free)
        ));
    }
    Ok(())
}

/// Runs the capture path at `rate` tags/s for `seconds` of wall time, recording into `dir`
/// (removed afterwards if this created it).
pub fn run(
    rate: f64,
    seconds: f64,
    dir: &std::path::Path,
    compression: Compression,
    threads: usize,
    stop: Arc<AtomicBool>,
) -> Result<CaptureBench, String> {
    let (pool, settings) = pool();
    let pool_mib = pool.batches.iter().map(|b| b.len() * 9).sum::<usize>() as f64 / (1 << 20) as f64;
    let pool = Arc::new(pool);
    // The folders this creates (the deepest first), to remove afterwards.
    let made: Vec<std::path::PathBuf> =
        dir.ancestors().take_while(|p| !p.as_os_str().is_empty() && !p.exists()).map(|p| p.to_path_buf()).collect();
    if dir.exists() && !dir.is_dir() {
        return Err(format!("{}: not a folder (--dir names the folder to record into)", dir.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let remove_made = || {
        for d in &made {
            let _ = std::fs::remove_dir(d);
        }
    };
    let path = dir.join(format!("capture-{}.h5", std::process::id()));
    // The recording and the folders this made, removed however the run ends (the file is
    // the bench's own).
    let discard = || {
        let _ = std::fs::remove_file(&path);
        remove_made();
    };
    // A run that would fill the disk should say so now, not after most of a minute.
    if let Err(e) = room_for(dir, rate * seconds, seconds, compression) {
        discard();
        return Err(e);
    }
    // Baseline: the source alone, as fast as it goes, for a second.
    let source_only = {
        let mut s = Synthetic::new(pool.clone(), 1.0, 1.0);
        s.paced = false;
        let mut b = TagBatch::with_capacity(BATCH);
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed().as_secs_f64() < 1.0 {
            b.clear();
            s.read_batch(&mut b, Duration::from_millis(1)).map_err(|e| e.to_string())?;
            n += b.len() as u64;
        }
        n as f64 / t0.elapsed().as_secs_f64()
    };
    let tagger = Synthetic::new(pool, rate, seconds);
    let (offered, dropped) = (tagger.offered.clone(), tagger.dropped.clone());
    let s = Settings::default();
    let engine_cfg = s
        .engine
        .engine_config(settings, drivers::DEFAULT_PULSE_RATE_HZ, s.generator.key_mu())
        .map_err(|e| e.to_string())?;
    let out = OutputPlan {
        path: path.clone(),
        compression,
        config_text: format!("qkdbench bench capture --rate {rate} --seconds {seconds}"),
        scenario_text: None,
        start_now: true,
        status: None,
    };
    let meta = RunMeta {
        source: "bench capture: synthetic tagger".into(),
        config_text: out.config_text.clone(),
        pattern: Some(settings),
        pattern_mu: None,
        frame_reference: None,
        time_base: (TimeBase::default().coarse_period_ps, TimeBase::default().fine_bins),
        compression,
        scenario_text: None,
        pulse_rate_hz: Some(drivers::DEFAULT_PULSE_RATE_HZ),
        config: Vec::new(),
    };
    // A live device: the recording first, the engine keeps up by skipping blocks.
    let pipeline = PipelineConfig { keep_up: true, engine_threads: threads, ..PipelineConfig::default() };
    let drive = Drive {
        settings: s.clone(),
        engine_cfg,
        source: meta.source.clone(),
        meta: Some((meta, &out)),
        pipeline: &pipeline,
        notes: Vec::new(),
    };
    let mut lag = Lag { rate, max_s: 0.0, cpu: Default::default(), sampled: None };
    let cpu0 = thread_cpu();
    let (t0, process0) = (Instant::now(), process_cpu_s());
    let mut tagger = tagger;
    tagger.start().map_err(|e| e.to_string())?;
    let outcome = drive.go(tagger, &mut lag, stop.clone(), || {});
    let outcome = match outcome {
        Ok(o) => o,
        // A write error (a full disk) ends the run: the file is the bench's own, removed.
        Err(e) => {
            discard();
            return Err(format!("{e} (after {:.1} s; the recording was removed)", t0.elapsed().as_secs_f64()));
        }
    };
    if stop.load(Ordering::Relaxed) {
        discard();
        return Err(format!(
            "interrupted after {:.1} s (Ctrl-C, SIGTERM or SIGHUP); the recording was removed",
            t0.elapsed().as_secs_f64()
        ));
    }
    let wall = t0.elapsed().as_secs_f64();
    let process = process_cpu_s() - process0;
    let mut cpu_pct_by_thread: std::collections::BTreeMap<String, f64> = lag
        .cpu
        .iter()
        .map(|(name, s1)| (name.clone(), 100.0 * (s1 - cpu0.get(name).copied().unwrap_or(0.0)) / wall))
        .collect();
    cpu_pct_by_thread.insert("(process)".into(), 100.0 * process / wall);
    let recorded = outcome.recorded.as_ref().map_or(0, |r| r.tags);
    let file_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    let offered = offered.load(Ordering::Relaxed);
    let dropped = dropped.load(Ordering::Relaxed);
    let analysed = outcome.pipeline.tags;
    let snap = outcome.engine.snapshot();
    discard();
    let lost = offered.saturating_sub(recorded);
    Ok(CaptureBench {
        rate_tags_per_s: rate,
        offered_tags_per_s: offered as f64 / seconds.min(wall),
        offered_tags: offered,
        recorded_tags: recorded,
        lost_tags: lost,
        device_loss_in_band_tags: dropped,
        silent_loss_tags: lost.saturating_sub(dropped),
        analysed_fraction: snap.analysed_fraction,
        engine_lag_s_max: lag.max_s,
        peak_rss_mib: super::engine::peak_rss_mib(),
        source_pool_mib: pool_mib,
        cpu_pct_by_thread,
        compression: format!("{compression:?}").to_lowercase(),
        engine_threads: threads,
        file_bytes_per_tag: if recorded > 0 { file_bytes as f64 / recorded as f64 } else { 0.0 },
        status: outcome.status_text(),
        engine_lock_at_end: format!("{:?}", snap.lock).to_lowercase(),
        engine_locks_and_frame_slips: (snap.clock.locks, snap.clock.frame_slips),
        gated_fraction: if analysed > 0 { snap.gated as f64 / analysed as f64 } else { 0.0 },
        source_only_tags_per_s: source_only,
        seconds: wall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool of two 10-tag batches, 1 µs apart per loop.
    fn small() -> Arc<Pool> {
        let batch = |t0: i64| {
            let mut b = TagBatch::default();
            for i in 0..10 {
                b.push(t0 + i * 10, (i % 5) as u8);
            }
            b
        };
        Arc::new(Pool { batches: vec![batch(0), batch(100)], span_ps: 1_000_000 })
    }

    #[test]
    fn the_source_loops_its_pool_with_whole_spans_added() {
        let mut s = Synthetic::new(small(), 1.0, 10.0);
        s.paced = false;
        let mut b = TagBatch::default();
        for _ in 0..3 {
            s.read_batch(&mut b, Duration::ZERO).unwrap();
        }
        // Batches 0, 1, then 0 again one span later.
        assert_eq!(b.len(), 30);
        assert_eq!((b.time_ps[0], b.time_ps[10], b.time_ps[20], b.time_ps[29]), (0, 100, 1_000_000, 1_000_090));
    }

    #[test]
    fn a_reader_that_falls_behind_the_fifo_loses_tags_in_band_never_silently() {
        // 1e6 tags/s offered, a FIFO of 25 tags, a reader that sleeps 1 ms (1000 tags due):
        // whole batches are dropped until 25 or fewer are behind, and the next batch says so.
        let mut s = Synthetic::new(small(), 1e6, 10.0);
        s.fifo = 25;
        s.start().unwrap();
        std::thread::sleep(Duration::from_millis(1));
        let mut b = TagBatch::default();
        while b.is_empty() {
            s.read_batch(&mut b, Duration::from_millis(1)).unwrap();
        }
        let dropped = s.dropped.load(Ordering::Relaxed);
        assert!(dropped >= 900 && dropped.is_multiple_of(10), "{dropped}");
        assert_eq!(b.events, vec![(0, StreamEvent::Missed { channel: 0, count: dropped })]);
        assert_eq!(s.offered.load(Ordering::Relaxed), dropped + b.len() as u64);
    }

    #[test]
    fn a_slow_source_hands_out_parts_of_a_batch_and_drops_the_rest_of_one_whole() {
        // 500 tags/s: 10 ms bring 5 tags, half a pool batch (the bench offered nothing at
        // 1e3 tags/s for 2 s once: it waited for whole 65,536-tag batches).
        let mut s = Synthetic::new(small(), 500.0, 10.0);
        s.fifo = 12;
        s.start().unwrap();
        let mut b = TagBatch::default();
        while b.is_empty() {
            s.read_batch(&mut b, Duration::from_millis(20)).unwrap();
        }
        // (About 5; more if this thread was held up, never past the batch.)
        assert!(b.len() <= 10, "at most the first batch: {:?}", b.time_ps);
        assert_eq!(b.time_ps, (0..b.len() as i64).map(|i| i * 10).collect::<Vec<_>>());
        let first = b.len() as u64;
        // Far behind: the rest of the batch under way goes, then whole batches.
        std::thread::sleep(Duration::from_millis(100));
        let mut c = TagBatch::default();
        while c.is_empty() {
            s.read_batch(&mut c, Duration::from_millis(20)).unwrap();
        }
        let dropped = s.dropped.load(Ordering::Relaxed);
        assert_eq!(dropped % 10, (10 - first) % 10, "the rest of the first batch, then whole ones: {dropped}");
        assert_eq!(c.events, vec![(0, StreamEvent::Missed { channel: 0, count: dropped })]);
        assert_eq!(c.time_ps[0] % 100, 0, "the next tags start a batch: {:?}", c.time_ps);
        assert_eq!(s.offered.load(Ordering::Relaxed), first + dropped + c.len() as u64);
    }
}
