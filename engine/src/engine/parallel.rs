//! The engine on several threads (`Engine::set_threads`).
//!
//! Once the clock is locked, the detections between two syncs are independent given the
//! clock. So one thread (the caller's) runs the timing in stream order (syncs, frame marks,
//! lock state) and writes down what the block pass would do: a block with the clock fit it
//! gets ([`Job`], published to the workers at once), or a tag to count. Every thread, the
//! caller's included, works blocks out on their own (`block::compute`), and the caller takes
//! the results in stream order (`Engine::apply_block`) as soon as each is in, writing more
//! down while it waits, and working blocks out itself when it is far enough ahead. Anything
//! the block pass does not cover (a detection before the lock or the calibration, in
//! holdover) first takes every result written down before it, then goes tag by tag as on
//! one thread. The counts are integer sums and the order-dependent part runs in stream
//! order, so the result equals one thread's bit for bit (tests:
//! `harness/tests/engine_threads.rs`).
//!
//! Why rayon: a pool of threads that stays up between batches, with the caller working
//! in place (`in_place_scope`), so a batch costs no thread start.

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_utils::CachePadded;

use super::super::block::{self, BlockResult, Sums};
use super::super::characterise::{CharacterisationData, INTERVAL_BINS};
use super::super::config::ConfigError;
use super::super::fast::{self, Kernel, Out, BLOCK};
use super::Engine;

/// Runs of tags shorter than this go on one thread: handing them out costs more than it
/// saves.
pub(super) const MIN_TAGS: usize = 4 * BLOCK;
/// Slots for blocks written down and not yet taken (bounds the memory they hold: about
/// 4.7 KiB a slot, 600 KiB in all, within a core's L2 cache).
const RING: usize = 128;
/// Blocks written down ahead of the last taken, at most (below `RING`: a slot is reused
/// only once its block is taken).
const AHEAD: usize = RING - 8;
/// Blocks handed out at a time. Blocks end at every sync (about 100 detections each on a
/// busy link), so handing them out one by one costs cache-line transfers between the cores
/// per block (the count of blocks written down, the claim); in groups, per group.
const GROUP: usize = 32;
/// Rounds the caller spins on a result before it sleeps: about 0.1 ms here (a block takes
/// about half a microsecond, a group some tens).
const SPINS: u32 = 4096;

/// The workers of a threaded engine.
pub(crate) struct Threads {
    /// The workers beyond the caller's thread.
    pool: rayon::ThreadPool,
    inner: Mutex<Inner>,
    n: usize,
    priority: WorkerPriority,
}

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Threads").field("n", &self.n).field("priority", &self.priority).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    /// Each thread's scratch, the caller's first.
    outs: Vec<Box<Out>>,
    slots: Vec<Slot>,
}

/// A thread's order-free sums. They stay apart from the engine's own until read
/// ([`Engine::histogram`], [`Engine::characterise`]): adding 640 KB of interval bins into
/// the engine after every batch cost 13 % of the engine's time with batches of 65,536 tags.
/// Kept in the engine (and cloned with it), not with the threads, which clones share.
/// (On cache lines of their own: the threads' sums sit side by side in a vector, and each
/// thread writes its own per block.)
#[derive(Debug, Clone)]
#[repr(align(128))]
pub(crate) struct ThreadSums {
    /// Each with `PAD` unused entries at both ends (see `PAD`).
    histogram: Vec<[u64; 4]>,
    intervals: Vec<[u64; 4]>,
    /// Above the highest bin of `intervals` that is not zero.
    intervals_top: usize,
    outside_gate: [u64; 4],
}

/// Entries (128 bytes) left unused at each end of a thread's tables: the heap may put
/// another thread's data right beside them, and a cache line written by two threads
/// (false sharing) costs a transfer between the cores at every write.
const PAD: usize = 4;

impl ThreadSums {
    fn new(bins: usize) -> Self {
        ThreadSums {
            histogram: vec![[0; 4]; bins + 2 * PAD],
            intervals: vec![[0; 4]; INTERVAL_BINS + 2 * PAD],
            intervals_top: 0,
            outside_gate: [0; 4],
        }
    }

