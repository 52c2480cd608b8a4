//! `qkdbench replay F.h5`: a recording through the engine, as if it were live, with the
//! settings it was recorded with (flags override single fields, and say so).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use harness::report::{pct, RunReport};
use harness::session::{self, ReplayPlan};
use recordings::RunStatus;
use serde::Serialize;

use super::progress::{Measure, Progress};
use super::settings_args::EngineArgs;
use super::{session_error, Exit};

/// Arguments of `qkdbench replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A recording made by `qkdbench record` (or converted from a recording).
    file: PathBuf,
    /// Pace the replay to the recorded time instead of running as fast as possible.
    #[arg(long)]
    realtime: bool,
    /// Pulse rate of the recorded source, Hz (default: the recording's own figure).
    #[arg(long, value_name = "HZ", allow_negative_numbers = true)]
    pulse_rate_hz: Option<f64>,
    /// Print the status and the run report as one JSON object instead of text.
    #[arg(long, conflicts_with = "tui")]
    json: bool,
    /// Show the replay in the live view (docs/tui.md); it stays up with the final totals
    /// until `q`. Without a terminal the plain report is printed instead.
    #[arg(long)]
    tui: bool,
    /// Engine flags: each replaces the recorded setting of the same name (the rest are the
    /// recording's own, from its /config).
    #[command(flatten)]
    engine: EngineArgs,
}

/// What `replay --json` prints.
#[derive(Debug, Serialize)]
pub struct ReplayJson {
    /// The recorded run's status (`complete`, `aborted: ...`, `running` after a crash).
    pub recorded_status: String,
    /// The replay's own status: `complete`, or `aborted: <reason>` (a read error).
    pub status: String,
    /// Which recorded settings the flags replaced.
    pub notes: Vec<String>,
    /// The run report.
    #[serde(flatten)]
    pub report: RunReport,
}

/// Runs `qkdbench replay`.
pub fn run(args: ReplayArgs) -> Result<()> {
    let plan = ReplayPlan {
        realtime: args.realtime,
        pulse_rate_hz: args.pulse_rate_hz,
        engine: args.engine.overrides(),
        ..ReplayPlan::new(&args.file)
    };
    let plan = ReplayPlan { pipeline: args.engine.pipeline(plan.pipeline.clone()), ..plan };
    plan.engine.check().map_err(|e| Exit::bad_input(super::settings_args::in_flag_terms(&e)))?;
    let recorded_status = recordings::replay::open_run(&args.file)
        .map(|(_, run)| run.run_status)
        .map_err(|e| Exit::bad_input(e.to_string()))?;
    if args.tui && std::io::stdout().is_terminal() {
        return tui(&args, plan);
    }
    if args.tui {
        super::errln!("qkdbench replay: --tui needs a terminal; printing the report instead");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    let mut bar = Progress::new("replaying", 0, Measure::Tags);
    let outcome = session::replay(&plan, &mut bar, stop.clone());
    bar.finish();
    let outcome = outcome.map_err(session_error)?;
    for n in &outcome.notes {
        super::errln!("qkdbench replay: {n}");
    }
    let report = outcome.report();
    if args.json {
        let j = ReplayJson {
            recorded_status: recorded_status.clone(),
            status: outcome.status_text(),
            notes: outcome.notes.clone(),
            report,
        };
        super::emit(&(serde_json::to_string_pretty(&j)? + "\n"))?;
    } else {
        let s = &report.snapshot;
        let text = format!(
            "replayed {} (recorded run: {recorded_status}): {} tags; lock {:?}, QBER Z {} X {}\n\
             tags={} gated={} sifted={} errors={}\n{report}",
            args.file.display(),
            outcome.pipeline.tags,
            s.lock,
            pct(s.qber[0]),
            pct(s.qber[1]),
            outcome.pipeline.tags,
            s.gated,
            s.counts.sifted.iter().flatten().sum::<u64>(),
            s.counts.errors.iter().flatten().sum::<u64>(),
        );
        super::emit(&text)?;
    }
    match outcome.status {
        RunStatus::Complete => Ok(()),
        RunStatus::Aborted(_) if stop.load(Ordering::Relaxed) => {
            Err(Exit::cut_short(format!("{}: replay interrupted", args.file.display())))
        }
        RunStatus::Aborted(reason) | RunStatus::Truncated(reason) => Err(Exit::bad_input(format!(
            "{}: the replay stopped at a read error after {} tags: {reason}",
            args.file.display(),
            outcome.pipeline.tags
        ))),
    }
}

/// `replay --tui`: the replay in the live view, with the recording's own settings.
fn tui(args: &ReplayArgs, plan: ReplayPlan) -> Result<()> {
    let (src, run) = recordings::replay::open_run(&args.file).map_err(|e| Exit::bad_input(e.to_string()))?;
    drop(src);
    let config = &run.config;
    let float = |name: &str| {
        config.iter().find(|(k, _)| k == name).and_then(|(_, v)| match v {
            recordings::ConfigValue::Float(x) => Some(*x),
            recordings::ConfigValue::Int(x) => Some(*x as f64),
            _ => None,
        })
    };
    let gate = args.engine.gate_width_ps.or_else(|| float("engine.gate_width_ps")).unwrap_or(1000.0);
    let info = harness::tui::RunInfo {
        title: "replay".into(),
        device: args
            .file
            .file_name()
            .map_or_else(|| args.file.display().to_string(), |n| n.to_string_lossy().into_owned()),
        pulse_rate_hz: plan.pulse_rate_hz.or(run.info.pulse_rate_hz).unwrap_or(drivers::DEFAULT_PULSE_RATE_HZ),
        mu: run.info.pattern_mu.clone().unwrap_or_default(),
        gate_width_ps: gate,
        pass: None,
        can_record: false,
        record_path: None,
        duration_s: None,
    };
    let ended = super::live::show(info, None, plan.pipeline.clone(), move |observer, pipeline, stop| {
        session::replay(&ReplayPlan { pipeline, ..plan }, observer, stop)
    })?;
    super::live::finish("replay", ended).map(|_| ())
}
