//! Engine throughput on a recorded simulated stream, for profiling:
//! `cargo run --release -p harness --example engine_speed [seconds]`.
fn main() {
    let seconds: f64 = std::env::args().nth(1).map_or(0.1, |a| a.parse().expect("seconds"));
    let r = harness::bench::engine::run(seconds);
    println!("{:.3e} tags/s ({} tags, memcpy {:.3e})", r.tags_per_s, r.stream_tags, r.memcpy_tags_per_s);
}
