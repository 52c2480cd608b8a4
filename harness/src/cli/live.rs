//! `qkdbench live`: the live view (docs/tui.md). On a terminal, the TUI; without one (a
//! pipe, CI), one plain status line per second. Also the launcher `replay --tui` and
//! `demo` use to show a run in the TUI.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use harness::pipeline::PipelineConfig;
use harness::recorder::RecorderStatus;
use harness::session::{self, Outcome, OutputPlan, RunPlan, SessionError};
use harness::tui::plain::Plain;
use harness::tui::terminal::{self, Ended, LiveRun};
use harness::tui::{App, Forward, RunInfo};

use super::record::parse_duration;
use super::settings_args::{self, BenchArgs, DeviceArgs, EngineArgs, GeneratorArgs};
use super::{session_error, Exit};

/// Arguments of `qkdbench live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Record into this HDF5 file from the start (in the TUI, `r` stops and starts
    /// recording; without `--record`, `r` names files `qkdbench-live-<unix time>-<n>.h5`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// How long to run, device time (e.g. 30s, 5m). Without it: until `q` (TUI), Ctrl-C,
    /// or the end of a pass.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Run the simulated bench as fast as it goes instead of paced to the wall clock.
    #[arg(long)]
    fast: bool,
    /// Plain status lines even on a terminal (no TUI).
    #[arg(long)]
    plain: bool,
    /// Compression of the recording's tag datasets.
    #[arg(long, value_enum, default_value = "gzip")]
    compression: super::compression::Compress,
    #[command(flatten)]
    device: DeviceArgs,
    #[command(flatten)]
    bench: BenchArgs,
    #[command(flatten)]
    generator: GeneratorArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Runs `qkdbench live`.
pub fn run(args: LiveArgs) -> Result<ExitCode> {
    let settings = settings_args::settings(Some(&args.device), &args.bench, &args.generator, &args.engine);
    settings.validate().map_err(|e| Exit::bad_input(settings_args::in_flag_terms(&e)))?;
    let pass = match settings.bench.channel.model() {
        Ok(m) if m.duration_s().is_some() => Some(m),
        Ok(_) => None,
        Err(e) => return Err(Exit::bad_input(e.to_string())),
    };
    let status = Arc::new(Mutex::new(RecorderStatus::default()));
    let duration_s = args.duration.map(|d| d.as_secs_f64());
    let plan = RunPlan {
        realtime: !args.fast,
        output: Some(OutputPlan {
            path: args.record.clone().unwrap_or_else(|| PathBuf::from("qkdbench-live.h5")),
            compression: args.compression.into(),
            config_text: std::env::args().collect::<Vec<_>>().join(" "),
            scenario_text: None,
            start_now: args.record.is_some(),
            status: Some(status.clone()),
        }),
        ..RunPlan::new(settings.clone(), duration_s)
    };
    let plan = RunPlan { pipeline: args.engine.pipeline(plan.pipeline.clone()), ..plan };
    let device = match &args.device.device {
        harness::settings::DeviceKind::Sim => format!("sim bench ({:?})", args.bench.fidelity).to_lowercase(),
        harness::settings::DeviceKind::Served => "served bench".into(),
        harness::settings::DeviceKind::Hardware => "boards".into(),
        // Not a value of --device (clap skips it).
        harness::settings::DeviceKind::Replay => "replay".into(),
    };
    let info = RunInfo {
        title: "live".into(),
        device,
        pulse_rate_hz: settings.generator.pulse_rate_hz,
        mu: settings.generator.mu.clone(),
        gate_width_ps: settings.engine.gate_width_ps,
        pass,
        can_record: true,
        record_path: args.record.clone(),
        duration_s,
    };
    if args.plain || !std::io::stdout().is_terminal() {
        return plain(plan, args.record.is_some());
    }
    let ended = show(info, Some(status), plan.pipeline.clone(), move |observer, pipeline, stop| {
        let plan = RunPlan { pipeline, ..plan };
        session::run(&plan, observer, stop)
    })?;
    finish("live", ended)
}

