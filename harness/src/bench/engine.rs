//! `qkdbench bench engine`: decode → clock → gate → sift in memory, on one thread and on
//! `--threads` threads in the same rounds.

use std::hint::black_box;
use std::time::Duration;

use drivers::pattern_gen::PatternConfig;
use drivers::protocol::tag_stream::{Decoder, TimeBase};
use drivers::sim::{self, BenchConfig, ChannelModel, Fidelity, OpticsConfig};
use drivers::stream::TagBatch;
use drivers::time_tagger::TaggerConfig;
use drivers::transport::{StreamLink, StreamRead};
use serde::Serialize;

use super::time_at_least;
use engine::{best_simd, limit_simd, Simd};
use engine::{Engine, EngineConfig};

/// Results of `qkdbench bench engine`.
#[derive(Debug, Serialize)]
pub struct EngineBench {
    /// Tags per second through decode, clock recovery, gate and sift on `threads` threads:
    /// the median over the rounds.
    pub tags_per_s: f64,
    /// Threads of `tags_per_s` (the engine's block pass; the decoder runs on the first).
    pub threads: usize,
    /// The same on one thread, same rounds.
    pub one_thread_tags_per_s: f64,
    /// tags_per_s / one_thread_tags_per_s, per round, median over the rounds.
    pub scaling: f64,
    /// About the ceiling of `scaling` on this machine (itself a measurement: a run's scaling
    /// may come out a little above it): `threads` one-thread engines, each on its
    /// own copy of the stream, run at once; their combined tags per second over
    /// one_thread_tags_per_s, per round, median over the rounds. Work that shares nothing
    /// scales this far here (cores shared with other guests, memory bandwidth, clocks that
    /// drop with load).
    pub independent_engines_scaling: f64,
    /// tags_per_s / decode_only_tags_per_s, per round, median over the rounds: the engine's
    /// figure against the decoder alone on the same bytes.
    pub ratio_to_decode: f64,
    /// The slowest round's tags per second.
    pub tags_per_s_min: f64,
    /// The fastest round's tags per second.
    pub tags_per_s_max: f64,
    /// Baseline: memcpy of the same bytes, in tags (4 bytes) per second, same rounds.
    pub memcpy_tags_per_s: f64,
    /// The decoder alone on the same bytes, same run (the engine's share is the rest).
    pub decode_only_tags_per_s: f64,
    /// Fraction of the tags that took the engine's block (SIMD) pass.
    pub block_pass_fraction: f64,
    /// tags_per_s / memcpy_tags_per_s, per round (each round times both back to back),
    /// median over the rounds.
    pub ratio_to_memcpy: f64,
    /// Timed rounds.
    pub rounds: usize,
    /// Tags in the stream (detections, syncs, frame marks).
    pub stream_tags: u64,
    /// Fraction of the stream's tags that are detections inside the gate.
    pub gated_fraction: f64,
    /// Peak resident memory of the process, MiB (VmHWM).
    pub peak_rss_mib: f64,
    /// The block pass's build behind `tags_per_s` (the best this CPU runs).
    pub simd: String,
    /// One thread's tags_per_s with each build this CPU runs (medians, same rounds), for
    /// machines without the best.
    pub tags_per_s_by_simd: std::collections::BTreeMap<String, f64>,
}

/// Words of a simulated run at high count rate (3 dB), recorded from the bench's stream.
pub fn recorded_stream(seconds: f64) -> (Vec<u8>, rtl::model::pattern_gen::PatternSettings) {
    let mut optics =
        OpticsConfig { channel: ChannelModel::Constant { loss_db: 3.0, range_km: 0.0 }, ..Default::default() };
    for d in &mut optics.detectors {
        d.dead_time_ps = 20_000.0;
    }
    let mut dev =
        sim::open(BenchConfig { fidelity: Fidelity::Fast, optics, keep_truth: false, duration_s: Some(seconds) })
            .expect("simulated bench");
    let pattern = PatternConfig { sync_period_pulses: 1000, ..Default::default() };
    let settings = dev.pattern_gen.configure(&pattern).expect("configure");
    use drivers::time_tagger::TimeTagger;
    dev.tagger.configure(&TaggerConfig::default()).expect("configure tagger");
    dev.tagger.start().expect("start tagger");
    dev.pattern_gen.start().expect("start generator");
    let mut bytes = Vec::new();
    let link = dev.tagger.link_mut();
    while link.read_stream(&mut bytes, Duration::from_secs(1)).expect("stream") != StreamRead::End {}
    (bytes, settings)
}

pub(crate) fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Timed rounds: every figure is the median over the rounds, and each round times the
/// engine, the decoder and memcpy back to back, so a noisy machine (a shared VM) slows all
/// three alike within a round and the ratio stays meaningful.
const ROUNDS: usize = 11;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Bytes decoded per batch.
const CHUNK: usize = 1 << 20;

