//! `qkdbench bench rtl`: speed of the Verilated designs and of the golden symbol function.

use std::hint::black_box;
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use rtl::model::pattern_gen::{self as pg_model, PatternSettings};
use rtl::model::time_tagger::TaggerSettings;
use rtl::regmap::pattern_gen as pg_reg;
use rtl::slot::SlotWord;
use rtl::{Hit, PatternGenRtl, TimeTaggerRtl};
use serde::Serialize;

use super::time_at_least;

/// Slots per batch handed from the pattern generator to the tagger.
const BATCH_SLOTS: u64 = 1 << 16;
/// Tagger channels the bench wires the generator's outputs to.
const SYNC_CHANNEL: u8 = 4;
const FRAME_CHANNEL: u8 = 5;

/// Results of `qkdbench bench rtl`.
#[derive(Debug, Serialize)]
pub struct RtlBench {
    /// Pulse slots per second with the pattern-generator RTL and the tagger RTL stepped
    /// together (one clock of each per slot; the generator's sync, frame and a 1e-3 click
    /// probability on four detector channels feed the tagger), one thread each, pipelined.
    pub rtl_slots_per_s: f64,
    /// The same, both models on one thread.
    pub rtl_slots_per_s_one_thread: f64,
    /// Pattern-generator RTL alone, cycles per second.
    pub rtl_pattern_gen_cycles_per_s: f64,
    /// Time-tagger RTL alone with the same hits, cycles per second.
    pub rtl_time_tagger_cycles_per_s: f64,
    /// Golden `symbol(settings, i)` at pseudo-random `i`, symbols per second, one core.
    pub model_symbols_per_s: f64,
    /// Baseline: the same loop drawing the pseudo-random `i` and summing, without `symbol`.
    pub baseline: f64,
    /// Tag words the tagger produced per slot in the combined run (sanity check of load).
    pub tagger_words_per_slot: f64,
    /// Slots stepped in each RTL measurement.
    pub slots: u64,
}

/// Hits the bench feeds the tagger for a batch of slot words starting at `first_cycle`.
fn hits_for(slots: &[u32], first_cycle: u64, hits: &mut Vec<Hit>) {
    hits.clear();
    for (j, &w) in slots.iter().enumerate() {
        let w = SlotWord(w);
        let c = first_cycle + j as u64;
        if w.sync() {
            hits.push(Hit::new(c, SYNC_CHANNEL, 500));
        }
        if w.frame() {
            hits.push(Hit::new(c, FRAME_CHANNEL, 500));
        }
        // A click with probability ~1e-3, on the detector the state points at.
        let r = pg_model::mix64(c);
        if r.is_multiple_of(1024) {
            let det = (w.basis() as u8) * 2 + w.bit();
            hits.push(Hit::new(c, det, ((r >> 20) % 1000) as u16));
        }
    }
}

fn started_pattern_gen() -> PatternGenRtl {
    let mut pg = PatternGenRtl::new();
    let s = PatternSettings { sync_period: 100, frame_period: 1000, ..Default::default() };
    for (a, v) in s.register_writes() {
        pg.write_reg(a, v).expect("program pattern generator");
    }
    pg.write_reg(pg_reg::CTRL, 1 | 4).expect("start pattern generator");
    pg
}

fn started_tagger() -> TimeTaggerRtl {
    let mut tt = TimeTaggerRtl::new();
    let s = TaggerSettings { run: true, ..Default::default() };
    for (a, v) in s.register_writes() {
        tt.write_reg(a, v).expect("program tagger");
    }
    tt
}

