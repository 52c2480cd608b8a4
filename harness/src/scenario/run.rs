//! Running a scenario: setup, main and teardown phases in order (teardown always runs once
//! setup has succeeded; main is skipped when setup fails), each run phase a session with
//! the scenario's settings, each measurement judged against its limits.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;

use super::format::{pass_channel, sweep_values, Measurement, Over, Phase, PhaseKind, Scenario};
use super::limits::{Limits, Outcome};
use super::metrics;
use super::record::{MeasurementRecord, PhaseRecord, ScenarioRecord, StepRecord};
use crate::pipeline::{Flow, Observer, Update};
use crate::session::{self, OutputPlan, RunPlan};
use crate::settings::{DeviceKind, EngineOverrides, SettingError, Settings};

/// Where a run's progress goes (a progress bar, or nowhere). Called from the thread that
/// runs the scenario.
pub trait Progress {
    /// A phase (or a sweep step) starts; `span_s` is its device time when known.
    fn phase(&self, _scenario: &str, _phase: &str, _span_s: Option<f64>) {}
    /// Device time reached in the current phase, s.
    fn device_time(&self, _scenario: &str, _t_s: f64) {}
}

/// No progress shown.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Replaces every scenario's seed.
    pub seed: Option<u64>,
    /// Record every run into this folder (one subfolder per scenario).
    pub record_dir: Option<PathBuf>,
    /// Set by Ctrl-C / SIGTERM: the current phase ends ABORTED, the rest of main is skipped,
    /// teardown still runs.
    pub stop: Arc<AtomicBool>,
}

/// Watches a phase's session: progress, the largest rate offset, and (wait_lock) the lock.
struct PhaseObserver<'a> {
    name: &'a str,
    progress: &'a dyn Progress,
    stop_on_lock: bool,
}

impl Observer for PhaseObserver<'_> {
    fn update(&mut self, u: &Update<'_>) -> Flow {
        let s = u.snapshot;
        self.progress.device_time(self.name, (s.last_tag_ps - s.first_tag_ps).max(0) as f64 * 1e-12);
        if self.stop_on_lock && s.lock == engine::clock::LockState::Locked {
            return Flow::Stop;
        }
        Flow::Continue
    }
}

fn judge(m: &Measurement, value: Option<f64>) -> MeasurementRecord {
    let limits = Limits::of(m);
    MeasurementRecord {
        name: m.name.clone().unwrap_or_else(|| m.metric.clone()),
        metric: m.metric.clone(),
        value,
        limits,
        limits_text: limits.text(),
        margin: limits.margin(value),
        outcome: limits.judge(value),
    }
}

/// A file-name-safe version of `s`.
fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

struct Ctx<'a> {
    scenario: &'a Scenario,
    opts: &'a RunOptions,
    progress: &'a dyn Progress,
    seed: Option<u64>,
}

