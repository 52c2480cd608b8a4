//! The pass: range and loss now, and the channel loss over the whole pass with a marker
//! at "now".

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use super::super::app::{RunInfo, State};
use super::super::theme;
use super::block;

/// Draws the pass panel.
pub fn render(f: &mut Frame, area: Rect, st: &State, info: &RunInfo, focused: bool) {
    let b = block("pass", focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let Some(ch) = &info.pass else { return };
    let end = ch.duration_s().unwrap_or(1.0).max(1e-3);
    let t = st.device_s.min(end);
    let mut spans = vec![
        Span::styled("t ", theme::label()),
        Span::raw(format!("{t:.0}/{end:.0} s  ")),
        Span::raw(format!("{:.0} km  ", ch.range_km(t))),
    ];
    if let Some(el) = ch.elevation_deg(t) {
        spans.extend([Span::raw(format!("el {el:.0}°  "))]);
    }
    spans.extend([Span::raw(format!("{:.1} dB", ch.loss_db(t)))]);
    f.render_widget(Paragraph::new(Line::from(spans)), Rect { height: 1, ..inner });
    if inner.height < 4 {
        return;
    }
    let curve: Vec<(f64, f64)> = (0..=200).map(|i| end * f64::from(i) / 200.0).map(|x| (x, ch.loss_db(x))).collect();
    let lo = curve.iter().map(|p| p.1).fold(f64::INFINITY, f64::min).floor();
    let hi = curve.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max).ceil().max(lo + 1.0);
    let now = [(t, lo), (t, hi)];
    let chart = Chart::new(vec![
        Dataset::default()
            .name("loss")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Cyan))
            .data(&curve),
        Dataset::default()
            .name("now")
            .marker(symbols::Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(Color::Yellow))
            .data(&now),
    ])
    .x_axis(Axis::default().title("t (s)").bounds([0.0, end]).labels(["0".to_string(), format!("{end:.0}")]))
    .y_axis(Axis::default().title("loss (dB)").bounds([lo, hi]).labels([format!("{lo:.0}"), format!("{hi:.0}")]));
    f.render_widget(chart, Rect { y: inner.y + 1, height: inner.height - 1, ..inner });
}
