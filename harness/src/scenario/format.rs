//! The scenario file (TOML), as docs/scenario-format.md defines it: the settings of the run,
//! then phases in three lists (setup, main, teardown), each with its measurements.
//!
//! Unknown fields, wrong types and impossible values are refused with the file, line and
//! field; nothing touches a device before the whole file has been checked.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::settings::{ChannelSettings, DeviceKind, EngineSettings, FaultSettings, GeneratorSettings, Settings};

/// A scenario as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// What the scenario is: name, description, seed.
    pub scenario: Header,
    /// The devices and the simulated bench (as `[bench]` of the settings).
    #[serde(default)]
    pub bench: crate::settings::BenchSettings,
    /// The pattern generator.
    #[serde(default)]
    pub generator: GeneratorSettings,
    /// The engine.
    #[serde(default)]
    pub engine: EngineSettings,
    /// Phases that bring the bench up; when one fails, main is skipped and teardown runs.
    #[serde(default)]
    pub setup: Vec<Phase>,
    /// The phases under test.
    #[serde(default)]
    pub main: Vec<Phase>,
    /// Phases that always run once setup has succeeded.
    #[serde(default)]
    pub teardown: Vec<Phase>,
}

/// `[scenario]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The scenario's name (the JUnit test suite, the `-k` selection, file names).
    pub name: String,
    /// What it accepts and why (free text).
    #[serde(default)]
    pub description: String,
    /// Seed of every random draw: the bench's optics and the generator's symbols (unless
    /// they set their own). `qkdbench run --seed` overrides it.
    #[serde(default)]
    pub seed: Option<u64>,
}

/// One phase. (Unknown fields are refused by the kind, which gets every field but `name`
/// and `measure`: serde's `deny_unknown_fields` does not combine with `flatten`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// The phase's name (default: its kind and position).
    #[serde(default)]
    pub name: Option<String>,
    /// What it does.
    #[serde(flatten)]
    pub kind: PhaseKind,
    /// Measurements taken from the phase's run (per step in a sweep).
    #[serde(default)]
    pub measure: Vec<Measurement>,
}

/// The phase kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PhaseKind {
    /// Changes settings for the phases after it: `set = { "bench.channel.loss_db" = 25 }`.
    Configure {
        /// Setting path → value.
        #[serde(default)]
        set: toml::Table,
    },
    /// Records for a duration or a number of pulses.
    Acquire {
        /// Seconds of device time.
        #[serde(default)]
        duration_s: Option<f64>,
        /// Pulses.
        #[serde(default)]
        pulses: Option<f64>,
    },
    /// Runs until the clock locks, at most `timeout_s` of device time; fails when it does not.
    WaitLock {
        /// Seconds of device time.
        timeout_s: f64,
    },
    /// Runs one acquisition per value of a bench or generator parameter.
    Sweep {
        /// The setting's path, e.g. `bench.channel.loss_db`.
        parameter: String,
        /// A list of values.
        #[serde(default)]
        values: Option<Vec<toml::Value>>,
        /// Range start.
        #[serde(default)]
        from: Option<f64>,
        /// Range end.
        #[serde(default)]
        to: Option<f64>,
        /// Range step.
        #[serde(default)]
        step: Option<f64>,
        /// Seconds of device time per step.
        #[serde(default)]
        duration_s: Option<f64>,
        /// Pulses per step.
        #[serde(default)]
        pulses: Option<f64>,
    },
    /// Flies a pass: a profile (`track_csv`, `link_csv`) or a circular orbit.
    Pass {
        /// `time,distance` table (s, km), relative to the scenario file.
        #[serde(default)]
        track_csv: Option<PathBuf>,
        /// `distance,loss` table (km, dB), relative to the scenario file.
        #[serde(default)]
        link_csv: Option<PathBuf>,
        /// A folder holding `micius2017_track.csv` and `micius2017_link_efficiency.csv`.
        #[serde(default)]
        pass_dir: Option<PathBuf>,
        /// Orbit altitude, km (an orbit when no table is given).
        #[serde(default)]
        altitude_km: Option<f64>,
        /// Orbit: highest elevation, degrees.
        #[serde(default)]
        max_elevation_deg: Option<f64>,
        /// Orbit: the pass is the time above this elevation, degrees.
        #[serde(default)]
        min_elevation_deg: Option<f64>,
        /// Orbit: loss at zenith, dB.
        #[serde(default)]
        loss_at_zenith_db: Option<f64>,
        /// Orbit: extra loss of one air mass, dB.
        #[serde(default)]
        atmosphere_db: Option<f64>,
        /// Stop after this much of the pass, s (default: the whole pass).
        #[serde(default)]
        duration_s: Option<f64>,
    },
    /// Runs an acquisition with a fault of the simulated bench injected at a time of it.
    InjectFault {
        /// The fault (`kind` and its times, relative to the phase's start).
        fault: FaultSettings,
        /// Seconds of device time.
        #[serde(default)]
        duration_s: Option<f64>,
        /// Pulses.
        #[serde(default)]
        pulses: Option<f64>,
    },
}

