//! `qkdbench demo`: a satellite pass on the simulated bench, through the real drivers and
//! the engine, with the finite-key length at the end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use drivers::pattern_gen::PatternConfig;
use drivers::sim::{self, BenchConfig, ChannelModel, CircularOrbit, Fidelity, OpticsConfig, PassProfile};
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, TaggerConfig, TimeTagger};
use harness::engine::{Engine, EngineConfig, Snapshot};

/// Arguments of `qkdbench demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder of the pass tables (micius2017_track.csv, micius2017_link_efficiency.csv);
    /// without them a 500 km circular orbit is flown.
    #[arg(long, default_value = "../shared/data/passes")]
    pass: PathBuf,
    /// Print a status line every this many seconds of device time.
    #[arg(long, default_value_t = 20.0)]
    every_s: f64,
}

fn line(t_s: f64, range_km: f64, s: &Snapshot, prev: &Snapshot, dt: f64) {
    let sifted = |x: &Snapshot| -> u64 { x.counts.sifted.iter().flatten().sum() };
    let rate = (sifted(s) - sifted(prev)) as f64 / dt;
    // QBER over this window, from the difference of the cumulative counts.
    let window_qber = |b: usize| {
        let n: u64 = (0..4).map(|k| s.counts.sifted[k][b] - prev.counts.sifted[k][b]).sum();
        let e: u64 = (0..4).map(|k| s.counts.errors[k][b] - prev.counts.errors[k][b]).sum();
        if n == 0 {
            "  -   ".to_string()
        } else {
            format!("{:5.2}%", 100.0 * e as f64 / n as f64)
        }
    };
    println!(
        "t {t_s:6.1} s  range {range_km:7.1} km  {:<8}  pulse rate offset {:+.2e}  sifted {:6.2} kbit/s  QBER Z {} X {}",
        format!("{:?}", s.lock).to_lowercase(),
        s.rate_offset,
        rate / 1e3,
        window_qber(0),
        window_qber(1),
    );
}

/// Runs `qkdbench demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    let (name, channel) = match PassProfile::micius_2017(&args.pass) {
        Ok(p) => {
            ("the Micius pass of Liao et al. 2017 (274 s, 1196 -> 645 -> 1189 km)".to_string(), ChannelModel::Pass(p))
        }
        Err(e) => {
            eprintln!("({e}; flying a circular orbit instead)");
            let o = CircularOrbit {
                altitude_km: 500.0,
                max_elevation_deg: 60.0,
                min_elevation_deg: 10.0,
                loss_at_zenith_db: 28.0,
                atmosphere_db: 1.0,
            };
            ("a 500 km circular orbit, 60 deg maximum elevation".to_string(), ChannelModel::Orbit(o))
        }
    };
    println!("qkdbench demo: decoy-state BB84 over {name}");
    println!("  source 100 MHz, mu 0.8 / 0.1 / 0 with p 0.5 / 0.25 / 0.25, sync 10 kHz; detectors 50%, 100 Hz dark, 200 Hz background\n");
    let optics = OpticsConfig { channel: channel.clone(), tagger_clock_ppm: 2.0, ..Default::default() };
    let mut dev = sim::open(BenchConfig { fidelity: Fidelity::Fast, optics, keep_truth: false, duration_s: None })
        .context("opening the simulated bench")?;
    let settings = dev.pattern_gen.configure(&PatternConfig::default()).context("configuring the pattern generator")?;
    dev.tagger.configure(&TaggerConfig::default()).context("configuring the time tagger")?;
    dev.tagger.start()?;
    dev.pattern_gen.start()?;
    let mut engine = Engine::new(EngineConfig::new(settings, 100e6));
    let mut batch = TagBatch::default();
    let mut prev = engine.snapshot();
    let mut next_print = args.every_s;
    let mut prev_t = 0.0;
    let wall = Instant::now();
    loop {
        batch.clear();
        let st = dev.tagger.read_batch(&mut batch, Duration::from_secs(1)).context("reading the tag stream")?;
        engine.process(&batch);
        let t = dev.tagger.link().bench().now_s();
        if t >= next_print || st == ReadState::Ended {
            let s = engine.snapshot();
            line(t, channel.range_km(t), &s, &prev, (t - prev_t).max(1e-9));
            prev = s;
            prev_t = t;
            next_print += args.every_s;
        }
        if st == ReadState::Ended {
            break;
        }
    }
    engine.flush();
    let s = engine.snapshot();
    let c = &s.counts;
    let sifted: u64 = c.sifted.iter().flatten().sum();
    println!(
        "\npass over in {:.1} s of wall time: {} pulses, {} gated detections, {} sifted, QBER Z {:.2}% X {:.2}%, timing residual {:.0} ps RMS",
        wall.elapsed().as_secs_f64(),
        s.last_pulse + 1,
        s.gated,
        sifted,
        100.0 * s.qber[0].unwrap_or(f64::NAN),
        100.0 * s.qber[1].unwrap_or(f64::NAN),
        s.residual_rms_ps.unwrap_or(f64::NAN),
    );
    // The engine's key settings: Micius intensities, Chernoff bounds, key from X.
    match engine.run_key() {
        Some(k) => println!(
            "finite-key (Lim et al. 2014, Chernoff bounds, eps_sec 1e-10, one block per pass): {} secure bits (s_X1 {:.0}, phase error {:.2}%)",
            k.key_length_bits,
            k.s_x1,
            100.0 * k.phi_x
        ),
        None => println!("finite-key: not computable from these counts"),
    }
    Ok(())
}
