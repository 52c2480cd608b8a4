//! `qkdbench record`: a headless recording of the simulated bench, a served bench (`qkdbench
//! sim serve`) or the boards into an HDF5 file: one session with an output.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use harness::report::{pct, RunReport};
use harness::session::{self, Outcome, OutputPlan, RunPlan};
use serde::Serialize;

use super::progress::{Measure, Progress};
use super::settings_args::{self, BenchArgs, DeviceArgs, EngineArgs, GeneratorArgs};
use super::{session_error, Exit};

/// Arguments of `qkdbench record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// How long to record, device time: e.g. 30s, 500ms, 2m.
    #[arg(long, value_parser = parse_duration)]
    duration: Duration,
    /// The HDF5 file to write (replaced if it exists).
    #[arg(short = 'o', long = "output")]
    output: PathBuf,
    /// Pace the simulated bench to wall-clock time, like a live instrument.
    #[arg(long)]
    realtime: bool,
    /// Compression of the tag datasets.
    #[arg(long, value_enum, default_value = "gzip")]
    compression: super::compression::Compress,
    /// Print the status and the run report as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    device: DeviceArgs,
    #[command(flatten)]
    bench: BenchArgs,
    #[command(flatten)]
    generator: GeneratorArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Parses "30s", "500ms", "2m", "1.5h" (at most 1e7 s, about 116 days).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().map_err(|_| format!("{s:?}: expected a number and a unit, e.g. 30s"))?;
    let secs = match unit {
        "ms" => v / 1e3,
        "s" | "" => v,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        other => return Err(format!("{s:?}: unknown unit {other:?} (use ms, s, m or h)")),
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!("{s:?}: must be positive"));
    }
    if secs > 1e7 {
        return Err(format!("{s:?}: longer than 1e7 s"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// What `record --json` prints.
#[derive(Debug, Serialize)]
pub struct RecordJson {
    /// `complete` or `aborted: <reason>`, as in the file.
    pub status: String,
    /// The recording.
    pub file: PathBuf,
    /// Tags in the file.
    pub tags: u64,
    /// In-band loss events in the file.
    pub events: u64,
    /// The run report.
    pub report: RunReport,
}

/// Runs `qkdbench record`.
pub fn run(args: RecordArgs) -> Result<ExitCode> {
    let settings = settings_args::settings(Some(&args.device), &args.bench, &args.generator, &args.engine);
    let seconds = args.duration.as_secs_f64();
    let plan = RunPlan {
        realtime: args.realtime,
        output: Some(OutputPlan {
            path: args.output.clone(),
            compression: args.compression.into(),
            config_text: std::env::args().collect::<Vec<_>>().join(" "),
            scenario_text: None,
            start_now: true,
            status: None,
        }),
        ..RunPlan::new(settings, Some(seconds))
    };
    let plan = RunPlan { pipeline: args.engine.pipeline(plan.pipeline.clone()), ..plan };
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    let mut bar = Progress::new("recording", (seconds * 1000.0) as u64, Measure::DeviceMs);
    let outcome = session::run(&plan, &mut bar, stop);
    bar.finish();
    let outcome = outcome.map_err(session_error)?;
    for n in &outcome.notes {
        super::errln!("qkdbench record: {n}");
    }
    print(&args, &outcome)?;
    if outcome.complete() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Exit::cut_short(format!("{}: the run was cut short ({})", args.output.display(), outcome.status_text())))
    }
}

fn print(args: &RecordArgs, o: &Outcome) -> Result<()> {
    let rec = o.recorded.as_ref().expect("record always records");
    let report = o.report();
    if args.json {
        let j =
            RecordJson { status: o.status_text(), file: rec.path.clone(), tags: rec.tags, events: rec.events, report };
        return Ok(super::emit(&(serde_json::to_string_pretty(&j)? + "\n"))?);
    }
    let s = &report.snapshot;
    let sifted = s.counts.sifted.iter().flatten().sum::<u64>();
    let text = format!(
        "recorded {} ({}): {} tags, {} in-band events; lock {:?}, QBER Z {} X {}, {sifted} sifted\n\
         tags={} events={} gated={} sifted={sifted} errors={}\n{report}",
        rec.path.display(),
        o.status_text(),
        rec.tags,
        rec.events,
        s.lock,
        pct(s.qber[0]),
        pct(s.qber[1]),
        rec.tags,
        rec.events,
        s.gated,
        s.counts.errors.iter().flatten().sum::<u64>(),
    );
    Ok(super::emit(&text)?)
}
