//! `qkdbench demo`: a satellite pass on the simulated bench, through the real drivers and
//! the engine (one session), with the finite-key length at the end.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use drivers::sim::ChannelModel;
use harness::pipeline::{Flow, Observer, PipelineConfig, Update};
use harness::session::{self, RunPlan};
use harness::settings::{ChannelKind, ChannelSettings, Settings};

use super::session_error;

/// Arguments of `qkdbench demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder of the pass tables (micius2017_track.csv, micius2017_link_efficiency.csv);
    /// without them a 500 km circular orbit is flown.
    #[arg(long, default_value = "../shared/data/passes")]
    pass: PathBuf,
    /// Print a status line every this many seconds of device time (at least 0.1).
    #[arg(long, value_name = "S", default_value_t = 20.0)]
    every_s: f64,
    /// Status lines even on a terminal (without a terminal they are the default).
    #[arg(long)]
    plain: bool,
    /// In the live view, fly the pass as fast as the machine goes (about 20x real time
    /// here) instead of in real time.
    #[arg(long)]
    fast: bool,
}

/// Prints a line per `every_s` of device time from the engine's metric windows (exact
/// device-time intervals, whatever the wall-clock pace).
struct Lines {
    channel: ChannelModel,
    every_s: f64,
    /// Length of a metrics window, s (a whole number of pulses).
    window_s: f64,
    pulse_rate_hz: f64,
    next_print_s: f64,
    sifted: [u64; 2],
    errors: [u64; 2],
    since_s: f64,
}

impl Lines {
    fn line(&mut self, t_s: f64, u: &Update<'_>) {
        let dt = (t_s - self.since_s).max(1e-9);
        let n: u64 = self.sifted.iter().sum();
        let q = |b: usize| {
            if self.sifted[b] == 0 {
                "  -   ".to_string()
            } else {
                format!("{:5.2}%", 100.0 * self.errors[b] as f64 / self.sifted[b] as f64)
            }
        };
        let s = u.snapshot;
        super::outln!(
            "t {t_s:6.1} s  range {:7.1} km  {:<8}  pulse rate offset {:+.2e}  sifted {:6.2} kbit/s  QBER Z {} X {}",
            self.channel.range_km(t_s),
            format!("{:?}", s.lock).to_lowercase(),
            s.rate_offset,
            n as f64 / dt / 1e3,
            q(0),
            q(1),
        );
        self.sifted = [0; 2];
        self.errors = [0; 2];
        self.since_s = t_s;
    }
}

impl Observer for Lines {
    fn update(&mut self, u: &Update<'_>) -> Flow {
        for w in u.windows {
            let end_s = (w.index + 1) as f64 * self.window_s;
            while end_s > self.next_print_s + 1e-9 {
                let t = self.next_print_s;
                self.line(t, u);
                self.next_print_s += self.every_s;
            }
            for b in 0..2 {
                self.sifted[b] += w.counts.sifted.iter().map(|k| k[b]).sum::<u64>();
                self.errors[b] += w.counts.errors.iter().map(|k| k[b]).sum::<u64>();
            }
        }
        if u.last {
            let end_s = (u.snapshot.last_pulse + 1) as f64 / self.pulse_rate_hz;
            self.line(end_s.max(self.since_s), u);
        }
        Flow::Continue
    }
}

