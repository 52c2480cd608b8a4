//! The engine proper: clock recovery, detector calibration, gating, sifting.

use drivers::stream::{StreamEvent, TagBatch};

use super::block::{self, BlockResult, Sums};
use super::calibrate::{self, CALIBRATION_DETECTIONS};
use super::characterise::{characterise, Characterisation, CharacterisationData, RunFacts};
use super::clock::{ClockTracker, LockState};
use super::config::{ConfigError, EngineConfig, SyncMode};
use super::fast::{self, Kernel, BLOCK};
use super::key::SymbolKey;
use super::qubit_sync::QubitSync;
use super::sift::{sift_key, SiftCounts};
pub use super::snapshot::{LockEvent, Snapshot};
use super::windows::{key_length, StreamCounters, WindowRecord, Windows};

mod parallel;
pub use parallel::{set_thread_nice, WorkerPriority, BACKGROUND_NICE};

/// Bin of the arrival-phase histogram, ps.
pub const HISTOGRAM_BIN_PS: f64 = 10.0;

#[derive(Debug, Clone, Default)]
struct Calibration {
    /// (time, detector, pulse index and residual with zero offset, taken when the detection
    /// arrived) of detections waiting for the calibration.
    pending: Vec<(f64, u8, i64, f64)>,
    done: bool,
}

/// The engine.
#[derive(Debug, Clone)]
pub struct Engine {
    cfg: EngineConfig,
    clock: ClockTracker,
    channel_to_detector: [Option<u8>; 8],
    offsets: [Option<f64>; 4],
    calibration: Calibration,
    /// Counts of pulses with several clicks, and of everything before the block pass ran.
    counts: SiftCounts,
    /// Pulses with one click, by `fast::symbol_key` (class, basis, bit, detector, and the
    /// previous pulse's class): everything the counts and the patterning estimate need.
    single: Box<[u64; 256]>,
    /// Gated detections not yet counted, as `pulse << 8 | key`, sorted from `pend_head` on:
    /// a pulse is counted once a detection `reorder_pulses` beyond it has arrived, so all of
    /// its clicks are in, whichever detector delays reorder them in the stream.
    pending: Vec<u64>,
    pend_head: usize,
    /// How far (pulses) detections may arrive out of pulse order: the spread of the
    /// detector offsets, plus one for the tagger's channel order within a cycle, plus one.
    reorder_pulses: i64,
    last_pulse: i64,
    gated: u64,
    outside_gate: u64,
    unindexed: u64,
    /// Sum of squared residuals of gated detections, 1/256 ps^2 (integer: order-free).
    res_sum2: u64,
    res_n: u64,
    /// Scratch of the block pass (taken out while a block is counted).
    block: Option<Box<fast::Out>>,
    block_result: Option<Box<BlockResult>>,
    /// The pulse period when the block being applied arrived (the threaded engine's clock
    /// runs ahead of the counting): what a window closed by it reports.
    window_period_ps: Option<f64>,
    /// Workers of the block pass, when the engine runs on several threads.
    threads: Option<std::sync::Arc<parallel::Threads>>,
    /// Their order-free sums, one per thread, added to `histogram` and `chars` when read.
    thread_sums: Vec<parallel::ThreadSums>,
    /// Arrival-phase histogram per detector: residuals from -T/2 to T/2 in 10 ps bins.
    histogram: Vec<[u64; 4]>,
    stream_errors: u64,
    lock_events: Vec<LockEvent>,
    last_state: LockState,
    chars: CharacterisationData,
    windows: Windows,
    stream: StreamCounters,
    /// Tags the pipeline did not give the engine to analyse (a live run that fell behind),
    /// and the pulses their blocks spanned (out of the gains' denominators).
    skipped_tags: u64,
    skipped_pulses: f64,
    class_p: [f64; 4],
    qubit: Option<QubitSync>,
    first_tag_ps: Option<i64>,
    first_sync_ps: Option<i64>,
    last_tag_ps: i64,
    /// Gated detections: (time ps, detector, pulse), when asked for.
    pub assignments: Vec<(i64, u8, i64)>,
    /// Tags that went through the block pass (the rest went tag by tag).
    block_pass_tags: u64,
    /// Of those, the tags whose blocks were worked out by the threads.
    threaded_tags: u64,
    /// Bit c set when tagger channel c is a detector (finds a block's end in one test).
    detector_channel_mask: u8,
}

