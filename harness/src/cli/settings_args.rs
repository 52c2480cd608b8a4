//! The flags every command that runs a session shares (the model is probe-rs-tools'
//! `common_options.rs`): the device, the simulated bench's physics, the generator and the
//! engine. Each group turns into the matching part of [`harness::settings::Settings`]; the
//! checks live there, and an error is reported with the flag the user typed.

use std::path::PathBuf;

use clap::Args;
use harness::settings::{
    BoundKind, ChannelKind, ChannelSettings, DeviceKind, EngineOverrides, FidelityKind, KeyBasis, SettingError,
    Settings, SyncKind,
};

/// Which devices to use.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Device")]
pub struct DeviceArgs {
    /// Where the tags come from: `sim` (the simulated bench in this process), `served` (a
    /// bench hosted by `qkdbench sim serve`) or `hardware` (the boards).
    #[arg(long, value_enum, default_value = "sim")]
    pub device: DeviceKind,
    /// Serial port of the pattern generator (served: the pty `sim serve` printed; hardware:
    /// e.g. /dev/ttyUSB0).
    #[arg(long, value_name = "PATH", required_if_eq_any([("device", "served"), ("device", "hardware")]))]
    pub pattern_gen_port: Option<String>,
    /// Folder of the served bench's tagger.sock and tagger-ctl.sock.
    #[arg(long, value_name = "DIR", required_if_eq("device", "served"))]
    pub tagger_socket_dir: Option<PathBuf>,
    /// Serial number of the USB tagger (hardware; default: the first one found).
    #[arg(long, value_name = "SERIAL")]
    pub tagger_serial: Option<String>,
}

/// The simulated bench's physics.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Simulated bench")]
pub struct BenchArgs {
    /// FPGA implementation: fast (golden models, event-driven) or rtl (Verilator).
    #[arg(long, value_enum, default_value = "fast")]
    pub fidelity: FidelityKind,
    /// Constant channel loss, dB (ignored with --pass or --orbit-max-elevation-deg).
    #[arg(long, value_name = "DB", default_value_t = 30.0, allow_negative_numbers = true)]
    pub loss_db: f64,
    /// A measured pass: a folder with micius2017_track.csv and micius2017_link_efficiency.csv
    /// (the format of shared/data/passes).
    #[arg(long, value_name = "DIR", conflicts_with = "orbit_max_elevation_deg")]
    pub pass: Option<PathBuf>,
    /// A circular 500 km orbit with this maximum elevation, degrees (10-90).
    #[arg(long, value_name = "DEG", allow_negative_numbers = true)]
    pub orbit_max_elevation_deg: Option<f64>,
    /// Polarisation misalignment of both bases (probability of the wrong detector, 0-0.5).
    #[arg(long, value_name = "P", default_value_t = 0.01, allow_negative_numbers = true)]
    pub misalignment: f64,
    /// The tagger's clock error, parts per million.
    #[arg(long, value_name = "PPM", default_value_t = 0.0, allow_negative_numbers = true)]
    pub tagger_ppm: f64,
    /// Seed of the optics' random draws, 0 to 2^63-1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    pub seed: u64,
}

/// The transmitter.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Generator")]
pub struct GeneratorArgs {
    /// Pulse rate of the transmitter, Hz (default 1e8).
    #[arg(long, value_name = "HZ", allow_negative_numbers = true)]
    pub pulse_rate_hz: Option<f64>,
    /// Mean photon number per intensity class, comma separated (default 0.8,0.1,0: signal,
    /// decoy, vacuum). The finite key uses these.
    #[arg(long, value_name = "MU,...", value_delimiter = ',', allow_negative_numbers = true)]
    pub mu: Option<Vec<f64>>,
    /// Probability of each intensity class, comma separated (default 0.5,0.25,0.25).
    #[arg(long, value_name = "P,...", value_delimiter = ',', allow_negative_numbers = true)]
    pub class_probabilities: Option<Vec<f64>>,
}

/// The engine.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Engine")]
pub struct EngineArgs {
    /// Gate width around each detector's expected arrival, ps (default 1000; at most the
    /// pulse period).
    #[arg(long, value_name = "PS", allow_negative_numbers = true)]
    pub gate_width_ps: Option<f64>,
    /// Length of a metrics window (QBER, counts and finite key per window), ms of pulses at
    /// the nominal rate (default 100).
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub window_ms: Option<f64>,
    /// Finite key: secrecy parameter eps_sec (default 1e-10).
    #[arg(long, value_name = "EPS", allow_negative_numbers = true)]
    pub eps_sec: Option<f64>,
    /// Finite key: correctness parameter eps_cor (default 1e-15).
    #[arg(long, value_name = "EPS", allow_negative_numbers = true)]
    pub eps_cor: Option<f64>,
    /// Finite key: error-correction efficiency f_EC, 1-10 (leak = f_EC n_X h(QBER_X); default 1.16).
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub f_ec: Option<f64>,
    /// Finite key: the basis the key comes from (default x; the phase error is estimated in the other).
    #[arg(long, value_enum)]
    pub key_basis: Option<KeyBasis>,
    /// Finite key: the concentration bound (default chernoff).
    #[arg(long, value_enum)]
    pub bound: Option<BoundKind>,
    /// Where the timing comes from (default channel): the sync channel and frame marks, or
    /// the detections alone (qubit-based sync, for links without a sync channel; sync tags
    /// are then only counted).
    #[arg(long, value_enum)]
    pub sync: Option<SyncKind>,
    /// Threads of the engine's block pass (default: every core). The results are the same,
    /// bit for bit, whatever the number; only the speed changes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
}