impl PhaseKind {
    /// The kind's name as written.
    pub fn name(&self) -> &'static str {
        match self {
            PhaseKind::Configure { .. } => "configure",
            PhaseKind::Acquire { .. } => "acquire",
            PhaseKind::WaitLock { .. } => "wait_lock",
            PhaseKind::Sweep { .. } => "sweep",
            PhaseKind::Pass { .. } => "pass",
            PhaseKind::InjectFault { .. } => "inject_fault",
        }
    }
}

/// A measurement with its limits (OpenHTF's `in_range` with a marginal band).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// The metric (docs/scenario-format.md: a named metric, or a path into the run report).
    pub metric: String,
    /// A name for the verdict table and JUnit (default: the metric).
    #[serde(default)]
    pub name: Option<String>,
    /// Lowest passing value.
    #[serde(default)]
    pub min: Option<f64>,
    /// Highest passing value.
    #[serde(default)]
    pub max: Option<f64>,
    /// The expected value (with `tolerance` or `tolerance_pct`).
    #[serde(default)]
    pub target: Option<f64>,
    /// Absolute tolerance around `target`.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Tolerance around `target`, percent of the target.
    #[serde(default)]
    pub tolerance_pct: Option<f64>,
    /// Values below this (but passing) are MARGINAL.
    #[serde(default)]
    pub marginal_min: Option<f64>,
    /// Values above this (but passing) are MARGINAL.
    #[serde(default)]
    pub marginal_max: Option<f64>,
    /// In a sweep: measure each step (`step`, the default) or one figure over the steps
    /// (`first_zero`: the swept value at the first step where the metric is 0; `min`,
    /// `max`, `first`, `last` of the metric over the steps).
    #[serde(default)]
    pub over: Over,
}

/// What a sweep's measurement is taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Over {
    /// Each step on its own.
    #[default]
    Step,
    /// The swept value at the first step where the metric is 0 (or not measured).
    FirstZero,
    /// The smallest value over the steps.
    Min,
    /// The largest value over the steps.
    Max,
    /// The first step's value.
    First,
    /// The last step's value.
    Last,
}

/// A scenario read from a file: its text, its checked contents and where it lives.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file.
    pub path: PathBuf,
    /// The text (recorded in every recording of the run).
    pub text: String,
    /// The contents.
    pub file: ScenarioFile,
}

/// A scenario that cannot run: the file, the line when known, the field and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScenarioError {
    /// The file.
    pub path: PathBuf,
    /// The line (1-based), when the problem has one.
    pub line: Option<usize>,
    /// What is wrong, naming the field.
    pub message: String,
}

