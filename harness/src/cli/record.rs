//! `qkdbench record`: a headless recording of the simulated bench (or, once wired, a board)
//! into an HDF5 file, through the engine and the pipeline.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use drivers::pattern_gen::PatternConfig;
use drivers::time_tagger::{TaggerConfig, TimeTagger};
use harness::engine::{Engine, EngineConfig};
use harness::pipeline::{self, PipelineConfig, RecordItem};
use indicatif::{ProgressBar, ProgressStyle};
use recordings::{RecordingWriter, RunMeta, RunStatus};

use super::sim::BenchArgs;

/// Devices `qkdbench record` can record from.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Device {
    /// The simulated bench (see the bench flags).
    Sim,
}

/// Arguments of `qkdbench record`.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where the tags come from.
    #[arg(long, value_enum, default_value = "sim")]
    device: Device,
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
    #[command(flatten)]
    bench: BenchArgs,
}

/// Parses "30s", "500ms", "2m", "1.5h".
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
    Ok(Duration::from_secs_f64(secs))
}

/// Runs `qkdbench record`.
pub fn run(args: RecordArgs) -> Result<ExitCode> {
    let Device::Sim = args.device;
    let mut bench = args.bench.config()?;
    let seconds = args.duration.as_secs_f64();
    bench.duration_s = Some(seconds);
    let pulse_rate_hz = bench.optics.source.pulse_rate_hz;
    let mut dev = drivers::sim::open(bench).context("opening the simulated bench")?;
    dev.tagger.link_mut().realtime = args.realtime;
    let pattern = PatternConfig::default();
    let settings = dev.pattern_gen.configure(&pattern).context("configuring the pattern generator")?;
    let time_base = dev.tagger.configure(&TaggerConfig::default()).context("configuring the time tagger")?;
    let engine_cfg = EngineConfig::new(settings, pulse_rate_hz);
    let mut config = vec![
        ("device".to_string(), recordings::ConfigValue::Text("sim".into())),
        ("duration_s".into(), recordings::ConfigValue::Float(seconds)),
        ("realtime".into(), recordings::ConfigValue::Bool(args.realtime)),
        ("pulse_rate_hz".into(), recordings::ConfigValue::Float(pulse_rate_hz)),
    ];
    config.extend(args.bench.config_values());
    config.extend(harness::recorder::engine_config_values(&engine_cfg));
    let meta = RunMeta {
        source: format!("simulated bench ({})", dev.tagger.link().bench().tagger_fidelity()),
        config_text: std::env::args().collect::<Vec<_>>().join(" "),
        pattern: Some(settings),
        compression: args.compression.into(),
        scenario_text: None,
        pulse_rate_hz: Some(pulse_rate_hz),
        config,
        time_base: (time_base.coarse_period_ps, time_base.fine_bins),
    };
    let writer =
        RecordingWriter::create(&args.output, &meta).with_context(|| format!("creating {}", args.output.display()))?;
    dev.tagger.start()?;
    dev.pattern_gen.start()?;

    let bar = ProgressBar::new((seconds * 1000.0) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} recording [{wide_bar}] {pos}/{len} ms of device time  {msg}")
            .expect("valid template"),
    );
    let last_ps = Arc::new(AtomicI64::new(0));
    let (tx, rx) = crossbeam_channel::bounded::<RecordItem>(64);
    let last = last_ps.clone();
    let recorder = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || harness::recorder::record(writer, rx, last))?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing the Ctrl-C handler")?;
    let progress = {
        let bar = bar.clone();
        let last = last_ps.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && !bar.is_finished() {
                bar.set_position((last.load(Ordering::Relaxed) / 1_000_000_000).max(0) as u64);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let mut engine = Engine::new(engine_cfg);
    let report = pipeline::run(dev.tagger, &mut engine, &PipelineConfig::default(), Some(tx), None, stop.clone());
    bar.finish_and_clear();
    stop.store(true, Ordering::Relaxed);
    let _ = progress.join();
    let (writer, status) = match recorder.join() {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => bail!("writing {}: {e}", args.output.display()),
        Err(_) => bail!("the recorder thread panicked"),
    };
    let (tags, events) = (writer.tags(), writer.events());
    writer.finish(&status).with_context(|| format!("closing {}", args.output.display()))?;
    let s = &report.last;
    println!(
        "recorded {} ({:?}): {tags} tags, {events} in-band events; lock {:?}, QBER Z {} X {}, {} sifted",
        args.output.display(),
        status,
        s.lock,
        s.qber[0].map_or("-".into(), |q| format!("{:.2}%", 100.0 * q)),
        s.qber[1].map_or("-".into(), |q| format!("{:.2}%", 100.0 * q)),
        s.counts.sifted.iter().flatten().sum::<u64>(),
    );
    println!(
        "tags={tags} events={events} gated={} sifted={} errors={}",
        s.gated,
        s.counts.sifted.iter().flatten().sum::<u64>(),
        s.counts.errors.iter().flatten().sum::<u64>()
    );
    Ok(if status == RunStatus::Complete { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
