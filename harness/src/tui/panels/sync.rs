//! Sync: the lock, the recovered period, the pulse-rate offset (Doppler and the clocks) with
//! its history, the timing residual, and the arrival-phase histogram with the gate on it.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};
use ratatui::Frame;

use super::super::app::{lock_word, RunInfo, State};
use super::super::theme::{self, Level};
use super::block;
use engine::clock::LockState;

/// Width of a histogram bin, ps (the engine's).
const BIN_PS: f64 = 10.0;

/// Draws the sync panel.
pub fn render(f: &mut Frame, area: Rect, st: &State, info: &RunInfo, focused: bool) {
    let b = block(&format!("sync · arrivals over {:.0} ps", info.period_ps()), focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let Some(s) = &st.snapshot else {
        return f.render_widget(Paragraph::new("waiting for the first update ..."), inner);
    };
    let level = match s.lock {
        LockState::Locked => Level::Good,
        LockState::Holdover => Level::Warn,
        LockState::Searching | LockState::Lost => Level::Bad,
    };
    let period = s.clock_fit.map_or("-".into(), |(_, p)| format!("{:.4} us", p * 1e-6));
    let residual = s.residual_rms_ps.map_or("-".into(), |r| format!("{r:.0} ps"));
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{} {} ", level.mark(), lock_word(s.lock).to_uppercase()), level.style()),
            Span::styled("sync period ", theme::label()),
            Span::raw(period),
        ]),
        Line::from(vec![
            Span::styled("offset ", theme::label()),
            Span::raw(format!("{:+.3} ppm  ", s.rate_offset * 1e6)),
            Span::styled("rms resid ", theme::label()),
            Span::raw(residual),
        ]),
    ];
    let text_rows = lines.len() as u16;
    lines.truncate(inner.height as usize);
    f.render_widget(Paragraph::new(lines), inner);
    let mut y = inner.y + text_rows;
    let bottom = inner.y + inner.height;
    // Offset history: one row, shifted so that its minimum is the baseline.
    if y < bottom && bottom - y >= 3 {
        let w = inner.width.saturating_sub(12) as usize;
        let h = &st.offset_history;
        let pts: Vec<f64> = h.iter().skip(h.len().saturating_sub(w)).map(|p| p.1).collect();
        let lo = pts.iter().copied().fold(f64::INFINITY, f64::min);
        let data: Vec<u64> = pts.iter().map(|v| ((v - lo) * 1000.0).round() as u64 + 1).collect();
        let row = Rect { y, height: 1, ..inner };
        f.render_widget(Paragraph::new(Span::styled("ppm history ", theme::label())), row);
        f.render_widget(Sparkline::default().data(&data), Rect { x: row.x + 12, width: row.width - 12, ..row });
        y += 1;
    }
    if y + 2 > bottom {
        return;
    }
    // The histogram, summed over detectors and rebinned to the width, and the gate under it.
    let rows = bottom - y - 1;
    let width = inner.width as usize;
    let n = st.histogram.len().max(1);
    let mut cols = vec![0u64; width];
    for (i, h) in st.histogram.iter().enumerate() {
        cols[i * width / n] += h.iter().sum::<u64>();
    }
    f.render_widget(
        Sparkline::default().data(&cols).style(Style::new().fg(ratatui::style::Color::Cyan)),
        Rect { y, height: rows, ..inner },
    );
    // Bin 0 is at -T/2; the gate is centred on the detectors' mean offset.
    let span_ps = n as f64 * BIN_PS;
    let offsets: Vec<f64> = s.detector_offset_ps.iter().flatten().copied().collect();
    let centre = if offsets.is_empty() { 0.0 } else { offsets.iter().sum::<f64>() / offsets.len() as f64 };
    let col = |ps: f64| ((ps + span_ps / 2.0) / span_ps * width as f64).clamp(0.0, width as f64 - 1.0) as usize;
    let (a, z) = (col(centre - st.gate_width_ps / 2.0), col(centre + st.gate_width_ps / 2.0));
    let mut marks: Vec<char> = vec![' '; width];
    for m in marks.iter_mut().take(z + 1).skip(a) {
        *m = '═';
    }
    marks[a] = '[';
    marks[z] = ']';
    let label = format!(" gate {:.0} ps", st.gate_width_ps);
    let n = label.chars().count();
    let start = if z + 1 + n <= width {
        Some(z + 1)
    } else if a >= n {
        Some(a - n)
    } else {
        None
    };
    if let Some(start) = start {
        for (i, ch) in label.chars().enumerate() {
            marks[start + i] = ch;
        }
    }
    f.render_widget(
        Paragraph::new(Span::styled(marks.into_iter().collect::<String>(), Level::Good.style())),
        Rect { y: bottom - 1, height: 1, ..inner },
    );
}
