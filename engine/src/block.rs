//! One block of detections, worked out on its own: everything the block pass needs that
//! does not depend on the blocks before it.
//!
//! Why it exists: the engine on several cores. A block's indexing, gating, symbols, arrival
//! histogram, inter-click intervals, sorting and the counting of the pulses wholly inside it
//! depend only on the clock fit it was given ([`Kernel`]); what depends on the stream before
//! it (the last click of each detector, the pulses still open at its edges, the metric
//! window a pulse closes) is left to [`Engine::apply_block`](crate::Engine), which takes the
//! blocks in stream order. The split is exact: every count is an integer sum, and the
//! in-order part decides, block by block, whether the precounted middle may be used (see
//! `apply_block`), so any number of threads gives the one-thread result bit for bit.

use std::ops::Range;

use super::characterise::RunClicks;
use super::fast::{self, Kernel, Out};

/// Order-free sums a worker keeps across blocks (merged into the engine when its work is
/// done): the arrival histogram, the inter-click intervals inside blocks and the detections
/// outside the gate, per detector.
#[derive(Debug)]
pub(crate) struct Sums<'a> {
    pub histogram: &'a mut [[u64; 4]],
    pub intervals: &'a mut [[u64; 4]],
    /// Above the highest bin of `intervals` added to (raised as bins are).
    pub intervals_top: &'a mut usize,
    pub outside_gate: &'a mut [u64; 4],
}

/// What a block leaves for the in-order part.
#[derive(Debug, Clone)]
pub(crate) struct BlockResult {
    /// Clicks per detector, and each detector's first and last.
    pub clicks: RunClicks,
    /// Detections inside the gate, and their squared residuals (1/256 ps^2).
    pub gated: u64,
    pub res_sum2: u64,
    /// Gated detections as `pulse << 8 | key`, in stream order (for the per-detection
    /// path): the first `len`.
    pub entries: [u64; fast::BLOCK],
    /// The same, sorted (when the middle was counted).
    pub sorted: [u64; fast::BLOCK],
    pub len: usize,
    /// A detection more than `reorder` pulses below an earlier one of the block.
    pub intra_late: bool,
    /// Lowest and highest pulse of the gated detections.
    pub min_pulse: i64,
    pub max_pulse: i64,
    /// The middle of `sorted`: pulses above `min_pulse + reorder` and below
    /// `max_pulse - reorder`, precounted below (empty when there is none or it was not
    /// counted).
    pub middle: Range<usize>,
    /// The middle's pulses with one click and an index above 0: their keys, the first
    /// `singles` (a list, not a table by key: the in-order part reads a few cache lines per
    /// block instead of a 256-entry table written on another core).
    pub single_keys: [u8; fast::BLOCK],
    pub singles: usize,
    /// The middle's other pulses, in pulse order: the place in `sorted` of each one's first
    /// detection, times 16, plus its detectors (bit d for detector d); the first `multis`.
    /// (Inline, not a `Vec`: a small heap buffer written by one thread may share a cache
    /// line with data another thread writes: false sharing.)
    pub multi: [u16; fast::BLOCK],
    pub multis: usize,
}

impl Default for BlockResult {
    fn default() -> Self {
        BlockResult {
            clicks: RunClicks { clicks: [0; 4], first: [i64::MIN; 4], last: [i64::MIN; 4] },
            gated: 0,
            res_sum2: 0,
            entries: [0; fast::BLOCK],
            sorted: [0; fast::BLOCK],
            len: 0,
            intra_late: false,
            min_pulse: 0,
            max_pulse: 0,
            middle: 0..0,
            single_keys: [0; fast::BLOCK],
            singles: 0,
            multi: [0; fast::BLOCK],
            multis: 0,
        }
    }
}

/// The pulse of a pending entry.
#[inline(always)]
pub(crate) fn pulse_of(x: u64) -> i64 {
    (x >> 8) as i64
}

