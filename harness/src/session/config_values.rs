//! The settings as `/config` attributes: every leaf of the settings tree under its dotted
//! path (`bench.channel.loss_db`, `generator.mu`, `engine.gate_width_ps`), so a recording
//! says how it was made, field by field, and a replay can analyse it the same way.

use recordings::ConfigValue;

use crate::settings::Settings;

/// Every setting as (dotted name, value); lists as comma-separated text.
pub fn settings_config_values(s: &Settings) -> Vec<(String, ConfigValue)> {
    let mut out = Vec::new();
    if let Ok(tree) = toml::Value::try_from(s) {
        flatten("", &tree, &mut out);
    }
    out
}

fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, ConfigValue)>) {
    let scalar = |v: &toml::Value| -> String {
        match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Array(a) => a.iter().map(|x| format!("[{}]", list(x))).collect::<Vec<_>>().join(","),
            other => other.to_string(),
        }
    };
    fn list(v: &toml::Value) -> String {
        match v {
            toml::Value::Array(a) => a.iter().map(list).collect::<Vec<_>>().join(","),
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&name, x, out);
            }
        }
        toml::Value::Integer(i) => out.push((prefix.to_string(), ConfigValue::Int(*i))),
        toml::Value::Float(f) => out.push((prefix.to_string(), ConfigValue::Float(*f))),
        toml::Value::Boolean(b) => out.push((prefix.to_string(), ConfigValue::Bool(*b))),
        toml::Value::String(s) => out.push((prefix.to_string(), ConfigValue::Text(s.clone()))),
        toml::Value::Array(a) if a.iter().all(|x| !x.is_array() && !x.is_table()) => {
            out.push((prefix.to_string(), ConfigValue::Text(list(v))))
        }
        toml::Value::Array(a) if a.iter().all(|x| x.is_table()) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}.{i}"), x, out);
            }
        }
        other => out.push((prefix.to_string(), ConfigValue::Text(scalar(other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_leaf_is_named_by_its_path() {
        let v = settings_config_values(&Settings::default());
        let get = |n: &str| v.iter().find(|(k, _)| k == n).map(|(_, x)| x.clone());
        assert_eq!(get("bench.channel.loss_db"), Some(ConfigValue::Float(30.0)));
        assert_eq!(get("generator.mu"), Some(ConfigValue::Text("0.8,0.1,0.0".into())));
        assert_eq!(get("engine.gate_width_ps"), Some(ConfigValue::Float(1000.0)));
        assert_eq!(get("engine.key_basis"), Some(ConfigValue::Text("x".into())));
        assert!(get("bench.source.patterning").is_some());
    }
}