impl Engine {
    /// An engine with `cfg`.
    ///
    /// # Panics
    /// When `cfg` does not pass [`EngineConfig::validate`]; [`Engine::try_new`] returns the
    /// error instead.
    pub fn new(cfg: EngineConfig) -> Self {
        match Self::try_new(cfg) {
            Ok(e) => e,
            Err(e) => panic!("Engine::new: {e}"),
        }
    }

    /// An engine with `cfg`, or why `cfg` cannot run.
    pub fn try_new(cfg: EngineConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let mut channel_to_detector = [None; 8];
        for (d, &ch) in cfg.channels.detectors_hvda.iter().enumerate() {
            channel_to_detector[usize::from(ch & 7)] = Some(d as u8);
        }
        let bins = (cfg.clock.pulse_period_ps / HISTOGRAM_BIN_PS).ceil() as usize + 1;
        Ok(Engine {
            clock: ClockTracker::new(cfg.clock),
            channel_to_detector,
            offsets: [None; 4],
            calibration: Calibration::default(),
            counts: SiftCounts::default(),
            single: Box::new([0; 256]),
            pending: Vec::with_capacity(64),
            pend_head: 0,
            reorder_pulses: 2,
            last_pulse: -1,
            gated: 0,
            outside_gate: 0,
            unindexed: 0,
            res_sum2: 0,
            res_n: 0,
            block: Some(Box::default()),
            block_result: Some(Box::default()),
            window_period_ps: None,
            threads: None,
            thread_sums: Vec::new(),
            histogram: vec![[0; 4]; bins],
            stream_errors: 0,
            lock_events: Vec::new(),
            last_state: LockState::Searching,
            assignments: Vec::new(),
            chars: CharacterisationData::default(),
            windows: Windows::new(cfg.window_pulses, cfg.clock.pulse_period_ps, 100_000),
            stream: StreamCounters::default(),
            skipped_tags: 0,
            skipped_pulses: 0.0,
            class_p: cfg.pattern.class_probabilities(),
            qubit: match cfg.sync {
                SyncMode::Qubit(q) => Some(QubitSync::new(q)),
                SyncMode::Channel => None,
            },
            first_tag_ps: None,
            first_sync_ps: None,
            last_tag_ps: 0,
            block_pass_tags: 0,
            threaded_tags: 0,
            detector_channel_mask: cfg.channels.detectors_hvda.iter().fold(0, |m, &c| m | 1 << (c & 7)),
            cfg,
        })
    }

    /// Changes the gate width from the next batch on (a live view's `g`/`G` keys): the
    /// width is checked as in [`EngineConfig::validate`] and left as it was when refused.
    /// Detections already counted keep the gate they were judged with.
    pub fn set_gate_width_ps(&mut self, gate_width_ps: f64) -> Result<(), ConfigError> {
        let mut cfg = self.cfg.clone();
        cfg.gate_width_ps = gate_width_ps;
        cfg.validate()?;
        self.cfg.gate_width_ps = gate_width_ps;
        Ok(())
    }

    /// The latest frame mark's device time (ps) and absolute pulse index, once the pulses
    /// are indexed: what a recording opened here needs to be analysed on its own.
    pub fn frame_reference(&self) -> Option<(f64, i64)> {
        self.clock.frame_reference()
    }

    /// Processes one batch, in stream order.
    pub fn process(&mut self, batch: &TagBatch) {
        self.process_part(batch, 0, batch.len(), true);
    }

    /// Processes tags `from..to` of `batch` with the events before them (`with_end`: also
    /// the events after the last tag), in stream order: a batch processed in parts gives the
    /// state of the whole (the pipeline samples the state at device-time boundaries inside
    /// batches).
    pub fn process_part(&mut self, batch: &TagBatch, from: usize, to: usize, with_end: bool) {
        let mut from = from.min(batch.len());
        let to = to.clamp(from, batch.len());
        let start = from;
        for (at, e) in &batch.events {
            // Positions out of order (a damaged file) are taken as "here": never a panic.
            let at = (*at).min(batch.len());
            if at < start || at > to || (at == to && !(with_end && to == batch.len())) {
                continue;
            }
            let at = at.max(from);
            self.tags(&batch.time_ps[from..at], &batch.channel[from..at]);
            self.event(e);
            from = at.max(from);
        }
        self.tags(&batch.time_ps[from..to], &batch.channel[from..to]);
    }