/// Runs `qkdbench demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    if !(args.every_s.is_finite() && args.every_s >= 0.1) {
        bail!(super::Exit { code: 2, message: format!("--every-s {}: must be at least 0.1", args.every_s) });
    }
    let mut settings = Settings::default();
    let pass = ChannelSettings::micius_pass(&args.pass);
    let name = match pass.model() {
        Ok(_) => {
            settings.bench.channel = pass;
            "the Micius pass of Liao et al. 2017 (274 s, 1196 -> 645 -> 1189 km)".to_string()
        }
        Err(e) => {
            super::errln!("({}; flying a circular orbit instead)", e.reason);
            settings.bench.channel = ChannelSettings { kind: ChannelKind::Orbit, ..Default::default() };
            "a 500 km circular orbit, 60 deg maximum elevation".to_string()
        }
    };
    settings.bench.tagger_clock_ppm = 2.0;
    let g = &settings.generator;
    super::outln!("qkdbench demo: decoy-state BB84 over {name}");
    super::outln!(
        "  source {} MHz, mu {} with p {}, sync {} kHz; detectors {}%, {} Hz dark, {} Hz background\n",
        g.pulse_rate_hz / 1e6,
        join(&g.mu),
        join(&g.class_probabilities),
        g.pulse_rate_hz / f64::from(g.sync_period_pulses) / 1e3,
        settings.bench.detectors.efficiency * 100.0,
        settings.bench.detectors.dark_rate_hz,
        settings.bench.background_rate_hz,
    );
    let channel = settings.bench.channel.model().map_err(|e| anyhow::anyhow!("{e}"))?;
    if !args.plain && std::io::stdout().is_terminal() {
        let what = if name.starts_with("the Micius") { "Micius 2017 pass" } else { "circular orbit (no pass data)" };
        return tui(settings, channel, args.fast, what);
    }
    let pulse_rate_hz = settings.generator.pulse_rate_hz;
    let window_pulses = (settings.engine.window_ms * 1e-3 * pulse_rate_hz).round().max(1.0);
    let mut lines = Lines {
        channel,
        every_s: args.every_s,
        window_s: window_pulses / pulse_rate_hz,
        pulse_rate_hz,
        next_print_s: args.every_s,
        sifted: [0; 2],
        errors: [0; 2],
        since_s: 0.0,
    };
    let plan = RunPlan { pipeline: PipelineConfig::default(), ..RunPlan::new(settings, None) };
    let wall = Instant::now();
    let outcome = session::run(&plan, &mut lines, Arc::new(AtomicBool::new(false))).map_err(session_error)?;
    let s = outcome.engine.snapshot();
    let sifted: u64 = s.counts.sifted.iter().flatten().sum();
    super::outln!(
        "\npass over in {:.1} s of wall time: {} pulses, {} gated detections, {} sifted, QBER Z {:.2}% X {:.2}%, timing residual {:.0} ps RMS",
        wall.elapsed().as_secs_f64(),
        s.last_pulse + 1,
        s.gated,
        sifted,
        100.0 * s.qber[0].unwrap_or(f64::NAN),
        100.0 * s.qber[1].unwrap_or(f64::NAN),
        s.residual_rms_ps.unwrap_or(f64::NAN),
    );
    match outcome.engine.run_key() {
        Some(k) => super::outln!(
            "finite-key (Lim et al. 2014, Chernoff bounds, eps_sec 1e-10, one block per pass): {} secure bits (s_X1 {:.0}, phase error {:.2}%)",
            k.key_length_bits,
            k.s_x1,
            100.0 * k.phi_x
        ),
        None => super::outln!("finite-key: not computable from these counts"),
    }
    Ok(())
}

fn join(v: &[f64]) -> String {
    v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" / ")
}

/// The demo in the live view: the pass panel shows where the satellite is.
fn tui(settings: Settings, channel: ChannelModel, fast: bool, what: &str) -> Result<()> {
    let info = harness::tui::RunInfo {
        title: "demo".into(),
        device: format!("sim · {what}"),
        pulse_rate_hz: settings.generator.pulse_rate_hz,
        mu: settings.generator.mu.clone(),
        gate_width_ps: settings.engine.gate_width_ps,
        pass: Some(channel),
        can_record: false,
        record_path: None,
        duration_s: None,
    };
    let plan = RunPlan { realtime: !fast, ..RunPlan::new(settings, None) };
    let ended = super::live::show(info, None, plan.pipeline.clone(), move |observer, pipeline, stop| {
        session::run(&RunPlan { pipeline, ..plan }, observer, stop)
    })?;
    super::live::finish("demo", ended).map(|_| ())
}