    /// What `block::compute` adds to: the tables without their padding.
    fn as_sums(&mut self) -> Sums<'_> {
        let (h, i) = (self.histogram.len(), self.intervals.len());
        Sums {
            histogram: &mut self.histogram[PAD..h - PAD],
            intervals: &mut self.intervals[PAD..i - PAD],
            intervals_top: &mut self.intervals_top,
            outside_gate: &mut self.outside_gate,
        }
    }
}

/// What a thread works with: its scratch and its sums.
struct Worker<'a> {
    out: &'a mut Out,
    sums: &'a mut ThreadSums,
}

/// A block's place in the ring: its job, then its result. No lock: the caller writes the
/// job before it publishes the block (`Shared::published`), one thread claims it
/// (`Shared::next`) and sets `ready` after its result, the caller reads the result after
/// `ready` and writes a new job only after that (a slot is reused `RING` blocks later, and
/// at most `AHEAD` are written down and not taken).
#[derive(Default)]
#[repr(align(128))]
struct Slot {
    ready: AtomicBool,
    job: UnsafeCell<Job>,
    result: UnsafeCell<BlockResult>,
}

// SAFETY: the job and the result are reached by one thread at a time, handed over through
// the atomics above (Release/Acquire), as the comment on `Slot` says.
unsafe impl Sync for Slot {}

/// A block written down: the clock fit it gets, where it is, and the pulse period and the
/// reorder bound then (the calibration raises the bound inside a run of tags: the block is
/// worked out with the bound it is taken with, as on one thread).
#[derive(Debug, Clone, Copy, Default)]
struct Job {
    k: Kernel,
    from: usize,
    to: usize,
    period_ps: f64,
    reorder: i64,
}

/// The block pass's work in stream order.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// A tag that is not a detection (sync, frame mark, another channel): counted.
    Count(u8),
    /// A block, by its number.
    Block(usize),
}

/// What the threads share while a run of tags is worked out.
struct Shared<'a> {
    slots: &'a [Slot],
    t: &'a [i64],
    ch: &'a [u8],
    caller: std::thread::Thread,
    // Each counter the threads write on a cache line of its own (and none shares one with
    // the caller's stack): a line written by one core and read by the other costs a
    // transfer each time, and a line shared only by accident (false sharing) costs the same
    // for nothing.
    /// Blocks written down (the first `published` may be claimed).
    published: CachePadded<AtomicUsize>,
    /// Blocks claimed.
    next: CachePadded<AtomicUsize>,
    /// Whether the caller sleeps waiting for a result.
    caller_asleep: CachePadded<AtomicBool>,
    /// The workers' sleep: nothing more will be written down, workers asleep for want of
    /// blocks, and where they sleep.
    sleep: CachePadded<Sleep>,
}

/// Where workers sleep for want of blocks.
struct Sleep {
    done: AtomicBool,
    /// A worker panicked: its blocks will never be ready (the caller panics too, instead of
    /// waiting for ever; the scope then passes the worker's panic on).
    failed: AtomicBool,
    sleeping: AtomicUsize,
    idle: Mutex<()>,
    wake: Condvar,
}

impl<'a> Shared<'a> {
    fn new(slots: &'a [Slot], t: &'a [i64], ch: &'a [u8]) -> Self {
        Shared {
            slots,
            t,
            ch,
            caller: std::thread::current(),
            published: CachePadded::new(AtomicUsize::new(0)),
            next: CachePadded::new(AtomicUsize::new(0)),
            caller_asleep: CachePadded::new(AtomicBool::new(false)),
            sleep: CachePadded::new(Sleep {
                done: AtomicBool::new(false),
                failed: AtomicBool::new(false),
                sleeping: AtomicUsize::new(0),
                idle: Mutex::new(()),
                wake: Condvar::new(),
            }),
        }
    }