/// Works out the block `t`, `ch` (detections only, no clock update among them) with the clock
/// `k`; `reorder` is the engine's reorder bound in pulses. Adds the order-free sums to `sums`.
/// With `middle`, also sorts the gated detections and counts the block's middle (a worker's
/// job: on one thread the in-order part does it as cheaply, so it is left to it).
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute(
    k: &Kernel,
    t: &[i64],
    ch: &[u8],
    reorder: i64,
    out: &mut Out,
    sums: Sums<'_>,
    r: &mut BlockResult,
    middle: bool,
) {
    fast::run(k, t, ch, out);
    let n = t.len();
    let keys = &out.key[..n];
    // Clicks, and the intervals between clicks inside the block (the interval from the
    // previous block's last click is the in-order part's).
    r.clicks = RunClicks::count(keys, t, sums.intervals, sums.intervals_top);
    for (&b, &key) in out.bin[..n].iter().zip(keys) {
        if let Some(h) = sums.histogram.get_mut(b as usize) {
            h[usize::from(key & 3)] += 1;
        }
    }
    let gated_flags = &out.gated[..n];
    let gated: u64 = gated_flags.iter().map(|&g| u64::from(g)).sum();
    if gated < n as u64 {
        for (&key, _) in keys.iter().zip(gated_flags).filter(|&(_, &g)| g == 0) {
            sums.outside_gate[usize::from(key & 3)] += 1;
        }
    }
    r.gated = gated;
    r.res_sum2 = out.r2[..n].iter().sum::<u64>();
    // Gated detections by pulse (gated pulses are at least 0: the sentinel is far below).
    let (mut top, mut lo, mut late, mut m) = (i64::MIN / 2, i64::MAX, false, 0);
    for i in 0..n {
        if out.gated[i] != 0 {
            let p = out.pulse[i];
            late |= p < top - reorder;
            top = top.max(p);
            lo = lo.min(p);
            r.entries[m] = (p as u64) << 8 | u64::from(out.key[i]);
            m += 1;
        }
    }
    r.len = m;
    r.intra_late = late;
    r.min_pulse = lo;
    r.max_pulse = top;
    r.middle = 0..0;
    if middle && m > 0 {
        r.sorted[..m].copy_from_slice(&r.entries[..m]);
        super::engine::insertion_sort_tail(&mut r.sorted[..m], 0);
        count_middle(r, reorder);
    }
}

/// Counts the pulses of the middle of the sorted block, as `Engine::close_below` would:
/// no pulse there can gain a click from another block (a later detection that low is a
/// re-index, counted on its own).
fn count_middle(r: &mut BlockResult, reorder: i64) {
    r.singles = 0;
    r.multis = 0;
    r.middle = 0..0;
    let s = &r.sorted[..r.len];
    // (The edges hold a few entries: found from each end, without a binary search's
    // unpredictable branches.)
    let (lo, hi) = (r.min_pulse.saturating_add(reorder), r.max_pulse.saturating_sub(reorder));
    let a = s.iter().take_while(|&&x| pulse_of(x) <= lo).count();
    let b = s.len() - s.iter().rev().take_while(|&&x| pulse_of(x) >= hi).count();
    if a >= b {
        return;
    }
    // (As `close_sorted_below`: a pulse whose neighbour has another pulse is a single
    // click, the common case, taken without building its detector mask.)
    let mut j = a;
    while j < b {
        let x = s[j];
        let p = pulse_of(x);
        if (j + 1 == b || (s[j + 1] ^ x) >> 8 != 0) && p > 0 {
            r.single_keys[r.singles] = x as u8;
            r.singles += 1;
            j += 1;
            continue;
        }
        let mut mask = 1u8 << (x as u8 & 3);
        let mut m = j + 1;
        while m < b && pulse_of(s[m]) == p {
            mask |= 1 << (s[m] as u8 & 3);
            m += 1;
        }
        r.multi[r.multis] = (j as u16) << 4 | u16::from(mask);
        r.multis += 1;
        j = m;
    }
    r.middle = a..b;
}
