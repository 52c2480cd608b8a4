//! Decoder speed on a synthetic stream: `cargo run --release -p drivers --example decode_speed [tags]`.
//! Deterministic enough to profile with `valgrind --tool=callgrind`.
use drivers::protocol::tag_stream::{Decoder, TimeBase};
use drivers::stream::TagBatch;
use rtl::wire;

fn main() {
    let tags: usize = std::env::args().nth(1).map_or(1 << 22, |a| a.parse().expect("a number of tags"));
    let mut words = Vec::with_capacity(tags + tags / 1000);
    let (mut coarse, mut epoch, mut x) = (0u64, u64::MAX, 0x9E37_79B9_7F4A_7C15u64);
    for _ in 0..tags {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        coarse += x % 20;
        if coarse >> 18 != epoch {
            epoch = coarse >> 18;
            words.push(wire::wrap(epoch));
        }
        words.push(wire::tag((x >> 32) as u8 & 7, (coarse & 0x3FFFF) as u32, ((x >> 40) % 1000) as u16));
    }
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut out = TagBatch::with_capacity(1 << 18);
    let mut d = Decoder::new(TimeBase::default());
    let t0 = std::time::Instant::now();
    let mut n = 0;
    for piece in bytes.chunks(1 << 20) {
        out.clear();
        d.decode(piece, &mut out);
        n += out.len();
    }
    let s = t0.elapsed().as_secs_f64();
    assert_eq!(n, tags);
    println!("{n} tags in {s:.3} s: {:.3e} tags/s", n as f64 / s);
}
