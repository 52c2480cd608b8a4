//! How the tags are analysed: the user-facing engine settings and their derivation into the
//! engine's configuration.

use drivers::ChannelMap;
use engine::finite_key::Bound;
use engine::EngineConfig;
use recordings::ConfigValue;
use rtl::model::pattern_gen::PatternSettings;
use serde::{Deserialize, Serialize};

use super::SettingError;

/// The basis the key comes from (the phase error is estimated in the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum KeyBasis {
    /// Z (rectilinear: H, V).
    Z,
    /// X (diagonal: D, A).
    X,
}

/// The finite key's concentration bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BoundKind {
    /// Hoeffding (Lim et al. 2014).
    Hoeffding,
    /// Chernoff (Yin et al. 2020): tighter for small counts.
    Chernoff,
}

/// Where the timing comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SyncKind {
    /// The sync channel and frame marks.
    Channel,
    /// The detections alone (qubit-based sync, Calderaro et al. 2020).
    Qubit,
}

/// The engine's settings (docs/scenario-format.md, `[engine]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    /// Gate width around each detector's expected arrival, ps (at most the pulse period).
    pub gate_width_ps: f64,
    /// Length of a metrics window, ms of pulses at the nominal rate.
    pub window_ms: f64,
    /// Finite key: secrecy parameter.
    pub eps_sec: f64,
    /// Finite key: correctness parameter.
    pub eps_cor: f64,
    /// Finite key: error-correction efficiency (leak = f_EC n_X h(QBER_X)).
    pub f_ec: f64,
    /// Finite key: the key basis.
    pub key_basis: KeyBasis,
    /// Finite key: the concentration bound.
    pub bound: BoundKind,
    /// Timing source.
    pub sync: SyncKind,
    /// The tagger inputs of the detectors, sync and frame mark.
    pub channels: ChannelMap,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            gate_width_ps: 1000.0,
            window_ms: 100.0,
            eps_sec: 1e-10,
            eps_cor: 1e-15,
            f_ec: 1.16,
            key_basis: KeyBasis::X,
            bound: BoundKind::Chernoff,
            sync: SyncKind::Channel,
            channels: ChannelMap::BENCH,
        }
    }
}

impl EngineSettings {
    /// The engine's configuration for a generator programmed with `pattern` at
    /// `pulse_rate_hz`, sending intensities `mu`.
    pub fn engine_config(
        &self,
        pattern: PatternSettings,
        pulse_rate_hz: f64,
        mu: [f64; 3],
    ) -> Result<EngineConfig, SettingError> {
        self.validate(pulse_rate_hz)?;
        let mut cfg = EngineConfig::new(pattern, pulse_rate_hz);
        cfg.gate_width_ps = self.gate_width_ps;
        cfg.set_window_ms(self.window_ms);
        cfg.channels = self.channels;
        cfg.key.mu = mu;
        cfg.key.eps_sec = self.eps_sec;
        cfg.key.eps_cor = self.eps_cor;
        cfg.key.f_ec = self.f_ec;
        cfg.key.key_basis = match self.key_basis {
            KeyBasis::Z => 0,
            KeyBasis::X => 1,
        };
        cfg.key.bound = match self.bound {
            BoundKind::Hoeffding => Bound::Hoeffding,
            BoundKind::Chernoff => Bound::Chernoff,
        };
        if self.sync == SyncKind::Qubit {
            cfg.use_qubit_sync();
        }
        cfg.validate().map_err(|e| SettingError::new(format!("engine.{}", e.field), e.reason))?;
        Ok(cfg)
    }

    /// Checks every field at `pulse_rate_hz`; the error names it as `engine.<field>`.
    pub fn validate(&self, pulse_rate_hz: f64) -> Result<(), SettingError> {
        let bad = |f: &str, r: String| Err(SettingError::new(format!("engine.{f}"), r));
        let period_ps = 1e12 / pulse_rate_hz;
        if !(self.gate_width_ps.is_finite() && self.gate_width_ps > 0.0 && self.gate_width_ps <= period_ps) {
            return bad(
                "gate_width_ps",
                format!(
                    "{} ps is not in (0, {period_ps}] (the pulse period at {pulse_rate_hz} Hz)",
                    self.gate_width_ps
                ),
            );
        }
        // At least 10 ms: the engine keeps the last 100,000 windows and the recording every
        // one; shorter windows only multiply rows (and memory) without a useful count in each.
        if !(self.window_ms.is_finite() && (10.0..=3.6e6).contains(&self.window_ms)) {
            return bad("window_ms", format!("{} is not in 10..=3.6e6 ms", self.window_ms));
        }
        for (f, x) in [("eps_sec", self.eps_sec), ("eps_cor", self.eps_cor)] {
            if !(x.is_finite() && (1e-300..1.0).contains(&x)) {
                return bad(f, format!("{x} is not in [1e-300, 1)"));
            }
        }
        if !(self.f_ec.is_finite() && (1.0..=10.0).contains(&self.f_ec)) {
            return bad("f_ec", format!("{} is not in 1..=10", self.f_ec));
        }
        if let Err((f, r)) = self.channels.validate() {
            return bad(&format!("channels.{f}"), r);
        }
        Ok(())
    }

