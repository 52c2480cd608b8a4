use std::time::Instant;
fn main() {
    let n: u64 = std::env::args().nth(1).map_or(5_000_000, |a| a.parse().unwrap());
    let mut pg = rtl::PatternGenRtl::new();
    let mut v = Vec::new();
    let t = Instant::now();
    pg.step(n, &mut v);
    println!("pg idle {:.2e}/s", n as f64 / t.elapsed().as_secs_f64());
    let mut tt = rtl::TimeTaggerRtl::new();
    let t = Instant::now();
    tt.step(n, &[], true, &mut v);
    println!("tt idle {:.2e}/s", n as f64 / t.elapsed().as_secs_f64());
}