    /// A block the pipeline could not analyse in time (a live run behind the tagger): its
    /// `tags` detections were left out (its other tags, syncs and frame marks, and its
    /// events go through [`process`](Self::process) as usual, so lock and clock tracking
    /// never skip). The block's span, `from_ps..to_ps`, leaves the gains' denominators, so
    /// the gains, QBER and key of the analysed part stay unbiased; the snapshot and each
    /// window say which fraction was analysed.
    pub fn skipped(&mut self, tags: [u64; 8], from_ps: i64, to_ps: i64) {
        let n: u64 = tags.iter().sum();
        self.skipped_tags += n;
        // Count rates include them: the detections happened, they were not analysed.
        for (c, k) in tags.iter().enumerate() {
            self.stream.channel_tags[c] += k;
        }
        self.stream.skipped_tags += n;
        // Pulses count from the clock's origin, once it is locked: a block skipped before
        // that is no part of the pulses the gains divide by. The pulses by the clock go to
        // the windows they fall in.
        if let Some(fit) = self.clock.locked_fit() {
            let pulse = |t: i64| fit.pulse_base as f64 + (t as f64 - fit.t_ref_ps) * fit.inv_pulse_period;
            let (p0, p1) = (pulse(from_ps).floor() as i64, pulse(to_ps).floor() as i64 + 1);
            if p1 > p0 {
                self.skipped_pulses += (p1 - p0.max(self.clock.origin_pulse())).max(0) as f64;
                self.windows.skip(p0, p1);
            }
        }
        // No inter-click interval spans the gap.
        self.chars.break_intervals();
    }

    /// Pulses the gains divide by: from the clock's origin to the highest pulse seen, less
    /// the pulses of skipped blocks. With blocks skipped, the highest pulse is also that of
    /// the latest tag by the clock (a skipped block's syncs move the stream on, its
    /// detections are not there to).
    fn counted_pulses(&self) -> f64 {
        let mut top = self.last_pulse;
        if self.skipped_pulses > 0.0 {
            if let Some(fit) = self.clock.locked_fit() {
                let p = fit.pulse_base as f64 + (self.last_tag_ps as f64 - fit.t_ref_ps) * fit.inv_pulse_period;
                top = top.max(p.floor() as i64);
            }
        }
        ((top + 1 - self.clock.origin_pulse()).max(0) as f64 - self.skipped_pulses).max(0.0)
    }

    /// The tagger channels that carry detections (bit c for channel c & 7).
    pub fn detector_channels(&self) -> u8 {
        self.detector_channel_mask
    }

    /// Tags without events among them: runs of detections between clock updates through
    /// the block pass when the engine is locked and calibrated, everything else one by one.
    fn tags(&mut self, t: &[i64], ch: &[u8]) {
        if t.len() >= parallel::MIN_TAGS && self.qubit.is_none() && !self.cfg.log_assignments {
            if let Some(threads) = self.threads.clone() {
                return self.tags_threaded(&threads, t, ch);
            }
        }
        let mut i = 0;
        while i < t.len() {
            let Some(k) = self.kernel() else {
                self.tag(t[i], ch[i]);
                i += 1;
                continue;
            };
            let mask = self.detector_channel_mask;
            let n = fast::leading_detections(&ch[i..], mask, BLOCK);
            // The clock would go to holdover inside the run: one by one.
            let fit = self.clock.locked_fit().expect("kernel() checked the lock");
            if n == 0 || t[i + n - 1] as f64 - fit.last_sync_ps > 3.5 * fit.sync_period_ps {
                self.tag(t[i], ch[i]);
                i += 1;
                continue;
            }
            self.block(&k, &t[i..i + n], &ch[i..i + n]);
            i += n;
        }
    }

    /// The block pass's parameters, when it may run: sync-channel mode, locked and indexed,
    /// every detector calibrated, no assignment log.
    fn kernel(&self) -> Option<Kernel> {
        if self.qubit.is_some() || self.cfg.log_assignments || !self.calibration.done {
            return None;
        }
        let fit = self.clock.locked_fit()?;
        let mut offset = [0.0; 8];
        let mut detector = [0u8; 8];
        for (c, d) in self.channel_to_detector.iter().enumerate() {
            if let Some(d) = d {
                offset[c] = self.offsets[usize::from(*d)]?;
                detector[c] = *d;
            }
        }
        let p = &self.cfg.pattern;
        Some(Kernel {
            t_ref: fit.t_ref_ps,
            offset,
            detector,
            inv_pulse_period: fit.inv_pulse_period,
            pulse_period: fit.pulse_period_ps,
            half_gate: self.cfg.gate_width_ps / 2.0,
            pulse_base: fit.pulse_base,
            inv_bin: 1.0 / HISTOGRAM_BIN_PS,
            seed: p.seed,
            class_thr: p.class_thr,
            basis_thr: p.basis_thr,
        })
    }