/// Runs the benchmark over `slots` pulse slots per RTL measurement.
pub fn run(slots: u64) -> RtlBench {
    let batches = slots.div_ceil(BATCH_SLOTS);
    let slots = batches * BATCH_SLOTS;

    // Pattern generator alone; its output batches are kept to feed the tagger alone.
    let mut pg = started_pattern_gen();
    let mut batch = Vec::with_capacity(BATCH_SLOTS as usize * 2);
    pg.step(0, &mut batch); // slots emitted while the start command was answered
    batch.clear();
    let t0 = Instant::now();
    let mut kept: Vec<Vec<u32>> = Vec::new();
    for b in 0..batches {
        batch.clear();
        pg.step(BATCH_SLOTS, &mut batch);
        if b < 16 {
            kept.push(batch.clone());
        }
    }
    let pg_s = t0.elapsed().as_secs_f64();

    // Tagger alone, same hits (the kept batches, cycled).
    let mut tt = started_tagger();
    let mut hits = Vec::new();
    let mut words = Vec::with_capacity(BATCH_SLOTS as usize);
    let t0 = Instant::now();
    for b in 0..batches {
        hits_for(&kept[b as usize % kept.len()], tt.cycle(), &mut hits);
        words.clear();
        tt.step(BATCH_SLOTS, &hits, true, &mut words);
    }
    let tt_s = t0.elapsed().as_secs_f64();

    // Both, one thread.
    let mut pg = started_pattern_gen();
    let mut tt = started_tagger();
    let mut nwords = 0u64;
    let t0 = Instant::now();
    for _ in 0..batches {
        batch.clear();
        pg.step(BATCH_SLOTS, &mut batch);
        hits_for(&batch, tt.cycle(), &mut hits);
        words.clear();
        tt.step(batch.len() as u64, &hits, true, &mut words);
        nwords += words.len() as u64;
    }
    let one_s = t0.elapsed().as_secs_f64();

    // Both, pipelined: the generator on its own thread, the tagger on this one.
    let (tx, rx) = mpsc::sync_channel::<Vec<u32>>(4);
    let t0 = Instant::now();
    let producer = thread::spawn(move || {
        let mut pg = started_pattern_gen();
        let mut b = Vec::new();
        pg.step(0, &mut b);
        for _ in 0..batches {
            let mut b = Vec::with_capacity(BATCH_SLOTS as usize);
            pg.step(BATCH_SLOTS, &mut b);
            if tx.send(b).is_err() {
                return;
            }
        }
    });
    let mut tt = started_tagger();
    for b in rx {
        hits_for(&b, tt.cycle(), &mut hits);
        words.clear();
        tt.step(b.len() as u64, &hits, true, &mut words);
    }
    producer.join().expect("pattern generator thread");
    let piped_s = t0.elapsed().as_secs_f64();

    let (model, baseline) = symbol_rates();
    RtlBench {
        rtl_slots_per_s: slots as f64 / piped_s,
        rtl_slots_per_s_one_thread: slots as f64 / one_s,
        rtl_pattern_gen_cycles_per_s: slots as f64 / pg_s,
        rtl_time_tagger_cycles_per_s: slots as f64 / tt_s,
        model_symbols_per_s: model,
        baseline,
        tagger_words_per_slot: nwords as f64 / slots as f64,
        slots,
    }
}

/// (symbols per second, baseline loop iterations per second).
fn symbol_rates() -> (f64, f64) {
    const N: u64 = 1 << 22;
    let s = PatternSettings { class_thr: [32768, 49152, 65536], ..Default::default() };
    // Pseudo-random indices: the k-th odd multiple of a 64-bit constant, top 56 bits. Each
    // is independent of the last (no serial dependency to hide the cost being measured),
    // and they jump all over the index space.
    let draw = |k: u64| k.wrapping_mul(0xD1B5_4A32_D192_ED03) >> 8;
    let (calls, secs) = time_at_least(1.0, || {
        let mut acc = 0u64;
        for k in 0..N {
            let i = draw(black_box(k));
            let sym = pg_model::symbol(black_box(&s), i);
            acc = acc.wrapping_add(u64::from(sym.class) + sym.basis as u64 + u64::from(sym.bit));
        }
        black_box(acc);
    });
    let model = (calls * N) as f64 / secs;
    let (calls, secs) = time_at_least(1.0, || {
        let mut acc = 0u64;
        for k in 0..N {
            let i = draw(black_box(k));
            acc = acc.wrapping_add(black_box(i) & 3);
        }
        black_box(acc);
    });
    (model, (calls * N) as f64 / secs)
}
