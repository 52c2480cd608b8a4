//! A progress bar on stderr fed by the session's updates (only on a terminal: indicatif
//! hides itself otherwise).

use harness::pipeline::{Flow, Observer, Update};
use harness::report::pct;
use indicatif::{ProgressBar, ProgressStyle};

/// Device time (ms) or tags, as the bar's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Milliseconds of device time since the first tag.
    DeviceMs,
    /// Tags the engine has processed.
    Tags,
}

/// The bar.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    measure: Measure,
}

impl Progress {
    /// A bar of `len` (ms or tags; 0: a spinner) with `verb` ("recording", "replaying").
    pub fn new(verb: &str, len: u64, measure: Measure) -> Self {
        let unit = match measure {
            Measure::DeviceMs => "ms of device time",
            Measure::Tags => "tags",
        };
        let bar = ProgressBar::new(len);
        let template = if len == 0 {
            format!("{{spinner}} {verb} {{pos}} {unit}  {{msg}}")
        } else {
            format!("{{spinner}} {verb} [{{wide_bar}}] {{pos}}/{{len}} {unit}  {{msg}}")
        };
        bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
        Progress { bar, measure }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn update(&mut self, u: &Update<'_>) -> Flow {
        let s = u.snapshot;
        let pos = match self.measure {
            Measure::DeviceMs => ((s.last_tag_ps - s.first_tag_ps) / 1_000_000_000).max(0) as u64,
            Measure::Tags => s.channel_tags.iter().sum(),
        };
        self.bar.set_position(pos);
        self.bar.set_message(format!("lock {:?}, QBER Z {} X {}", s.lock, pct(s.qber[0]), pct(s.qber[1])));
        Flow::Continue
    }
}
