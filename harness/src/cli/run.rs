//! `qkdbench run PATH...`: scripted acceptance scenarios (docs/scenario-format.md), with a
//! verdict as exit code, a table, a JSON record and JUnit XML.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use clap::Args;
use harness::scenario::run::scenario_files;
use harness::scenario::select::{self, Shard};
use harness::scenario::{
    fmt_num, junit, run_scenario, Outcome, Progress, RunOptions, RunRecord, Scenario, ScenarioRecord,
};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Exit;

/// Arguments of `qkdbench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files, or folders searched for *.toml (recursively).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Write JUnit XML here (one test suite per scenario, one test case per measurement).
    #[arg(long, value_name = "F.xml")]
    junit: Option<PathBuf>,
    /// Write the test record here as JSON, rewritten after every scenario (`status` stays
    /// `running` until the run ends, so a crash leaves a record marked partial).
    #[arg(long, value_name = "F.json")]
    json: Option<PathBuf>,
    /// Record every run into this folder (`DIR/<scenario>/<phase>.h5`), with the scenario
    /// text and the verdict in the file.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Write an HTML page per scenario (and summary.md for a CI job summary) into this folder.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Seed of every scenario (replaces the files' own), 0 to 2^63-1.
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    seed: Option<u64>,
    /// Run only scenarios whose name or file name contains PATTERN (repeatable; `not X`
    /// excludes).
    #[arg(short = 'k', value_name = "PATTERN")]
    patterns: Vec<String>,
    /// Run the I-th of N deterministic shares of the selected scenarios (for a CI matrix).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Scenarios run at once (default 1; each scenario's phases run in order).
    #[arg(short = 'j', long, value_name = "JOBS", default_value_t = 1)]
    jobs: usize,
}

struct Bars {
    bars: Vec<(String, ProgressBar)>,
}

impl Progress for Bars {
    fn phase(&self, scenario: &str, phase: &str, span_s: Option<f64>) {
        if let Some((_, b)) = self.bars.iter().find(|(n, _)| n == scenario) {
            b.set_length(span_s.map_or(0, |s| (s * 1000.0) as u64));
            b.set_position(0);
            b.set_message(format!("{scenario}: {phase}"));
        }
    }
    fn device_time(&self, scenario: &str, t_s: f64) {
        if let Some((_, b)) = self.bars.iter().find(|(n, _)| n == scenario) {
            b.set_position((t_s * 1000.0) as u64);
        }
    }
}

