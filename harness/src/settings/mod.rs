//! Every setting of a run, with one owner each: the bench (which devices, and the simulated
//! bench's physics), the generator (what the transmitter sends, at which pulse rate) and the
//! engine (how the tags are analysed). The CLI's flags, a scenario's TOML and a recording's
//! `/config` all become these types; [`Settings::validate`] checks them and that they agree.
//!
//! The shape follows ripgrep's low-level / high-level arguments and probe-rs's raw and
//! validated DUT definitions: a serde value as written, then the checked device and engine
//! configurations derived from it (`bench_config`, `pattern_config`, `engine_config`).

mod bench;
mod engine;
mod generator;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use bench::{
    BenchSettings, ChannelKind, ChannelSettings, DetectorOverride, DetectorSettings, DetectorsSettings, DeviceKind,
    DeviceSelection, FaultSettings, FidelityKind, ReceiverSettings, ScintillationSettings, SourceSettings,
    SyncPathSettings,
};
pub use engine::{BoundKind, EngineOverrides, EngineSettings, KeyBasis, SyncKind};
pub use generator::GeneratorSettings;

/// A setting that cannot be used: the field as the user writes it (`bench.channel.loss_db`)
/// and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SettingError {
    /// The field's path, as in a scenario file (`engine.gate_width_ps`).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl SettingError {
    /// An error on `field`. Numbers written out in 20 digits or more (1e308 prints as 309
    /// digits) are shortened to exponent form.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        SettingError { field: field.into(), reason: compact_numbers(&reason.into()) }
    }
}

/// `reason` with every number of 20 or more characters in exponent form.
fn compact_numbers(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        match token.parse::<f64>() {
            Ok(x) if token.len() >= 20 => out.push_str(&format!("{x:e}")),
            _ => out.push_str(token),
        }
        token.clear();
    };
    for c in reason.chars() {
        if c.is_ascii_digit() || c == '.' || (c == '-' && token.is_empty()) {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// All the settings of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The devices, and the simulated bench's physics.
    pub bench: BenchSettings,
    /// The pattern generator: pulse rate, intensities, probabilities, seed, sync and frame.
    pub generator: GeneratorSettings,
    /// The engine: gate, windows, sync source, finite key.
    pub engine: EngineSettings,
    /// The engine fields given explicitly (a scenario's `[engine]`, a `set`, a sweep), by
    /// name: a replay bench keeps the recording's own engine settings but these.
    #[serde(skip)]
    pub engine_given: std::collections::BTreeSet<String>,
}

impl Settings {
    /// Checks every field, and the fields that must agree with each other.
    pub fn validate(&self) -> Result<(), SettingError> {
        // Seeds travel through TOML (scenarios, /config), whose integers are i64.
        for (field, seed) in [("bench.seed", self.bench.seed), ("generator.seed", self.generator.seed)] {
            if seed > i64::MAX as u64 {
                return Err(SettingError::new(field, format!("{seed} is above 2^63-1")));
            }
        }
        self.generator.validate()?;
        self.bench.validate()?;
        self.engine.validate(self.generator.pulse_rate_hz)?;
        Ok(())
    }

    /// Makes relative paths in the settings (pass tables, socket folders) relative to `base`
    /// (a scenario's folder).
    pub fn resolve_paths(&mut self, base: &Path) {
        self.bench.resolve_paths(base);
    }

    /// Sets one field by its path (`bench.channel.loss_db`, `generator.mu`) to `value`, as a
    /// scenario's sweep does; the result is checked like a scenario file.
    pub fn set(&mut self, path: &str, value: toml::Value) -> Result<(), SettingError> {
        let mut tree = toml::Value::try_from(&*self).map_err(|e| SettingError::new(path, e.to_string()))?;
        let mut node = &mut tree;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let table = node
                .as_table_mut()
                .ok_or_else(|| SettingError::new(path, format!("{} is not a table", parts[..i].join("."))))?;
            if i + 1 == parts.len() {
                table.insert((*part).to_string(), value.clone());
                break;
            }
            // Optional tables (e.g. bench.scintillation) appear when a field of theirs is set.
            node = table.entry((*part).to_string()).or_insert_with(|| toml::Value::Table(Default::default()));
        }
        let mut new: Settings =
            tree.try_into().map_err(|e: toml::de::Error| SettingError::new(path, e.message().trim().to_string()))?;
        new.engine_given = std::mem::take(&mut self.engine_given);
        if let Some(field) = path.strip_prefix("engine.") {
            new.engine_given.insert(field.to_string());
        }
        *self = new;
        Ok(())
    }

    /// Reads one field by its path, as a TOML value (for reports and sweep tables).
    pub fn get(&self, path: &str) -> Option<toml::Value> {
        let tree = toml::Value::try_from(self).ok()?;
        let mut node = &tree;
        for part in path.split('.') {
            node = node.as_table()?.get(part)?;
        }
        Some(node.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip_through_toml() {
        let s = Settings::default();
        s.validate().unwrap();
        let text = toml::to_string(&s).unwrap();
        let back: Settings = toml::from_str(&text).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn set_reaches_nested_fields_and_checks_types() {
        let mut s = Settings::default();
        s.set("bench.channel.loss_db", toml::Value::Float(37.5)).unwrap();
        assert_eq!(s.bench.channel.loss_db, 37.5);
        s.set("generator.mu", toml::Value::try_from(vec![0.6, 0.2, 0.0]).unwrap()).unwrap();
        assert_eq!(s.generator.mu, vec![0.6, 0.2, 0.0]);
        s.set("bench.scintillation.sigma_ln", toml::Value::Float(0.3)).unwrap();
        assert_eq!(s.bench.scintillation.as_ref().unwrap().sigma_ln, 0.3);
        let e = s.set("bench.channel.loss_db", toml::Value::String("loud".into())).unwrap_err();
        assert_eq!(e.field, "bench.channel.loss_db");
        let e = s.set("bench.channel.loss_dbx", toml::Value::Float(1.0)).unwrap_err();
        assert!(e.reason.contains("loss_dbx"), "{e}");
        assert_eq!(s.get("bench.channel.loss_db"), Some(toml::Value::Float(37.5)));
    }

    #[test]
    fn huge_numbers_are_shortened_in_messages() {
        let e = SettingError::new("x", format!("{} dB is not in 0..=200", 1e308));
        assert_eq!(e.reason, "1e308 dB is not in 0..=200");
        assert_eq!(SettingError::new("x", "30.5 is fine").reason, "30.5 is fine");
    }

    #[test]
    fn unknown_fields_are_refused_with_their_line() {
        let e = toml::from_str::<Settings>("[bench]\nloss_db = 30\n").unwrap_err();
        assert!(e.to_string().contains("loss_db") && e.to_string().contains("line 2"), "{e}");
    }
}
