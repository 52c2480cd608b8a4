//! Engine throughput on a recorded simulated stream, for profiling:
//! `cargo run --release -p harness --example engine_speed [seconds] [threads]`.
fn main() {
    let seconds: f64 = std::env::args().nth(1).map_or(0.1, |a| a.parse().expect("seconds"));
    let threads: usize = std::env::args().nth(2).map_or(1, |a| a.parse().expect("threads"));
    let r = harness::bench::engine::run(seconds, threads);
    println!(
        "{:.3e} tags/s on {threads} threads, {:.3e} on one ({} tags, memcpy {:.3e})",
        r.tags_per_s, r.one_thread_tags_per_s, r.stream_tags, r.memcpy_tags_per_s
    );
}