    /// Claims and works out up to `GROUP` blocks, if any wait.
    fn work_some(&self, w: &mut Worker) -> bool {
        let j = self.next.load(Ordering::Relaxed);
        let published = self.published.load(Ordering::Acquire);
        if j >= published {
            return false;
        }
        let end = published.min(j + GROUP);
        if self.next.compare_exchange_weak(j, end, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return true;
        }
        for b in j..end {
            let slot = &self.slots[b % RING];
            // SAFETY: block `b` is this thread's from its claim until `ready` (see `Slot`).
            let (job, r) = unsafe { (&*slot.job.get(), &mut *slot.result.get()) };
            let sums = w.sums.as_sums();
            let (t, ch) = (&self.t[job.from..job.to], &self.ch[job.from..job.to]);
            block::compute(&job.k, t, ch, job.reorder, w.out, sums, r, true);
            // (SeqCst with the caller's `caller_asleep` then `ready`: one of the two sees
            // the other, so the caller never sleeps through its result.)
            slot.ready.store(true, Ordering::SeqCst);
            if self.caller_asleep.load(Ordering::SeqCst) {
                self.caller.unpark();
            }
        }
        true
    }

    /// Lets the workers claim the blocks written down so far.
    fn publish(&self, written: usize) {
        if self.published.load(Ordering::Relaxed) < written {
            self.published.store(written, Ordering::SeqCst);
            self.wake_sleepers();
        }
    }

    /// Whether a block waits to be claimed.
    fn waiting(&self) -> bool {
        self.next.load(Ordering::SeqCst) < self.published.load(Ordering::SeqCst)
    }

    /// A worker: blocks until nothing more is written down.
    fn serve(&self, w: &mut Worker) {
        let _failed = FailOnUnwind(self);
        let mut idle = 0u32;
        loop {
            if self.work_some(w) {
                idle = 0;
                continue;
            }
            if self.sleep.done.load(Ordering::SeqCst) && !self.waiting() {
                return;
            }
            // Blocks come every few hundred nanoseconds while the caller writes them down:
            // a short spin. Past that, sleep until the caller writes one down, leaving the
            // core to the other threads (a live run's recorder and reader).
            idle += 1;
            if idle < 512 {
                std::hint::spin_loop();
                continue;
            }
            let mut g = self.sleep.idle.lock().unwrap_or_else(PoisonError::into_inner);
            self.sleep.sleeping.fetch_add(1, Ordering::SeqCst);
            while !self.waiting() && !self.sleep.done.load(Ordering::SeqCst) {
                // (The timeout only guards against a wake-up this reasoning missed.)
                g = self.sleep.wake.wait_timeout(g, Duration::from_millis(5)).unwrap_or_else(PoisonError::into_inner).0;
            }
            self.sleep.sleeping.fetch_sub(1, Ordering::SeqCst);
            drop(g);
            idle = 0;
        }
    }

    /// Wakes the workers asleep, if any (after a block is written down, or at the end).
    fn wake_sleepers(&self) {
        if self.sleep.sleeping.load(Ordering::SeqCst) > 0 {
            let _g = self.sleep.idle.lock().unwrap_or_else(PoisonError::into_inner);
            self.sleep.wake.notify_all();
        }
    }

    /// The caller waits for block `j`, claimed by a worker: a short spin, then asleep until
    /// the worker has it (a worker of lower priority then gets the core).
    fn wait_for(&self, j: usize) {
        let slot = &self.slots[j % RING];
        for _ in 0..SPINS {
            if slot.ready.load(Ordering::Acquire) {
                return;
            }
            std::hint::spin_loop();
        }
        self.caller_asleep.store(true, Ordering::SeqCst);
        if !slot.ready.load(Ordering::SeqCst) {
            // (The timeout only guards against a wake-up this reasoning missed.)
            std::thread::park_timeout(Duration::from_millis(5));
        }
        self.caller_asleep.store(false, Ordering::SeqCst);
        if self.sleep.failed.load(Ordering::SeqCst) {
            panic!("an engine worker thread panicked");
        }
    }
}