impl Ctx<'_> {
    /// One session of the phase: runs, measures, records.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        settings: &Settings,
        duration_s: Option<f64>,
        stop_on_lock: bool,
        label: &str,
        file_stem: &str,
        measures: &[&Measurement],
        stop: &Arc<AtomicBool>,
        value: Option<toml::Value>,
    ) -> (StepRecord, Option<String>, bool) {
        let name = &self.scenario.file.scenario.name;
        self.progress.phase(name, label, duration_s);
        let replay = settings.bench.device == DeviceKind::Replay;
        // A replay bench writes no recording: the recording is its input.
        let output = self.opts.record_dir.as_ref().filter(|_| !replay).map(|dir| OutputPlan {
            path: dir.join(slug(name)).join(format!("{}.h5", slug(file_stem))),
            compression: recordings::Compression::Gzip,
            config_text: self.scenario.text.clone(),
            scenario_text: Some(self.scenario.text.clone()),
            start_now: true,
            status: None,
        });
        if let Some(o) = &output {
            if let Some(parent) = o.path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
        }
        let mut plan = RunPlan { output, ..RunPlan::new(settings.clone(), duration_s) };
        if stop_on_lock {
            // Look often: the fast bench covers seconds of device time in 100 ms of wall.
            plan.pipeline.update_interval = std::time::Duration::from_millis(1);
        }
        let mut obs = PhaseObserver { name, progress: self.progress, stop_on_lock };
        let mut step = StepRecord {
            value,
            status: String::new(),
            duration_s: 0.0,
            recording: None,
            measurements: Vec::new(),
            metrics: Default::default(),
        };
        let result =
            if replay { replay_step(settings, &mut obs, stop) } else { session::run(&plan, &mut obs, stop.clone()) };
        let outcome = match result {
            Ok(o) => o,
            Err(e) => {
                step.status = format!("error: {e}");
                step.measurements = measures.iter().map(|m| judge(m, None)).collect();
                return (step, Some(e.to_string()), false);
            }
        };
        let rec = metrics::record(&outcome);
        step.status = outcome.status_text();
        step.duration_s = rec.get("duration_s").and_then(Value::as_f64).unwrap_or(0.0);
        step.recording = outcome.recorded.as_ref().map(|r| r.path.clone());
        step.measurements = measures.iter().map(|m| judge(m, metrics::value(&rec, &m.metric))).collect();
        if let Value::Object(map) = &rec {
            // A wait_lock run stops when the lock is seen, at a moment the wall clock
            // decides: only the lock time (device time) is a reproducible figure of it.
            let keep: &[&str] = if stop_on_lock { &["lock_time_s"] } else { &[] };
            for (k, _) in metrics::NAMED {
                if !keep.is_empty() && !keep.contains(k) {
                    continue;
                }
                if let Some(v) = map.get(*k) {
                    step.metrics.insert((*k).to_string(), v.clone());
                }
            }
            if stop_on_lock {
                step.duration_s =
                    metrics::value(&rec, "lock_time_s").filter(|t| t.is_finite()).unwrap_or(step.duration_s);
            }
        }
        let aborted = stop.load(Ordering::Relaxed) && !outcome.complete();
        let device_error = matches!(outcome.pipeline.end, crate::pipeline::EndReason::DeviceError(_));
        // A device error is a result when the phase measures it (a disconnect scenario);
        // otherwise the phase could not do its job.
        let expects_device_error = measures.iter().any(|m| m.metric == "device_error");
        let error = (device_error && !expects_device_error).then(|| format!("device error: {}", outcome.status_text()));
        if let Some(path) = &step.recording {
            let outcome = if aborted {
                Outcome::Aborted
            } else if error.is_some() {
                Outcome::Error
            } else {
                step.measurements.iter().map(|m| m.outcome).max().unwrap_or(Outcome::Pass)
            };
            let verdict = serde_json::to_string(&serde_json::json!({
                "scenario": name,
                "phase": label,
                "outcome": outcome,
                "reason": error,
                "measurements": step.measurements,
            }))
            .unwrap_or_default();
            if let Err(e) = session::write_verdict(path, &verdict) {
                return (step, Some(format!("writing the verdict: {e}")), aborted);
            }
        }
        (step, error, aborted)
    }

    fn phase(
        &self,
        group: &'static str,
        index: usize,
        p: &Phase,
        settings: &mut Settings,
        stop: &Arc<AtomicBool>,
    ) -> PhaseRecord {
        let name = p.name.clone().unwrap_or_else(|| format!("{group}{}_{}", index + 1, p.kind.name()));
        let mut rec = PhaseRecord {
            group,
            name: name.clone(),
            kind: p.kind.name(),
            parameter: None,
            outcome: Outcome::Pass,
            reason: None,
            skipped: false,
            steps: Vec::new(),
            sweep_measurements: Vec::new(),
        };
        let stem = format!("{group}{}-{}", index + 1, name);
        let per_step: Vec<&Measurement> = p.measure.iter().filter(|m| m.over == Over::Step).collect();
        let rate = settings.generator.pulse_rate_hz;
        let span = |d: Option<f64>, n: Option<f64>| d.or(n.map(|n| n / rate));
        let mut errors = Vec::new();
        let mut aborted = false;
        fn push(
            rec: &mut PhaseRecord,
            errors: &mut Vec<String>,
            aborted: &mut bool,
            (step, err, ab): (StepRecord, Option<String>, bool),
        ) {
            rec.steps.push(step);
            errors.extend(err);
            *aborted |= ab;
        }
        match &p.kind {
            PhaseKind::Configure { set } => {
                for (k, v) in set {
                    if let Err(e) = settings.set(k, v.clone()) {
                        errors.push(format!("set {e}"));
                    }
                }
                settings.resolve_paths(&self.scenario.base_dir());
                if let Some(seed) = self.seed {
                    if !set.contains_key("bench.seed") {
                        settings.bench.seed = seed;
                    }
                }
                if let Err(e) = settings.validate() {
                    errors.push(e.to_string());
                }
            }
            PhaseKind::Acquire { duration_s, pulses } => {
                let r = self.step(settings, span(*duration_s, *pulses), false, &name, &stem, &per_step, stop, None);
                push(&mut rec, &mut errors, &mut aborted, r);
            }
            PhaseKind::WaitLock { timeout_s } => {
                let implicit = Measurement {
                    metric: "lock_time_s".into(),
                    name: Some("locked within timeout_s".into()),
                    min: None,
                    max: Some(*timeout_s),
                    target: None,
                    tolerance: None,
                    tolerance_pct: None,
                    marginal_min: None,
                    marginal_max: None,
                    over: Over::Step,
                };
                let mut all = vec![&implicit];
                all.extend(per_step.iter().copied());
                let r = self.step(settings, Some(*timeout_s), true, &name, &stem, &all, stop, None);
                push(&mut rec, &mut errors, &mut aborted, r);
            }
            PhaseKind::Sweep { parameter, values, from, to, step, duration_s, pulses } => {
                rec.parameter = Some(parameter.clone());
                let vals = match sweep_values(values, *from, *to, *step) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.push(e);
                        Vec::new()
                    }
                };
                for (i, v) in vals.iter().enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        aborted = true;
                        break;
                    }
                    let mut s = settings.clone();
                    if let Err(e) = s.set(parameter, v.clone()) {
                        errors.push(format!("{parameter} = {v}: {e}"));
                        continue;
                    }
                    s.resolve_paths(&self.scenario.base_dir());
                    let label = format!("{name} [{parameter} = {v}]");
                    let r = self.step(
                        &s,
                        span(*duration_s, *pulses),
                        false,
                        &label,
                        &format!("{stem}-step{:03}", i + 1),
                        &per_step,
                        stop,
                        Some(v.clone()),
                    );
                    push(&mut rec, &mut errors, &mut aborted, r);
                }
                for m in p.measure.iter().filter(|m| m.over != Over::Step) {
                    let value = over_steps(m, &rec.steps);
                    rec.sweep_measurements.push(judge(m, value));
                }
            }
            PhaseKind::Pass { duration_s, .. } => match pass_channel(&p.kind, &self.scenario.base_dir()) {
                Ok(ch) => {
                    let mut s = settings.clone();
                    s.bench.channel = ch;
                    let r = self.step(&s, *duration_s, false, &name, &stem, &per_step, stop, None);
                    push(&mut rec, &mut errors, &mut aborted, r);
                }
                Err(e) => errors.push(e),
            },
            PhaseKind::InjectFault { fault, duration_s, pulses } => {
                let mut s = settings.clone();
                s.bench.faults.push(fault.clone());
                let r = self.step(&s, span(*duration_s, *pulses), false, &name, &stem, &per_step, stop, None);
                push(&mut rec, &mut errors, &mut aborted, r);
            }
        }
        let worst = rec
            .steps
            .iter()
            .flat_map(|s| &s.measurements)
            .chain(&rec.sweep_measurements)
            .map(|m| m.outcome)
            .max()
            .unwrap_or(Outcome::Pass);
        rec.outcome = worst;
        if !errors.is_empty() {
            rec.outcome = rec.outcome.max(Outcome::Error);
            rec.reason = Some(errors.join("; "));
        }
        if aborted {
            rec.outcome = Outcome::Aborted;
            rec.reason = Some("stopped by the user (Ctrl-C or a signal)".into());
        }
        if rec.reason.is_none() && rec.outcome != Outcome::Pass {
            let bad: Vec<String> = rec
                .steps
                .iter()
                .flat_map(|s| &s.measurements)
                .chain(&rec.sweep_measurements)
                .filter(|m| m.outcome == rec.outcome)
                .map(|m| {
                    format!(
                        "{} = {} (limits {})",
                        m.name,
                        m.value.map_or("not measured".into(), super::fmt_num),
                        m.limits_text
                    )
                })
                .collect();
            rec.reason = Some(bad.join("; "));
        }
        rec
    }
}

