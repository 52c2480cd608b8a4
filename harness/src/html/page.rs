//! The pages.

use std::fmt::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use engine::clock::LockState;
use serde::Serialize;

use super::svg::{Axis, Chart, Marker, Series};
use crate::pipeline::NoObserver;
use crate::report::{pct, RunReport};
use crate::scenario::{fmt_num, Outcome, RunRecord, ScenarioRecord};
use crate::session::{self, ReplayPlan, SessionError};

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}\
th{background:#eee}.PASS{color:#0a6e31}.MARGINAL{color:#8a6d00}.FAIL,.ERROR,.ABORTED{color:#B00020;font-weight:bold}\
.num{text-align:right;font-family:monospace}svg{display:block;margin:1em 0}";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The figures of a recording's report (`qkdbench report --json`).
#[derive(Debug, Serialize)]
pub struct RecordingReport {
    /// The file.
    pub file: String,
    /// Its run status.
    pub run_status: String,
    /// Where the tags came from.
    pub source: String,
    /// The scenario verdict stored in it (empty when none).
    pub verdict: String,
    /// The run report of a replay of the file with its recorded settings.
    pub report: RunReport,
    /// The page.
    #[serde(skip)]
    pub html: String,
    /// A Markdown summary.
    #[serde(skip)]
    pub markdown: String,
}

/// Replays `path` with its recorded settings and makes its page: settings, totals, QBER, key,
/// loss and verdict, and plots of rates, QBER, sifted and key against time, the arrival
/// histogram with the gate, loss events and lock changes.
pub fn recording_report(path: &Path) -> Result<RecordingReport, SessionError> {
    let rec = recordings::Recording::open(path).map_err(SessionError::Input)?;
    let (run_status, source, verdict, scenario) =
        (rec.run_status.clone(), rec.text_attr("source"), rec.text_attr("verdict"), rec.text_attr("scenario"));
    let config = rec.config().map_err(SessionError::Input)?;
    drop(rec);
    let outcome = session::replay(&ReplayPlan::new(path), &mut NoObserver, Arc::new(AtomicBool::new(false)))?;
    let report = outcome.report();
    let engine = &outcome.engine;
    let s = &report.snapshot;
    let cfg = engine.config();
    let rate = cfg.pulse_rate_hz();
    let t_of = |index: i64| (index + 1) as f64 * cfg.window_pulses as f64 / rate;
    let windows: Vec<_> = engine.windows().collect();
    let mut html = String::new();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("recording");
    let _ = write!(html, "<!doctype html><html><head><meta charset=\"utf-8\"><title>qkdbench: {}</title><style>{STYLE}</style></head><body>", esc(name));
    let _ = write!(html, "<h1>{}</h1><p>{}<br>run status: <b>{}</b></p>", esc(name), esc(&source), esc(&run_status));
    if !verdict.is_empty() {
        let _ = write!(html, "<h2>Verdict</h2><pre>{}</pre>", esc(&verdict));
    }
    let sifted: u64 = s.counts.sifted.iter().flatten().sum();
    let errors: u64 = s.counts.errors.iter().flatten().sum();
    let key = report.key.as_ref().map_or(0, |k| k.key_length_bits);
    let rows = [
        ("device time", format!("{} s", fmt_num(report.duration_s))),
        ("tags", outcome.pipeline.tags.to_string()),
        ("lock at the end", format!("{:?}", s.lock).to_lowercase()),
        ("rate offset", format!("{} ppm", fmt_num(s.rate_offset * 1e6))),
        ("residual RMS", s.residual_rms_ps.map_or("-".into(), |r| format!("{} ps", fmt_num(r)))),
        ("gated detections", s.gated.to_string()),
        ("sifted", format!("{sifted} ({errors} errors)")),
        ("QBER Z / X", format!("{} / {}", pct(s.qber[0]), pct(s.qber[1]))),
        ("finite key", format!("{key} bits")),
        (
            "loss (in band)",
            format!("{} tags missed in {} overflows, {} stream errors", s.missed_tags, s.overflows, s.stream_errors),
        ),
    ];
    html.push_str("<h2>Summary</h2><table>");
    for (k, v) in rows {
        let _ = write!(html, "<tr><th>{k}</th><td class=\"num\">{}</td></tr>", esc(&v));
    }
    html.push_str("</table>");
    // Rates per detector.
    let names = ["H", "V", "D", "A"];
    let rates = Chart {
        title: "Count rates per detector".into(),
        x_label: "device time (s)".into(),
        y_label: "count rate (Hz)".into(),
        series: (0..4)
            .map(|d| Series {
                name: format!("detector {}", names[d]),
                points: windows.iter().map(|w| (t_of(w.index), w.channel_tags[d] as f64 / w.duration_s)).collect(),
                dots: false,
            })
            .collect(),
        markers: vec![],
        y_from_zero: true,
    };
    let qber = Chart {
        title: "QBER per window".into(),
        x_label: "device time (s)".into(),
        y_label: "QBER (fraction)".into(),
        series: ["Z", "X"]
            .iter()
            .enumerate()
            .map(|(b, n)| Series {
                name: format!("QBER {n}"),
                points: windows.iter().map(|w| (t_of(w.index), w.qber[b].unwrap_or(f64::NAN))).collect(),
                dots: false,
            })
            .collect(),
        markers: vec![],
        y_from_zero: true,
    };
    let mut cum = 0u64;
    let sifted_series: Vec<(f64, f64)> = windows
        .iter()
        .map(|w| {
            cum += w.counts.sifted.iter().flatten().sum::<u64>();
            (t_of(w.index), cum as f64)
        })
        .collect();
    let sifted_chart = Chart {
        title: "Sifted events and per-window key".into(),
        x_label: "device time (s)".into(),
        y_label: "events, bits".into(),
        series: vec![
            Series { name: "sifted (cumulative)".into(), points: sifted_series, dots: false },
            Series {
                name: "finite key of each window (bits)".into(),
                points: windows.iter().map(|w| (t_of(w.index), w.key_length_bits as f64)).collect(),
                dots: false,
            },
        ],
        markers: vec![],
        y_from_zero: true,
    };
    let hist = engine.histogram();
    let period = cfg.clock.pulse_period_ps;
    let bin = engine::HISTOGRAM_BIN_PS;
    let histogram = Chart {
        title: "Arrival phase with the gate".into(),
        x_label: "arrival time - expected (ps)".into(),
        y_label: "clicks per 10 ps bin".into(),
        series: (0..4)
            .map(|d| Series {
                name: format!("detector {}", names[d]),
                points: hist.iter().enumerate().map(|(i, h)| (i as f64 * bin - period / 2.0, h[d] as f64)).collect(),
                dots: false,
            })
            .collect(),
        markers: vec![
            Marker {
                label: format!("gate -{} ps", cfg.gate_width_ps / 2.0),
                at: Axis::X(-cfg.gate_width_ps / 2.0),
                dashed: true,
            },
            Marker {
                label: format!("gate +{} ps", cfg.gate_width_ps / 2.0),
                at: Axis::X(cfg.gate_width_ps / 2.0),
                dashed: true,
            },
        ],
        y_from_zero: true,
    };
    let t0 = s.first_tag_ps;
    let mut events: Vec<Marker> = s
        .lock_events
        .iter()
        .map(|e| Marker {
            label: format!("{:?}", e.state).to_lowercase(),
            at: Axis::X((e.time_ps - t0) as f64 * 1e-12),
            dashed: e.state != LockState::Locked,
        })
        .collect();
    events.truncate(200);
    let loss = Chart {
        title: "Loss and lock changes".into(),
        x_label: "device time (s)".into(),
        y_label: "tags missed per window".into(),
        series: vec![Series {
            name: "tags missed (in band)".into(),
            points: windows.iter().map(|w| (t_of(w.index), w.missed as f64)).collect(),
            dots: true,
        }],
        markers: events,
        y_from_zero: true,
    };
    html.push_str("<h2>Plots</h2>");
    for c in [&rates, &qber, &sifted_chart, &histogram, &loss] {
        html.push_str(&c.svg(1000.0, 340.0));
    }
    html.push_str("<h2>Settings</h2><table>");
    for (k, v) in &config {
        let v = match v {
            recordings::ConfigValue::Int(i) => i.to_string(),
            recordings::ConfigValue::Float(f) => f.to_string(),
            recordings::ConfigValue::Bool(b) => b.to_string(),
            recordings::ConfigValue::Text(t) => t.clone(),
        };
        let _ = write!(html, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    html.push_str("</table>");
    if !scenario.is_empty() {
        let _ = write!(html, "<h2>Scenario</h2><pre>{}</pre>", esc(&scenario));
    }
    html.push_str("</body></html>\n");
    let markdown = format!(
        "### {name}\n\n| | |\n|---|---|\n| status | {run_status} |\n| device time | {} s |\n| QBER Z / X | {} / {} |\n| sifted | {sifted} |\n| finite key | {key} bits |\n| loss | {} tags missed |\n",
        fmt_num(report.duration_s),
        pct(s.qber[0]),
        pct(s.qber[1]),
        s.missed_tags
    );
    Ok(RecordingReport { file: path.display().to_string(), run_status, source, verdict, report, html, markdown })
}

/// A scenario's page: its outcome, every measurement with value, limits and margin, and for
/// each sweep its measurements against the swept parameter with the limits drawn.
pub fn scenario_page(s: &ScenarioRecord) -> String {
    let mut html = String::new();
    let _ = write!(html, "<!doctype html><html><head><meta charset=\"utf-8\"><title>qkdbench: {}</title><style>{STYLE}</style></head><body>", esc(&s.name));
    let _ = write!(
        html,
        "<h1>{}: <span class=\"{o}\">{o}</span></h1><p>{}<br>seed {}</p>",
        esc(&s.name),
        esc(&s.path.display().to_string()),
        s.seed.map_or("(default)".into(), |x| x.to_string()),
        o = s.outcome.as_str()
    );
    if let Some(r) = &s.reason {
        let _ = write!(html, "<p>reason: {}</p>", esc(r));
    }
    html.push_str("<table><tr><th>phase</th><th>measurement</th><th>value</th><th>limits</th><th>margin</th><th>outcome</th></tr>");
    for (phase, m) in s.measurements() {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"{o}\">{o}</td></tr>",
            esc(&phase),
            esc(&m.name),
            m.value.map_or("not measured".into(), fmt_num),
            esc(&m.limits_text),
            m.margin.map_or("-".into(), fmt_num),
            o = m.outcome.as_str()
        );
    }
    html.push_str("</table>");
    for p in &s.phases {
        let Some(param) = &p.parameter else { continue };
        let x_of = |v: &Option<toml::Value>| v.as_ref().and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)));
        let mut names: Vec<&str> =
            p.steps.iter().flat_map(|st| st.measurements.iter().map(|m| m.name.as_str())).collect();
        names.sort();
        names.dedup();
        for n in names {
            let pts: Vec<(f64, f64)> = p
                .steps
                .iter()
                .filter_map(|st| {
                    let m = st.measurements.iter().find(|m| m.name == n)?;
                    Some((x_of(&st.value)?, m.value.unwrap_or(f64::NAN)))
                })
                .collect();
            let limits = p.steps.iter().flat_map(|st| &st.measurements).find(|m| m.name == n).map(|m| m.limits);
            let mut markers = Vec::new();
            if let Some(l) = limits {
                if let Some(lo) = l.min {
                    markers.push(Marker { label: format!("min {}", fmt_num(lo)), at: Axis::Y(lo), dashed: true });
                }
                if let Some(hi) = l.max {
                    markers.push(Marker { label: format!("max {}", fmt_num(hi)), at: Axis::Y(hi), dashed: true });
                }
            }
            let chart = Chart {
                title: format!("{}: {n} against {param}", p.name),
                x_label: param.clone(),
                y_label: n.to_string(),
                series: vec![Series { name: n.to_string(), points: pts, dots: true }],
                markers,
                y_from_zero: false,
            };
            html.push_str(&chart.svg(1000.0, 340.0));
        }
    }
    html.push_str("</body></html>\n");
    html
}

/// The run as Markdown, for a CI job summary (`$GITHUB_STEP_SUMMARY`).
pub fn summary_md(run: &RunRecord) -> String {
    let mut md = format!("## qkdbench: {}\n\n| scenario | outcome | reason |\n|---|---|---|\n", run.outcome.as_str());
    for s in &run.scenarios {
        let reason = if s.outcome == Outcome::Pass { "" } else { s.reason.as_deref().unwrap_or("") };
        let _ = writeln!(md, "| {} | {} | {} |", s.name, s.outcome.as_str(), reason.replace('|', "/"));
    }
    md.push_str("\n<details><summary>measurements</summary>\n\n| scenario | phase: measurement | value | limits | outcome |\n|---|---|---|---|---|\n");
    for s in &run.scenarios {
        for (phase, m) in s.measurements() {
            let _ = writeln!(
                md,
                "| {} | {phase}: {} | {} | {} | {} |",
                s.name,
                m.name,
                m.value.map_or("not measured".into(), fmt_num),
                m.limits_text,
                m.outcome.as_str()
            );
        }
    }
    md.push_str("\n</details>\n");
    md
}