/// Ends the workers' loop when dropped: after the caller's part, or while it unwinds.
struct EndOnDrop<'a, 'b>(&'a Shared<'b>);

impl Drop for EndOnDrop<'_, '_> {
    fn drop(&mut self) {
        self.0.sleep.done.store(true, Ordering::SeqCst);
        self.0.wake_sleepers();
    }
}

/// Tells the caller when a worker unwinds (a panic), so it does not wait for the worker's
/// blocks for ever.
struct FailOnUnwind<'a, 'b>(&'a Shared<'b>);

impl Drop for FailOnUnwind<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.sleep.failed.store(true, Ordering::SeqCst);
            self.0.caller.unpark();
        }
    }
}

/// The scheduling priority of the engine's workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkerPriority {
    /// As the caller's thread (offline: nothing else needs the cores).
    #[default]
    Normal,
    /// Below every other thread (nice +10): the workers take only the CPU nothing else
    /// wants. For a live run, whose recorder and reader must never wait for analysis (the
    /// engine skips what it cannot analyse in time instead).
    Background,
}

/// Sets the calling thread's nice value (Linux: nice is per thread); the value before, when
/// it was set. Raising one's own nice needs no privilege; lowering it again may (then this
/// fails and the priority stays as it was).
pub fn set_thread_nice(nice: i32) -> Option<i32> {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on this thread's own id; no memory is passed.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let before = libc::getpriority(libc::PRIO_PROCESS, tid);
        if before == -1 && *libc::__errno_location() != 0 {
            return None;
        }
        (libc::setpriority(libc::PRIO_PROCESS, tid, nice) == 0).then_some(before)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nice;
        None
    }
}

/// Nice value of background workers.
pub const BACKGROUND_NICE: i32 = 10;

impl Threads {
    /// `n` threads in all (the caller's and `n - 1` workers).
    pub(crate) fn new(n: usize, priority: WorkerPriority) -> Result<Self, ConfigError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n - 1)
            .thread_name(|i| format!("engine-worker-{i}"))
            .start_handler(move |_| {
                if priority == WorkerPriority::Background {
                    set_thread_nice(BACKGROUND_NICE);
                }
            })
            .build()
            .map_err(|e| ConfigError {
                field: "threads",
                reason: format!("cannot start {} worker threads: {e}", n - 1),
            })?;
        Ok(Threads { pool, inner: Mutex::new(Inner::default()), n, priority })
    }

    /// Threads in all.
    pub(crate) fn count(&self) -> usize {
        self.n
    }
}

impl Engine {
    /// Runs the block pass on `n` threads: this one and `n - 1` workers (1: this thread
    /// alone). The results equal one thread's bit for bit whatever `n`; see
    /// docs/engine.md.
    pub fn set_threads(&mut self, n: usize) -> Result<(), ConfigError> {
        self.set_threads_with(n, WorkerPriority::Normal)
    }

    /// [`set_threads`](Self::set_threads) with the workers at `priority`.
    pub fn set_threads_with(&mut self, n: usize, priority: WorkerPriority) -> Result<(), ConfigError> {
        if n == 0 {
            return Err(ConfigError { field: "threads", reason: "must be at least 1".into() });
        }
        self.threads = if n == 1 { None } else { Some(std::sync::Arc::new(Threads::new(n, priority)?)) };
        self.fold_thread_sums();
        Ok(())
    }

    /// Threads the block pass runs on.
    pub fn threads(&self) -> usize {
        self.threads.as_ref().map_or(1, |t| t.count())
    }

