//! `qkdbench sim ...`: the simulated bench as a virtual instrument.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use drivers::sim::serve::Server;
use drivers::sim::{BenchConfig, ChannelModel, CircularOrbit, Fidelity, OpticsConfig, PassProfile};

/// Arguments of `qkdbench sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    #[command(subcommand)]
    what: SimWhat,
}

#[derive(Debug, Subcommand)]
enum SimWhat {
    /// Host the simulated bench for other processes.
    ///
    /// Prints three lines, `key=value`, then serves until the run ends or Ctrl-C:
    /// `pattern_gen_pty` (open it as a 115200-baud serial port; register frames of
    /// docs/register-map.md), `tag_stream_socket` (the tagger's word stream, docs/wire-format.md)
    /// and `tagger_control_socket` (the tagger's registers, same frames as the UART).
    Serve(ServeArgs),
}

/// Which FPGA implementation to run.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FidelityArg {
    /// Golden models, event-driven: whole passes in seconds.
    Fast,
    /// Verilated RTL, cycle-accurate: slower than real time.
    Rtl,
}

/// The bench's physics, shared by the commands that build a bench.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// FPGA implementation.
    #[arg(long, value_enum, default_value = "fast")]
    fidelity: FidelityArg,
    /// Constant channel loss, dB (ignored with --pass or --orbit).
    #[arg(long, default_value_t = 30.0)]
    loss_db: f64,
    /// A measured pass: a folder with micius2017_track.csv and micius2017_link_efficiency.csv
    /// (the format of shared/data/passes).
    #[arg(long, value_name = "DIR")]
    pass: Option<PathBuf>,
    /// A circular 500 km orbit with this maximum elevation, degrees.
    #[arg(long, value_name = "DEG")]
    orbit_max_elevation_deg: Option<f64>,
    /// Stop after this much device time, s (a pass stops by itself).
    #[arg(long)]
    seconds: Option<f64>,
    /// Polarisation misalignment of both bases (probability of the wrong detector).
    #[arg(long, default_value_t = 0.01)]
    misalignment: f64,
    /// The tagger's clock error, parts per million.
    #[arg(long, default_value_t = 0.0)]
    tagger_ppm: f64,
    /// Seed of the optics' random draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

impl BenchArgs {
    /// These flags as structured values for a recording's `/config` group.
    pub fn config_values(&self) -> Vec<(String, recordings::ConfigValue)> {
        use recordings::ConfigValue::{Float, Int, Text};
        let mut v = vec![
            ("bench.fidelity".to_string(), Text(format!("{:?}", self.fidelity).to_lowercase())),
            ("bench.loss_db".into(), Float(self.loss_db)),
            ("bench.misalignment".into(), Float(self.misalignment)),
            ("bench.tagger_ppm".into(), Float(self.tagger_ppm)),
            ("bench.seed".into(), Int(self.seed as i64)),
        ];
        if let Some(p) = &self.pass {
            v.push(("bench.pass".into(), Text(p.display().to_string())));
        }
        if let Some(el) = self.orbit_max_elevation_deg {
            v.push(("bench.orbit_max_elevation_deg".into(), Float(el)));
        }
        if let Some(s) = self.seconds {
            v.push(("bench.seconds".into(), Float(s)));
        }
        v
    }

    /// The bench configuration these flags describe.
    pub fn config(&self) -> Result<BenchConfig> {
        let channel = if let Some(dir) = &self.pass {
            let p = PassProfile::micius_2017(dir).with_context(|| format!("loading the pass in {}", dir.display()))?;
            ChannelModel::Pass(p)
        } else if let Some(el) = self.orbit_max_elevation_deg {
            if !(10.0..=90.0).contains(&el) {
                bail!("--orbit-max-elevation-deg must be in 10..=90, got {el}");
            }
            ChannelModel::Orbit(CircularOrbit {
                altitude_km: 500.0,
                max_elevation_deg: el,
                min_elevation_deg: 10.0,
                loss_at_zenith_db: 28.0,
                atmosphere_db: 1.0,
            })
        } else {
            ChannelModel::Constant { loss_db: self.loss_db, range_km: 0.0 }
        };
        let mut optics =
            OpticsConfig { channel, tagger_clock_ppm: self.tagger_ppm, seed: self.seed, ..Default::default() };
        optics.receiver.misalignment = [self.misalignment; 2];
        let fidelity = match self.fidelity {
            FidelityArg::Fast => Fidelity::Fast,
            FidelityArg::Rtl => Fidelity::Rtl,
        };
        Ok(BenchConfig { fidelity, optics, keep_truth: false, duration_s: self.seconds })
    }
}

/// Arguments of `qkdbench sim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    bench: BenchArgs,
    /// Folder for the sockets (default: a new folder under the temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run device time as fast as the client reads instead of at wall-clock pace.
    #[arg(long)]
    as_fast_as_possible: bool,
}

/// Runs `qkdbench sim`.
pub fn run(args: SimArgs) -> Result<()> {
    match args.what {
        SimWhat::Serve(a) => serve(a),
    }
}

fn serve(a: ServeArgs) -> Result<()> {
    let dir = a.dir.unwrap_or_else(|| std::env::temp_dir().join(format!("qkdbench-sim-{}", std::process::id())));
    let server = Server::bind(a.bench.config()?, &dir).context("starting the simulated bench")?;
    let p = server.paths().clone();
    println!("pattern_gen_pty={}", p.pattern_gen);
    println!("tag_stream_socket={}", p.stream.display());
    println!("tagger_control_socket={}", p.control.display());
    eprintln!("serving the simulated bench; Ctrl-C stops it");
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    let result = server.run(&stop, !a.as_fast_as_possible);
    for path in [&p.stream, &p.control] {
        let _ = std::fs::remove_file(path);
    }
    result.context("serving the simulated bench")
}