/// One step on a replay bench: the whole recording through the engine, with its own
/// settings but the engine fields the scenario gives.
fn replay_step(
    settings: &Settings,
    obs: &mut dyn Observer,
    stop: &Arc<AtomicBool>,
) -> Result<session::Outcome, session::SessionError> {
    let path = settings
        .bench
        .recording
        .clone()
        .ok_or_else(|| SettingError::new("bench.recording", "device replay needs the recording to replay"))?;
    let engine = EngineOverrides::from_given(&settings.engine, &settings.engine_given)
        .map_err(|m| SettingError::new("engine", m))?;
    let plan = session::ReplayPlan { engine, ..session::ReplayPlan::new(path) };
    session::replay(&plan, obs, stop.clone())
}

/// A sweep measurement over its steps.
fn over_steps(m: &Measurement, steps: &[StepRecord]) -> Option<f64> {
    let vals: Vec<Option<f64>> =
        steps.iter().map(|s| metrics::value(&Value::Object(s.metrics.clone()), &m.metric)).collect();
    let nums = || vals.iter().flatten().copied();
    match m.over {
        Over::Step => None,
        Over::FirstZero => steps
            .iter()
            .zip(&vals)
            .find(|(_, v)| v.is_none_or(|x| x == 0.0))
            .and_then(|(s, _)| s.value.as_ref())
            .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64))),
        // One step not measured makes the extreme unknown: never a pass.
        Over::Min if vals.iter().all(Option::is_some) => nums().reduce(f64::min),
        Over::Max if vals.iter().all(Option::is_some) => nums().reduce(f64::max),
        Over::Min | Over::Max => None,
        Over::First => vals.first().copied().flatten(),
        Over::Last => vals.last().copied().flatten(),
    }
}