    /// A run of detections (all on detector channels, no clock update among them): worked
    /// out on its own (`block::compute`), then taken in stream order (`apply_block`), as
    /// the threaded engine does with its workers.
    fn block(&mut self, k: &Kernel, t: &[i64], ch: &[u8]) {
        let mut out = self.block.take().unwrap_or_default();
        let mut r = self.block_result.take().unwrap_or_default();
        let sums = Sums {
            histogram: &mut self.histogram,
            intervals: &mut self.chars.intervals,
            intervals_top: &mut 0,
            outside_gate: &mut self.chars.outside_gate,
        };
        block::compute(k, t, ch, self.reorder_pulses, &mut out, sums, &mut r, false);
        let period_ps = self.pulse_period_ps();
        self.apply_block(&r, t.len() as u64, period_ps);
        self.block = Some(out);
        self.block_result = Some(r);
        self.last_tag_ps = t[t.len() - 1];
        self.block_pass_tags += t.len() as u64;
    }

    /// The in-order part of a block of `n` detections worked out by `block::compute`;
    /// `period_ps` is the pulse period when the block arrived (the clock may have moved on
    /// since, in the threaded engine). The result equals the block pass tag by tag: the
    /// sums are added; the pulses are grouped across the block's edges here; the middle's
    /// precounted pulses are used only when no metric window closes among them (a window
    /// takes a snapshot of the counts, so there the pulses go one by one).
    pub(super) fn apply_block(&mut self, r: &BlockResult, n: u64, period_ps: f64) {
        for (c, d) in self.channel_to_detector.iter().enumerate() {
            if let Some(d) = d {
                self.stream.channel_tags[c] += r.clicks.clicks[usize::from(*d)];
            }
        }
        self.chars.stitch(&r.clicks);
        self.outside_gate += n - r.gated;
        self.gated += r.gated;
        self.res_n += r.gated;
        self.res_sum2 += r.res_sum2;
        self.window_period_ps = Some(period_ps);
        if self.pend_head > 0 {
            self.pending.drain(..self.pend_head);
            self.pend_head = 0;
        }
        let rr = self.reorder_pulses;
        let (entries, sorted) = (&r.entries[..r.len], &r.sorted[..r.len]);
        if entries.is_empty() {
            self.close_sorted_below(self.last_pulse - rr);
        } else if r.intra_late || r.min_pulse < self.last_pulse - rr {
            // A detection later than the reorder bound (a re-index) needs the
            // per-detection order.
            for &x in entries {
                self.group(block::pulse_of(x), x as u8);
            }
        } else {
            let top = self.last_pulse.max(r.max_pulse);
            // Without a counted middle, the detections in stream order, sorted in below.
            let mut rest = entries;
            if !r.middle.is_empty() {
                // Everything below the middle first: the pending pulses (all at or below
                // the last pulse, itself at most `min_pulse + rr`) and the block's lowest.
                let (a, b) = (r.middle.start, r.middle.end);
                let base = self.pending.len();
                self.pending.extend_from_slice(&sorted[..a]);
                insertion_sort_tail(&mut self.pending, base);
                self.close_sorted_below(block::pulse_of(sorted[a]));
                rest = &sorted[a..];
                if !self.windows.ends_before(block::pulse_of(sorted[b - 1])) {
                    for &key in &r.single_keys[..r.singles] {
                        self.single[usize::from(key)] += 1;
                    }
                    for &m in &r.multi[..r.multis] {
                        let x = sorted[usize::from(m >> 4)];
                        self.count_pulse(block::pulse_of(x), (m & 15) as u8, x as u8);
                    }
                    rest = &sorted[b..];
                }
            }
            // The rest, sorted into the pending set.
            let base = self.pending.len();
            self.pending.extend_from_slice(rest);
            insertion_sort_tail(&mut self.pending, base);
            self.last_pulse = top;
            self.close_sorted_below(top - rr);
        }
        self.window_period_ps = None;
    }

