use drivers::protocol::tag_stream::{Decoder, TimeBase};
use drivers::stream::TagBatch;
use engine::{Engine, EngineConfig};
fn main() {
    let threads: usize = std::env::args().nth(1).map_or(2, |a| a.parse().unwrap());
    let (bytes, settings) = harness::bench::engine::recorded_stream(0.3);
    let cfg = EngineConfig::new(settings, drivers::DEFAULT_PULSE_RATE_HZ);
    let mut fresh = Engine::new(cfg);
    fresh.set_threads(threads).unwrap();
    let mut batches = Vec::new();
    let mut d = Decoder::new(TimeBase::default());
    for piece in bytes.chunks(1 << 20) {
        let mut b = TagBatch::default();
        d.decode(piece, &mut b);
        batches.push(b);
    }
    let t0 = std::time::Instant::now();
    let mut tags = 0;
    for _ in 0..20 {
        let mut e = fresh.clone();
        for b in &batches {
            e.process(b);
            tags += b.len();
        }
        e.flush();
        std::hint::black_box(&e);
    }
    println!("{:.3e} tags/s (engine only, {threads} threads)", tags as f64 / t0.elapsed().as_secs_f64());
}
