//! The header: what runs where, for how long, the recording, and the loss counters.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::super::app::App;
use super::super::theme::{self, Level};

/// Draws the three header lines.
pub fn render(f: &mut Frame, area: Rect, app: &App) {
    let st = app.shown();
    let (state, level) = match (&st.finished, app.frozen.is_some()) {
        (_, true) => ("FROZEN (space)".to_string(), Level::Warn),
        (Some((l, t)), _) => (format!("RUN {} (q to leave)", t.to_uppercase()), *l),
        (None, _) => ("RUNNING".to_string(), Level::Good),
    };
    let dur = app.info.duration_s.map_or(String::new(), |d| format!("/{d:.1}"));
    let line1 = Line::from(vec![
        Span::styled(format!("{} ", level.mark()), level.style()),
        Span::styled(format!("{state} "), level.style().add_modifier(Modifier::BOLD)),
        Span::styled(format!("{} ", app.info.title), Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!("· {} · ", app.info.device)),
        Span::styled("device ", theme::label()),
        Span::raw(format!("{:.1}{dur} s · ", st.device_s)),
        Span::styled("wall ", theme::label()),
        Span::raw(format!("{:.1} s", st.wall_s)),
    ]);
    let r = &st.recording;
    let tags = Span::raw(format!("{} tags · ", st.tags_read));
    let line2 = match &r.file {
        Some(p) => Line::from(vec![
            tags,
            Span::styled("● REC ", Level::Bad.style()),
            Span::raw(format!(
                "{} {:.1} MB {:.2} MB/s {} tags",
                p.display(),
                r.bytes as f64 / 1e6,
                r.bytes_per_s / 1e6,
                r.tags
            )),
        ]),
        None if app.info.can_record => Line::from(vec![
            tags,
            Span::styled("recording ", theme::label()),
            Span::raw(match &app.info.record_path {
                Some(_) => format!("off (r records into {})", app.record_path(app.recordings_started + 1).display()),
                None => "off (r starts one)".into(),
            }),
        ]),
        None => Line::from(vec![tags, Span::styled("recording ", theme::label()), Span::raw("none")]),
    };
    let (ovf, missed, errors) =
        st.snapshot.as_ref().map_or((0, 0, 0), |s| (s.overflows, s.missed_tags, s.stream_errors));
    let loss = if ovf + missed + errors == 0 { Level::Good } else { Level::Bad };
    let line3 = Line::from(vec![
        Span::styled("loss ", theme::label()),
        Span::styled(
            format!("{} {ovf} FIFO overflows · {missed} tags missed · {errors} stream errors", loss.mark()),
            loss.style(),
        ),
        Span::raw(format!(" · gate {:.0} ps", st.gate_width_ps)),
    ]);
    // Only when the engine skipped blocks to keep up (the recording has them all).
    let analysed = st.snapshot.as_ref().map_or(1.0, |s| s.analysed_fraction);
    let mut line3 = line3;
    if analysed < 1.0 {
        // First on the line, short: it must show at 80 columns.
        line3.spans.insert(
            0,
            Span::styled(format!("{} analysed {:.1} % · ", Level::Warn.mark(), analysed * 100.0), Level::Warn.style()),
        );
    }
    f.render_widget(Paragraph::new(vec![line1, line2, line3]), area);
}