/// One pass over the stream from a copy of `fresh`: decoded batch by batch and processed,
/// then flushed. The engine, and the tags.
fn decode_and_process(fresh: &Engine, bytes: &[u8]) -> (Engine, u64) {
    let mut d = Decoder::new(TimeBase::default());
    let mut e = fresh.clone();
    let mut batch = TagBatch::with_capacity(CHUNK / 4);
    let mut tags = 0u64;
    for piece in bytes.chunks(CHUNK) {
        batch.clear();
        d.decode(piece, &mut batch);
        tags += batch.len() as u64;
        e.process(&batch);
    }
    e.flush();
    black_box(&e);
    (e, tags)
}

/// Runs the benchmark over `seconds` of simulated stream, with the engine on `threads`.
pub fn run(seconds: f64, threads: usize) -> EngineBench {
    let (bytes, settings) = recorded_stream(seconds);
    // One pass of the engine over the whole stream, from a fresh engine: (tags per second,
    // tags, gated detections, tags through the block pass).
    let cfg = EngineConfig::new(settings, drivers::DEFAULT_PULSE_RATE_HZ);
    // The engines are made once (the workers start with them), as a recording makes its one.
    let one = Engine::new(cfg.clone());
    let mut many = Engine::new(cfg);
    many.set_threads(threads).expect("engine threads");
    let engine_pass = |fresh: &Engine| {
        let t0 = std::time::Instant::now();
        let (e, tags) = decode_and_process(fresh, &bytes);
        let dt = t0.elapsed().as_secs_f64();
        (tags as f64 / dt, tags, e.snapshot().gated, e.block_pass_tags())
    };
    let decode_pass = |tags: u64| {
        let (calls, secs) = time_at_least(0.02, || {
            let mut d = Decoder::new(TimeBase::default());
            let mut batch = TagBatch::with_capacity(CHUNK / 4);
            for piece in bytes.chunks(CHUNK) {
                batch.clear();
                d.decode(piece, &mut batch);
                black_box(&batch);
            }
        });
        (calls * tags) as f64 / secs
    };
    let mut copy = vec![0u8; CHUNK];
    let mut memcpy_pass = || {
        let (calls, secs) = time_at_least(0.02, || {
            for piece in bytes.chunks(CHUNK) {
                copy[..piece.len()].copy_from_slice(black_box(piece));
                black_box(&copy);
            }
        });
        (calls as usize * bytes.len() / 4) as f64 / secs
    };
    let best = best_simd();
    let levels: Vec<Simd> = [Simd::Plain, Simd::Avx2, Simd::Avx512].into_iter().filter(|&l| l <= best).collect();
    let mut by_level = vec![Vec::new(); levels.len()];
    let (mut engine, mut decode, mut memcpy, mut ratio) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut threaded, mut scaling, mut to_decode) = (Vec::new(), Vec::new(), Vec::new());
    let mut ceiling = Vec::new();
    // `threads` one-thread engines at once, each on its own copy of the stream's bytes.
    let copies: Vec<Vec<u8>> = (0..threads).map(|_| bytes.clone()).collect();
    let independent = |copies: &[Vec<u8>]| {
        let t0 = std::time::Instant::now();
        let tags: u64 = std::thread::scope(|s| {
            let runs: Vec<_> = copies
                .iter()
                .map(|b| {
                    let fresh = &one;
                    s.spawn(move || decode_and_process(fresh, b).1)
                })
                .collect();
            runs.into_iter().map(|r| r.join().expect("engine thread")).sum()
        });
        tags as f64 / t0.elapsed().as_secs_f64()
    };
    // Warm-up (pages in the stream, sizes the allocations) and the stream's facts.
    let (_, stream_tags, gated, block_pass) = engine_pass(&one);
    engine_pass(&many);
    for _ in 0..ROUNDS {
        for (i, &level) in levels.iter().enumerate() {
            limit_simd(level);
            by_level[i].push(engine_pass(&one).0);
        }
        let e = *by_level.last().expect("the best level").last().expect("one pass");
        let m = memcpy_pass();
        let n = engine_pass(&many).0;
        let dec = decode_pass(stream_tags);
        ceiling.push(independent(&copies) / e);
        engine.push(e);
        threaded.push(n);
        scaling.push(n / e);
        to_decode.push(n / dec);
        decode.push(dec);
        memcpy.push(m);
        ratio.push(n / m);
    }
    limit_simd(best);
    let tags_per_s_by_simd =
        levels.iter().zip(by_level).map(|(l, v)| (format!("{l:?}").to_lowercase(), median(v))).collect();
    let (lo, hi) = threaded.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    EngineBench {
        tags_per_s: median(threaded),
        threads,
        one_thread_tags_per_s: median(engine),
        scaling: median(scaling),
        independent_engines_scaling: median(ceiling),
        ratio_to_decode: median(to_decode),
        tags_per_s_min: lo,
        tags_per_s_max: hi,
        memcpy_tags_per_s: median(memcpy),
        decode_only_tags_per_s: median(decode),
        block_pass_fraction: block_pass as f64 / stream_tags.max(1) as f64,
        ratio_to_memcpy: median(ratio),
        rounds: ROUNDS,
        stream_tags,
        gated_fraction: gated as f64 / stream_tags.max(1) as f64,
        peak_rss_mib: peak_rss_mib(),
        simd: format!("{best:?}").to_lowercase(),
        tags_per_s_by_simd,
    }
}