impl EngineArgs {
    /// No engine flags (commands without an engine).
    pub fn none() -> Self {
        EngineArgs {
            gate_width_ps: None,
            window_ms: None,
            eps_sec: None,
            eps_cor: None,
            f_ec: None,
            key_basis: None,
            bound: None,
            sync: None,
            threads: None,
        }
    }

    /// The pipeline `base` with `--threads`, when given.
    pub fn pipeline(&self, base: harness::pipeline::PipelineConfig) -> harness::pipeline::PipelineConfig {
        match self.threads {
            Some(n) => harness::pipeline::PipelineConfig { engine_threads: n.into(), ..base },
            None => base,
        }
    }

    /// The flags given, as overrides.
    pub fn overrides(&self) -> EngineOverrides {
        EngineOverrides {
            gate_width_ps: self.gate_width_ps,
            window_ms: self.window_ms,
            eps_sec: self.eps_sec,
            eps_cor: self.eps_cor,
            f_ec: self.f_ec,
            key_basis: self.key_basis,
            bound: self.bound,
            sync: self.sync,
        }
    }
}

/// The settings the flags describe, over the defaults.
pub fn settings(
    device: Option<&DeviceArgs>,
    bench: &BenchArgs,
    generator: &GeneratorArgs,
    engine: &EngineArgs,
) -> Settings {
    let mut s = Settings::default();
    if let Some(d) = device {
        s.bench.device = d.device;
        s.bench.pattern_gen_port = d.pattern_gen_port.clone();
        s.bench.tagger_socket_dir = d.tagger_socket_dir.clone();
        s.bench.tagger_serial = d.tagger_serial.clone();
    }
    s.bench.fidelity = bench.fidelity;
    s.bench.seed = bench.seed;
    s.bench.tagger_clock_ppm = bench.tagger_ppm;
    s.bench.receiver.misalignment = [bench.misalignment; 2];
    s.bench.channel = if let Some(dir) = &bench.pass {
        ChannelSettings::micius_pass(dir)
    } else if let Some(el) = bench.orbit_max_elevation_deg {
        ChannelSettings { kind: ChannelKind::Orbit, max_elevation_deg: el, ..Default::default() }
    } else {
        ChannelSettings { loss_db: bench.loss_db, ..Default::default() }
    };
    if let Some(r) = generator.pulse_rate_hz {
        s.generator.pulse_rate_hz = r;
    }
    if let Some(mu) = &generator.mu {
        s.generator.mu = mu.clone();
    }
    if let Some(p) = &generator.class_probabilities {
        s.generator.class_probabilities = p.clone();
    }
    engine.overrides().apply(&mut s.engine);
    s
}

/// The flag that sets a settings field, for messages in the user's terms.
pub fn flag_of(field: &str) -> Option<&'static str> {
    Some(match field {
        "bench.pattern_gen_port" => "--pattern-gen-port",
        "bench.tagger_socket_dir" => "--tagger-socket-dir",
        "bench.channel.loss_db" => "--loss-db",
        "bench.channel.max_elevation_deg" | "bench.channel.min_elevation_deg" => "--orbit-max-elevation-deg",
        "bench.channel.track_csv" | "bench.channel.link_csv" => "--pass",
        "bench.receiver.misalignment" => "--misalignment",
        "bench.tagger_clock_ppm" => "--tagger-ppm",
        "generator.pulse_rate_hz" => "--pulse-rate-hz",
        "generator.mu" => "--mu",
        "generator.class_probabilities" => "--class-probabilities",
        "engine.gate_width_ps" => "--gate-width-ps",
        "engine.window_ms" => "--window-ms",
        "engine.eps_sec" | "engine.key.eps_sec" => "--eps-sec",
        "engine.eps_cor" | "engine.key.eps_cor" => "--eps-cor",
        "engine.f_ec" | "engine.key.f_ec" => "--f-ec",
        "duration_s" => "--duration",
        _ => return None,
    })
}

/// A settings error in the terms of the command line: the flag, else the field.
pub fn in_flag_terms(e: &SettingError) -> String {
    match flag_of(&e.field) {
        Some(flag) => format!("{flag}: {}", e.reason),
        None => e.to_string(),
    }
}
