//! The engine's settings, and the check that they make sense together. Everything that
//! depends on the pulse rate is derived from one figure in [`EngineConfig::new`].

use drivers::ChannelMap;
use rtl::model::pattern_gen::PatternSettings;

use super::clock::ClockConfig;
use super::qubit_sync::QubitSyncConfig;
use super::windows::KeyConfig;

/// Pulse rates the engine accepts, Hz. Below 100 kHz the arrival histogram (10 ps bins over a
/// period) and the squared residuals would outgrow their types; above 10 GHz the period is
/// shorter than any tagger's resolution.
pub const PULSE_RATE_RANGE_HZ: (f64, f64) = (1e5, 1e10);

/// A setting the engine cannot run with; `field` names it as in [`EngineConfig`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("engine setting {field}: {reason}")]
pub struct ConfigError {
    /// The field, e.g. `gate_width_ps` or `key.eps_sec`.
    pub field: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Clock recovery.
    pub clock: ClockConfig,
    /// The generator's settings: symbol(i) is computed from them.
    pub pattern: PatternSettings,
    /// Gate width around each expected arrival, ps.
    pub gate_width_ps: f64,
    /// Which tagger input carries each detector, the sync and the frame mark.
    pub channels: ChannelMap,
    /// Keep (time, detector, pulse index) of every gated detection (tests, debugging).
    pub log_assignments: bool,
    /// Pulses per metrics window (100 ms at the nominal rate by default).
    pub window_pulses: i64,
    /// Where the timing comes from.
    pub sync: SyncMode,
    /// Finite-key settings.
    pub key: KeyConfig,
}

/// Where the engine's timing comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SyncMode {
    /// The sync channel and frame marks.
    Channel,
    /// The detections themselves (no sync hardware); the generator must start at most
    /// `max_start_lead_s` before the first detection.
    Qubit(QubitSyncConfig),
}

impl EngineConfig {
    /// Settings for a generator programmed with `pattern`, at `pulse_rate_hz`: the clock's
    /// nominal period, the 100 ms metrics window and the default gate, key and channel map.
    pub fn new(pattern: PatternSettings, pulse_rate_hz: f64) -> Self {
        EngineConfig {
            clock: ClockConfig::new(1e12 / pulse_rate_hz, pattern.sync_period, pattern.frame_period),
            pattern,
            gate_width_ps: 1000.0,
            channels: ChannelMap::BENCH,
            log_assignments: false,
            window_pulses: ((pulse_rate_hz * 0.1).round() as i64).max(1),
            sync: SyncMode::Channel,
            key: KeyConfig::default(),
        }
    }

    /// The nominal pulse rate, Hz.
    pub fn pulse_rate_hz(&self) -> f64 {
        1e12 / self.clock.pulse_period_ps
    }

    /// Sets the metrics window to `window_ms` of pulses at the nominal rate.
    pub fn set_window_ms(&mut self, window_ms: f64) {
        self.window_pulses = ((window_ms * 1e-3 * self.pulse_rate_hz()).round() as i64).max(1);
    }

    /// Takes the timing from the detections (qubit-based sync) at the nominal rate.
    pub fn use_qubit_sync(&mut self) {
        self.sync = SyncMode::Qubit(QubitSyncConfig::new(self.clock.pulse_period_ps));
    }