/// serde's Rust type names in the words of the document.
fn plain_types(m: &str) -> String {
    m.replace("expected f64", "expected a number")
        .replace("expected u64", "expected a whole number 0..=9223372036854775807")
        .replace("expected u32", "expected a whole number 0..=4294967295")
        .replace("expected u8", "expected a whole number 0-255")
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            path: path.into(),
            line: None,
            message: format!("cannot read the scenario: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Parses and checks scenario `text` (from `path`, which relative paths are resolved
    /// against).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ScenarioError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| {
            let message = plain_types(e.message().trim());
            let line_of = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
            let mut line = e.span().map(|s| line_of(s.start));
            // serde reports an unknown field of a phase or a fault at its table's header:
            // point at the field itself.
            if let Some(field) = message.strip_prefix("unknown field `").and_then(|m| m.split('`').next()) {
                let from = e.span().map_or(0, |s| s.start);
                let key = |t: &str| {
                    t.trim_start().starts_with(field) && t.trim_start()[field.len()..].trim_start().starts_with('=')
                };
                let mut at = from;
                for l in text[from.min(text.len())..].split_inclusive('\n') {
                    if key(l) || l.contains(&format!("{{ {field} ")) || l.contains(&format!(", {field} ")) {
                        line = Some(line_of(at));
                        break;
                    }
                    at += l.len();
                }
            }
            // A value of the wrong type: name the key of its line.
            let message = match (line, message.starts_with("invalid type") || message.starts_with("invalid value")) {
                (Some(l), true) => match text.lines().nth(l - 1).and_then(|t| t.split_once('=')) {
                    Some((k, _)) if !k.trim().is_empty() && !k.contains('[') => format!("{}: {message}", k.trim()),
                    _ => message,
                },
                _ => message,
            };
            ScenarioError { path: path.into(), line, message }
        })?;
        let s = Scenario { path: path.into(), text: text.to_string(), file };
        s.check()?;
        Ok(s)
    }

    /// The folder relative paths in the scenario are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path.parent().map(Path::to_path_buf).unwrap_or_default()
    }

    /// The settings the scenario starts from, with its seed (or `seed` when given) and its
    /// paths resolved.
    pub fn settings(&self, seed: Option<u64>) -> Settings {
        // The `[engine]` fields the file gives (a replay bench overrides the recording's own
        // settings with these only).
        let engine_given = toml::from_str::<toml::Table>(&self.text)
            .ok()
            .and_then(|t| t.get("engine").and_then(|e| e.as_table()).map(|e| e.keys().cloned().collect()))
            .unwrap_or_default();
        let mut s = Settings {
            bench: self.file.bench.clone(),
            generator: self.file.generator.clone(),
            engine: self.file.engine.clone(),
            engine_given,
        };
        if let Some(seed) = seed.or(self.file.scenario.seed) {
            s.bench.seed = seed;
            s.generator.seed = seed;
        }
        s.resolve_paths(&self.base_dir());
        s
    }

    fn err(&self, line_of: &str, message: String) -> ScenarioError {
        self.err_after(0, line_of, message)
    }

    /// An error at the first line from byte `from` on that holds `line_of` as a key (or at
    /// all), else at the line of `from`.
    fn err_after(&self, from: usize, line_of: &str, message: String) -> ScenarioError {
        let rest = &self.text[from.min(self.text.len())..];
        let key = rest
            .match_indices(line_of)
            .find(|(i, _)| {
                let line_start = rest[..*i].rfind('\n').map_or(0, |j| j + 1);
                rest[line_start..*i].trim().is_empty() || rest[line_start..*i].trim_end().ends_with(['{', ','])
            })
            .or_else(|| rest.match_indices(line_of).next())
            .map_or(from, |(i, _)| from + i);
        let line = Some(self.text[..key.min(self.text.len())].matches('\n').count() + 1);
        ScenarioError { path: self.path.clone(), line, message }
    }

    /// Byte offset of the `index`-th (0-based) `[[list]]` header.
    fn phase_offset(&self, list: &str, index: usize) -> usize {
        let header = format!("[[{list}]]");
        let mut found = self
            .text
            .match_indices(&header)
            .filter(|(i, _)| self.text[..*i].rfind('\n').map_or(0, |j| j + 1) == *i || *i == 0);
        found.nth(index).map_or(0, |(i, _)| i)
    }

    /// Checks what serde cannot: settings in range, known metrics, sensible limits and
    /// spans, sweep parameters that exist.
    fn check(&self) -> Result<(), ScenarioError> {
        let f = &self.file;
        let name = &f.scenario.name;
        if name.is_empty()
            || name.len() > 100
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            || name.starts_with('.')
        {
            return Err(self.err(
                "name",
                format!(
                    "scenario.name {name:?}: use 1 to 100 letters, digits, '_', '-' and '.' (not first): it names \
                     the scenario's folder and page"
                ),
            ));
        }
        let settings = self.settings(None);
        settings.validate().map_err(|e| self.err(e.field.rsplit('.').next().unwrap_or(""), e.to_string()))?;
        settings.bench.channel.model().map_err(|e| self.err("channel", e.to_string()))?;
        if f.main.is_empty() {
            return Err(self.err("[scenario]", "a scenario needs at least one [[main]] phase".into()));
        }
        if settings.bench.device == DeviceKind::Replay {
            self.check_replay(&settings)?;
        }
        // Settings as they stand when each phase runs: configure phases change them.
        let mut current = settings.clone();
        for (list, phases) in [("setup", &f.setup), ("main", &f.main), ("teardown", &f.teardown)] {
            for (i, p) in phases.iter().enumerate() {
                let at = format!("{list}[{}] ({})", i + 1, p.kind.name());
                let from = self.phase_offset(list, i);
                self.check_phase(&at, from, p, &mut current)?;
            }
        }
        Ok(())
    }

    /// A replay bench: a recording that exists, and nothing set that the recording decides
    /// (the generator, the optics, the devices, the channel map).
    fn check_replay(&self, settings: &Settings) -> Result<(), ScenarioError> {
        let Some(path) = &settings.bench.recording else {
            return Err(self.err(
                "device",
                "bench.device = \"replay\" needs bench.recording = \"FILE.h5\" (relative to the scenario)".into(),
            ));
        };
        if path.is_dir() {
            return Err(self.err("recording", format!("bench.recording: {}: a folder, not a file", path.display())));
        }
        if !path.is_file() {
            return Err(self.err("recording", format!("bench.recording: {}: no such file", path.display())));
        }
        // Opened now (its run is read, not its tags): a file that cannot be replayed is a bad
        // scenario, found before anything runs.
        let (_, run) =
            recordings::replay::open_run(path).map_err(|e| self.err("recording", format!("bench.recording: {e}")))?;
        if run.info.pattern.is_none() {
            return Err(self.err(
                "recording",
                format!(
                    "bench.recording: {}: it has no pattern (the generator's settings were not recorded: a file \
                     converted from another instrument), so the engine cannot sift",
                    path.display()
                ),
            ));
        }
        // Every field written under [bench] but these two, and any [generator] field, is the
        // recording's to decide: refused as written, whatever its value.
        let written = toml::from_str::<toml::Table>(&self.text).unwrap_or_default();
        let keys = |table: &str| -> Vec<String> {
            written.get(table).and_then(|t| t.as_table()).map(|t| t.keys().cloned().collect()).unwrap_or_default()
        };
        let stray = keys("bench")
            .into_iter()
            .filter(|k| k != "device" && k != "recording")
            .map(|k| ("bench", k))
            .chain(keys("generator").into_iter().map(|k| ("generator", k)))
            .next();
        if let Some((table, key)) = stray {
            return Err(self.err(
                &key,
                format!(
                    "{table}.{key}: a replay bench takes the generator, the optics and the devices from the \
                     recording; only bench.device, bench.recording and [engine] are read"
                ),
            ));
        }
        if let Some(f) = settings.engine_given.iter().find(|f| f.starts_with("channels")) {
            return Err(self.err("channels", format!("engine.{f}: a replay takes the channel map from the recording")));
        }
        Ok(())
    }

    fn check_phase(&self, at: &str, from: usize, p: &Phase, settings: &mut Settings) -> Result<(), ScenarioError> {
        let kind = p.kind.name();
        let bad = |needle: &str, m: String| Err(self.err_after(from, needle, format!("{at}: {m}")));
        let span = |d: Option<f64>, n: Option<f64>, needed: bool| -> Result<(), ScenarioError> {
            match (d, n) {
                (Some(_), Some(_)) => bad("pulses", "give duration_s or pulses, not both".into()),
                (None, None) if needed => bad(kind, "needs duration_s or pulses".into()),
                (Some(d), None) if !(d.is_finite() && d > 0.0 && d <= 1e6) => {
                    bad("duration_s", format!("duration_s {} is not in (0, 1e6] s", super::fmt_num(d)))
                }
                (None, Some(n)) if !(n.is_finite() && (1.0..=1e16).contains(&n) && n.fract() == 0.0) => {
                    bad("pulses", format!("pulses {} is not a whole number in [1, 1e16]", super::fmt_num(n)))
                }
                _ => Ok(()),
            }
        };
        if settings.bench.device == DeviceKind::Replay {
            // A replay runs the whole recording through the engine: no span, no devices, and
            // only the engine's settings can change.
            let engine_only = |key: &str| -> Result<(), ScenarioError> {
                if key.starts_with("engine.") && !key.starts_with("engine.channels") {
                    Ok(())
                } else {
                    bad(
                        key,
                        format!(
                            "{key}: on a replay bench only engine settings (not engine.channels) can change: the \
                             generator, the optics and the devices are the recording's"
                        ),
                    )
                }
            };
            let no_span = |d: &Option<f64>, n: &Option<f64>| -> Result<(), ScenarioError> {
                match (d, n) {
                    (None, None) => Ok(()),
                    (Some(_), _) => {
                        bad("duration_s", "a replay bench replays the whole recording: no duration_s".into())
                    }
                    (_, Some(_)) => bad("pulses", "a replay bench replays the whole recording: no pulses".into()),
                }
            };
            match &p.kind {
                PhaseKind::Configure { set } => set.keys().try_for_each(|k| engine_only(k))?,
                PhaseKind::Acquire { duration_s, pulses } => no_span(duration_s, pulses)?,
                PhaseKind::Sweep { parameter, duration_s, pulses, .. } => {
                    engine_only(parameter)?;
                    no_span(duration_s, pulses)?;
                }
                other => {
                    return bad(
                        other.name(),
                        format!("a {} phase needs devices; a replay bench has acquire, configure and sweep (of engine settings)", other.name()),
                    )
                }
            }
            if let PhaseKind::Sweep { values, from: a, to, step, .. } = &p.kind {
                sweep_values(values, *a, *to, *step)
                    .map_err(|m| self.err_after(from, "sweep", format!("{at}: {m}")))?;
            }
        }
        match &p.kind {
            _ if settings.bench.device == DeviceKind::Replay
                && !matches!(p.kind, PhaseKind::Configure { .. } | PhaseKind::Sweep { .. }) => {}
            PhaseKind::Configure { set } => {
                let mut s = settings.clone();
                for (k, v) in set {
                    s.set(k, v.clone()).map_err(|e| self.err_after(from, k, format!("{at}: set {e}")))?;
                }
                s.resolve_paths(&self.base_dir());
                s.validate().map_err(|e| self.err_after(from, "set", format!("{at}: {e}")))?;
                *settings = s;
                if !p.measure.is_empty() {
                    return bad("measure", "a configure phase runs nothing, so it has nothing to measure".into());
                }
            }
            PhaseKind::Acquire { duration_s, pulses } => span(*duration_s, *pulses, true)?,
            PhaseKind::WaitLock { timeout_s } => {
                if !(timeout_s.is_finite() && *timeout_s > 0.0 && *timeout_s <= 1e5) {
                    return bad("timeout_s", format!("timeout_s {timeout_s} is not in (0, 1e5] s"));
                }
                if let Some(m) = p.measure.iter().find(|m| m.metric != "lock_time_s") {
                    return bad(
                        &m.metric,
                        format!(
                            "a wait_lock phase measures lock_time_s only (it stops when the lock is seen), not {:?}",
                            m.metric
                        ),
                    );
                }
            }
            PhaseKind::Sweep { parameter, values, from: a, to, step, duration_s, pulses } => {
                span(*duration_s, *pulses, settings.bench.device != DeviceKind::Replay)?;
                let vals = sweep_values(values, *a, *to, *step)
                    .map_err(|m| self.err_after(from, "sweep", format!("{at}: {m}")))?;
                if !(parameter.starts_with("bench.")
                    || parameter.starts_with("generator.")
                    || parameter.starts_with("engine."))
                {
                    return bad(
                        parameter,
                        format!("parameter {parameter:?} is not a bench, generator or engine setting"),
                    );
                }
                for v in &vals {
                    let mut s = settings.clone();
                    s.set(parameter, v.clone())
                        .map_err(|e| self.err_after(from, parameter, format!("{at}: {parameter} = {v}: {e}")))?;
                    // A path that names no setting would be added and ignored: refused.
                    if s.get(parameter).as_ref() != Some(v) && !numbers_equal(s.get(parameter).as_ref(), v) {
                        return bad(
                            parameter,
                            format!("parameter {parameter:?} is not a setting (see docs/scenario-format.md)"),
                        );
                    }
                    s.resolve_paths(&self.base_dir());
                    s.validate()
                        .map_err(|e| self.err_after(from, parameter, format!("{at}: {parameter} = {v}: {e}")))?;
                    s.bench.channel.model().map_err(|e| self.err_after(from, parameter, format!("{at}: {e}")))?;
                }
            }
            PhaseKind::Pass { .. } => {
                let ch = pass_channel(&p.kind, &self.base_dir())
                    .map_err(|m| self.err_after(from, "pass", format!("{at}: {m}")))?;
                let mut s = settings.clone();
                s.bench.channel = ch;
                s.validate().map_err(|e| self.err_after(from, "pass", format!("{at}: {e}")))?;
                // The tables are read now: a bad row is a bad scenario, found before anything runs.
                s.bench.channel.model().map_err(|e| self.err_after(from, "pass", format!("{at}: {e}")))?;
                if let PhaseKind::Pass { duration_s: Some(d), .. } = &p.kind {
                    span(Some(*d), None, false)?;
                }
            }
            PhaseKind::InjectFault { fault, duration_s, pulses } => {
                span(*duration_s, *pulses, true)?;
                fault.fault().map_err(|e| self.err_after(from, "fault", format!("{at}: {e}")))?;
                // Times beyond the phase's run make it wait for them (a stall to 1e9 s never ends).
                let run_s = duration_s.or(pulses.map(|n| n / settings.generator.pulse_rate_hz)).unwrap_or(0.0);
                if let Some(t) = Some(fault.last_time_s()).filter(|t| *t > run_s) {
                    return bad(
                        "fault",
                        format!(
                            "the fault's times must lie within the phase's {} s run, got {}",
                            super::fmt_num(run_s),
                            super::fmt_num(t)
                        ),
                    );
                }
            }
        }
        for m in &p.measure {
            super::limits::check(m).map_err(|e| self.err(&m.metric, format!("{at}: measure {}: {e}", m.metric)))?;
            super::metrics::check_name(&m.metric)
                .map_err(|e| self.err(&m.metric, format!("{at}: measure {:?}: {e}", m.metric)))?;
            if m.over != Over::Step && !matches!(p.kind, PhaseKind::Sweep { .. }) {
                return bad("over", format!("measure {}: `over` applies to sweeps only", m.metric));
            }
        }
        Ok(())
    }
}