/// Without a terminal: the session with one status line per second.
fn plain(plan: RunPlan, recording: bool) -> Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    let mut lines = Plain::new(std::io::stdout().lock());
    let outcome = session::run(&plan, &mut lines, stop).map_err(session_error)?;
    if lines.closed {
        // The reader went away (`| head`): a quiet end, as command-line tools do.
        return Ok(ExitCode::SUCCESS);
    }
    drop(lines);
    if recording {
        if let Some(r) = &outcome.recorded {
            super::errln!("qkdbench live: recorded {} ({}, {} tags)", r.path.display(), outcome.status_text(), r.tags);
        }
    }
    if outcome.complete() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Exit::cut_short(format!("qkdbench live: the run was cut short ({})", outcome.status_text())))
    }
}

/// Shows a session in the TUI: `start` runs it on a worker thread with the observer, the
/// pipeline settings (commands wired in) and the stop flag. A run that fails before its
/// first update (a missing device, an unreadable file) is reported without entering the
/// TUI.
pub fn show<F>(
    info: RunInfo,
    status: Option<Arc<Mutex<RecorderStatus>>>,
    mut pipeline: PipelineConfig,
    start: F,
) -> Result<Ended>
where
    F: FnOnce(&mut Forward, PipelineConfig, Arc<AtomicBool>) -> Result<Outcome, SessionError> + Send + 'static,
{
    let (ftx, frames) = crossbeam_channel::bounded(8);
    let (commands, crx) = crossbeam_channel::unbounded();
    pipeline.commands = Some(crx);
    let quit = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing the signal handler")?;
    let (q, st) = (quit.clone(), stop.clone());
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    let worker = std::thread::Builder::new()
        .name("session".into())
        .spawn(move || {
            let mut forward = Forward::new(ftx, q);
            let r = start(&mut forward, pipeline, st);
            d.store(true, Ordering::Relaxed);
            r
        })
        .context("starting the session thread")?;
    // Wait for the first frame, so that a run that cannot start says why on the plain
    // terminal, with its exit code.
    let mut app = App::new(info, status);
    loop {
        match frames.recv_timeout(Duration::from_millis(50)) {
            Ok(f) => {
                app.ingest(f);
                break;
            }
            Err(_) if worker.is_finished() => {
                let r = worker.join().unwrap_or_else(|_| Err(SessionError::Internal("the run panicked".into())));
                return Ok(Ended { result: r, by_user: false });
            }
            Err(_) => {}
        }
    }
    terminal::run(app, LiveRun { frames, commands, quit, stop, worker, done }).context("drawing the terminal")
}

/// What the TUI leaves on the terminal after it closes, and the exit code: 0 when the run
/// ended as complete (its end, `--duration`, or `q`), 1 when interrupted (Ctrl-C, a signal)
/// or a device failed, 2 for bad input.
pub fn finish(what: &str, ended: Ended) -> Result<ExitCode> {
    let outcome = ended.result.map_err(session_error)?;
    let s = outcome.engine.snapshot();
    let sifted: u64 = s.counts.sifted.iter().flatten().sum();
    super::outln!(
        "qkdbench {what}: run {}; {} tags, {} gated, {sifted} sifted, QBER Z {} X {}, key {} bits",
        outcome.status_text(),
        outcome.pipeline.tags,
        s.gated,
        harness::report::pct(s.qber[0]),
        harness::report::pct(s.qber[1]),
        s.key_length_bits,
    );
    if let Some(r) = &outcome.recorded {
        super::outln!("recorded {} ({}, {} tags)", r.path.display(), outcome.status_text(), r.tags);
    }
    if outcome.complete() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Exit::cut_short(format!("qkdbench {what}: the run was cut short ({})", outcome.status_text())))
    }
}
