//! Without a terminal (a pipe, CI, a log file): one plain status line per second of device
//! time, and one at the end, instead of the TUI. The QBER covers exactly its second (the
//! engine's 100 ms windows, whatever the wall-clock pace); the rates are every tag over the
//! device time since the previous update (the channels' own counts, gate or not; when the
//! run goes faster than the wall clock, the lines of one update share them).

use std::io::Write;

use engine::sift::SiftCounts;

use crate::pipeline::{Flow, Observer, Update};

use super::app::lock_word;

/// The observer that prints the status lines.
#[derive(Debug)]
pub struct Plain<W: Write> {
    out: W,
    /// End of the second being gathered, s of device time.
    next_s: f64,
    /// The second's windows' counts.
    counts: SiftCounts,
    /// Tags per channel and the latest tag's time at the previous line.
    base: Option<(i64, [u64; 8])>,
    sifted_total: u64,
    /// The output went away (`| head`): the run was ended there.
    pub closed: bool,
}

impl<W: Write> Plain<W> {
    /// Lines go to `out`.
    pub fn new(out: W) -> Self {
        Plain { out, next_s: 1.0, base: None, counts: SiftCounts::default(), sifted_total: 0, closed: false }
    }

    fn line(&mut self, t_s: f64, u: &Update<'_>, end: bool) -> bool {
        let s = u.snapshot;
        let (t0, tags0) = self.base.unwrap_or((s.first_tag_ps, [0; 8]));
        let dt = ((s.last_tag_ps - t0) as f64 * 1e-12).max(1e-9);
        let rate = |c: usize| s.channel_tags[c].saturating_sub(tags0[c]) as f64 / dt;
        let q = |b: usize| self.counts.qber(b, None).map_or("-".into(), |q| format!("{:.2} %", 100.0 * q));
        let line = format!(
            "t {t_s:7.1} s  {:<9}  rate H {:.3e} V {:.3e} D {:.3e} A {:.3e} sync {:.3e} Hz  QBER Z {} X {}  \
             sifted {}  loss {} overflows {} missed {} errors{}",
            lock_word(s.lock),
            rate(0),
            rate(1),
            rate(2),
            rate(3),
            rate(4),
            q(0),
            q(1),
            self.sifted_total,
            s.overflows,
            s.missed_tags,
            s.stream_errors,
            if end { "  (end)" } else { "" },
        );
        self.counts = SiftCounts::default();
        writeln!(self.out, "{line}").and_then(|_| self.out.flush()).is_ok()
    }
}

impl<W: Write> Observer for Plain<W> {
    fn update(&mut self, u: &Update<'_>) -> Flow {
        let mut printed = false;
        for w in u.windows {
            let end_s = (w.index + 1) as f64 * w.duration_s;
            if end_s > self.next_s + 1e-9 {
                let t = self.next_s;
                if !self.line(t, u, false) {
                    self.closed = true;
                    return Flow::Stop;
                }
                printed = true;
                self.next_s = end_s.ceil().max(t + 1.0);
            }
            self.counts.add(&w.counts);
            self.sifted_total += w.counts.sifted.iter().flatten().sum::<u64>();
        }
        if u.last {
            let s = u.snapshot;
            let t = (s.last_tag_ps - s.first_tag_ps).max(0) as f64 * 1e-12;
            if !self.line(t, u, true) {
                self.closed = true;
            }
        } else if printed {
            // The lines of this update covered the tags up to this snapshot.
            self.base = Some((u.snapshot.last_tag_ps, u.snapshot.channel_tags));
        }
        Flow::Continue
    }
}
