//! The engine on several threads (`Engine::set_threads`).
//!
//! Once the clock is locked, the detections between two syncs are independent given the
//! clock. So one thread (the caller's) runs the timing in stream order (syncs, frame marks,
//! lock state) and writes down what the block pass would do: a block with the clock fit it
//! gets ([`Job`]), or a tag to count. Every thread, the caller's included, works blocks out
//! on their own (`block::compute`), and the caller takes the results in stream order
//! (`Engine::apply_block`), as soon as each is ready. Anything the block pass does not cover
//! (a detection before the lock or the calibration, in holdover) first takes every result
//! written down so far, then goes tag by tag as on one thread. The counts are integer sums
//! and the order-dependent part runs in stream order, so the result equals one thread's bit
//! for bit (tests: `harness/tests/engine_threads.rs`).
//!
//! Why rayon: a pool of threads that stays up between batches, with the caller working
//! in place (`in_place_scope`), so a batch costs no thread start.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::super::block::{self, BlockResult, Sums};
use super::super::characterise::INTERVAL_BINS;
use super::super::config::ConfigError;
use super::super::fast::{Kernel, Out, BLOCK};
use super::Engine;

/// Runs of tags shorter than this go on one thread: handing them out costs more than it
/// saves.
pub(super) const MIN_TAGS: usize = 4 * BLOCK;
/// Blocks written down before their results are taken (bounds the memory they hold).
const MAX_JOBS: usize = 1024;

/// The workers of a threaded engine.
pub(crate) struct Threads {
    /// The workers beyond the caller's thread.
    pool: rayon::ThreadPool,
    inner: Mutex<Inner>,
    n: usize,
}

impl std::fmt::Debug for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Threads").field("n", &self.n).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Inner {
    /// One per thread, the caller's first.
    workers: Vec<Worker>,
    slots: Vec<Slot>,
}

/// A thread's scratch and its order-free sums, merged into the engine after each run.
struct Worker {
    out: Box<Out>,
    histogram: Vec<[u64; 4]>,
    intervals: Vec<[u64; 4]>,
    outside_gate: [u64; 4],
    used: bool,
}

#[derive(Default)]
struct Slot {
    ready: AtomicBool,
    result: Mutex<BlockResult>,
}

/// A block written down: the clock fit it gets, where it is, and the pulse period then.
#[derive(Debug, Clone, Copy)]
struct Job {
    k: Kernel,
    from: usize,
    to: usize,
    period_ps: f64,
}

/// The block pass's work in stream order.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// A tag that is not a detection (sync, frame mark, another channel): counted.
    Count(u8),
    /// A block, by its index in the jobs.
    Block(usize),
}

