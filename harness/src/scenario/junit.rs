//! JUnit XML (the Jenkins format CI systems read), by quick-junit: one test suite per
//! scenario, one test case per measurement; a failure carries the value and the limits.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::limits::Outcome;
use super::record::RunRecord;

/// The run as a JUnit report.
pub fn report(run: &RunRecord) -> Report {
    let mut report = Report::new("qkdbench");
    for s in &run.scenarios {
        let mut suite = TestSuite::new(s.name.as_str());
        let ms = s.measurements();
        for (phase, m) in &ms {
            let value = m.value.map_or("not measured".to_string(), super::fmt_num);
            let status = match m.outcome {
                Outcome::Pass | Outcome::Marginal => TestCaseStatus::success(),
                Outcome::Fail => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    st.set_message(format!("{} = {value}, limits {}", m.name, m.limits_text)).set_type("limit");
                    st
                }
                Outcome::Error | Outcome::Aborted => {
                    let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                    st.set_message(format!("{}: {value}", m.name)).set_type("not measured");
                    st
                }
            };
            let mut case = TestCase::new(format!("{phase}: {}", m.name), status);
            case.set_classname(format!("qkdbench.{}", s.name));
            if m.outcome == Outcome::Marginal {
                case.set_system_out(format!("MARGINAL: {} = {value}, limits {}", m.name, m.limits_text));
            }
            suite.add_test_case(case);
        }
        // A phase that could not run (or a scenario that stopped) is an error of its own,
        // so a scenario with no measurement still shows up red.
        for p in &s.phases {
            if p.skipped {
                let mut st = TestCaseStatus::skipped();
                st.set_message(p.reason.clone().unwrap_or_default());
                let mut case = TestCase::new(format!("{}: phase", p.name), st);
                case.set_classname(format!("qkdbench.{}", s.name));
                suite.add_test_case(case);
                continue;
            }
            if p.outcome >= Outcome::Error {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(p.reason.clone().unwrap_or_default()).set_type(p.outcome.as_str());
                let mut case = TestCase::new(format!("{}: phase", p.name), st);
                case.set_classname(format!("qkdbench.{}", s.name));
                suite.add_test_case(case);
            }
        }
        report.add_test_suite(suite);
    }
    report
}