    /// The settings a recording's `/config` holds (`engine.*`), over the defaults: a replay
    /// analyses a recording as it was analysed live. Returns the settings and the names of
    /// the fields the file had.
    pub fn from_config_values(
        values: &[(String, ConfigValue)],
        pulse_rate_hz: f64,
    ) -> Result<(Self, Vec<&'static str>), SettingError> {
        let mut s = EngineSettings::default();
        let mut found = Vec::new();
        let get = |name: &str| values.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        // A value of the wrong type or an unknown word is damage, never a silent default.
        let num = |name: &'static str| -> Result<Option<f64>, SettingError> {
            match get(name) {
                None => Ok(None),
                Some(ConfigValue::Float(x)) => Ok(Some(*x)),
                Some(ConfigValue::Int(i)) => Ok(Some(*i as f64)),
                Some(other) => Err(SettingError::new(format!("/config {name}"), format!("{other:?} is not a number"))),
            }
        };
        let word = |name: &'static str, allowed: &[&str]| -> Result<Option<String>, SettingError> {
            match get(name) {
                None => Ok(None),
                Some(ConfigValue::Text(t)) if allowed.contains(&t.to_ascii_lowercase().as_str()) => {
                    Ok(Some(t.to_ascii_lowercase()))
                }
                Some(other) => Err(SettingError::new(
                    format!("/config {name}"),
                    format!("{other:?} is none of {}", allowed.join(", ")),
                )),
            }
        };
        if let Some(x) = num("engine.gate_width_ps")? {
            s.gate_width_ps = x;
            found.push("gate_width_ps");
        }
        if let Some(x) = num("engine.window_pulses")? {
            s.window_ms = x / pulse_rate_hz * 1e3;
            found.push("window_ms");
        }
        if let Some(x) = num("engine.key.eps_sec")? {
            s.eps_sec = x;
            found.push("eps_sec");
        }
        if let Some(x) = num("engine.key.eps_cor")? {
            s.eps_cor = x;
            found.push("eps_cor");
        }
        if let Some(x) = num("engine.key.f_ec")? {
            s.f_ec = x;
            found.push("f_ec");
        }
        match word("engine.key.key_basis", &["z", "x"])?.as_deref() {
            Some("z") => s.key_basis = KeyBasis::Z,
            Some(_) => s.key_basis = KeyBasis::X,
            None => {}
        }
        match word("engine.key.bound", &["hoeffding", "chernoff"])?.as_deref() {
            Some("hoeffding") => s.bound = BoundKind::Hoeffding,
            Some(_) => s.bound = BoundKind::Chernoff,
            None => {}
        }
        match word("engine.sync_mode", &["channel", "qubit"])?.as_deref() {
            Some("qubit") => s.sync = SyncKind::Qubit,
            Some(_) => s.sync = SyncKind::Channel,
            None => {}
        }
        let chan = |name: &'static str| -> Result<Option<u8>, SettingError> {
            match num(name)? {
                None => Ok(None),
                Some(x) if (0.0..8.0).contains(&x) && x.fract() == 0.0 => Ok(Some(x as u8)),
                Some(x) => Err(SettingError::new(format!("/config {name}"), format!("{x} is not a tagger input 0-7"))),
            }
        };
        if let (Some(sync), Some(frame)) = (chan("engine.sync_channel")?, chan("engine.frame_channel")?) {
            s.channels.sync = sync;
            s.channels.frame = frame;
        }
        if let Some(ConfigValue::Text(list)) = get("engine.detector_channels_hvda") {
            let v: Vec<u8> = list.split(',').filter_map(|x| x.trim().parse().ok()).collect();
            match <[u8; 4]>::try_from(v) {
                Ok(d) => s.channels.detectors_hvda = d,
                Err(_) => {
                    return Err(SettingError::new(
                        "/config engine.detector_channels_hvda",
                        format!("{list:?} is not four inputs"),
                    ))
                }
            }
        }
        for (f, key) in
            [("key_basis", "engine.key.key_basis"), ("bound", "engine.key.bound"), ("sync", "engine.sync_mode")]
        {
            if get(key).is_some() {
                found.push(f);
            }
        }
        // Older files could record windows shorter than the 10 ms floor: raised to it.
        if s.window_ms < 10.0 {
            s.window_ms = 10.0;
        }
        Ok((s, found))
    }
}