impl Threads {
    /// `n` threads in all (the caller's and `n - 1` workers).
    pub(crate) fn new(n: usize) -> Result<Self, ConfigError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n - 1)
            .thread_name(|i| format!("engine-worker-{i}"))
            .build()
            .map_err(|e| ConfigError {
                field: "threads",
                reason: format!("cannot start {} worker threads: {e}", n - 1),
            })?;
        Ok(Threads { pool, inner: Mutex::new(Inner::default()), n })
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
        if n == 0 {
            return Err(ConfigError { field: "threads", reason: "must be at least 1".into() });
        }
        self.threads = if n == 1 { None } else { Some(std::sync::Arc::new(Threads::new(n)?)) };
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
        inner.workers.resize_with(threads.n, || Worker {
            out: Box::default(),
            histogram: Vec::new(),
            intervals: vec![[0; 4]; INTERVAL_BINS],
            outside_gate: [0; 4],
            used: false,
        });
        for w in &mut inner.workers {
            w.histogram.resize(self.histogram.len(), [0; 4]);
        }
        let mask = self.detector_channel_mask;
        let (mut jobs, mut ops) = (Vec::with_capacity(MAX_JOBS), Vec::with_capacity(2 * MAX_JOBS));
        let (mut i, mut fetched) = (0, 0);
        while i < t.len() {
            // The timing reads a time per block and per sync, too few for the hardware to
            // see a stream: without this, each is a miss to memory (about 2.5 ns per tag).
            while fetched < (i + PREFETCH_TAGS).min(t.len()) {
                prefetch(&t[fetched]);
                fetched += 8;
            }
            if jobs.len() >= MAX_JOBS {
                self.run_jobs(threads, inner, t, ch, &jobs, &ops);
                jobs.clear();
                ops.clear();
            }
            let c = ch[i];
            if mask >> (c & 7) & 1 == 0 {
                // Not a detection: its timing now, its count in order.
                let none = self.timing(t[i], c);
                debug_assert!(none.is_none());
                ops.push(Op::Count(c & 7));
                i += 1;
                continue;
            }
            if let Some(k) = self.kernel() {
                let n = ch[i..].iter().take(BLOCK).take_while(|&&c| mask >> (c & 7) & 1 != 0).count();
                let fit = self.clock.locked_fit().expect("kernel() checked the lock");
                // (As in `tags`: the clock would go to holdover inside the run.)
                if t[i + n - 1] as f64 - fit.last_sync_ps <= 3.5 * fit.sync_period_ps {
                    ops.push(Op::Block(jobs.len()));
                    jobs.push(Job { k, from: i, to: i + n, period_ps: self.pulse_period_ps() });
                    self.last_tag_ps = t[i + n - 1];
                    self.block_pass_tags += n as u64;
                    self.threaded_tags += n as u64;
                    i += n;
                    continue;
                }
            }
            // A detection the block pass does not take: everything before it first.
            self.run_jobs(threads, inner, t, ch, &jobs, &ops);
            jobs.clear();
            ops.clear();
            self.tag(t[i], c);
            i += 1;
        }
        self.run_jobs(threads, inner, t, ch, &jobs, &ops);
        self.merge_sums(inner);
    }

    /// Works the jobs out on every thread and takes them, and the counts, in stream order.
    fn run_jobs(&mut self, threads: &Threads, inner: &mut Inner, t: &[i64], ch: &[u8], jobs: &[Job], ops: &[Op]) {
        if jobs.is_empty() {
            for op in ops {
                if let Op::Count(c) = *op {
                    self.stream.channel_tags[usize::from(c)] += 1;
                }
            }
            return;
        }
        if inner.slots.len() < jobs.len() {
            inner.slots.resize_with(jobs.len(), Slot::default);
        }
        let slots = &inner.slots[..jobs.len()];
        for s in slots {
            s.ready.store(false, Ordering::Relaxed);
        }
        let next = AtomicUsize::new(0);
        let reorder = self.reorder_pulses;
        let work = |w: &mut Worker, j: usize| {
            let job = &jobs[j];
            let mut r = slots[j].result.lock().unwrap_or_else(PoisonError::into_inner);
            let sums =
                Sums { histogram: &mut w.histogram, intervals: &mut w.intervals, outside_gate: &mut w.outside_gate };
            block::compute(
                &job.k,
                &t[job.from..job.to],
                &ch[job.from..job.to],
                reorder,
                &mut w.out,
                sums,
                &mut r,
                true,
            );
            w.used = true;
            drop(r);
            slots[j].ready.store(true, Ordering::Release);
        };
        let claim = || {
            let j = next.fetch_add(1, Ordering::Relaxed);
            (j < jobs.len()).then_some(j)
        };
        let (mine, others) = inner.workers.split_first_mut().expect("one worker per thread");
        threads.pool.in_place_scope(|s| {
            for w in others.iter_mut() {
                s.spawn(|_| {
                    while let Some(j) = claim() {
                        work(w, j);
                    }
                });
            }
            for op in ops {
                match *op {
                    Op::Count(c) => self.stream.channel_tags[usize::from(c)] += 1,
                    Op::Block(j) => {
                        // Work while this block's result is not in.
                        while !slots[j].ready.load(Ordering::Acquire) {
                            match claim() {
                                Some(other) => work(mine, other),
                                None => std::hint::spin_loop(),
                            }
                        }
                        let r = slots[j].result.lock().unwrap_or_else(PoisonError::into_inner);
                        let job = &jobs[j];
                        self.apply_block(&r, (job.to - job.from) as u64, job.period_ps);
                    }
                }
            }
        });
    }

    /// Adds the workers' order-free sums to the engine's and clears them.
    fn merge_sums(&mut self, inner: &mut Inner) {
        for w in inner.workers.iter_mut().filter(|w| w.used) {
            for (a, b) in self.histogram.iter_mut().zip(w.histogram.iter_mut()) {
                add_clear(a, b);
            }
            for (a, b) in self.chars.intervals.iter_mut().zip(w.intervals.iter_mut()) {
                add_clear(a, b);
            }
            add_clear(&mut self.chars.outside_gate, &mut w.outside_gate);
            w.used = false;
        }
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
fn add_clear(a: &mut [u64; 4], b: &mut [u64; 4]) {
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        *x += *y;
        *y = 0;
    }
}