    /// Checks every setting and that they agree with each other; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, reason: String| Err(ConfigError { field, reason });
        let rate = self.pulse_rate_hz();
        let (lo, hi) = PULSE_RATE_RANGE_HZ;
        if !(rate.is_finite() && (lo..=hi).contains(&rate)) {
            return bad(
                "clock.pulse_period_ps",
                format!("{} ps is a pulse rate of {rate} Hz, outside {lo}..={hi} Hz", self.clock.pulse_period_ps),
            );
        }
        let period = self.clock.pulse_period_ps;
        if !(self.gate_width_ps.is_finite() && self.gate_width_ps > 0.0 && self.gate_width_ps <= period) {
            return bad(
                "gate_width_ps",
                format!("{} ps is not in (0, {period}] (the pulse period at {rate} Hz)", self.gate_width_ps),
            );
        }
        if self.window_pulses < 1 {
            return bad("window_pulses", format!("{} is not at least 1", self.window_pulses));
        }
        if self.clock.sync_period_pulses == 0 || self.clock.frame_period_syncs == 0 {
            return bad("clock.sync_period_pulses", "sync and frame periods must be at least 1".into());
        }
        if self.clock.sync_period_pulses != self.pattern.sync_period
            || self.clock.frame_period_syncs != self.pattern.frame_period
        {
            return bad(
                "clock.sync_period_pulses",
                format!(
                    "the clock expects a sync every {} pulses and a frame every {} syncs, the generator sends {} and {}",
                    self.clock.sync_period_pulses, self.clock.frame_period_syncs, self.pattern.sync_period, self.pattern.frame_period
                ),
            );
        }
        if let Err((field, reason)) = self.channels.validate() {
            return bad(
                if field == "sync" {
                    "channels.sync"
                } else if field == "frame" {
                    "channels.frame"
                } else {
                    "channels.detectors_hvda"
                },
                reason,
            );
        }
        if let SyncMode::Qubit(q) = &self.sync {
            if (q.pulse_period_ps - period).abs() > 1e-9 * period {
                return bad(
                    "sync",
                    format!("qubit sync searches around {} ps but the pulse period is {period} ps", q.pulse_period_ps),
                );
            }
        }
        let k = &self.key;
        let open01 = |x: f64| x.is_finite() && x > 0.0 && x < 1.0;
        if !(open01(k.eps_sec) && k.eps_sec >= 1e-300) {
            return bad("key.eps_sec", format!("{} is not in (1e-300, 1)", k.eps_sec));
        }
        if !(open01(k.eps_cor) && k.eps_cor >= 1e-300) {
            return bad("key.eps_cor", format!("{} is not in (1e-300, 1)", k.eps_cor));
        }
        if !(k.f_ec.is_finite() && (1.0..=10.0).contains(&k.f_ec)) {
            return bad("key.f_ec", format!("{} is not in 1..=10", k.f_ec));
        }
        if k.mu.iter().any(|m| !(m.is_finite() && *m >= 0.0 && *m <= 100.0)) {
            return bad("key.mu", format!("{:?}: each must be in 0..=100", k.mu));
        }
        if k.key_basis > 1 {
            return bad("key.key_basis", format!("{} is neither 0 (Z) nor 1 (X)", k.key_basis));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_each_bad_value_is_named() {
        let p = PatternSettings::default();
        let ok = EngineConfig::new(p, 100e6);
        ok.validate().unwrap();
        assert_eq!(ok.window_pulses, 10_000_000);
        let field = |f: &dyn Fn(&mut EngineConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            c.validate().unwrap_err().field
        };
        assert_eq!(field(&|c| c.gate_width_ps = 20_000.0), "gate_width_ps");
        assert_eq!(field(&|c| c.gate_width_ps = f64::NAN), "gate_width_ps");
        assert_eq!(field(&|c| c.clock.pulse_period_ps = 1e12), "clock.pulse_period_ps");
        assert_eq!(field(&|c| c.key.eps_sec = 1e-320), "key.eps_sec");
        assert_eq!(field(&|c| c.key.f_ec = 1e308), "key.f_ec");
        assert_eq!(field(&|c| c.key.mu = [800.0, 0.1, 0.0]), "key.mu");
        assert_eq!(field(&|c| c.channels.sync = 0), "channels.detectors_hvda");
        assert_eq!(field(&|c| c.clock.sync_period_pulses = 7), "clock.sync_period_pulses");
        assert_eq!(
            field(&|c| c.sync = SyncMode::Qubit(QubitSyncConfig::new(5_000.0))),
            "sync",
            "qubit sync must search at the configured rate"
        );
        let mut at_1ghz = EngineConfig::new(p, 1e9);
        at_1ghz.use_qubit_sync();
        at_1ghz.gate_width_ps = 500.0;
        at_1ghz.validate().unwrap();
    }
}