/// Engine settings given on a command line, each optional: they replace single fields of
/// settings that come from elsewhere (defaults, a recording, a scenario).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineOverrides {
    /// See [`EngineSettings::gate_width_ps`].
    pub gate_width_ps: Option<f64>,
    /// See [`EngineSettings::window_ms`].
    pub window_ms: Option<f64>,
    /// See [`EngineSettings::eps_sec`].
    pub eps_sec: Option<f64>,
    /// See [`EngineSettings::eps_cor`].
    pub eps_cor: Option<f64>,
    /// See [`EngineSettings::f_ec`].
    pub f_ec: Option<f64>,
    /// See [`EngineSettings::key_basis`].
    pub key_basis: Option<KeyBasis>,
    /// See [`EngineSettings::bound`].
    pub bound: Option<BoundKind>,
    /// See [`EngineSettings::sync`].
    pub sync: Option<SyncKind>,
}

impl EngineOverrides {
    /// Checks each given value on its own (before a file or device is touched); the gate
    /// against the pulse period is checked once the rate is known.
    pub fn check(&self) -> Result<(), SettingError> {
        let mut s = EngineSettings::default();
        self.apply(&mut s);
        s.validate(engine::PULSE_RATE_RANGE_HZ.0)
    }

    /// Writes the given fields into `s`; returns (field, new value) of those that changed it.
    pub fn apply(&self, s: &mut EngineSettings) -> Vec<(&'static str, String)> {
        let mut changed = Vec::new();
        macro_rules! put {
            ($f:ident) => {
                if let Some(v) = self.$f {
                    if s.$f != v {
                        changed.push((stringify!($f), format!("{v:?}").to_lowercase()));
                    }
                    s.$f = v;
                }
            };
        }
        put!(gate_width_ps);
        put!(window_ms);
        put!(eps_sec);
        put!(eps_cor);
        put!(f_ec);
        put!(key_basis);
        put!(bound);
        put!(sync);
        changed
    }

    /// The fields of `s` named in `given` as overrides (a replay bench's scenario settings);
    /// Err names a given field that a replay cannot change (the channel map is the
    /// recording's).
    pub fn from_given(
        s: &EngineSettings,
        given: &std::collections::BTreeSet<String>,
    ) -> Result<EngineOverrides, String> {
        let mut o = EngineOverrides::default();
        for field in given {
            match field.as_str() {
                "gate_width_ps" => o.gate_width_ps = Some(s.gate_width_ps),
                "window_ms" => o.window_ms = Some(s.window_ms),
                "eps_sec" => o.eps_sec = Some(s.eps_sec),
                "eps_cor" => o.eps_cor = Some(s.eps_cor),
                "f_ec" => o.f_ec = Some(s.f_ec),
                "key_basis" => o.key_basis = Some(s.key_basis),
                "bound" => o.bound = Some(s.bound),
                "sync" => o.sync = Some(s.sync),
                other => return Err(format!("engine.{other}: a replay takes it from the recording")),
            }
        }
        Ok(o)
    }
}

impl EngineSettings {
    /// One field's value as text (for "overrode X (recorded: Y)" notes).
    pub fn field_text(&self, field: &str) -> String {
        match field {
            "gate_width_ps" => self.gate_width_ps.to_string(),
            "window_ms" => self.window_ms.to_string(),
            "eps_sec" => self.eps_sec.to_string(),
            "eps_cor" => self.eps_cor.to_string(),
            "f_ec" => self.f_ec.to_string(),
            "key_basis" => format!("{:?}", self.key_basis).to_lowercase(),
            "bound" => format!("{:?}", self.bound).to_lowercase(),
            "sync" => format!("{:?}", self.sync).to_lowercase(),
            other => format!("(unknown field {other})"),
        }
    }
}
