//! Engine settings a user may change on the command line (`record`, `replay`): the gate,
//! the metrics window and the finite-key parameters. Ranges are checked by clap (exit 2,
//! the flag named); the gate against the pulse period once the rate is known.

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use harness::engine::finite_key::Bound;
use harness::engine::qubit_sync::QubitSyncConfig;
use harness::engine::{EngineConfig, SyncMode};

/// Flags of the engine.
#[derive(Debug, Args)]
#[command(next_help_heading = "Engine")]
pub struct EngineArgs {
    /// Gate width around each detector's expected arrival, ps (at most the pulse period).
    #[arg(long, value_name = "PS", default_value_t = 1000.0, value_parser = positive, allow_negative_numbers = true)]
    pub gate_width_ps: f64,
    /// Length of a metrics window (QBER, counts and finite key per window), ms of pulses at
    /// the nominal rate.
    #[arg(long, value_name = "MS", default_value_t = 100.0, value_parser = positive, allow_negative_numbers = true)]
    pub window_ms: f64,
    /// Finite key: secrecy parameter eps_sec.
    #[arg(long, value_name = "EPS", default_value_t = 1e-10, value_parser = probability)]
    pub eps_sec: f64,
    /// Finite key: correctness parameter eps_cor.
    #[arg(long, value_name = "EPS", default_value_t = 1e-15, value_parser = probability)]
    pub eps_cor: f64,
    /// Finite key: error-correction efficiency f_EC (leak = f_EC n_X h(QBER_X)), at least 1.
    #[arg(long, value_name = "F", default_value_t = 1.16, value_parser = at_least_one)]
    pub f_ec: f64,
    /// Finite key: the basis the key comes from (the phase error is estimated in the other).
    #[arg(long, value_enum, default_value = "x")]
    pub key_basis: KeyBasis,
    /// Finite key: the concentration bound.
    #[arg(long, value_enum, default_value = "chernoff")]
    pub bound: BoundArg,
    /// Where the timing comes from: the sync channel and frame marks, or the detections
    /// alone (qubit-based sync, for links without a sync channel; sync tags are then only
    /// counted).
    #[arg(long, value_enum, default_value = "channel")]
    pub sync: SyncArg,
}

/// The engine's timing source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncArg {
    /// The sync channel and frame marks.
    Channel,
    /// The detections themselves (Calderaro et al. 2020).
    Qubit,
}

/// The key basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyBasis {
    /// Z (rectilinear: H, V).
    Z,
    /// X (diagonal: D, A).
    X,
}

/// The finite-key concentration bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BoundArg {
    /// Hoeffding (Lim et al. 2014).
    Hoeffding,
    /// Chernoff (Yin et al. 2020): tighter for small counts.
    Chernoff,
}

fn number(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if !x.is_finite() {
        return Err(format!("{s} is not a finite number"));
    }
    Ok(x)
}

fn positive(s: &str) -> Result<f64, String> {
    number(s).and_then(|x| if x > 0.0 { Ok(x) } else { Err(format!("must be > 0, got {x}")) })
}

fn probability(s: &str) -> Result<f64, String> {
    number(s).and_then(|x| if x > 0.0 && x < 1.0 { Ok(x) } else { Err(format!("must be between 0 and 1, got {x}")) })
}

fn at_least_one(s: &str) -> Result<f64, String> {
    number(s).and_then(|x| if x >= 1.0 { Ok(x) } else { Err(format!("must be at least 1, got {x}")) })
}

impl EngineArgs {
    /// Writes the flags into `cfg` (made for `pulse_rate_hz`).
    pub fn apply(&self, cfg: &mut EngineConfig, pulse_rate_hz: f64) -> Result<()> {
        let period_ps = 1e12 / pulse_rate_hz;
        if self.gate_width_ps > period_ps {
            bail!(
                "--gate-width-ps {} is wider than the pulse period ({period_ps} ps at {pulse_rate_hz} Hz)",
                self.gate_width_ps
            );
        }
        cfg.gate_width_ps = self.gate_width_ps;
        cfg.window_pulses = ((self.window_ms * 1e-3 * pulse_rate_hz).round() as i64).max(1);
        cfg.key.eps_sec = self.eps_sec;
        cfg.key.eps_cor = self.eps_cor;
        cfg.key.f_ec = self.f_ec;
        cfg.key.key_basis = match self.key_basis {
            KeyBasis::Z => 0,
            KeyBasis::X => 1,
        };
        cfg.key.bound = match self.bound {
            BoundArg::Hoeffding => Bound::Hoeffding,
            BoundArg::Chernoff => Bound::Chernoff,
        };
        if self.sync == SyncArg::Qubit {
            cfg.sync = SyncMode::Qubit(QubitSyncConfig { pulse_period_ps: period_ps, ..QubitSyncConfig::default() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        engine: EngineArgs,
    }

    #[test]
    fn defaults_are_the_engine_defaults() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        let settings = rtl::model::pattern_gen::PatternSettings::default();
        let mut cfg = EngineConfig::new(settings, 100e6);
        let before = cfg.clone();
        cli.engine.apply(&mut cfg, 100e6).unwrap();
        assert_eq!(format!("{cfg:?}"), format!("{before:?}"));
    }

    #[test]
    fn flags_reach_the_config_and_bad_values_name_the_flag() {
        let cli =
            Cli::try_parse_from(["x", "--gate-width-ps", "400", "--key-basis", "z", "--bound", "hoeffding"]).unwrap();
        let mut cfg = EngineConfig::new(rtl::model::pattern_gen::PatternSettings::default(), 100e6);
        cli.engine.apply(&mut cfg, 100e6).unwrap();
        assert_eq!((cfg.gate_width_ps, cfg.key.key_basis, cfg.key.bound), (400.0, 0, Bound::Hoeffding));
        for (flag, value) in [("--eps-sec", "1.5"), ("--f-ec", "0.9"), ("--gate-width-ps", "-3"), ("--window-ms", "x")]
        {
            let e = Cli::try_parse_from(["x", flag, value]).unwrap_err().to_string();
            assert!(e.contains(flag), "{e}");
        }
        let wide = Cli::try_parse_from(["x", "--gate-width-ps", "20000"]).unwrap();
        let e = wide.engine.apply(&mut cfg, 100e6).unwrap_err().to_string();
        assert!(e.contains("--gate-width-ps") && e.contains("pulse period"), "{e}");
    }
}
