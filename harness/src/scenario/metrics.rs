//! What a scenario can measure: named metrics derived from a run (documented in
//! docs/scenario-format.md), and any field of the run report by its path
//! (`snapshot.gain[1]`, `characterisation.detectors[0].dead_time_ps`, `key.phi_x`).

use engine::clock::LockState;
use engine::finite_key::{Bound, KeyRateInput};
use engine::{Engine, EngineConfig};
use serde_json::{json, Map, Value};

use crate::report::RunReport;
use crate::session::Outcome as SessionOutcome;

/// The named metrics and what they mean (the table in docs/scenario-format.md).
pub const NAMED: &[(&str, &str)] = &[
    ("qber_z", "QBER in Z, all classes"),
    ("qber_x", "QBER in X, all classes"),
    ("qber_z_signal", "QBER in Z, signal class"),
    ("qber_x_signal", "QBER in X, signal class"),
    ("qber_z_decoy", "QBER in Z, decoy class"),
    ("qber_x_decoy", "QBER in X, decoy class"),
    ("gain_signal", "detected pulses / signal pulses sent"),
    ("gain_decoy", "detected pulses / decoy pulses sent"),
    ("gain_vacuum", "detected pulses / vacuum pulses sent"),
    ("intensity_ratio_decoy", "mu_decoy / mu_signal measured from the gains"),
    ("intensity_ratio_error_decoy", "measured / set decoy intensity ratio - 1"),
    ("vacuum_leakage_per_pulse", "vacuum-class yield above the noise, 1/pulse"),
    ("contrast_min", "lowest contrast over the four sent states"),
    ("efficiency_mismatch", "largest relative efficiency / smallest - 1, over the four detectors"),
    ("dead_time_ps_max", "longest dead time over the detectors, ps"),
    ("afterpulse_probability_max", "highest afterpulse probability over the detectors"),
    ("arrival_fwhm_ps_max", "widest arrival FWHM over the detectors, ps"),
    ("sifted", "sifted events, both bases"),
    ("sifted_rate_bps", "sifted events per second of device time"),
    ("key_length_bits", "finite-key length of the run, bits (0 when the counts certify none)"),
    ("key_rate_bps", "key_length_bits per second of device time"),
    (
        "lock_time_s",
        "device time from the first sync tag (else the first tag) to the first lock, s (inf: never locked)",
    ),
    (
        "relock_time_s",
        "device time from the first loss of lock to the next lock, s (0: never lost; inf: never regained)",
    ),
    ("lock_losses", "times the lock went to holdover or lost"),
    ("locked_at_end", "1 when the clock is locked at the end of the run, else 0"),
    ("residual_rms_ps", "RMS arrival residual of the gated detections, ps"),
    ("rate_offset_ppm", "received pulse rate offset at the end (Doppler and clocks), ppm"),
    ("rate_offset_ppm_max_abs", "largest |rate offset| at the ends of the run's metric windows, ppm"),
    ("detection_rate_hz", "clicks per second, the four detectors together"),
    ("tags", "tags the engine processed"),
    ("duration_s", "device time from the first to the last tag, s"),
    ("missed_tags", "tags the device lost (in-band counts)"),
    ("overflows", "overflow episodes reported in band"),
    ("stream_errors", "malformed words in the tag stream"),
    ("device_error", "1 when the run ended with a device error (a disconnect), else 0"),
    ("window_qber_x_max", "highest per-window QBER in X among windows with at least 100 sifted X events"),
    ("window_qber_z_max", "highest per-window QBER in Z among windows with at least 100 sifted Z events"),
    ("windows", "metric windows closed"),
];

