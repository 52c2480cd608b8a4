//! Alerts: lock changes, loss, faults, device and recording errors, with device and wall
//! times; newest first.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::super::app::State;
use super::super::theme;
use super::block;

/// Draws the alerts panel.
pub fn render(f: &mut Frame, area: Rect, st: &State, focused: bool) {
    let b = block("alerts (device time / wall time)", focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    if st.alerts.is_empty() {
        return f.render_widget(Paragraph::new(Line::styled("none yet", theme::label())), inner);
    }
    let lines: Vec<Line> = st
        .alerts
        .iter()
        .rev()
        .take(inner.height as usize)
        .map(|a| {
            Line::from(vec![
                Span::styled(format!("{:8.1} s {:8.1} s ", a.device_s, a.wall_s), theme::label()),
                Span::styled(format!("{} {}", a.level.mark(), a.text), a.level.style()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