    /// `tags` with the block pass on the workers.
    pub(super) fn tags_threaded(&mut self, threads: &Threads, t: &[i64], ch: &[u8]) {
        let mut guard = threads.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let inner = &mut *guard;
        inner.outs.resize_with(threads.n, Box::default);
        inner.slots.resize_with(RING, Slot::default);
        let bins = self.histogram.len();
        // (Out of the engine while the threads add to them: the caller's part borrows it.)
        let mut sums = std::mem::take(&mut self.thread_sums);
        sums.resize_with(threads.n, || ThreadSums::new(bins));
        let mut workers: Vec<Worker<'_>> =
            inner.outs.iter_mut().zip(sums.iter_mut()).map(|(out, sums)| Worker { out, sums }).collect();
        let shared = Shared::new(&inner.slots, t, ch);
        let (mine, others) = workers.split_first_mut().expect("one worker per thread");
        threads.pool.in_place_scope(|s| {
            for w in others.iter_mut() {
                let shared = &shared;
                s.spawn(move |_| shared.serve(w));
            }
            // (The workers end when the caller's part does, even by a panic.)
            let _end = EndOnDrop(&shared);
            self.write_down_and_take(&shared, mine);
        });
        drop(workers);
        self.thread_sums = sums;
    }

    /// The caller's part: the timing and the blocks written down in stream order, the
    /// results taken in the same order, blocks worked out while it waits.
    fn write_down_and_take(&mut self, shared: &Shared<'_>, mine: &mut Worker<'_>) {
        let (t, ch) = (shared.t, shared.ch);
        let mask = self.detector_channel_mask;
        let mut ops = VecDeque::with_capacity(2 * RING);
        let (mut written, mut taken) = (0usize, 0usize);
        let (mut i, mut fetched) = (0, 0);
        loop {
            // Take every result that is in, in order.
            while let Some(&op) = ops.front() {
                match op {
                    Op::Count(c) => self.stream.channel_tags[usize::from(c)] += 1,
                    Op::Block(j) => {
                        let slot = &shared.slots[j % RING];
                        if !slot.ready.load(Ordering::Acquire) {
                            break;
                        }
                        slot.ready.store(false, Ordering::Relaxed);
                        // SAFETY: the result is in (`ready`) and the slot is the caller's
                        // until it writes the next job to it (see `Slot`).
                        let (job, r) = unsafe { (&*slot.job.get(), &*slot.result.get()) };
                        self.apply_block(r, (job.to - job.from) as u64, job.period_ps);
                        taken += 1;
                    }
                }
                ops.pop_front();
            }
            // The next block to take, when it is not in yet.
            let pending = match ops.front() {
                Some(&Op::Block(j)) => Some(j),
                _ => None,
            };
            if i >= t.len() || written - taken >= AHEAD {
                shared.publish(written);
                match pending {
                    None => return,
                    Some(j) => {
                        if !shared.work_some(mine) {
                            shared.wait_for(j);
                        }
                    }
                }
                continue;
            }
            // The timing reads a time per block and per sync, too few for the hardware to
            // see a stream: without this, each is a miss to memory (about 2.5 ns per tag).
            while fetched < (i + PREFETCH_TAGS).min(t.len()) {
                prefetch(&t[fetched]);
                fetched += 8;
            }
            // Write down the next tag or block.
            let c = ch[i];
            if mask >> (c & 7) & 1 == 0 {
                // Not a detection: its timing now, its count in order.
                let none = self.timing(t[i], c);
                debug_assert!(none.is_none());
                ops.push_back(Op::Count(c & 7));
                i += 1;
                continue;
            }
            if let Some(k) = self.kernel() {
                let n = fast::leading_detections(&ch[i..], mask, BLOCK);
                let fit = self.clock.locked_fit().expect("kernel() checked the lock");
                // (As in `tags`: the clock would go to holdover inside the run.)
                if t[i + n - 1] as f64 - fit.last_sync_ps <= 3.5 * fit.sync_period_ps {
                    let slot = &shared.slots[written % RING];
                    // SAFETY: the slot's last block was taken (at most `AHEAD` are not), so
                    // no other thread reaches it until it is published (see `Slot`).
                    unsafe {
                        *slot.job.get() = Job {
                            k,
                            from: i,
                            to: i + n,
                            period_ps: self.pulse_period_ps(),
                            reorder: self.reorder_pulses,
                        }
                    };
                    ops.push_back(Op::Block(written));
                    written += 1;
                    if written % GROUP == 0 {
                        shared.publish(written);
                    }
                    self.last_tag_ps = t[i + n - 1];
                    self.block_pass_tags += n as u64;
                    self.threaded_tags += n as u64;
                    i += n;
                    continue;
                }
            }
            // A detection the block pass does not take: everything before it first.
            if let Some(j) = pending {
                shared.publish(written);
                if !shared.work_some(mine) {
                    shared.wait_for(j);
                }
            } else {
                // (Counts in front are taken at the top of the loop.)
                debug_assert!(ops.is_empty());
                self.tag(t[i], c);
                i += 1;
            }
        }
    }

