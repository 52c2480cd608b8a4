//! Opening and configuring the devices a plan names, then driving them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use drivers::pattern_gen::{PatternGenerator, UartPatternGenerator};
use drivers::time_tagger::{Limited, StreamTimeTagger, TaggerConfig, TimeTagger};
use drivers::transport::serial::{SerialLink, PATTERN_GEN_BAUD};
use drivers::transport::unix::UnixStreamLink;
use drivers::transport::usb::UsbLink;
use recordings::{ConfigValue, RunMeta};

use super::{settings_config_values, Drive, Outcome, RunPlan, SessionError};
use crate::pipeline::Observer;
use crate::settings::DeviceSelection;

fn device(what: impl Into<String>) -> impl FnOnce(drivers::DriverError) -> SessionError {
    let what = what.into();
    move |source| SessionError::Device { what, source }
}

pub(super) fn open_and_run(
    plan: &RunPlan,
    observer: &mut dyn Observer,
    stop: Arc<AtomicBool>,
) -> Result<Outcome, SessionError> {
    let s = &plan.settings;
    let g = &s.generator;
    let limit = plan.duration_s.map(Duration::from_secs_f64);
    match s.bench.selection()? {
        DeviceSelection::Sim => {
            // The run's span counts from the first tag, as on every device: the RTL bench
            // spends ~40 ms of its device time on the UART configuration before any pulse.
            let cfg = s.bench.bench_config(g.pulse_rate_hz, g.mu_full_scale, None)?;
            let mut dev = drivers::sim::open(cfg).map_err(device("opening the simulated bench"))?;
            dev.tagger.link_mut().realtime = plan.realtime;
            let source = Source {
                name: format!("simulated bench ({})", dev.tagger.link().bench().tagger_fidelity()),
                live: plan.realtime,
                notes: Vec::new(),
            };
            let started = std::time::Instant::now();
            let mut outcome = match limit {
                Some(l) => configured(plan, dev.pattern_gen, Limited::new(dev.tagger, l), source, observer, stop),
                None => configured(plan, dev.pattern_gen, dev.tagger, source, observer, stop),
            }?;
            if plan.realtime {
                let s = outcome.engine.snapshot();
                let device_s = (s.last_tag_ps - s.first_tag_ps) as f64 * 1e-12;
                outcome.notes.extend(behind_the_clock(device_s, started.elapsed().as_secs_f64()));
            }
            Ok(outcome)
        }
        DeviceSelection::Served { pattern_gen_port, tagger_socket_dir } => {
            let serial = SerialLink::open(&pattern_gen_port, PATTERN_GEN_BAUD)
                .map_err(device(format!("opening the served pattern generator at {pattern_gen_port}")))?;
            let (stream, control) = (tagger_socket_dir.join("tagger.sock"), tagger_socket_dir.join("tagger-ctl.sock"));
            let link = UnixStreamLink::connect(&stream, &control).map_err(device(format!(
                "connecting to the served tagger in {} (is `qkdbench sim serve` running?)",
                tagger_socket_dir.display()
            )))?;
            let source =
                format!("served bench: pattern generator {pattern_gen_port}, tagger {}", tagger_socket_dir.display());
            let gen: Box<dyn PatternGenerator + Send> = Box::new(UartPatternGenerator::new(serial));
            // A served bench run as fast as its client reads waits for us: analyse everything,
            // like a replay. Paced to the wall clock (or saying nothing), it is live.
            let (live, note) = served_pacing(&tagger_socket_dir);
            let source = Source { name: source, live: plan.realtime || live, notes: note.into_iter().collect() };
            let tagger = StreamTimeTagger::new(link);
            match limit {
                Some(l) => configured(plan, gen, Limited::new(tagger, l), source, observer, stop),
                None => configured(plan, gen, tagger, source, observer, stop),
            }
        }
        DeviceSelection::Hardware { pattern_gen_port, tagger_serial } => {
            let serial = SerialLink::open(&pattern_gen_port, PATTERN_GEN_BAUD).map_err(device(format!(
                "opening the pattern generator at {pattern_gen_port} (`qkdbench devices` lists the ports)"
            )))?;
            let usb = UsbLink::open(tagger_serial.as_deref()).map_err(device(
                "opening the USB time tagger (`qkdbench devices` lists them; udev/60-qkdbench.rules gives access)",
            ))?;
            let source = Source {
                name: format!("boards: pattern generator {pattern_gen_port}, USB tagger"),
                live: true,
                notes: Vec::new(),
            };
            let gen: Box<dyn PatternGenerator + Send> = Box::new(UartPatternGenerator::new(serial));
            match limit {
                Some(l) => configured(plan, gen, Limited::new(StreamTimeTagger::new(usb), l), source, observer, stop),
                None => configured(plan, gen, StreamTimeTagger::new(usb), source, observer, stop),
            }
        }
    }
}

/// The devices' description for the run: its name, whether it is live (does not wait for
/// its reader: the engine keeps up by skipping), and notes for the user.
struct Source {
    name: String,
    live: bool,
    notes: Vec<String>,
}