/// Everything measurable about one run, as JSON: the named metrics and the run report.
pub fn record(o: &SessionOutcome) -> Value {
    let r: RunReport = o.report();
    let s = &r.snapshot;
    let mut m = Map::new();
    let num = |x: Option<f64>| x.map_or(Value::Null, |v| json!(v));
    let sum = |b: usize| -> u64 { s.counts.sifted.iter().map(|k| k[b]).sum() };
    let dur = r.duration_s;
    let rate = |x: f64| if dur > 0.0 { Some(x / dur) } else { None };
    m.insert("qber_z".into(), num(s.qber[0]));
    m.insert("qber_x".into(), num(s.qber[1]));
    m.insert("qber_z_signal".into(), num(r.qber_by_class[0][0]));
    m.insert("qber_x_signal".into(), num(r.qber_by_class[0][1]));
    m.insert("qber_z_decoy".into(), num(r.qber_by_class[1][0]));
    m.insert("qber_x_decoy".into(), num(r.qber_by_class[1][1]));
    m.insert("gain_signal".into(), num(s.gain[0]));
    m.insert("gain_decoy".into(), num(s.gain[1]));
    m.insert("gain_vacuum".into(), num(s.gain[2]));
    let c = &r.characterisation;
    m.insert("intensity_ratio_decoy".into(), num(c.intensity_ratio[1]));
    m.insert(
        "intensity_ratio_error_decoy".into(),
        num(c.intensity_ratio[1]
            .zip(r.set_intensity_ratio[1])
            .filter(|(_, set)| *set > 0.0)
            .map(|(m, set)| m / set - 1.0)),
    );
    m.insert("vacuum_leakage_per_pulse".into(), num(c.vacuum_leakage_per_pulse));
    m.insert("contrast_min".into(), num(c.contrast.iter().flatten().copied().reduce(f64::min)));
    let eff: Vec<f64> = c.detectors.iter().filter_map(|d| d.relative_efficiency).filter(|e| *e > 0.0).collect();
    m.insert(
        "efficiency_mismatch".into(),
        num((eff.len() == 4).then(|| {
            eff.iter().copied().fold(0.0, f64::max) / eff.iter().copied().fold(f64::INFINITY, f64::min) - 1.0
        })),
    );
    let det_max = |f: &dyn Fn(&engine::characterise::DetectorEstimate) -> Option<f64>| {
        c.detectors.iter().filter_map(f).reduce(f64::max)
    };
    m.insert("dead_time_ps_max".into(), num(det_max(&|d| d.dead_time_ps)));
    m.insert("afterpulse_probability_max".into(), num(det_max(&|d| d.afterpulse_probability)));
    m.insert("arrival_fwhm_ps_max".into(), num(det_max(&|d| d.arrival_fwhm_ps)));
    let sifted = sum(0) + sum(1);
    m.insert("sifted".into(), json!(sifted));
    m.insert("sifted_rate_bps".into(), num(rate(sifted as f64)));
    let key = r.key.as_ref().map_or(0, |k| k.key_length_bits);
    m.insert("key_length_bits".into(), json!(key));
    m.insert("key_rate_bps".into(), num(rate(key as f64)));
    let (lock_time, relock, losses) = lock_times(s);
    // Never locked: infinitely late (a wait_lock limit then FAILs rather than going unmeasured).
    m.insert("lock_time_s".into(), lock_time.map_or(json!("inf"), |t| json!(t)));
    m.insert(
        "relock_time_s".into(),
        relock.map_or(Value::Null, |x| if x.is_finite() { json!(x) } else { json!("inf") }),
    );
    m.insert("lock_losses".into(), json!(losses));
    m.insert("locked_at_end".into(), json!(u8::from(s.lock == LockState::Locked)));
    m.insert("residual_rms_ps".into(), num(s.residual_rms_ps));
    m.insert("rate_offset_ppm".into(), json!(s.rate_offset * 1e6));
    // From the windows (device time), not from the live updates (wall time): the same at
    // any pace.
    let max_abs = o.engine.windows().map(|w| w.rate_offset.abs()).fold(s.rate_offset.abs(), f64::max);
    m.insert("rate_offset_ppm_max_abs".into(), json!(max_abs * 1e6));
    m.insert("detection_rate_hz".into(), json!(r.channel_rate_hz[..4].iter().sum::<f64>()));
    m.insert("tags".into(), json!(o.pipeline.tags));
    m.insert("missed_tags".into(), json!(s.missed_tags));
    m.insert("overflows".into(), json!(s.overflows));
    m.insert("stream_errors".into(), json!(s.stream_errors));
    m.insert(
        "device_error".into(),
        json!(u8::from(matches!(o.pipeline.end, crate::pipeline::EndReason::DeviceError(_)))),
    );
    let wmax = |b: usize| {
        o.engine
            .windows()
            .filter(|w| w.counts.sifted.iter().map(|k| k[b]).sum::<u64>() >= 100)
            .filter_map(|w| w.qber[b])
            .reduce(f64::max)
    };
    m.insert("window_qber_z_max".into(), num(wmax(0)));
    m.insert("window_qber_x_max".into(), num(wmax(1)));
    m.insert("windows".into(), json!(s.windows_closed));
    if let Value::Object(report) = serde_json::to_value(&r).unwrap_or(Value::Null) {
        for (k, v) in report {
            m.entry(k).or_insert(v);
        }
    }
    Value::Object(m)
}