/// Two TOML numbers that are the same number (a sweep value 25 reads back as 25.0).
fn numbers_equal(a: Option<&toml::Value>, b: &toml::Value) -> bool {
    let num = |v: &toml::Value| v.as_float().or(v.as_integer().map(|i| i as f64));
    matches!((a.and_then(num), num(b)), (Some(x), Some(y)) if x == y)
}

/// The values of a sweep, from a list or a range (at most 1000).
pub fn sweep_values(
    values: &Option<Vec<toml::Value>>,
    from: Option<f64>,
    to: Option<f64>,
    step: Option<f64>,
) -> Result<Vec<toml::Value>, String> {
    match (values, from, to, step) {
        (Some(v), None, None, None) => {
            if v.is_empty() || v.len() > 1000 {
                return Err(format!("values: {} values (1 to 1000)", v.len()));
            }
            Ok(v.clone())
        }
        (None, Some(a), Some(b), Some(s)) => {
            if !(a.is_finite() && b.is_finite() && s.is_finite() && s > 0.0) {
                return Err(format!("from {a}, to {b}, step {s}: need finite numbers and a positive step"));
            }
            // Counted in floating point first: a tiny step is more steps than any integer holds.
            let steps = ((b - a).abs() / s + 1e-9).floor() + 1.0;
            if !(steps.is_finite() && steps <= 1000.0) {
                return Err(format!(
                    "from {} to {} by {} is {} steps (at most 1000)",
                    super::fmt_num(a),
                    super::fmt_num(b),
                    super::fmt_num(s),
                    super::fmt_num(steps)
                ));
            }
            let n = steps as usize;
            let dir = if b >= a { 1.0 } else { -1.0 };
            // Rounded to 12 significant digits: 20 + 3 * 0.1 is 20.3, not 20.300000000000001.
            Ok((0..n)
                .map(|i| {
                    let x = a + dir * s * i as f64;
                    toml::Value::Float(format!("{x:.12e}").parse().unwrap_or(x))
                })
                .collect())
        }
        _ => Err("give `values = [...]`, or `from`, `to` and `step`".into()),
    }
}

