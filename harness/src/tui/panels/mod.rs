//! The panels, one file each, and the layout that places them. Every panel draws from
//! [`State`](super::app::State) and [`RunInfo`](super::app::RunInfo) only, so each has a
//! snapshot test on a `TestBackend`.

pub mod alerts;
pub mod header;
pub mod help;
pub mod key;
pub mod pass;
pub mod qber;
pub mod rates;
pub mod sync;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Panel};
use super::theme;

/// The smallest terminal the layout is made for.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App, zoom: bool) {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        return too_small(f, area);
    }
    let [head, body, foot] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    header::render(f, head, app);
    footer(f, foot, app);
    if zoom {
        panel(f, body, app, app.focus);
    } else {
        let bottom_h = (body.height / 4).max(5);
        let [grid, bottom] = Layout::vertical([Constraint::Min(0), Constraint::Length(bottom_h)]).areas(body);
        let top_h = (grid.height / 2).max(8).min(grid.height);
        let [row1, row2] = Layout::vertical([Constraint::Length(top_h), Constraint::Min(0)]).areas(grid);
        let halves = |r: Rect| Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).areas::<2>(r);
        let [a, b] = halves(row1);
        let [c, d] = halves(row2);
        panel(f, a, app, Panel::Rates);
        panel(f, b, app, Panel::Qber);
        panel(f, c, app, Panel::Sync);
        panel(f, d, app, Panel::Key);
        if app.info.pass.is_some() {
            let [p, al] = Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).areas(bottom);
            panel(f, p, app, Panel::Pass);
            panel(f, al, app, Panel::Alerts);
        } else {
            panel(f, bottom, app, Panel::Alerts);
        }
    }
    if app.help {
        help::render(f, area);
    }
}

fn panel(f: &mut Frame, area: Rect, app: &App, which: Panel) {
    let focused = app.focus == which;
    let st = app.shown();
    match which {
        Panel::Rates => rates::render(f, area, st, focused),
        Panel::Qber => qber::render(f, area, st, focused),
        Panel::Sync => sync::render(f, area, st, &app.info, focused),
        Panel::Key => key::render(f, area, st, &app.info, focused),
        Panel::Pass => pass::render(f, area, st, &app.info, focused),
        Panel::Alerts => alerts::render(f, area, st, focused),
    }
}

/// A panel's frame: its title, and the focus shown by a bright border and a `▶` mark.
pub fn block(title: &str, focused: bool) -> Block<'static> {
    let t = if focused { format!("▶ {title} ") } else { format!(" {title} ") };
    Block::bordered().title(t).border_style(theme::border(focused))
}

fn footer(f: &mut Frame, area: Rect, app: &App) {
    let mut keys = vec![("q", "quit"), ("space", if app.frozen.is_some() { "thaw" } else { "freeze" })];
    let over = app.state.finished.is_some();
    if app.info.can_record && !over {
        keys.push(("r", if app.recording() { "stop rec" } else { "rec" }));
    }
    if !over {
        keys.push(("g/G", "gate"));
    }
    keys.extend([("tab", "focus"), ("enter", "zoom"), ("?", "help")]);
    let spans: Vec<Span> = keys
        .iter()
        .flat_map(|(k, d)| [Span::styled(k.to_string(), theme::key()), Span::raw(format!(" {d}  "))])
        .collect();
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn too_small(f: &mut Frame, area: Rect) {
    let text = format!(
        "This terminal is {}x{}: the live view needs at least {}x{}.\n\nEnlarge the window, or run without a \
         terminal (e.g. `qkdbench live | cat`) for one status line per second.\n\nThe run goes on; q quits.",
        area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
    );
    f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).style(Style::new()), area);
}

/// A rate with an SI prefix and its unit: `84.40 kHz`.
pub fn si(x: f64, unit: &str) -> String {
    let (v, p) = match x.abs() {
        a if a >= 1e9 => (x / 1e9, "G"),
        a if a >= 1e6 => (x / 1e6, "M"),
        a if a >= 1e3 => (x / 1e3, "k"),
        _ => (x, ""),
    };
    format!("{v:6.2} {p}{unit}")
}

/// A fraction as a percentage, or a dash when not measured yet.
pub fn pct(x: Option<f64>) -> String {
    x.map_or("  -   ".into(), |x| format!("{:5.2} %", 100.0 * x))
}

#[cfg(test)]
pub(crate) mod testing;