/// (first lock, relock after the first loss, number of losses), s of device time from the
/// transmitter's first output (the first sync tag; the first tag on a link without one).
fn lock_times(s: &engine::Snapshot) -> (Option<f64>, Option<f64>, u64) {
    let t0 = s.first_sync_ps.unwrap_or(s.first_tag_ps);
    let secs = |t: i64| (t - t0) as f64 * 1e-12;
    let first_lock = s.lock_events.iter().find(|e| e.state == LockState::Locked).map(|e| e.time_ps);
    let losses =
        s.lock_events.iter().filter(|e| matches!(e.state, LockState::Holdover | LockState::Lost)).count() as u64;
    let Some(lock) = first_lock else { return (None, None, losses) };
    let loss = s
        .lock_events
        .iter()
        .find(|e| e.time_ps >= lock && matches!(e.state, LockState::Holdover | LockState::Lost))
        .map(|e| e.time_ps);
    let relock = match loss {
        None => Some(0.0),
        Some(l) => Some(
            s.lock_events
                .iter()
                .find(|e| e.time_ps > l && e.state == LockState::Locked)
                .map_or(f64::INFINITY, |e| (e.time_ps - l) as f64 * 1e-12),
        ),
    };
    (Some(secs(lock)), relock, losses)
}

/// The value of `metric` in a run's record: a number, or None when not measured (null).
/// `inf` (a relock that never came) is +infinity.
pub fn value(record: &Value, metric: &str) -> Option<f64> {
    let v = lookup(record, metric)?;
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::String(s) if s == "inf" => Some(f64::INFINITY),
        Value::String(s) => match s.as_str() {
            // Lock states and the like as numbers: locked 1, anything else 0.
            "locked" => Some(1.0),
            "searching" | "holdover" | "lost" => Some(0.0),
            _ => None,
        },
        _ => None,
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = v;
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            node = node.get(name)?;
        }
        let mut rest = rest;
        while !rest.is_empty() {
            let (idx, after) = rest.split_once(']')?;
            node = node.get(idx.parse::<usize>().ok()?)?;
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    Some(node)
}

/// A record with every field present (a run with counts, and a key), for checking metric
/// names before anything runs.
fn template() -> Value {
    let pattern = rtl::model::pattern_gen::PatternSettings::default();
    let engine = Engine::new(EngineConfig::new(pattern, drivers::DEFAULT_PULSE_RATE_HZ));
    let mut report = serde_json::to_value(RunReport::of(&engine)).unwrap_or(Value::Null);
    let key = KeyRateInput {
        mu: [0.8, 0.1, 0.0],
        p: [0.5, 0.25, 0.25],
        n_x: [1e7, 1e6, 1e5],
        n_z: [1e7, 1e6, 1e5],
        m_x: [1e5, 1e4, 5e4],
        m_z: [1e5, 1e4, 5e4],
        eps_sec: 1e-10,
        eps_cor: 1e-15,
        f_ec: 1.16,
        bound: Bound::Chernoff,
    }
    .evaluate()
    .ok();
    if let (Some(obj), Some(k)) = (report.as_object_mut(), key) {
        obj.insert("key".into(), serde_json::to_value(k).unwrap_or(Value::Null));
        // Lists whose length depends on the run: one element is enough to check a path.
        if let Some(s) = obj.get_mut("snapshot").and_then(Value::as_object_mut) {
            s.insert("lock_events".into(), json!([{"time_ps": 0, "state": "locked"}]));
        }
    }
    report
}

/// Checks that `metric` names something a run reports; the error lists the named metrics.
pub fn check_name(metric: &str) -> Result<(), String> {
    if NAMED.iter().any(|(n, _)| *n == metric) {
        return Ok(());
    }
    match lookup(&template(), metric) {
        Some(Value::Number(_) | Value::Null | Value::Bool(_) | Value::String(_)) => Ok(()),
        Some(_) => Err(format!("{metric:?} is a group, not a number: name one of its fields")),
        None => Err(format!(
            "unknown metric {metric:?}: use a named metric ({}) or a path into the run report (docs/run-report.md), e.g. snapshot.gain[1]",
            NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_are_checked() {
        assert!(check_name("qber_x").is_ok());
        assert!(check_name("snapshot.gain[1]").is_ok());
        assert!(check_name("characterisation.detectors[3].dead_time_ps").is_ok());
        assert!(check_name("key.phi_x").is_ok());
        assert!(check_name("snapshot.lock_events[0].time_ps").is_ok());
        assert!(check_name("qber_y").unwrap_err().contains("unknown metric"));
        assert!(check_name("snapshot.gain[9]").is_err());
        assert!(check_name("characterisation").unwrap_err().contains("group"));
    }

    #[test]
    fn values_come_from_paths() {
        let v = json!({"a": {"b": [1.5, null, "inf"]}, "lock": "locked"});
        assert_eq!(value(&v, "a.b[0]"), Some(1.5));
        assert_eq!(value(&v, "a.b[1]"), None);
        assert_eq!(value(&v, "a.b[2]"), Some(f64::INFINITY));
        assert_eq!(value(&v, "lock"), Some(1.0));
        assert_eq!(value(&v, "a.c"), None);
    }
}