    fn event(&mut self, e: &StreamEvent) {
        match e {
            StreamEvent::OverflowBegin { .. } => {
                self.stream.overflows += 1;
            }
            StreamEvent::Missed { count, .. } => {
                self.stream.missed += count;
            }
            StreamEvent::Error { .. } => self.stream_errors += 1,
            StreamEvent::OverflowEnd { .. } => {}
        }
    }

    #[inline]
    fn tag(&mut self, t_ps: i64, ch: u8) {
        let t = t_ps as f64;
        self.stream.channel_tags[usize::from(ch & 7)] += 1;
        let Some(d) = self.timing(t_ps, ch) else { return };
        self.chars.click(usize::from(d), t_ps);
        if self.qubit.is_some() {
            return self.qubit_detection(t, d);
        }
        self.clock.tick(t);
        self.note_state(t_ps);
        // Index with the clock as it is now, at the arrival: a later clock state would be
        // extrapolated backwards.
        if self.calibration.done {
            // The block pass's arithmetic, tag by tag.
            let Some(offset) = self.offsets[usize::from(d)] else {
                self.unindexed += 1;
                return;
            };
            match self.clock.pulse_of(t, offset) {
                Some((pulse, r)) => self.classify(t, d, pulse, r),
                None => self.unindexed += 1,
            }
            return;
        }
        let Some((p0, r0)) = self.clock.pulse_of(t, 0.0) else {
            self.unindexed += 1;
            return;
        };
        self.indexed_detection(t, d, p0, r0);
    }

    /// A tag's part in the timing (everything but counting it): the clock's syncs and
    /// frame marks, the first and last tag. The detector, for a detection.
    #[inline]
    fn timing(&mut self, t_ps: i64, ch: u8) -> Option<u8> {
        self.first_tag_ps.get_or_insert(t_ps);
        self.last_tag_ps = t_ps;
        // (In qubit-sync mode sync and frame tags are counted, not used: the timing comes
        // from the detections alone, as on a link without a sync channel.)
        if ch == self.cfg.channels.sync {
            self.first_sync_ps.get_or_insert(t_ps);
            if self.qubit.is_none() {
                self.clock.sync(t_ps as f64);
                self.note_state(t_ps);
            }
            return None;
        }
        if ch == self.cfg.channels.frame {
            if self.qubit.is_none() {
                self.clock.frame(t_ps as f64);
            }
            return None;
        }
        self.channel_to_detector[usize::from(ch & 7)]
    }

    /// A detection in qubit-sync mode: buffered until the acquisition, then indexed by it.
    fn qubit_detection(&mut self, t: f64, d: u8) {
        let q = self.qubit.as_mut().expect("qubit mode");
        if !q.locked() {
            if let Some(replay) = q.acquire(t, d, &self.cfg.pattern) {
                self.lock_events.push(LockEvent { time_ps: t as i64, state: LockState::Locked });
                self.last_state = LockState::Locked;
                for (t, d) in replay {
                    self.qubit_detection(t, d);
                }
            }
            return;
        }
        let Some((p0, r0)) = q.pulse_of(t) else { return };
        // Track on every detection near its expected arrival, from the first one on (the
        // per-detector calibration comes later and must not wait for the loop).
        if r0.abs() <= self.cfg.gate_width_ps / 2.0 {
            q.track(p0, r0);
        }
        self.indexed_detection(t, d, p0, r0);
    }

    fn indexed_detection(&mut self, t: f64, d: u8, p0: i64, r0: f64) {
        if !self.calibration.done {
            self.calibration.pending.push((t, d, p0, r0));
            if self.calibration.pending.len() >= CALIBRATION_DETECTIONS {
                self.calibrate();
            }
            return;
        }
        self.detection(t, d, p0, r0);
    }

    fn note_state(&mut self, t_ps: i64) {
        let s = self.clock.state();
        if s != self.last_state {
            self.lock_events.push(LockEvent { time_ps: t_ps, state: s });
            self.last_state = s;
        }
    }

