use drivers::protocol::tag_stream::{Decoder, TimeBase};
use drivers::stream::TagBatch;
use engine::{Engine, EngineConfig};
fn main() {
    let threads: usize = std::env::args().nth(1).map_or(2, |s| s.parse().unwrap());
    let reps: usize = std::env::args().nth(2).map_or(20, |s| s.parse().unwrap());
    if std::env::var_os("LIMIT").is_some() {
        engine::limit_simd(engine::best_simd());
    }
    let (bytes, settings) = harness::bench::engine::recorded_stream(0.3);
    let cfg = EngineConfig::new(settings, drivers::DEFAULT_PULSE_RATE_HZ);
    let one = Engine::new(cfg.clone());
    let mut fresh = Engine::new(cfg);
    fresh.set_threads(threads).unwrap();
    let mut batches = Vec::new();
    let mut d = Decoder::new(TimeBase::default());
    let chunk: usize = std::env::var("CHUNK").map_or(1 << 20, |s| s.parse().unwrap());
    for piece in bytes.chunks(chunk) {
        let mut b = TagBatch::with_capacity(1 << 18);
        d.decode(piece, &mut b);
        batches.push(b);
    }
    let tags: usize = batches.iter().map(|b| b.len()).sum();
    let cpu = || {
        let s = std::fs::read_to_string("/proc/self/stat").unwrap();
        let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
        (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
    };
    let (c0, w0) = (cpu(), std::time::Instant::now());
    let mut rates = Vec::new();
    let mut last = None;
    for _ in 0..reps {
        if std::env::var_os("INDEP").is_some() {
            std::thread::scope(|sc| {
                for _ in 0..2 {
                    let one = &one;
                    let batches = &batches;
                    sc.spawn(move || {
                        let mut o = one.clone();
                        for b in batches {
                            o.process(b);
                        }
                        o.flush();
                        std::hint::black_box(&o);
                    });
                }
            });
        }
        if std::env::var_os("INTERLEAVE").is_some() {
            let mut o = one.clone();
            for b in &batches {
                o.process(b);
            }
            o.flush();
            std::hint::black_box(&o);
        }
        if let Some(ms) = std::env::var_os("SLEEPMS") {
            std::thread::sleep(std::time::Duration::from_millis(ms.to_str().unwrap().parse().unwrap()));
        }
        let mut e = fresh.clone();
        let t0 = std::time::Instant::now();
        for b in &batches {
            e.process(b);
        }
        e.flush();
        rates.push(tags as f64 / t0.elapsed().as_secs_f64());
        last = Some(e.snapshot());
    }
    println!(
        "cpu/wall {:.2}  cpu ns/tag {:.2}",
        (cpu() - c0) / w0.elapsed().as_secs_f64(),
        (cpu() - c0) * 1e9 / (tags * reps) as f64
    );
    rates.sort_by(f64::total_cmp);
    let s = last.unwrap();
    println!(
        "threads {threads} median {:.3e} min {:.3e} max {:.3e} gated {} sifted {:?}",
        rates[reps / 2],
        rates[0],
        rates[reps - 1],
        s.gated,
        s.counts.sifted
    );
}
