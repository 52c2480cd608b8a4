//! `qkdbench sim ...`: the simulated bench as a virtual instrument.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use drivers::sim::serve::Server;

use super::settings_args::{self, BenchArgs, EngineArgs, GeneratorArgs};
use super::Exit;

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

/// Arguments of `qkdbench sim serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    bench: BenchArgs,
    #[command(flatten)]
    generator: GeneratorArgs,
    /// Stop after this much device time, s (a pass stops by itself).
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    seconds: Option<f64>,
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
    let settings = settings_args::settings(None, &a.bench, &a.generator, &EngineArgs::none());
    settings.validate().map_err(|e| Exit::bad_input(settings_args::in_flag_terms(&e)))?;
    if let Some(s) = a.seconds {
        if !(s.is_finite() && s > 0.0 && s <= 1e7) {
            return Err(Exit::bad_input(format!("--seconds {s}: must be in (0, 1e7]")));
        }
    }
    let g = &settings.generator;
    let cfg = settings
        .bench
        .bench_config(g.pulse_rate_hz, g.mu_full_scale, a.seconds)
        .map_err(|e| Exit::bad_input(settings_args::in_flag_terms(&e)))?;
    let server = Server::bind(cfg, &dir).context("starting the simulated bench")?;
    let p = server.paths().clone();
    // A client that closes our stdout after reading the paths must not stop the bench (or
    // leave its sockets behind): write errors here are ignored.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "pattern_gen_pty={}", p.pattern_gen)
            .and_then(|()| writeln!(out, "tag_stream_socket={}", p.stream.display()))
            .and_then(|()| writeln!(out, "tagger_control_socket={}", p.control.display()))
            .and_then(|()| out.flush());
    }
    super::errln!("serving the simulated bench; Ctrl-C stops it");
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    let result = server.run(&stop, !a.as_fast_as_possible);
    let pacing = p.stream.with_file_name(drivers::sim::serve::PACING_FILE);
    for path in [&p.stream, &p.control, &pacing] {
        let _ = std::fs::remove_file(path);
    }
    result.context("serving the simulated bench")
}