/// Runs `qkdbench run`.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    if args.jobs == 0 || args.jobs > 256 {
        return Err(Exit::bad_input(format!("-j {}: must be in 1..=256", args.jobs)));
    }
    // Every file is read and checked before anything runs.
    let mut files = Vec::new();
    for p in &args.paths {
        let found = scenario_files(p).map_err(|e| Exit::bad_input(format!("{}: {e}", p.display())))?;
        if found.is_empty() {
            return Err(Exit::bad_input(format!("{}: no scenario files (*.toml) there", p.display())));
        }
        files.extend(found);
    }
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        match Scenario::load(f) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(Exit::bad_input(format!("bad scenario, nothing was run:\n  {}", errors.join("\n  "))));
    }
    let mut names = std::collections::HashSet::new();
    for s in &scenarios {
        if !names.insert(s.file.scenario.name.clone()) {
            return Err(Exit::bad_input(format!(
                "{}: scenario name {:?} is used twice (names are the JUnit suites and the record folders)",
                s.path.display(),
                s.file.scenario.name
            )));
        }
    }
    let matched: Vec<Scenario> = scenarios
        .into_iter()
        .filter(|s| {
            let stem = s.path.file_stem().and_then(|x| x.to_str()).unwrap_or("");
            select::matches(&args.patterns, &[&s.file.scenario.name, stem])
        })
        .collect();
    if matched.is_empty() {
        // A -k that matches nothing is a typo, not a green run (pytest exits 5 for it).
        return Err(Exit::bad_input(format!("-k {:?}: no scenario matches", args.patterns)));
    }
    let selected: Vec<Scenario> = matched
        .into_iter()
        .enumerate()
        .filter(|(i, _)| args.shard.is_none_or(|sh| sh.takes(*i)))
        .map(|(_, s)| s)
        .collect();
    if selected.is_empty() {
        // More shards than scenarios: this one has nothing to do.
        let sh = args.shard.map(|s| format!("{}/{}", s.index, s.count)).unwrap_or_default();
        super::errln!("qkdbench run: no scenario in shard {sh}");
        return Ok(ExitCode::SUCCESS);
    }
    // Every output is checked before anything runs: a bad path is bad usage, not a FAIL.
    for dir in [&args.record, &args.report].into_iter().flatten() {
        std::fs::create_dir_all(dir).map_err(|e| Exit::bad_input(format!("{}: {e}", dir.display())))?;
        let probe = dir.join(".qkdbench-write-test");
        std::fs::write(&probe, b"")
            .map_err(|e| Exit::bad_input(format!("{}: cannot write there: {e}", dir.display())))?;
        let _ = std::fs::remove_file(probe);
    }
    for file in [&args.json, &args.junit].into_iter().flatten() {
        // Written through a rename: a folder, a device (/dev/null, /dev/full) or a FIFO there
        // would be replaced. Refused.
        if let Ok(m) = std::fs::metadata(file) {
            if !m.is_file() {
                return Err(Exit::bad_input(format!(
                    "{}: exists and is not a regular file (a folder, a device or a FIFO)",
                    file.display()
                )));
            }
        }
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let probe = file.with_file_name(format!(".{name}.qkdbench-probe"));
        std::fs::write(&probe, b"")
            .map_err(|e| Exit::bad_input(format!("{}: cannot write there: {e}", file.display())))?;
        let _ = std::fs::remove_file(probe);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed)).context("installing the signal handler")?;
    let multi = MultiProgress::new();
    let style =
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>7}/{len:7} ms  {msg}").expect("valid template");
    let bars = Bars {
        bars: selected
            .iter()
            .map(|s| {
                let b = multi.add(ProgressBar::new(0));
                b.set_style(style.clone());
                b.set_message(format!("{}: waiting", s.file.scenario.name));
                (s.file.scenario.name.clone(), b)
            })
            .collect(),
    };
    let opts = RunOptions { seed: args.seed, record_dir: args.record.clone(), stop: stop.clone() };
    let results: Mutex<Vec<Option<ScenarioRecord>>> = Mutex::new(vec![None; selected.len()]);
    let next = AtomicUsize::new(0);
    let write_error: Mutex<Option<String>> = Mutex::new(None);
    // One writer at a time: the workers share the temporary file.
    let writing = Mutex::new(());
    let write_record = |final_status: Option<&str>| {
        let Some(path) = &args.json else { return };
        let _one = writing.lock().expect("not poisoned");
        let done: Vec<ScenarioRecord> = results.lock().expect("not poisoned").iter().flatten().cloned().collect();
        let rec = run_record(&done, selected.len(), final_status.unwrap_or("running"));
        if let Err(e) = write_atomically(path, &(serde_json::to_string_pretty(&rec).unwrap_or_default() + "\n")) {
            *write_error.lock().expect("not poisoned") = Some(format!("writing {}: {e}", path.display()));
        }
    };
    write_record(None);
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.min(selected.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(sc) = selected.get(i) else { return };
                let rec = run_scenario(sc, &opts, &bars);
                if let Some((_, b)) = bars.bars.iter().find(|(n, _)| *n == sc.file.scenario.name) {
                    b.finish_with_message(format!("{}: {}", sc.file.scenario.name, rec.outcome.as_str()));
                }
                results.lock().expect("not poisoned")[i] = Some(rec);
                write_record(None);
            });
        }
    });
    let _ = multi.clear();
    let done: Vec<ScenarioRecord> = results.into_inner().expect("not poisoned").into_iter().flatten().collect();
    let aborted = stop.load(Ordering::Relaxed);
    let status = if aborted { "aborted" } else { "complete" };
    let record = run_record(&done, selected.len(), status);
    if let Some(path) = &args.json {
        write_atomically(path, &(serde_json::to_string_pretty(&record)? + "\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(e) = write_error.into_inner().expect("not poisoned") {
        super::errln!("qkdbench run: {e}");
    }
    super::emit(&table(&record))?;
    if let Some(path) = &args.junit {
        let xml = junit::report(&record).to_string().context("serialising JUnit XML")?;
        write_atomically(path, &xml).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(dir) = &args.report {
        super::report::scenario_reports(&record, dir)?;
    }
    let outcome = if aborted { record.outcome.max(Outcome::Aborted) } else { record.outcome };
    match outcome.exit_code() {
        0 => Ok(ExitCode::SUCCESS),
        code => Err(Exit { code, message: format!("verdict {}", outcome.as_str()) }.into()),
    }
}

fn run_record(done: &[ScenarioRecord], selected: usize, status: &str) -> RunRecord {
    RunRecord {
        tool: concat!("qkdbench ", env!("CARGO_PKG_VERSION")).into(),
        status: status.into(),
        outcome: done.iter().map(|s| s.outcome).max().unwrap_or(Outcome::Pass),
        selected,
        scenarios: done.to_vec(),
    }
}

/// Writes `text` to `path` through a temporary file and a rename: a reader never sees half
/// a file, and a crash leaves the previous version.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("{}.partial", path.extension().and_then(|e| e.to_str()).unwrap_or("out")));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The verdict table: per scenario its outcome, then every measurement with its value,
/// limits, margin and outcome.
pub fn table(run: &RunRecord) -> String {
    let mut out = String::new();
    for s in &run.scenarios {
        out.push_str(&format!("{:<8} {}  ({})\n", s.outcome.as_str(), s.name, s.path.display()));
        if let Some(r) = &s.reason {
            if s.outcome != Outcome::Pass {
                out.push_str(&format!("         reason: {r}\n"));
            }
        }
        let rows: Vec<[String; 5]> = s
            .measurements()
            .iter()
            .map(|(phase, m)| {
                [
                    format!("{phase}: {}", m.name),
                    m.value.map_or("not measured".into(), fmt_num),
                    m.limits_text.clone(),
                    m.margin.map_or("-".into(), fmt_num),
                    m.outcome.as_str().into(),
                ]
            })
            .collect();
        let w: Vec<usize> = (0..5).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
        for r in &rows {
            out.push_str(&format!(
                "         {:<w0$}  {:>w1$}  {:<w2$}  margin {:>w3$}  {}\n",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3]
            ));
        }
    }
    let count = |o: Outcome| run.scenarios.iter().filter(|s| s.outcome == o).count();
    out.push_str(&format!(
        "\n{} scenarios: {} passed, {} marginal, {} failed, {} errors, {} aborted; verdict {}\n",
        run.scenarios.len(),
        count(Outcome::Pass),
        count(Outcome::Marginal),
        count(Outcome::Fail),
        count(Outcome::Error),
        count(Outcome::Aborted),
        run.outcome.as_str()
    ));
    out
}
