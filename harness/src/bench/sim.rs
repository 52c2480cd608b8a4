//! `qkdbench bench sim`: the simulated bench, the tag-stream decoder and the sim transport.

use std::hint::black_box;
use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, Instant};

use drivers::pattern_gen::PatternConfig;
use drivers::protocol::tag_stream::{Decoder, TimeBase};
use drivers::sim::{self, BenchConfig, ChannelModel, CircularOrbit, Fidelity, OpticsConfig, PassProfile};
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, StreamTimeTagger, TaggerConfig, TimeTagger};
use drivers::transport::unix::UnixStreamLink;
use rtl::wire;
use serde::Serialize;

use super::time_at_least;

/// Results of `qkdbench bench sim`.
#[derive(Debug, Serialize)]
pub struct SimBench {
    /// Wall time of the fast bench producing every detection of a whole pass at 100 MHz,
    /// through the real drivers (pattern generator configured over frames, stream decoded).
    pub fast_pass_wall_s: f64,
    /// The pass simulated: "micius2017" (shared/data) or "orbit-500km-60deg" without it.
    pub pass: String,
    /// Device time of that pass, s.
    pub pass_device_s: f64,
    /// Pulse slots in the pass.
    pub pass_pulses: f64,
    /// Tags (detections, syncs, frame marks) the pass produced.
    pub pass_tags: u64,
    /// Tag-stream decoder, tags per second on one core (tags with realistic WRAP density).
    pub decode_tags_per_s: f64,
    /// Baseline: memcpy of the same bytes, in tags (4 bytes) per second.
    pub memcpy_tags_per_s: f64,
    /// The sim transport (`sim serve`'s stream socket into the driver and decoder), tags/s.
    pub sim_stream_tags_per_s: f64,
    /// The fast bench generating a saturating load (0 dB channel) in-process, tags/s.
    pub sim_generate_tags_per_s: f64,
}

fn pass_channel(shared: &Path) -> (String, ChannelModel) {
    let dir = shared.join("data/passes");
    match PassProfile::micius_2017(&dir) {
        Ok(p) => ("micius2017".into(), ChannelModel::Pass(p)),
        Err(_) => (
            "orbit-500km-60deg".into(),
            ChannelModel::Orbit(CircularOrbit {
                altitude_km: 500.0,
                max_elevation_deg: 60.0,
                min_elevation_deg: 10.0,
                loss_at_zenith_db: 28.0,
                atmosphere_db: 1.0,
            }),
        ),
    }
}

/// Runs a bench to its end through the drivers; returns (tags, device seconds, pulses).
fn run_bench(optics: OpticsConfig, duration_s: Option<f64>) -> (TagBatch, u64, f64, u64) {
    let mut dev = sim::open(BenchConfig { fidelity: Fidelity::Fast, optics, keep_truth: false, duration_s })
        .expect("open the simulated bench");
    dev.pattern_gen.configure(&PatternConfig::default()).expect("configure pattern generator");
    dev.tagger.configure(&TaggerConfig::default()).expect("configure tagger");
    dev.tagger.start().expect("start tagger");
    dev.pattern_gen.start().expect("start pattern generator");
    let mut all = TagBatch::default();
    let mut batch = TagBatch::default();
    let mut n = 0u64;
    loop {
        batch.clear();
        let st = dev.tagger.read_batch(&mut batch, Duration::from_secs(1)).expect("read the stream");
        n += batch.len() as u64;
        if all.len() < 1 << 20 {
            all.append(&mut batch);
        }
        if st == ReadState::Ended {
            break;
        }
    }
    let bench = dev.tagger.link().bench();
    (all, n, bench.now_s(), bench.truth().pulses_emitted)
}