    /// Adds the threads' order-free sums to the engine's (when the threads change).
    fn fold_thread_sums(&mut self) {
        let histogram = self.histogram().into_owned();
        self.chars = self.merged_chars();
        self.histogram = histogram;
        self.thread_sums.clear();
    }

    /// The arrival histogram with the threads' sums.
    pub(super) fn merged_histogram(&self) -> Option<Vec<[u64; 4]>> {
        if self.thread_sums.is_empty() {
            return None;
        }
        let mut h = self.histogram.clone();
        for w in &self.thread_sums {
            for (a, b) in h.iter_mut().zip(&w.histogram[PAD..]) {
                add(a, b);
            }
        }
        Some(h)
    }

    /// The characterisation data with the threads' sums.
    pub(super) fn merged_chars(&self) -> CharacterisationData {
        let mut chars = self.chars.clone();
        for w in &self.thread_sums {
            for (a, b) in chars.intervals.iter_mut().zip(&w.intervals[PAD..PAD + w.intervals_top]) {
                add(a, b);
            }
            add(&mut chars.outside_gate, &w.outside_gate);
        }
        chars
    }
}

/// How far ahead of the timing the times are fetched, tags.
const PREFETCH_TAGS: usize = 1024;

/// Asks for the cache line of `x`.
#[inline(always)]
fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch has no effect beyond the cache, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((x as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

#[inline(always)]
fn add(a: &mut [u64; 4], b: &[u64; 4]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += *y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker that panics makes the caller panic instead of waiting for its blocks for
    /// ever (the scope would never end).
    #[test]
    fn a_worker_that_panics_does_not_hang_the_caller() {
        let slots: Vec<Slot> = (0..RING).map(|_| Slot::default()).collect();
        // A job past the end of the tags: working it out panics.
        // SAFETY: no other thread exists yet.
        unsafe { *slots[0].job.get() = Job { from: 1, to: 9, ..Job::default() } };
        let (t, ch) = ([0i64; 4], [0u8; 4]);
        let shared = Shared::new(&slots, &t, &ch);
        let mut out = Box::<Out>::default();
        let mut sums = ThreadSums::new(8);
        let mut caller = None;
        // (The scope passes the worker's panic on when it ends: caught here.)
        let scope = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::thread::scope(|s| {
                let shared = &shared;
                let w = Worker { out: &mut out, sums: &mut sums };
                s.spawn(move || {
                    let mut w = w;
                    shared.serve(&mut w)
                });
                let _end = EndOnDrop(shared);
                shared.publish(1);
                caller = Some(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    // (Bounded: without the unwind flag this would wait for ever.)
                    let start = std::time::Instant::now();
                    while start.elapsed() < Duration::from_secs(10) {
                        if shared.slots[0].ready.load(Ordering::Acquire) {
                            return "ready";
                        }
                        if shared.next.load(Ordering::SeqCst) > 0 {
                            shared.wait_for(0);
                        } else {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                    "still waiting"
                })));
            })
        }));
        assert!(scope.is_err(), "the worker did not panic");
        let caller = caller.expect("the caller ran");
        let message = caller.expect_err("the caller went on").downcast::<&str>().map(|m| *m);
        assert_eq!(message.ok(), Some("an engine worker thread panicked"));
        assert!(shared.sleep.failed.load(Ordering::SeqCst));
    }
}