/// The channel a pass phase flies.
pub fn pass_channel(kind: &PhaseKind, base: &Path) -> Result<ChannelSettings, String> {
    let PhaseKind::Pass {
        track_csv,
        link_csv,
        pass_dir,
        altitude_km,
        max_elevation_deg,
        min_elevation_deg,
        loss_at_zenith_db,
        atmosphere_db,
        ..
    } = kind
    else {
        return Err("not a pass".into());
    };
    let abs = |p: &PathBuf| if p.is_relative() { base.join(p) } else { p.clone() };
    let orbit = altitude_km.is_some()
        || max_elevation_deg.is_some()
        || min_elevation_deg.is_some()
        || loss_at_zenith_db.is_some()
        || atmosphere_db.is_some();
    match (pass_dir, track_csv, link_csv) {
        (Some(d), None, None) if !orbit => Ok(ChannelSettings::micius_pass(&abs(d))),
        (None, Some(t), Some(l)) if !orbit => Ok(ChannelSettings {
            kind: crate::settings::ChannelKind::Pass,
            track_csv: Some(abs(t)),
            link_csv: Some(abs(l)),
            ..Default::default()
        }),
        (None, None, None) => {
            let d = ChannelSettings::default();
            Ok(ChannelSettings {
                kind: crate::settings::ChannelKind::Orbit,
                altitude_km: altitude_km.unwrap_or(d.altitude_km),
                max_elevation_deg: max_elevation_deg.unwrap_or(d.max_elevation_deg),
                min_elevation_deg: min_elevation_deg.unwrap_or(d.min_elevation_deg),
                loss_at_zenith_db: loss_at_zenith_db.unwrap_or(d.loss_at_zenith_db),
                atmosphere_db: atmosphere_db.unwrap_or(d.atmosphere_db),
                ..d
            })
        }
        _ => Err("give pass_dir, or track_csv and link_csv, or the orbit's fields (altitude_km, max_elevation_deg, ...), one of the three".into()),
    }
}