    /// A detection indexed with offset 0 (before the calibration, or in qubit-sync mode).
    fn detection(&mut self, t: f64, d: u8, p0: i64, r0: f64) {
        let Some(offset) = self.offsets[usize::from(d)] else {
            self.unindexed += 1;
            return;
        };
        // Offsets are calibrated to within a pulse: the common case needs no division.
        let tp = self.pulse_period_ps();
        let (pulse, r) =
            if (r0 - offset).abs() <= tp / 2.0 { (p0, r0 - offset) } else { calibrate::shifted(p0, r0, offset, tp) };
        self.classify(t, d, pulse, r);
    }

    /// An indexed detection: histogram, gate, then grouping by pulse.
    #[inline]
    fn classify(&mut self, t: f64, d: u8, pulse: i64, r: f64) {
        let tp = self.pulse_period_ps();
        // The block pass's bin (`fast::bin_of`), with a saturating cast: equal in range.
        let bin = ((r + tp / 2.0) * (1.0 / HISTOGRAM_BIN_PS)) as i64 as u32 as usize;
        if let Some(h) = self.histogram.get_mut(bin) {
            h[usize::from(d)] += 1;
        }
        if !(r.abs() <= self.cfg.gate_width_ps / 2.0 && pulse >= 0) {
            self.outside_gate += 1;
            self.chars.outside_gate[usize::from(d)] += 1;
            return;
        }
        self.gated += 1;
        self.res_sum2 += fast::r2_units(r);
        self.res_n += 1;
        if self.cfg.log_assignments {
            self.assignments.push((t as i64, d, pulse));
        }
        let key = fast::key_for(&self.cfg.pattern, pulse, d);
        self.group(pulse, key);
    }

    /// Takes a gated detection into the pending set; counts the pulses it leaves behind.
    #[inline(always)]
    fn group(&mut self, pulse: i64, key: u8) {
        if pulse < self.last_pulse - self.reorder_pulses {
            // Later than any delay explains (a re-index): counted on its own.
            return self.count_pulse(pulse, 1 << (key & 3), key);
        }
        let x = (pulse as u64) << 8 | u64::from(key);
        let v = &mut self.pending;
        if v.last().is_none_or(|&l| l <= x) || v.len() == self.pend_head {
            v.push(x);
        } else {
            let at = self.pend_head + v[self.pend_head..].partition_point(|&y| y <= x);
            v.insert(at, x);
        }
        if pulse > self.last_pulse {
            self.last_pulse = pulse;
            self.close_below(pulse - self.reorder_pulses);
            self.compact_pending();
        }
    }

    /// `close_below` for many pulses at once: single clicks (no neighbour with the same
    /// pulse) straight into the table, the rest through `count_pulse`.
    fn close_sorted_below(&mut self, frontier: i64) {
        let v = &self.pending;
        let end = self.pend_head + v[self.pend_head..].partition_point(|&x| ((x >> 8) as i64) < frontier);
        let mut window_end = self.windows.next_start();
        let mut j = self.pend_head;
        while j < end {
            let x = self.pending[j];
            let p = (x >> 8) as i64;
            let next_same = j + 1 < self.pending.len() && (self.pending[j + 1] >> 8) as i64 == p;
            if !next_same && p > 0 && p < window_end {
                self.single[usize::from(x as u8)] += 1;
                j += 1;
                continue;
            }
            // Several clicks, pulse 0 or a window boundary: the general path.
            self.pend_head = j;
            self.close_below(p + 1);
            j = self.pend_head;
            window_end = self.windows.next_start();
        }
        self.pend_head = end;
        self.compact_pending();
    }

    /// Counts every pending pulse below `frontier`, in pulse order.
    #[inline(always)]
    fn close_below(&mut self, frontier: i64) {
        while let Some(&x) = self.pending.get(self.pend_head) {
            let pulse = (x >> 8) as i64;
            if pulse >= frontier {
                break;
            }
            let key = x as u8;
            let mut mask = 1u8 << (key & 3);
            self.pend_head += 1;
            while let Some(&y) = self.pending.get(self.pend_head) {
                if (y >> 8) as i64 != pulse {
                    break;
                }
                mask |= 1 << (y as u8 & 3);
                self.pend_head += 1;
            }
            self.count_pulse(pulse, mask, key);
        }
    }

    /// Drops the counted entries from the pending set.
    #[inline(always)]
    fn compact_pending(&mut self) {
        if self.pend_head == self.pending.len() {
            self.pending.clear();
            self.pend_head = 0;
        } else if self.pend_head > 4096 {
            self.pending.drain(..self.pend_head);
            self.pend_head = 0;
        }
    }

