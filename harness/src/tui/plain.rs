//! Without a terminal (a pipe, CI, a log file): one plain status line per second of device
//! time, and one at the end, instead of the TUI.

use std::io::Write;

use crate::pipeline::{Flow, Observer, Update};

use super::app::lock_word;

/// The observer that prints the status lines.
#[derive(Debug)]
pub struct Plain<W: Write> {
    out: W,
    next_s: f64,
    base: Option<(i64, [u64; 8])>,
    /// The output went away (`| head`): the run was ended there.
    pub closed: bool,
}

impl<W: Write> Plain<W> {
    /// Lines go to `out`.
    pub fn new(out: W) -> Self {
        Plain { out, next_s: 1.0, base: None, closed: false }
    }
}

impl<W: Write> Observer for Plain<W> {
    fn update(&mut self, u: &Update<'_>) -> Flow {
        let s = u.snapshot;
        let t = (s.last_tag_ps - s.first_tag_ps).max(0) as f64 * 1e-12;
        if !(u.last || t >= self.next_s) {
            return Flow::Continue;
        }
        self.next_s = (t.floor() + 1.0).max(self.next_s + 1.0);
        let (t0, tags0) = self.base.unwrap_or((s.first_tag_ps, [0; 8]));
        let dt = ((s.last_tag_ps - t0) as f64 * 1e-12).max(1e-9);
        let rate = |c: usize| s.channel_tags[c].saturating_sub(tags0[c]) as f64 / dt;
        self.base = Some((s.last_tag_ps, s.channel_tags));
        let q = |b: usize| s.qber[b].map_or("-".into(), |q| format!("{:.2} %", 100.0 * q));
        let sifted: u64 = s.counts.sifted.iter().flatten().sum();
        let line = format!(
            "t {t:7.1} s  {:<9}  rate H {:.3e} V {:.3e} D {:.3e} A {:.3e} sync {:.3e} Hz  QBER Z {} X {}  \
             sifted {sifted}  loss {} overflows {} missed {} errors{}",
            lock_word(s.lock),
            rate(0),
            rate(1),
            rate(2),
            rate(3),
            rate(4),
            q(0),
            q(1),
            s.overflows,
            s.missed_tags,
            s.stream_errors,
            if u.last { "  (end)" } else { "" },
        );
        if writeln!(self.out, "{line}").and_then(|_| self.out.flush()).is_err() {
            self.closed = true;
            return Flow::Stop;
        }
        Flow::Continue
    }
}
