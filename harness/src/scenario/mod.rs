//! Scripted acceptance scenarios (DESIGN.md decision 8, docs/scenario-format.md): a TOML
//! file of settings and phases; each phase that runs is a session (`harness::session`) with
//! the scenario's settings, measured against limits into PASS / MARGINAL / FAIL / ERROR /
//! ABORTED. The semantics are OpenHTF's (phases, measurements with limits, outcomes, a test
//! record); the CI conventions (JUnit, exit codes, selection, sharding) pytest's and cocotb's.

pub mod format;
pub mod junit;
pub mod limits;
pub mod metrics;
pub mod record;
pub mod run;
pub mod select;

pub use format::{Scenario, ScenarioError};
pub use limits::Outcome;
pub use record::{MeasurementRecord, PhaseRecord, RunRecord, ScenarioRecord, StepRecord};
pub use run::{run_scenario, Progress, RunOptions};

/// A number as the verdict table prints it: 4 significant digits, exponent when large or
/// small.
pub fn fmt_num(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 || (1e-3..1e6).contains(&x.abs()) {
        let s = format!("{x:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() || s == "-" {
            "0".into()
        } else {
            s.into()
        }
    } else {
        format!("{x:.3e}")
    }
}