/// A note when a run paced to the wall clock (`--realtime`) fell behind it: the simulated
/// bench computes its stream, and a dense one (a low loss) can take longer than the device
/// time it covers. The data are right; the run only took longer than a live instrument's.
fn behind_the_clock(device_s: f64, wall_s: f64) -> Option<String> {
    let pace = device_s / wall_s;
    (wall_s > 2.0 && device_s > 0.0 && pace < 0.9).then(|| {
        format!(
            "the simulated bench could not keep to the wall clock: {device_s:.1} s of device time took {wall_s:.1} s \
             ({pace:.2}x real time; computing this stream is slower than a live instrument delivers it)"
        )
    })
}

/// Configures both devices, derives the engine's settings from what the generator took,
/// opens the recording, starts the devices and drives them.
fn configured<T: TimeTagger + Send + 'static>(
    plan: &RunPlan,
    mut pattern_gen: Box<dyn PatternGenerator + Send>,
    mut tagger: T,
    source: Source,
    observer: &mut dyn Observer,
    stop: Arc<AtomicBool>,
) -> Result<Outcome, SessionError> {
    let s = &plan.settings;
    let g = &s.generator;
    let pattern = pattern_gen.configure(&g.pattern_config()).map_err(device("configuring the pattern generator"))?;
    let time_base = tagger.configure(&TaggerConfig::default()).map_err(device("configuring the time tagger"))?;
    let engine_cfg = s.engine.engine_config(pattern, g.pulse_rate_hz, g.key_mu())?;
    let meta = plan.output.as_ref().map(|out| {
        let mut config =
            vec![("device".to_string(), ConfigValue::Text(format!("{:?}", s.bench.device).to_lowercase()))];
        if let Some(d) = plan.duration_s {
            config.push(("duration_s".into(), ConfigValue::Float(d)));
        }
        config.push(("realtime".into(), ConfigValue::Bool(plan.realtime)));
        config.push(("pulse_rate_hz".into(), ConfigValue::Float(g.pulse_rate_hz)));
        config.extend(settings_config_values(s));
        config.extend(crate::recorder::engine_config_values(&engine_cfg));
        // One attribute per name: the settings tree and the derived engine values share a
        // few (`engine.gate_width_ps`), with the same value.
        let mut seen = std::collections::HashSet::new();
        config.retain(|(k, _)| seen.insert(k.clone()));
        let meta = RunMeta {
            source: source.name.clone(),
            config_text: out.config_text.clone(),
            pattern: Some(pattern),
            pattern_mu: Some((g.mu.clone(), g.mu_full_scale)),
            time_base: (time_base.coarse_period_ps, time_base.fine_bins),
            compression: out.compression,
            scenario_text: out.scenario_text.clone(),
            pulse_rate_hz: Some(g.pulse_rate_hz),
            frame_reference: None,
            config,
        };
        (meta, out)
    });
    // A live device (the boards, a served bench paced to the wall clock, the simulated
    // bench paced to it) does not wait for the engine: blocks it cannot analyse in time are
    // recorded and skipped, and the snapshot says so. The fast bench and a served bench run
    // as fast as we read wait, like a replay.
    let pipeline = crate::pipeline::PipelineConfig { keep_up: source.live, ..plan.pipeline.clone() };
    let drive =
        Drive { settings: s.clone(), engine_cfg, source: source.name, meta, pipeline: &pipeline, notes: source.notes };
    tagger.start().map_err(device("starting the time tagger"))?;
    pattern_gen.start().map_err(device("starting the pattern generator"))?;
    let mut stop_error = None;
    let outcome = drive.go(tagger, observer, stop, || {
        // The generator keeps sending otherwise; a failure here loses no data.
        if let Err(e) = pattern_gen.stop() {
            stop_error = Some(format!("stopping the pattern generator: {e}"));
        }
    })?;
    let mut outcome = outcome;
    outcome.notes.extend(stop_error);
    Ok(outcome)
}

/// Whether the served bench in `dir` is live (paced to the wall clock), from its `pacing`
/// file, and a note when that file does not say (missing, unreadable or unknown: then it
/// is taken as live, which costs at most analysed data, never recorded data).
fn served_pacing(dir: &std::path::Path) -> (bool, Option<String>) {
    let path = dir.join(drivers::sim::serve::PACING_FILE);
    match std::fs::read_to_string(&path).as_deref().map(str::trim) {
        Ok("as-fast-as-possible") => (false, None),
        Ok("realtime") => (true, None),
        Ok(other) => (
            true,
            Some(format!(
                "{}: says {:?}, not `realtime` or `as-fast-as-possible`: the served bench was taken as live (paced to the wall clock)",
                path.display(),
                other.chars().take(40).collect::<String>()
            )),
        ),
        Err(e) => (
            true,
            Some(format!(
                "{}: {e}: the served bench was taken as live (paced to the wall clock); `qkdbench sim serve` writes this file",
                path.display()
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_paced_run_that_fell_behind_the_clock_says_so() {
        let note = super::behind_the_clock(3.0, 10.2).expect("a note");
        assert!(note.contains("3.0 s of device time took 10.2 s (0.29x real time"), "{note}");
        // Kept pace (start-up aside), or too short to tell: nothing to say.
        assert_eq!(super::behind_the_clock(3.0, 3.2), None);
        assert_eq!(super::behind_the_clock(1.0, 1.9), None);
        assert_eq!(super::behind_the_clock(0.0, 5.0), None);
    }
}
