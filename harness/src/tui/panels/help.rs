//! The help overlay (`?`): the keys and what the marks mean.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::super::theme::{self, Level};
use super::block;

/// The keys, as the help lists them.
pub const KEYS: [(&str, &str); 9] = [
    ("q / Esc", "quit: the run ends, the recording closes as complete"),
    ("Ctrl-C", "interrupt: the recording closes as aborted"),
    ("r", "start or stop recording (live runs)"),
    ("space", "freeze or unfreeze the display (the run goes on)"),
    ("g / G", "narrow (x0.8) or widen (x1.25) the gate"),
    ("tab / shift-tab", "move the focus between panels"),
    ("enter", "zoom the focused panel, or back"),
    ("?", "this help; any key closes it"),
    ("", ""),
];

/// Draws the help over the screen.
pub fn render(f: &mut Frame, area: Rect) {
    let [v] = Layout::vertical([Constraint::Length(17)]).flex(Flex::Center).areas(area);
    let [r] = Layout::horizontal([Constraint::Length(76)]).flex(Flex::Center).areas(v);
    f.render_widget(Clear, r);
    let mut lines: Vec<Line> =
        KEYS.iter().filter(|(k, _)| !k.is_empty()).map(|(k, d)| Line::raw(format!(" {k:<16} {d}"))).collect();
    lines.push(Line::raw(""));
    for (l, what) in [
        (Level::Good, "as expected (QBER below 5 %, locked, light on every detector)"),
        (Level::Warn, "watch it (QBER 5-11 %, holdover, not measured yet)"),
        (Level::Bad, "out of bounds (QBER above 11 %: no key; no lock; loss)"),
    ] {
        lines.push(Line::styled(format!(" {}  {what}", l.mark()), l.style()));
    }
    lines.push(Line::styled(" Units are in every label; rates are per second of device time.", theme::label()));
    f.render_widget(Paragraph::new(lines).block(block("help", true)), r);
}
