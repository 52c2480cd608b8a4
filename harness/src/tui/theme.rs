//! Colours and marks. A colour always comes with a mark or a word that says the same
//! (✓ good, ! watch, ✗ bad), so the display reads the same on a monochrome terminal, to a
//! colour-blind engineer, and in a `tmux capture-pane` text dump.

use ratatui::style::{Color, Modifier, Style};

/// How a figure stands against its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Within what the protocol or the bench expects.
    Good,
    /// Worth a look: near a limit, or not measured yet.
    Warn,
    /// Out of bounds: no key, no lock, no light.
    Bad,
}

impl Level {
    /// The mark printed next to the figure.
    pub fn mark(self) -> &'static str {
        match self {
            Level::Good => "✓",
            Level::Warn => "!",
            Level::Bad => "✗",
        }
    }

    /// The style of the figure and its mark.
    pub fn style(self) -> Style {
        match self {
            Level::Good => Style::new().fg(Color::Green),
            Level::Warn => Style::new().fg(Color::Yellow),
            Level::Bad => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }
}

/// QBER thresholds: below 5 % a healthy BB84 link; 11 % is the asymptotic BB84 limit
/// (Shor-Preskill), above which no key can be distilled.
pub const QBER_WATCH: f64 = 0.05;
/// See [`QBER_WATCH`].
pub const QBER_LIMIT: f64 = 0.11;

/// The level of a QBER.
pub fn qber_level(q: Option<f64>) -> Level {
    match q {
        Some(q) if q < QBER_WATCH => Level::Good,
        Some(q) if q < QBER_LIMIT => Level::Warn,
        Some(_) => Level::Bad,
        None => Level::Warn,
    }
}

/// Panel titles and borders.
pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::DarkGray)
    }
}

/// Labels (names of figures).
pub fn label() -> Style {
    Style::new().fg(Color::Gray)
}

/// Key names in the footer and the help.
pub fn key() -> Style {
    Style::new().fg(Color::Black).bg(Color::Gray)
}

/// A thin bar of `width` cells, `ratio` of it filled (a gauge drawn as text, so that a
/// snapshot test and `capture-pane` read it).
pub fn bar(ratio: f64, width: usize) -> (String, String) {
    let r = if ratio.is_finite() { ratio.clamp(0.0, 1.0) } else { 0.0 };
    let filled = (r * width as f64).round() as usize;
    ("━".repeat(filled), "─".repeat(width - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qber_levels_follow_the_bb84_thresholds() {
        assert_eq!(qber_level(Some(0.01)), Level::Good);
        assert_eq!(qber_level(Some(0.05)), Level::Warn);
        assert_eq!(qber_level(Some(0.109)), Level::Warn);
        assert_eq!(qber_level(Some(0.11)), Level::Bad);
        assert_eq!(qber_level(None), Level::Warn);
    }

    #[test]
    fn bars_fill_in_proportion_and_never_overflow() {
        assert_eq!(bar(0.5, 10), ("━".repeat(5), "─".repeat(5)));
        assert_eq!(bar(2.0, 4).0.chars().count(), 4);
        assert_eq!(bar(f64::NAN, 4), (String::new(), "─".repeat(4)));
    }
}
