//! The test record (OpenHTF's): every scenario, phase, step and measurement with its value,
//! limits and outcome. Serialised as the `run --json` file; nothing in it depends on the
//! wall clock, so a fixed seed gives the same record at any `-j`.

use std::path::PathBuf;

use serde::Serialize;

use super::limits::{Limits, Outcome};

/// A measurement's result.
#[derive(Debug, Clone, Serialize)]
pub struct MeasurementRecord {
    /// Its name (the metric unless named).
    pub name: String,
    /// The metric.
    pub metric: String,
    /// The value (None: not measured; +inf is written as the string "inf").
    #[serde(serialize_with = "finite_or_text")]
    pub value: Option<f64>,
    /// The limits.
    pub limits: Limits,
    /// The limits as text.
    pub limits_text: String,
    /// Distance to the nearest limit, positive inside.
    #[serde(serialize_with = "finite_or_text")]
    pub margin: Option<f64>,
    /// PASS, MARGINAL, FAIL or ERROR.
    pub outcome: Outcome,
}

fn finite_or_text<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) if x.is_finite() => s.serialize_f64(*x),
        Some(x) if x.is_nan() => s.serialize_none(),
        Some(x) => s.serialize_str(if *x > 0.0 { "inf" } else { "-inf" }),
        None => s.serialize_none(),
    }
}

/// One run of the devices (a phase, or a step of a sweep).
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// The swept value (sweeps only).
    pub value: Option<toml::Value>,
    /// The session's status: `complete` or `aborted: <reason>`.
    pub status: String,
    /// Device time covered, s.
    pub duration_s: f64,
    /// The recording, when `--record` was given.
    pub recording: Option<PathBuf>,
    /// The measurements of this run.
    pub measurements: Vec<MeasurementRecord>,
    /// Every named metric of the run (for plots and later analysis; not judged).
    pub metrics: serde_json::Map<String, serde_json::Value>,
}

/// A phase's result.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseRecord {
    /// setup, main or teardown.
    pub group: &'static str,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: &'static str,
    /// The swept parameter (sweeps only).
    pub parameter: Option<String>,
    /// The worst outcome of its measurements and runs.
    pub outcome: Outcome,
    /// Why, when not PASS (or why it was skipped).
    pub reason: Option<String>,
    /// Not run: an earlier setup phase failed. Its outcome does not count.
    pub skipped: bool,
    /// Its runs.
    pub steps: Vec<StepRecord>,
    /// Measurements over the steps of a sweep (`over = ...`).
    pub sweep_measurements: Vec<MeasurementRecord>,
}

/// A scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRecord {
    /// Its name.
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// The seed it ran with.
    pub seed: Option<u64>,
    /// The worst outcome of its phases.
    pub outcome: Outcome,
    /// Why, when not PASS.
    pub reason: Option<String>,
    /// Its phases, in the order they ran.
    pub phases: Vec<PhaseRecord>,
}

impl ScenarioRecord {
    /// Every measurement with where it was taken: (phase, step label, measurement).
    pub fn measurements(&self) -> Vec<(String, &MeasurementRecord)> {
        let mut out = Vec::new();
        for p in &self.phases {
            for (i, s) in p.steps.iter().enumerate() {
                let label = match &s.value {
                    Some(v) => format!("{}[{}={}]", p.name, p.parameter.as_deref().unwrap_or("?"), v),
                    None if p.steps.len() > 1 => format!("{}[{i}]", p.name),
                    None => p.name.clone(),
                };
                for m in &s.measurements {
                    out.push((label.clone(), m));
                }
            }
            for m in &p.sweep_measurements {
                out.push((p.name.clone(), m));
            }
        }
        out
    }
}

/// The record of a whole `qkdbench run`.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// `qkdbench <version>`.
    pub tool: String,
    /// `running` while scenarios remain (a crash leaves it so), then `complete` or `aborted`.
    pub status: String,
    /// The worst outcome so far.
    pub outcome: Outcome,
    /// Scenarios selected (after -k and --shard).
    pub selected: usize,
    /// The scenarios finished so far, in the order they were given.
    pub scenarios: Vec<ScenarioRecord>,
}