    /// Counts one pulse with clicks on detectors `mask`; `key` is the single-click key of
    /// its first detector.
    #[inline(always)]
    fn count_pulse(&mut self, pulse: i64, mask: u8, key: u8) {
        if self.windows.ends_before(pulse) {
            let total = self.total_counts();
            self.windows.rate_offset =
                self.window_period_ps.unwrap_or_else(|| self.pulse_period_ps()) / self.cfg.clock.pulse_period_ps - 1.0;
            self.windows.advance(pulse, &total, &self.stream, self.class_p, &self.cfg.key);
        }
        if mask.is_power_of_two() && pulse > 0 {
            self.single[usize::from(key)] += 1;
        } else {
            self.sift(pulse, mask, key);
        }
    }

    /// Received pulse rate relative to nominal, minus 1 (Doppler and clocks).
    fn rate_offset(&self) -> f64 {
        self.pulse_period_ps() / self.cfg.clock.pulse_period_ps - 1.0
    }

    /// The pulse period now, ps, from whichever sync is in use.
    fn pulse_period_ps(&self) -> f64 {
        match &self.qubit {
            Some(q) => q.pulse_period_ps(),
            None => self.clock.pulse_period_ps(),
        }
    }

    /// Sifts one pulse and notes, for the patterning estimate, the class before it.
    #[cold]
    fn sift(&mut self, pulse: i64, mask: u8, key: u8) {
        sift_key(key, pulse, mask, &mut self.counts);
        if pulse > 0 {
            let key = SymbolKey(key);
            self.chars.after_class[key.prev_class()][key.class()] += 1;
        }
    }

    /// The settings the engine runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Tags that went through the block pass (the rest, tag by tag).
    pub fn block_pass_tags(&self) -> u64 {
        self.block_pass_tags
    }

    /// Of the block pass's tags, those whose blocks the threads worked out (see
    /// [`set_threads`](Self::set_threads)).
    pub fn threaded_tags(&self) -> u64 {
        self.threaded_tags
    }