/// A realistic stream: tags at ~1e7 per second of device time, WRAP records as they fall.
fn synthetic_stream(tags: usize) -> Vec<u8> {
    let mut words = Vec::with_capacity(tags + tags / 2000 + 1);
    let mut coarse: u64 = 0;
    let mut epoch = u64::MAX;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..tags {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        coarse += x % 20;
        let e = coarse >> wire::COARSE_LO_BITS;
        if e != epoch {
            words.push(wire::wrap(e));
            epoch = e;
        }
        words.push(wire::tag((x >> 32) as u8 & 7, (coarse & 0x3FFFF) as u32, ((x >> 40) % 1000) as u16));
    }
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Runs the benchmark; `shared` is the `shared/` folder (for the real pass).
pub fn run(shared: &Path) -> SimBench {
    // 1. A whole pass.
    let (pass, channel) = pass_channel(shared);
    let optics = OpticsConfig { channel, ..Default::default() };
    let t0 = Instant::now();
    let (_, pass_tags, pass_device_s, pulses) = run_bench(optics, None);
    let fast_pass_wall_s = t0.elapsed().as_secs_f64();

    // 2. Decoder against memcpy of the same bytes, both in 1 MiB pieces as a USB transfer
    //    delivers them (the engine consumes each batch before the next one).
    const TAGS: usize = 1 << 24;
    const CHUNK: usize = 1 << 20;
    let bytes = synthetic_stream(TAGS);
    let mut out = TagBatch::with_capacity(CHUNK / 4 + 16);
    let mut decoded = 0usize;
    let (calls, secs) = time_at_least(1.0, || {
        let mut d = Decoder::new(TimeBase::default());
        decoded = 0;
        for piece in bytes.chunks(CHUNK) {
            out.clear();
            d.decode(black_box(piece), &mut out);
            decoded += out.len();
            black_box(&out);
        }
    });
    assert_eq!(decoded, TAGS, "the decoder must see every tag");
    let decode_tags_per_s = (calls as usize * TAGS) as f64 / secs;
    let mut copy = vec![0u8; CHUNK];
    let (calls, secs) = time_at_least(1.0, || {
        for piece in bytes.chunks(CHUNK) {
            copy[..piece.len()].copy_from_slice(black_box(piece));
            black_box(&copy);
        }
    });
    let memcpy_tags_per_s = (calls as usize * TAGS) as f64 / secs;

    // 3. The sim transport: a server thread writes the stream into `sim serve`'s socket
    //    pair; the driver's Unix-socket link reads and decodes it.
    let sim_stream_tags_per_s = transport_rate(&bytes, TAGS);

    // 4. Generation under a saturating load.
    let mut optics =
        OpticsConfig { channel: ChannelModel::Constant { loss_db: 0.0, range_km: 0.0 }, ..Default::default() };
    for d in &mut optics.detectors {
        d.dead_time_ps = 20_000.0;
    }
    let t0 = Instant::now();
    let (_, gen_tags, _, _) = run_bench(optics, Some(0.05));
    let sim_generate_tags_per_s = gen_tags as f64 / t0.elapsed().as_secs_f64();

    SimBench {
        fast_pass_wall_s,
        pass,
        pass_device_s,
        pass_pulses: pulses as f64,
        pass_tags,
        decode_tags_per_s,
        memcpy_tags_per_s,
        sim_stream_tags_per_s,
        sim_generate_tags_per_s,
    }
}

fn transport_rate(bytes: &[u8], tags: usize) -> f64 {
    let dir = std::env::temp_dir().join(format!("qkdbench-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (sp, cp) = (dir.join("s.sock"), dir.join("c.sock"));
    let (sl, cl) = (UnixListener::bind(&sp).expect("bind"), UnixListener::bind(&cp).expect("bind"));
    let data = bytes.to_vec();
    let rounds = 8;
    let server = std::thread::spawn(move || {
        let _c = cl.accept().expect("control");
        let (mut s, _) = sl.accept().expect("stream");
        for _ in 0..rounds {
            s.write_all(&data).expect("write");
        }
    });
    let link = UnixStreamLink::connect(&sp, &cp).expect("connect");
    let mut tagger = StreamTimeTagger::new(link);
    let mut out = TagBatch::with_capacity(1 << 20);
    let mut n = 0usize;
    let t0 = Instant::now();
    // Read until every tag sent has arrived: the server then closes its socket, which the
    // link reports as a disconnection (a closed socket is never the end of a run).
    while n < rounds * tags {
        out.clear();
        let state = tagger.read_batch(&mut out, Duration::from_secs(5)).expect("read");
        n += out.len();
        if state == ReadState::Ended {
            break;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    server.join().expect("server thread");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(n, rounds * tags, "every tag crossed the transport");
    n as f64 / secs
}
