//! Count rates per channel: the number and its history as a sparkline.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};
use ratatui::Frame;

use super::super::app::State;
use super::super::theme::{self, Level};
use super::{block, si};

/// Channel names: the four detectors (H V D A), the sync and the frame mark.
const NAMES: [&str; 6] = ["H", "V", "D", "A", "sync", "frame"];

/// Draws the count rates.
pub fn render(f: &mut Frame, area: Rect, st: &State, focused: bool) {
    let b = block("count rates", focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let measured = !st.rate_history[0].is_empty();
    for (c, row) in (0..6).zip(inner.rows()) {
        let [label, spark] = Layout::horizontal([Constraint::Length(20), Constraint::Min(0)]).areas(row);
        // No light on a detector, or no sync, once rates are measured: nothing works.
        let level = if !measured {
            Level::Warn
        } else if st.rates_hz[c] > 0.0 || c == 5 {
            Level::Good
        } else {
            Level::Bad
        };
        let text = if measured { si(st.rates_hz[c], "Hz") } else { "    -    ".into() };
        let line = Line::from(vec![
            Span::styled(format!("{:<6}", NAMES[c]), theme::label()),
            Span::styled(format!("{text} {}", level.mark()), level.style()),
        ]);
        f.render_widget(Paragraph::new(line), label);
        let h = &st.rate_history[c];
        let data: Vec<u64> = h.iter().skip(h.len().saturating_sub(spark.width as usize)).copied().collect();
        f.render_widget(Sparkline::default().data(&data).style(theme::label()), spark);
    }
}
