//! `qkdbench`: the command-line front end.

use anyhow::Result;
use clap::{Parser, Subcommand};

mod cli;

/// qkdbench — a hardware-in-the-loop test harness for decoy-state BB84 QKD optics.
///
/// Drives a pattern-generator FPGA and a time tagger (or their RTL under Verilator),
/// measures QBER, gains, sync and finite-key rates, and records everything.
#[derive(Debug, Parser)]
#[command(name = "qkdbench", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fly a satellite pass on the simulated bench: live sync, QBER and key rate.
    Demo(cli::demo::DemoArgs),
    /// The live view: QBER, counts, sync and the recording at a glance (docs/tui.md).
    ///
    /// A TUI on a terminal (q quits, r records, space freezes, g/G gate, tab focus, ? help);
    /// one plain status line per second without one (a pipe, CI). Exit code 0 when the run
    /// ends as complete (its end, --duration, q), 1 when interrupted, 2 for bad input.
    Live(cli::live::LiveArgs),
    /// Run the simulated FPGAs (RTL) and check them word for word against their golden models.
    Selftest(cli::selftest::SelftestArgs),
    /// List serial ports, USB time taggers and the simulated bench.
    Devices,
    /// The simulated bench (`sim serve`).
    Sim(cli::sim::SimArgs),
    /// Finite-key secure key length from decoy-state counts (Lim et al. 2014).
    ///
    /// Reads a JSON file, prints JSON; exit code 2 names the bad field.
    Keyrate(cli::keyrate::KeyRateArgs),
    /// Record a run into an HDF5 file (docs/recording-schema.md), with a progress bar.
    ///
    /// Exit code 0 when the run completed, 1 when it was cut short (the file then says why).
    Record(cli::record::RecordArgs),
    /// Run the engine on a recording, as fast as possible or paced to the recorded time.
    Replay(cli::replay::ReplayArgs),
    /// Print the normalised events of a recording, Photon-HDF5, PicoQuant (PTU, .ht2/.ht3/.pt2/.pt3/.t3r) or timestamp7 file as CSV (time_ps,channel,kind).
    ///
    /// Times are in picoseconds: counts times the resolution (PicoQuant: the header's float64
    /// in seconds taken exactly; the older files' ps, ns or sync-rate fields converted to
    /// seconds in float64 first; timestamp7: 1/256 ns), rounded to the nearest picosecond,
    /// ties to even (docs/recording-schema.md).
    /// Every complete record is printed; exit code 2 then names the file and byte offset of a
    /// problem.
    Dump(cli::dump::DumpArgs),
    /// Convert a PicoQuant (PTU, .ht2/.ht3/.pt2/.pt3/.t3r), timestamp7, Photon-HDF5 or recording file into a qkdbench recording or Photon-HDF5.
    ///
    /// Streams (files larger than memory work); exit code 2 names the file and offset of a
    /// problem, and no output file is left behind then, except for an input cut inside a
    /// record: OUT then holds every complete record and says `truncated` (`--strict` refuses).
    Convert(cli::convert::ConvertArgs),
    /// Measure the speed of a part of qkdbench, with a baseline from the same run.
    Bench(cli::bench::BenchArgs),
    /// Run acceptance scenarios (docs/scenario-format.md): verdicts, JUnit XML, a JSON record.
    ///
    /// Exit code 0 when every scenario passes (MARGINAL included), 1 when any FAILs, 2 for
    /// an ERROR, an ABORTED run or a bad scenario (nothing runs then).
    Run(cli::run::RunArgs),
    /// Write a self-contained HTML page (plots with units, the summary, the verdict) and a
    /// summary.md for recordings.
    Report(cli::report::ReportArgs),
}

/// Runs the command; every error reaches `main` with its exit code (docs/exit-codes.md).
fn run(cli: Cli) -> Result<std::process::ExitCode> {
    match cli.command {
        Command::Keyrate(args) => return Ok(cli::keyrate::run(args)),
        Command::Dump(args) => return Ok(cli::dump::run(args)),
        Command::Convert(args) => return Ok(cli::convert::run(args)),
        Command::Record(args) => return cli::record::run(args),
        Command::Live(args) => return cli::live::run(args),
        Command::Run(args) => return cli::run::run(args),
        Command::Report(args) => cli::report::run(args),
        Command::Bench(args) => cli::bench::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Selftest(args) => cli::selftest::run(args),
        Command::Devices => cli::devices::run(),
        Command::Sim(args) => cli::sim::run(args),
        Command::Replay(args) => cli::replay::run(args),
    }?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// The one place errors become exit codes: 0 success (and a reader that went away, as with
/// `| head`), 1 a run cut short or a failed verdict, 2 bad input or usage (clap exits 2 on
/// usage errors itself).
fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let code = cli::exit_code(&e);
            if code != 0 {
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr(), "qkdbench: {e:#}");
            }
            std::process::ExitCode::from(code)
        }
    }
}
