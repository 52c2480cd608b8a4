//! QBER per basis and intensity class as gauges against the thresholds (5 % watch, 11 %
//! the BB84 limit; a gauge's full scale is 15 %), with the per-window history below.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use super::super::app::State;
use super::super::theme::{self, qber_level};
use super::{block, pct};

/// Full scale of a gauge.
const FULL_SCALE: f64 = 0.15;

/// Draws the QBER panel.
pub fn render(f: &mut Frame, area: Rect, st: &State, focused: bool) {
    let b = block("QBER (gauge full scale 15 %)", focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let counts = st.snapshot.as_ref().map(|s| &s.counts);
    let mut lines = Vec::new();
    for (class, name) in [(0usize, "signal"), (1, "decoy")] {
        for (basis, bname) in [(0usize, "Z"), (1, "X")] {
            let q = counts.and_then(|c| c.qber(basis, Some(class)));
            let n = counts.map_or(0, |c| c.sifted[class][basis]);
            let level = qber_level(q);
            let width = (inner.width as usize).saturating_sub(30).max(4);
            let (on, off) = theme::bar(q.unwrap_or(0.0) / FULL_SCALE, width);
            // 1 sigma of the binomial estimate, from the counts.
            let sigma = q
                .filter(|_| n > 0)
                .map_or(String::new(), |q| format!(" ±{:.2}", 100.0 * (q * (1.0 - q) / n as f64).sqrt()));
            lines.push(Line::from(vec![
                Span::styled(format!("{bname} {name:<6} "), theme::label()),
                Span::styled(on, level.style()),
                Span::styled(off, theme::label()),
                Span::styled(format!(" {}{sigma:<6} {}", pct(q), level.mark()), level.style()),
            ]));
        }
    }
    let gauges = lines.len() as u16;
    f.render_widget(Paragraph::new(lines), Rect { height: gauges.min(inner.height), ..inner });
    if inner.height < gauges + 1 {
        return;
    }
    if inner.height < gauges + 5 {
        // Too low for a chart: the per-window history as sparklines, Z then X.
        let w = inner.width.saturating_sub(10) as usize;
        for (i, (name, pick)) in [("Z hist", 0usize), ("X hist", 1)].into_iter().enumerate() {
            let y = inner.y + gauges + i as u16;
            if y >= inner.y + inner.height {
                break;
            }
            let h = &st.qber_history;
            let data: Vec<u64> = h
                .iter()
                .skip(h.len().saturating_sub(w))
                .map(|(_, z, x)| ([z, x][pick].unwrap_or(0.0) * 10_000.0).round() as u64)
                .collect();
            let row = Rect { y, height: 1, ..inner };
            f.render_widget(Paragraph::new(Span::styled(format!("{name:<10}"), theme::label())), row);
            f.render_widget(
                ratatui::widgets::Sparkline::default().data(&data).style(theme::label()),
                Rect { x: row.x + 10, width: row.width - 10, ..row },
            );
        }
        return;
    }
    let chart_area = Rect { y: inner.y + gauges, height: inner.height - gauges, ..inner };
    let z: Vec<(f64, f64)> = st.qber_history.iter().filter_map(|(t, z, _)| z.map(|z| (*t, 100.0 * z))).collect();
    let x: Vec<(f64, f64)> = st.qber_history.iter().filter_map(|(t, _, x)| x.map(|x| (*t, 100.0 * x))).collect();
    let t0 = st.qber_history.front().map_or(0.0, |p| p.0);
    let t1 = st.qber_history.back().map_or(1.0, |p| p.0).max(t0 + 1e-3);
    let top = z.iter().chain(&x).map(|p| p.1).fold(2.0f64, f64::max).min(50.0).ceil();
    let chart = Chart::new(vec![
        Dataset::default()
            .name("Z")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(ratatui::style::Color::Cyan))
            .data(&z),
        Dataset::default()
            .name("X")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(ratatui::style::Color::Magenta))
            .data(&x),
    ])
    .x_axis(Axis::default().title("t (s)").bounds([t0, t1]).labels([format!("{t0:.0}"), format!("{t1:.0}")]))
    .y_axis(Axis::default().title("QBER signal (%)").bounds([0.0, top]).labels(["0".to_string(), format!("{top:.0}")]));
    f.render_widget(chart, chart_area);
}
