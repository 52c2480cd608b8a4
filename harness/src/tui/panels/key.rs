//! Decoy and key: the gain of each intensity class, the measured intensity ratios against
//! the set ones, the sifted totals, and the finite key of the run so far.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::super::app::{RunInfo, State};
use super::super::theme::{self, Level};
use super::block;

/// Draws the decoy and key panel.
pub fn render(f: &mut Frame, area: Rect, st: &State, info: &RunInfo, focused: bool) {
    let b = block("gain /pulse · ratio meas/set", focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let Some(s) = &st.snapshot else {
        return f.render_widget(Paragraph::new("waiting for the first update ..."), inner);
    };
    let mut lines = Vec::new();
    // In the linear regime (gain = Y0 + eta * mu, eta * mu << 1) the vacuum-subtracted gains
    // are in the ratio of the intensities.
    let vac = s.gain[2].unwrap_or(0.0);
    let sig = s.gain[0].map(|g| g - vac).filter(|g| *g > 0.0);
    for (k, name) in [(0usize, "signal"), (1, "decoy"), (2, "vacuum")] {
        let gain = s.gain[k].map_or("    -    ".into(), |g| format!("{g:9.3e}"));
        let set = info.mu.get(k).zip(info.mu.first()).filter(|(_, m0)| **m0 > 0.0).map(|(m, m0)| m / m0);
        let meas = if k == 2 { None } else { sig.zip(s.gain[k]).map(|(s0, g)| (g - vac) / s0) };
        let level = match (meas, set) {
            (Some(m), Some(x)) if x > 0.0 && (m / x - 1.0).abs() < 0.1 => Level::Good,
            (Some(m), Some(x)) if x > 0.0 && (m / x - 1.0).abs() < 0.25 => Level::Warn,
            (Some(_), Some(x)) if x > 0.0 => Level::Bad,
            _ => Level::Good,
        };
        let ratio = match (meas, set) {
            (Some(m), Some(x)) => format!("{m:6.3} / {x:5.3} {}", level.mark()),
            (None, Some(x)) => format!("     - / {x:5.3}"),
            _ => "-".into(),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{name:<7} "), theme::label()),
            Span::raw(format!("{gain}  ")),
            Span::styled(ratio, level.style()),
        ]));
    }
    let sifted = |b: usize| s.counts.sifted.iter().map(|c| c[b]).sum::<u64>();
    lines.push(Line::from(vec![
        Span::styled("sifted  ", theme::label()),
        Span::raw(format!("Z {}  X {}", sifted(0), sifted(1))),
    ]));
    let key = if s.key_length_bits > 0 { Level::Good } else { Level::Warn };
    lines.push(Line::from(vec![
        Span::styled("key     ", theme::label()),
        Span::styled(format!("{} bit {}", s.key_length_bits, key.mark()), key.style()),
        Span::styled(" (finite, so far)", theme::label()),
    ]));
    f.render_widget(Paragraph::new(lines), inner);
}
