//! Limits and outcomes (OpenHTF's semantics): a value inside [min, max] passes, inside the
//! limits but outside the marginal band is MARGINAL, outside the limits FAILS; a value that
//! could not be measured is an ERROR, never a pass.

use serde::Serialize;

use super::format::Measurement;

/// The outcome of a measurement, a phase, a scenario or a run; ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Outcome {
    /// Within the limits (and the marginal band).
    Pass,
    /// Within the limits, outside the marginal band.
    Marginal,
    /// Outside the limits.
    Fail,
    /// Not measured, or the phase could not run.
    Error,
    /// Stopped by the user (Ctrl-C, SIGTERM) or by a device that went away.
    Aborted,
}

impl Outcome {
    /// The name as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Marginal => "MARGINAL",
            Outcome::Fail => "FAIL",
            Outcome::Error => "ERROR",
            Outcome::Aborted => "ABORTED",
        }
    }

    /// The process exit code: 0 PASS and MARGINAL, 1 FAIL, 2 ERROR and ABORTED.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Pass | Outcome::Marginal => 0,
            Outcome::Fail => 1,
            Outcome::Error | Outcome::Aborted => 2,
        }
    }
}

/// The effective limits of a measurement: [lo, hi] and the marginal band [mlo, mhi].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limits {
    /// Lowest passing value (None: no lower limit).
    pub min: Option<f64>,
    /// Highest passing value.
    pub max: Option<f64>,
    /// Passing values below this are MARGINAL.
    pub marginal_min: Option<f64>,
    /// Passing values above this are MARGINAL.
    pub marginal_max: Option<f64>,
}

impl Limits {
    /// The limits a measurement states (target ± tolerance becomes min and max).
    pub fn of(m: &Measurement) -> Limits {
        let (mut min, mut max) = (m.min, m.max);
        if let Some(t) = m.target {
            let tol = m.tolerance.or(m.tolerance_pct.map(|p| (t * p / 100.0).abs())).unwrap_or(0.0);
            min = Some(t - tol);
            max = Some(t + tol);
        }
        Limits { min, max, marginal_min: m.marginal_min, marginal_max: m.marginal_max }
    }

    /// The outcome of `value`.
    pub fn judge(&self, value: Option<f64>) -> Outcome {
        let Some(v) = value.filter(|v| !v.is_nan()) else { return Outcome::Error };
        if self.min.is_some_and(|lo| v < lo) || self.max.is_some_and(|hi| v > hi) {
            return Outcome::Fail;
        }
        if self.marginal_min.is_some_and(|lo| v < lo) || self.marginal_max.is_some_and(|hi| v > hi) {
            return Outcome::Marginal;
        }
        Outcome::Pass
    }

    /// The distance from `value` to the nearest limit, positive inside (None without limits).
    pub fn margin(&self, value: Option<f64>) -> Option<f64> {
        let v = value?;
        let a = self.min.map(|lo| v - lo);
        let b = self.max.map(|hi| hi - v);
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (x, None) | (None, x) => x,
        }
    }

    /// The limits as text: `[0.01, 0.02]`, `>= 5`, `<= 0.05`.
    pub fn text(&self) -> String {
        let f = super::fmt_num;
        match (self.min, self.max) {
            (Some(a), Some(b)) => format!("[{}, {}]", f(a), f(b)),
            (Some(a), None) => format!(">= {}", f(a)),
            (None, Some(b)) => format!("<= {}", f(b)),
            (None, None) => "(recorded only)".into(),
        }
    }
}

/// Checks that a measurement's limits make sense.
pub fn check(m: &Measurement) -> Result<(), String> {
    let all = [m.min, m.max, m.target, m.tolerance, m.tolerance_pct, m.marginal_min, m.marginal_max];
    if all.iter().flatten().any(|x| !x.is_finite()) {
        return Err("limits must be finite numbers".into());
    }
    if m.target.is_some() && (m.min.is_some() || m.max.is_some()) {
        return Err("give target (with tolerance or tolerance_pct) or min/max, not both".into());
    }
    if m.target.is_some() && m.tolerance.is_none() && m.tolerance_pct.is_none() {
        return Err("target needs tolerance or tolerance_pct".into());
    }
    if m.target.is_none() && (m.tolerance.is_some() || m.tolerance_pct.is_some()) {
        return Err("tolerance needs a target".into());
    }
    if m.tolerance.is_some() && m.tolerance_pct.is_some() {
        return Err("give tolerance or tolerance_pct, not both".into());
    }
    if m.tolerance.is_some_and(|t| t < 0.0) || m.tolerance_pct.is_some_and(|t| t < 0.0) {
        return Err("a tolerance must be >= 0".into());
    }
    let l = Limits::of(m);
    if let (Some(a), Some(b)) = (l.min, l.max) {
        if a > b {
            return Err(format!("min {a} is above max {b}"));
        }
    }
    if let (Some(lo), Some(mlo)) = (l.min, l.marginal_min) {
        if mlo < lo {
            return Err(format!("marginal_min {mlo} is below min {lo}: the marginal band lies inside the limits"));
        }
    }
    if let (Some(hi), Some(mhi)) = (l.max, l.marginal_max) {
        if mhi > hi {
            return Err(format!("marginal_max {mhi} is above max {hi}: the marginal band lies inside the limits"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(toml: &str) -> Measurement {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn outcomes_follow_the_limits_and_the_marginal_band() {
        let l = Limits::of(&m("metric = 'x'\nmin = 1.0\nmax = 3.0\nmarginal_max = 2.5"));
        assert_eq!(l.judge(Some(2.0)), Outcome::Pass);
        assert_eq!(l.judge(Some(2.7)), Outcome::Marginal);
        assert_eq!(l.judge(Some(3.1)), Outcome::Fail);
        assert_eq!(l.judge(Some(0.9)), Outcome::Fail);
        assert_eq!(l.judge(None), Outcome::Error, "not measured is never a pass");
        assert_eq!(l.judge(Some(f64::NAN)), Outcome::Error);
        assert_eq!(l.margin(Some(2.7)), Some(0.2999999999999998));
        let t = Limits::of(&m("metric = 'x'\ntarget = 100.0\ntolerance_pct = 5"));
        assert_eq!((t.min, t.max), (Some(95.0), Some(105.0)));
        assert_eq!(t.judge(Some(94.0)), Outcome::Fail);
        assert!(Outcome::Fail > Outcome::Marginal && Outcome::Aborted > Outcome::Error);
    }

    #[test]
    fn contradictory_limits_are_refused() {
        assert!(check(&m("metric = 'x'\nmin = 3.0\nmax = 1.0")).is_err());
        assert!(check(&m("metric = 'x'\ntarget = 3.0")).is_err());
        assert!(check(&m("metric = 'x'\ntarget = 3.0\ntolerance = 1\nmax = 5")).is_err());
        assert!(check(&m("metric = 'x'\nmax = 1.0\nmarginal_max = 2.0")).is_err());
        assert!(check(&m("metric = 'x'\nmax = inf")).is_err());
        assert!(check(&m("metric = 'x'\nmax = 1.0")).is_ok());
    }
}