/// Runs one scenario to its record.
pub fn run_scenario(scenario: &Scenario, opts: &RunOptions, progress: &dyn Progress) -> ScenarioRecord {
    let seed = opts.seed.or(scenario.file.scenario.seed);
    let ctx = Ctx { scenario, opts, progress, seed };
    let mut settings = scenario.settings(opts.seed);
    let mut phases = Vec::new();
    let mut setup_ok = true;
    for (i, p) in scenario.file.setup.iter().enumerate() {
        let r = ctx.phase("setup", i, p, &mut settings, &opts.stop);
        setup_ok &= r.outcome <= Outcome::Marginal;
        phases.push(r);
        if !setup_ok {
            break;
        }
    }
    if !setup_ok {
        // Not run, but listed: the record and JUnit show what the failed setup cost.
        for (group, list) in [("main", &scenario.file.main), ("teardown", &scenario.file.teardown)] {
            for (i, p) in list.iter().enumerate() {
                phases.push(PhaseRecord {
                    group,
                    name: p.name.clone().unwrap_or_else(|| format!("{group}{}_{}", i + 1, p.kind.name())),
                    kind: p.kind.name(),
                    parameter: None,
                    outcome: Outcome::Pass,
                    reason: Some("skipped: setup failed".into()),
                    skipped: true,
                    steps: Vec::new(),
                    sweep_measurements: Vec::new(),
                });
            }
        }
    }
    if setup_ok {
        for (i, p) in scenario.file.main.iter().enumerate() {
            if opts.stop.load(Ordering::Relaxed) {
                break;
            }
            let r = ctx.phase("main", i, p, &mut settings, &opts.stop);
            let aborted = r.outcome == Outcome::Aborted;
            phases.push(r);
            if aborted {
                break;
            }
        }
        // Teardown runs whatever happened in main, with its own stop flag: a Ctrl-C that
        // ended main must not also skip the bench's return to a safe state.
        let teardown_stop = Arc::new(AtomicBool::new(false));
        for (i, p) in scenario.file.teardown.iter().enumerate() {
            phases.push(ctx.phase("teardown", i, p, &mut settings, &teardown_stop));
        }
    }
    let outcome = phases.iter().filter(|p| !p.skipped).map(|p| p.outcome).max().unwrap_or(Outcome::Pass);
    let outcome = if opts.stop.load(Ordering::Relaxed) { outcome.max(Outcome::Aborted) } else { outcome };
    let reason = phases
        .iter()
        .filter(|p| p.outcome == outcome && p.reason.is_some())
        .map(|p| format!("{}: {}", p.name, p.reason.as_deref().unwrap_or("")))
        .next()
        .or_else(|| (!setup_ok).then(|| "setup failed: main was skipped".into()))
        .or_else(|| (outcome == Outcome::Aborted).then(|| "stopped by the user".into()));
    ScenarioRecord {
        name: scenario.file.scenario.name.clone(),
        path: scenario.path.clone(),
        seed,
        outcome,
        reason,
        phases,
    }
}

/// Every scenario file under `path` (a file, or a folder searched recursively for *.toml),
/// sorted by path.
pub fn scenario_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
