//! Where the engine's time goes, phase by phase (decode, engine), on a recorded stream:
//! `cargo run --release -p harness --example engine_phases [seconds] [rounds]`.
use std::time::{Duration, Instant};

use drivers::protocol::tag_stream::{Decoder, TimeBase};
use drivers::stream::TagBatch;
use engine::{Engine, EngineConfig};

fn main() {
    let seconds: f64 = std::env::args().nth(1).map_or(0.3, |a| a.parse().expect("seconds"));
    let rounds: usize = std::env::args().nth(2).map_or(3, |a| a.parse().expect("rounds"));
    let (bytes, settings) = harness::bench::engine::recorded_stream(seconds);
    let (mut best_dec, mut best_eng) = (f64::INFINITY, f64::INFINITY);
    for round in 0..rounds {
        let (mut dec, mut eng) = (Duration::ZERO, Duration::ZERO);
        let mut d = Decoder::new(TimeBase::default());
        let mut e = Engine::new(EngineConfig::new(settings, drivers::DEFAULT_PULSE_RATE_HZ));
        let mut batch = TagBatch::with_capacity(1 << 18);
        let mut tags = 0;
        for piece in bytes.chunks(1 << 20) {
            batch.clear();
            let t0 = Instant::now();
            d.decode(piece, &mut batch);
            let t1 = Instant::now();
            e.process(&batch);
            eng += t1.elapsed();
            dec += t1 - t0;
            tags += batch.len();
        }
        best_dec = best_dec.min(dec.as_secs_f64() * 1e9 / tags as f64);
        best_eng = best_eng.min(eng.as_secs_f64() * 1e9 / tags as f64);
        println!(
            "round {round}: decode {:.2} ns/tag, engine {:.2} ns/tag ({tags} tags)",
            dec.as_secs_f64() * 1e9 / tags as f64,
            eng.as_secs_f64() * 1e9 / tags as f64
        );
    }
    println!("best: decode {best_dec:.2} ns/tag, engine {best_eng:.2} ns/tag");
}
