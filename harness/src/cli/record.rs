//! `qkdbench record`: a headless recording of the simulated bench, a served bench (`qkdbench
//! sim serve`) or the boards, into an HDF5 file, through the engine and the pipeline.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::engine_args::EngineArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use drivers::pattern_gen::{PatternConfig, PatternGenerator, UartPatternGenerator};
use drivers::time_tagger::{Limited, StreamTimeTagger, TaggerConfig, TimeTagger};
use drivers::transport::serial::{SerialLink, PATTERN_GEN_BAUD};
use drivers::transport::unix::UnixStreamLink;
use drivers::transport::usb::UsbLink;
use harness::engine::{Engine, EngineConfig};
use harness::pipeline::{self, PipelineConfig, RecordItem};
use harness::report::{pct, RunReport};
use indicatif::{ProgressBar, ProgressStyle};
use recordings::{RecordingWriter, RunMeta, RunStatus};

use super::sim::BenchArgs;

/// Devices `qkdbench record` can record from.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Device {
    /// The simulated bench in this process (see the bench flags).
    Sim,
    /// A bench hosted by `qkdbench sim serve`: its pattern generator's pseudo-terminal
    /// (--pattern-gen-port) and its tagger sockets (--tagger-socket-dir).
    Served,
    /// The boards: the pattern generator on a serial port (--pattern-gen-port), the time
    /// tagger on USB (the first one, or --tagger-serial).
    Hardware,
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
    /// Serial port of the pattern generator (served bench: the pty `sim serve` printed).
    #[arg(long, value_name = "PATH", required_if_eq_any([("device", "served"), ("device", "hardware")]))]
    pattern_gen_port: Option<String>,
    /// Folder of the served bench's tagger.sock and tagger-ctl.sock.
    #[arg(long, value_name = "DIR", required_if_eq("device", "served"))]
    tagger_socket_dir: Option<PathBuf>,
    /// Serial number of the USB tagger (hardware; default: the first one found).
    #[arg(long, value_name = "SERIAL")]
    tagger_serial: Option<String>,
    /// Pulse rate of the transmitter, Hz (served bench and hardware; the simulated bench
    /// knows its own).
    #[arg(long, default_value_t = 100e6)]
    pulse_rate_hz: f64,
    #[command(flatten)]
    bench: BenchArgs,
    #[command(flatten)]
    engine: EngineArgs,
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
    let seconds = args.duration.as_secs_f64();
    let mut config = vec![
        ("duration_s".to_string(), recordings::ConfigValue::Float(seconds)),
        ("realtime".into(), recordings::ConfigValue::Bool(args.realtime)),
    ];
    match args.device {
        Device::Sim => {
            let mut bench = args.bench.config()?;
            bench.duration_s = Some(seconds);
            let pulse_rate_hz = bench.optics.source.pulse_rate_hz;
            let mut dev = drivers::sim::open(bench).context("opening the simulated bench")?;
            dev.tagger.link_mut().realtime = args.realtime;
            let source = format!("simulated bench ({})", dev.tagger.link().bench().tagger_fidelity());
            config.push(("device".into(), recordings::ConfigValue::Text("sim".into())));
            config.extend(args.bench.config_values());
            record(&args, dev.pattern_gen, dev.tagger, source, pulse_rate_hz, config)
        }
        Device::Served => {
            let port = args.pattern_gen_port.clone().expect("clap requires it");
            let dir = args.tagger_socket_dir.clone().expect("clap requires it");
            let serial = SerialLink::open(&port, PATTERN_GEN_BAUD)
                .with_context(|| format!("opening the served pattern generator at {port}"))?;
            let (stream, control) = (dir.join("tagger.sock"), dir.join("tagger-ctl.sock"));
            let link = UnixStreamLink::connect(&stream, &control)
                .with_context(|| format!("connecting to the served tagger in {}", dir.display()))?;
            config.push(("device".into(), recordings::ConfigValue::Text("served".into())));
            config.push(("pattern_gen_port".into(), recordings::ConfigValue::Text(port.clone())));
            config.push(("tagger_socket_dir".into(), recordings::ConfigValue::Text(dir.display().to_string())));
            let tagger = Limited::new(StreamTimeTagger::new(link), args.duration);
            let source = format!("served bench: pattern generator {port}, tagger {}", dir.display());
            record(&args, Box::new(UartPatternGenerator::new(serial)), tagger, source, args.pulse_rate_hz, config)
        }
        Device::Hardware => {
            let port = args.pattern_gen_port.clone().expect("clap requires it");
            let serial = SerialLink::open(&port, PATTERN_GEN_BAUD).with_context(|| {
                format!("opening the pattern generator at {port} (qkdbench devices lists the ports)")
            })?;
            let usb = UsbLink::open(args.tagger_serial.as_deref()).context(
                "opening the USB time tagger (qkdbench devices lists them; udev/60-qkdbench.rules gives access)",
            )?;
            config.push(("device".into(), recordings::ConfigValue::Text("hardware".into())));
            config.push(("pattern_gen_port".into(), recordings::ConfigValue::Text(port.clone())));
            let tagger = Limited::new(StreamTimeTagger::new(usb), args.duration);
            let source = format!("boards: pattern generator {port}, USB tagger");
            record(&args, Box::new(UartPatternGenerator::new(serial)), tagger, source, args.pulse_rate_hz, config)
        }
    }
}

