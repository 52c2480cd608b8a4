//! `qkdbench replay F.h5`: a recording through the engine, as if it were live.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use harness::engine::{Engine, EngineConfig};
use harness::pipeline::{self, PipelineConfig};
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
    /// Pulse rate of the recorded source, Hz.
    #[arg(long, default_value_t = 100e6)]
    pulse_rate_hz: f64,
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
    let tags = rec.tags();
    let mut tagger = ReplayTagger::new(rec);
    tagger.realtime = args.realtime;
    let mut engine = Engine::new(EngineConfig::new(pattern, args.pulse_rate_hz));
    let report =
        pipeline::run(tagger, &mut engine, &PipelineConfig::default(), None, None, Arc::new(AtomicBool::new(false)));
    let s = &report.last;
    println!(
        "replayed {} (recorded run: {status}): {tags} tags; lock {:?}, QBER Z {} X {}",
        args.file.display(),
        s.lock,
        s.qber[0].map_or("-".into(), |q| format!("{:.2}%", 100.0 * q)),
        s.qber[1].map_or("-".into(), |q| format!("{:.2}%", 100.0 * q)),
    );
    println!(
        "tags={} gated={} sifted={} errors={}",
        report.tags,
        s.gated,
        s.counts.sifted.iter().flatten().sum::<u64>(),
        s.counts.errors.iter().flatten().sum::<u64>()
    );
    Ok(())
}
