//! `qkdbench replay F.h5`: a recording through the engine, as if it were live.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Args;
use harness::engine::{Engine, EngineConfig, Snapshot};
use harness::pipeline::{self, PipelineConfig};
use harness::report::{pct, RunReport};
use indicatif::{ProgressBar, ProgressStyle};

use super::engine_args::EngineArgs;
use recordings::replay::ReplayTagger;
use recordings::Recording;

/// Arguments of `qkdbench replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// A recording made by `qkdbench record`.
    file: PathBuf,
    /// Pace the replay to the recorded time instead of running as fast as possible.
    #[arg(long)]
    realtime: bool,
    /// Pulse rate of the recorded source, Hz (the recording's own figure when it has one).
    #[arg(long)]
    pulse_rate_hz: Option<f64>,
    /// Print the run report as one JSON object (the engine's snapshot, QBER and gains per
    /// class, the finite key with its bounds, the module characterisation) instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineArgs,
}

/// Runs `qkdbench replay`.
pub fn run(args: ReplayArgs) -> Result<()> {
    let rec = Recording::open(&args.file).with_context(|| format!("opening {}", args.file.display()))?;
    let pattern = rec.pattern.with_context(|| {
        format!(
            "{}: no /pattern group: the generator's settings were not recorded, so the engine cannot \
             sift (a file converted from another instrument has none; `qkdbench dump` prints its events)",
            args.file.display()
        )
    })?;
    let status = rec.run_status.clone();
    let pulse_rate_hz = match (args.pulse_rate_hz, rec.pulse_rate_hz) {
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) => 100e6,
    };
    if !(pulse_rate_hz.is_finite() && pulse_rate_hz > 0.0) {
        bail!("--pulse-rate-hz must be a positive number of pulses per second, got {pulse_rate_hz}");
    }
    let tags = rec.tags();
    let mut tagger = ReplayTagger::new(rec);
    tagger.realtime = args.realtime;
    let mut cfg = EngineConfig::new(pattern, pulse_rate_hz);
    args.engine.apply(&mut cfg, pulse_rate_hz)?;
    let mut engine = Engine::new(cfg);
    // Progress from the engine's snapshots (~10 a second; on stderr, and only on a terminal).
    let bar = ProgressBar::new(tags as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} replaying [{wide_bar}] {pos}/{len} tags  {msg}")
            .expect("valid template"),
    );
    let (tx, rx) = crossbeam_channel::bounded::<Snapshot>(1);
    let progress = {
        let bar = bar.clone();
        std::thread::spawn(move || {
            for s in rx {
                bar.set_position(s.channel_tags.iter().sum());
                bar.set_message(format!("lock {:?}, QBER Z {} X {}", s.lock, pct(s.qber[0]), pct(s.qber[1])));
            }
        })
    };
    let report = pipeline::run(
        tagger,
        &mut engine,
        &PipelineConfig::default(),
        None,
        Some(tx),
        Arc::new(AtomicBool::new(false)),
    );
    let _ = progress.join();
    bar.finish_and_clear();
    if args.json {
        super::emit(&(serde_json::to_string_pretty(&RunReport::of(&engine))? + "\n"))?;
        return Ok(());
    }
    let s = &report.last;
    let text = format!(
        "replayed {} (recorded run: {status}): {tags} tags; lock {:?}, QBER Z {} X {}\n\
         tags={} gated={} sifted={} errors={}\n{}",
        args.file.display(),
        s.lock,
        pct(s.qber[0]),
        pct(s.qber[1]),
        report.tags,
        s.gated,
        s.counts.sifted.iter().flatten().sum::<u64>(),
        s.counts.errors.iter().flatten().sum::<u64>(),
        RunReport::of(&engine)
    );
    super::emit(&text)?;
    Ok(())
}
