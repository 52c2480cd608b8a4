//! `qkdbench bench engine`: decode → clock → gate → sift on one core, in memory.

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
use crate::engine::fast::{self, Simd};
use crate::engine::{Engine, EngineConfig};

/// Results of `qkdbench bench engine`.
#[derive(Debug, Serialize)]
pub struct EngineBench {
    /// Tags per second through decode, clock recovery, gate and sift (one core).
    pub tags_per_s: f64,
    /// Baseline: memcpy of the same bytes, in tags (4 bytes) per second, same run.
    pub memcpy_tags_per_s: f64,
    /// The decoder alone on the same bytes, same run (the engine's share is the rest).
    pub decode_only_tags_per_s: f64,
    /// Fraction of the tags that took the engine's block (SIMD) pass.
    pub block_pass_fraction: f64,
    /// tags_per_s / memcpy_tags_per_s.
    pub ratio_to_memcpy: f64,
    /// Tags in the stream (detections, syncs, frame marks).
    pub stream_tags: u64,
    /// Fraction of the stream's tags that are detections inside the gate.
    pub gated_fraction: f64,
    /// Peak resident memory of the process, MiB (VmHWM).
    pub peak_rss_mib: f64,
    /// The block pass's build behind `tags_per_s` (the best this CPU runs).
    pub simd: String,
    /// tags_per_s with each build this CPU runs (1 s each), for machines without the best.
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

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs the benchmark over `seconds` of simulated stream.
pub fn run(seconds: f64) -> EngineBench {
    let (bytes, settings) = recorded_stream(seconds);
    const CHUNK: usize = 1 << 20;
    let mut stream_tags = 0u64;
    let mut gated = 0u64;
    let mut block_pass = 0u64;
    let engine_run = |min_s: f64, stream_tags: &mut u64, gated: &mut u64, block_pass: &mut u64| {
        time_at_least(min_s, || {
            let mut d = Decoder::new(TimeBase::default());
            let mut e = Engine::new(EngineConfig::new(settings, 100e6));
            let mut batch = TagBatch::with_capacity(CHUNK / 4);
            *stream_tags = 0;
            for piece in bytes.chunks(CHUNK) {
                batch.clear();
                d.decode(piece, &mut batch);
                *stream_tags += batch.len() as u64;
                e.process(&batch);
            }
            e.flush();
            *gated = e.snapshot().gated;
            *block_pass = e.block_pass_tags();
            black_box(&e);
        })
    };
    let best = fast::best_simd();
    let mut by_simd = std::collections::BTreeMap::new();
    for level in [Simd::Plain, Simd::Avx2, Simd::Avx512].into_iter().filter(|&l| l < best) {
        fast::limit_simd(level);
        let (calls, secs) = engine_run(1.0, &mut stream_tags, &mut gated, &mut block_pass);
        by_simd.insert(format!("{level:?}").to_lowercase(), (calls * stream_tags) as f64 / secs);
    }
    fast::limit_simd(best);
    let (calls, secs) = engine_run(2.0, &mut stream_tags, &mut gated, &mut block_pass);
    let tags_per_s = (calls * stream_tags) as f64 / secs;
    by_simd.insert(format!("{best:?}").to_lowercase(), tags_per_s);
    let (calls, secs) = time_at_least(1.0, || {
        let mut d = Decoder::new(TimeBase::default());
        let mut batch = TagBatch::with_capacity(CHUNK / 4);
        for piece in bytes.chunks(CHUNK) {
            batch.clear();
            d.decode(piece, &mut batch);
            black_box(&batch);
        }
    });
    let decode_only_tags_per_s = (calls * stream_tags) as f64 / secs;
    let mut copy = vec![0u8; CHUNK];
    let (calls, secs) = time_at_least(1.0, || {
        for piece in bytes.chunks(CHUNK) {
            copy[..piece.len()].copy_from_slice(black_box(piece));
            black_box(&copy);
        }
    });
    let memcpy_tags_per_s = (calls as usize * bytes.len() / 4) as f64 / secs;
    EngineBench {
        tags_per_s,
        memcpy_tags_per_s,
        decode_only_tags_per_s,
        block_pass_fraction: block_pass as f64 / stream_tags.max(1) as f64,
        ratio_to_memcpy: tags_per_s / memcpy_tags_per_s,
        stream_tags,
        gated_fraction: gated as f64 / stream_tags.max(1) as f64,
        peak_rss_mib: peak_rss_mib(),
        simd: format!("{best:?}").to_lowercase(),
        tags_per_s_by_simd: by_simd,
    }
}