    /// The run's counts: the per-pulse ones plus those the single-click table holds.
    pub fn total_counts(&self) -> SiftCounts {
        let mut c = self.counts.clone();
        for (key, &n) in self.single.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let key = SymbolKey(key as u8);
            let (k, sb, sbit, d) = (key.class(), key.basis(), key.bit(), key.detector());
            c.clicks[k][sb][sbit][d] += n;
            c.detected_pulses[k] += n;
            let (rb, bit) = (key.detector_basis(), key.detector_bit());
            if rb == sb {
                c.sifted[k][rb] += n;
                if bit != sbit {
                    c.errors[k][rb] += n;
                }
            }
        }
        c
    }

    /// Detected pulses by [previous pulse's class][this pulse's class], all of them.
    fn after_class(&self) -> [[u64; 4]; 4] {
        let mut a = self.chars.after_class;
        for (key, &n) in self.single.iter().enumerate() {
            let key = SymbolKey(key as u8);
            a[key.prev_class()][key.class()] += n;
        }
        a
    }

    /// Closed metric windows, oldest first (the last 100,000).
    pub fn windows(&self) -> impl Iterator<Item = &WindowRecord> {
        self.windows.closed.iter()
    }

    /// The windows closed after the first `seen` (of those still kept), oldest first.
    pub fn windows_after(&self, seen: u64) -> impl Iterator<Item = &WindowRecord> {
        let new = self.windows.closed_total.saturating_sub(seen) as usize;
        let kept = self.windows.closed.len();
        self.windows.closed.iter().skip(kept.saturating_sub(new))
    }

    /// Finite-key length of the whole run so far (one block).
    pub fn run_key(&self) -> Option<super::finite_key::KeyRateOutput> {
        key_length(&self.total_counts(), self.cfg.pattern.class_probabilities(), &self.cfg.key)
    }

    /// The optical-module characterisation of the run so far.
    pub fn characterise(&self) -> Characterisation {
        let facts = RunFacts {
            pulses: self.counted_pulses(),
            class_p: self.cfg.pattern.class_probabilities(),
            dac_code: self.cfg.pattern.dac_code,
            pulse_period_ps: self.pulse_period_ps(),
            gate_width_ps: self.cfg.gate_width_ps,
            duration_ps: (self.last_tag_ps - self.first_tag_ps.unwrap_or(self.last_tag_ps)) as f64,
        };
        let mut chars = self.merged_chars();
        chars.after_class = self.after_class();
        characterise(&self.total_counts(), &chars, &self.histogram(), HISTOGRAM_BIN_PS, &facts)
    }

    /// Calibrates every detector from the detections buffered so far, then indexes them.
    fn calibrate(&mut self) {
        let pending = std::mem::take(&mut self.calibration.pending);
        let tp = self.pulse_period_ps();
        let found = calibrate::offsets(&pending, &self.cfg.pattern, tp, self.cfg.gate_width_ps);
        for (d, off) in found.iter().enumerate() {
            if off.is_some() {
                self.offsets[d] = *off;
            }
        }
        if let Some(r) = calibrate::reorder_pulses(&self.offsets, tp) {
            self.reorder_pulses = r;
        }
        self.calibration.done = true;
        for (t, d, p0, r0) in pending {
            self.detection(t, d, p0, r0);
        }
    }

    /// Counts the pulse still open and closes the last window (end of stream).
    pub fn flush(&mut self) {
        if !self.calibration.done && !self.calibration.pending.is_empty() {
            self.calibrate();
        }
        self.close_below(i64::MAX);
        self.compact_pending();
        let total = self.total_counts();
        self.windows.rate_offset = self.rate_offset();
        self.windows.close(&total, &self.stream, self.class_p, &self.cfg.key);
    }

    /// The arrival-phase histogram: per 10 ps bin from -T/2, clicks of each detector
    /// (with threads, summed over them here).
    pub fn histogram(&self) -> std::borrow::Cow<'_, [[u64; 4]]> {
        match self.merged_histogram() {
            Some(h) => std::borrow::Cow::Owned(h),
            None => std::borrow::Cow::Borrowed(&self.histogram),
        }
    }

    /// The state now.
    pub fn snapshot(&self) -> Snapshot {
        let p = self.cfg.pattern.class_probabilities();
        let pulses = self.counted_pulses();
        let counts = self.total_counts();
        let key_length_bits = key_length(&counts, p, &self.cfg.key).map_or(0, |k| k.key_length_bits);
        Snapshot {
            lock: match &self.qubit {
                Some(q) if q.locked() => LockState::Locked,
                Some(_) => LockState::Searching,
                None => self.clock.state(),
            },
            rate_offset: self.rate_offset(),
            clock: self.clock.stats,
            qber: [counts.qber(0, None), counts.qber(1, None)],
            gain: std::array::from_fn(|k| {
                (p[k] > 0.0 && pulses > 0.0).then(|| counts.detected_pulses[k] as f64 / (pulses * p[k]))
            }),
            counts,
            last_pulse: self.last_pulse,
            gated: self.gated,
            outside_gate: self.outside_gate,
            unindexed: self.unindexed,
            residual_rms_ps: (self.res_n > 0).then(|| (self.res_sum2 as f64 / 256.0 / self.res_n as f64).sqrt()),
            detector_offset_ps: self.offsets,
            overflows: self.stream.overflows,
            missed_tags: self.stream.missed,
            stream_errors: self.stream_errors,
            lock_events: self.lock_events.clone(),
            clock_fit: if self.qubit.is_some() { None } else { self.clock.fit() },
            key_length_bits,
            windows_closed: self.windows.closed_total,
            channel_tags: self.stream.channel_tags,
            skipped_tags: self.skipped_tags,
            analysed_fraction: {
                // The channel counts include the skipped detections.
                let all: u64 = self.stream.channel_tags.iter().sum();
                if all == 0 {
                    1.0
                } else {
                    (all - self.skipped_tags.min(all)) as f64 / all as f64
                }
            },
            first_tag_ps: self.first_tag_ps.unwrap_or(0),
            first_sync_ps: self.first_sync_ps,
            last_tag_ps: self.last_tag_ps,
        }
    }
}

/// Sorts `v[from..]` into the sorted `v[..from]`: insertion from the end, cheap for the
/// nearly sorted detections of a block.
pub(crate) fn insertion_sort_tail(v: &mut [u64], from: usize) {
    for i in from.max(1)..v.len() {
        let x = v[i];
        let mut j = i;
        while j > 0 && v[j - 1] > x {
            v[j] = v[j - 1];
            j -= 1;
        }
        v[j] = x;
    }
}