/// Configures both devices, records until the tagger's stream ends (or Ctrl-C, or a device
/// error), and closes the file with how the run ended.
fn record<T: TimeTagger + Send + 'static>(
    args: &RecordArgs,
    mut pattern_gen: Box<dyn PatternGenerator + Send>,
    mut tagger: T,
    source: String,
    pulse_rate_hz: f64,
    mut config: Vec<(String, recordings::ConfigValue)>,
) -> Result<ExitCode> {
    let seconds = args.duration.as_secs_f64();
    let pattern = PatternConfig::default();
    let settings = pattern_gen.configure(&pattern).context("configuring the pattern generator")?;
    let time_base = tagger.configure(&TaggerConfig::default()).context("configuring the time tagger")?;
    let mut engine_cfg = EngineConfig::new(settings, pulse_rate_hz);
    args.engine.apply(&mut engine_cfg, pulse_rate_hz)?;
    config.push(("pulse_rate_hz".into(), recordings::ConfigValue::Float(pulse_rate_hz)));
    config.extend(harness::recorder::engine_config_values(&engine_cfg));
    let meta = RunMeta {
        source,
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
    tagger.start().context("starting the time tagger")?;
    pattern_gen.start().context("starting the pattern generator")?;

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
            // Device time from the first tag (a board's clock does not start at zero).
            let mut first = None;
            while !stop.load(Ordering::Relaxed) && !bar.is_finished() {
                let now = last.load(Ordering::Relaxed);
                let start = *first.get_or_insert(now);
                if now == 0 && start == 0 {
                    first = None;
                }
                bar.set_position(((now - start) / 1_000_000_000).max(0) as u64);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let mut engine = Engine::new(engine_cfg);
    let report = pipeline::run(tagger, &mut engine, &PipelineConfig::default(), Some(tx), None, stop.clone());
    // The generator keeps sending otherwise; a failure here loses no data.
    if let Err(e) = pattern_gen.stop() {
        eprintln!("qkdbench record: stopping the pattern generator: {e}");
    }
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
    let text = format!(
        "recorded {} ({:?}): {tags} tags, {events} in-band events; lock {:?}, QBER Z {} X {}, {} sifted\n\
         tags={tags} events={events} gated={} sifted={} errors={}\n{}",
        args.output.display(),
        status,
        s.lock,
        pct(s.qber[0]),
        pct(s.qber[1]),
        s.counts.sifted.iter().flatten().sum::<u64>(),
        s.gated,
        s.counts.sifted.iter().flatten().sum::<u64>(),
        s.counts.errors.iter().flatten().sum::<u64>(),
        RunReport::of(&engine)
    );
    super::emit(&text)?;
    Ok(if status == RunStatus::Complete { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
