//! Metrics over fixed windows of pulses (100 ms at the nominal rate by default) and over
//! the run: QBER, gains, finite-key length per window and per run.

use std::collections::VecDeque;

use serde::Serialize;

use super::finite_key::{Bound, KeyRateInput, KeyRateOutput};
use super::sift::SiftCounts;

/// Finite-key settings for the engine (Lim et al. 2014).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyConfig {
    /// Mean photon numbers of classes 0, 1, 2 (signal, decoy, vacuum or weak).
    pub mu: [f64; 3],
    /// Secrecy parameter.
    pub eps_sec: f64,
    /// Correctness parameter.
    pub eps_cor: f64,
    /// Error-correction efficiency.
    pub f_ec: f64,
    /// Concentration bound.
    pub bound: Bound,
    /// The basis the key comes from: 0 Z, 1 X (the phase error comes from the other).
    pub key_basis: usize,
}

impl Default for KeyConfig {
    fn default() -> Self {
        KeyConfig {
            mu: [0.8, 0.1, 0.0],
            eps_sec: 1e-10,
            eps_cor: 1e-15,
            f_ec: 1.16,
            bound: Bound::Chernoff,
            key_basis: 1,
        }
    }
}

/// The finite-key length of a set of counts (classes 0..3 of the counts; class 3 unused).
pub fn key_length(c: &SiftCounts, class_p: [f64; 4], k: &KeyConfig) -> Option<KeyRateOutput> {
    let kb = k.key_basis.min(1);
    let pb = 1 - kb;
    let arr = |f: &dyn Fn(usize) -> u64| -> [f64; 3] { std::array::from_fn(|i| f(i) as f64) };
    let input = KeyRateInput {
        mu: k.mu,
        p: [class_p[0], class_p[1], class_p[2]],
        n_x: arr(&|i| c.sifted[i][kb]),
        n_z: arr(&|i| c.sifted[i][pb]),
        m_x: arr(&|i| c.errors[i][kb]),
        m_z: arr(&|i| c.errors[i][pb]),
        eps_sec: k.eps_sec,
        eps_cor: k.eps_cor,
        f_ec: k.f_ec,
        bound: k.bound,
    };
    input.evaluate().ok()
}

/// One closed window.
#[derive(Debug, Clone, Serialize)]
pub struct WindowRecord {
    /// Window number (pulse index / window length).
    pub index: i64,
    /// Counts within the window.
    pub counts: SiftCounts,
    /// QBER per basis [Z, X].
    pub qber: [Option<f64>; 2],
    /// Finite-key length of the window alone, bits (0 for windows too short for a key).
    pub key_length_bits: u64,
    /// Tags per tagger channel in the window (count rates: divide by `duration_s`).
    pub channel_tags: [u64; 8],
    /// Relative offset of the received pulse rate from nominal when the window closed
    /// (Doppler and clocks; 0 before the first lock).
    pub rate_offset: f64,
    /// Overflow episodes and tags the device lost, in the window.
    pub overflows: u64,
    /// See `overflows`.
    pub missed: u64,
    /// Nominal length of the window, s.
    pub duration_s: f64,
    /// The fraction of the window's pulses analysed (below 1 when a live run skipped
    /// blocks: its gains are of the analysed pulses, `duration_s` x this).
    pub analysed_fraction: f64,
}

/// Stream-level counters the windows take their share of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Tags per channel.
    pub channel_tags: [u64; 8],
    /// Overflow episodes.
    pub overflows: u64,
    /// Tags lost.
    pub missed: u64,
    /// Detections of blocks the pipeline skipped (a live run behind the tagger).
    pub skipped_tags: u64,
}

/// Keeps the windows.
#[derive(Debug, Clone)]
pub struct Windows {
    /// Pulses per window.
    pub pulses: i64,
    current: i64,
    at_start: SiftCounts,
    stream_at_start: StreamCounters,
    /// Nominal pulse period, ps (for window durations).
    pulse_period_ps: f64,
    /// Closed windows, oldest first, at most `keep`.
    pub closed: VecDeque<WindowRecord>,
    keep: usize,
    /// Windows closed since the start (also those no longer kept).
    pub closed_total: u64,
    /// The rate offset the engine sees now; the engine sets it before a window closes.
    pub rate_offset: f64,
    /// Pulse ranges [from, to) of skipped blocks not yet behind the current window.
    skipped: VecDeque<(i64, i64)>,
}

impl Windows {
    /// Windows of `pulses` pulses of `pulse_period_ps`; the last `keep` are kept.
    pub fn new(pulses: i64, pulse_period_ps: f64, keep: usize) -> Self {
        Windows {
            pulses: pulses.max(1),
            current: 0,
            at_start: SiftCounts::default(),
            stream_at_start: StreamCounters::default(),
            pulse_period_ps,
            closed: VecDeque::new(),
            keep,
            closed_total: 0,
            rate_offset: 0.0,
            skipped: VecDeque::new(),
        }
    }

    /// The first pulse of the next window.
    #[inline(always)]
    pub fn next_start(&self) -> i64 {
        (self.current + 1) * self.pulses
    }

    /// Whether counting `pulse` first closes the current window.
    #[inline(always)]
    pub fn ends_before(&self, pulse: i64) -> bool {
        pulse >= (self.current + 1) * self.pulses
    }

    /// Pulses `from..to` were in a block the pipeline skipped: the windows they fall in
    /// count them as not analysed.
    pub fn skip(&mut self, from: i64, to: i64) {
        self.skipped.push_back((from, to));
    }

    /// The skipped pulses within pulses `a..b`.
    fn skipped_in(&self, a: i64, b: i64) -> i64 {
        self.skipped.iter().map(|&(f, t)| (t.min(b) - f.max(a)).max(0)).sum()
    }

    /// Called with the pulse index about to be counted and the cumulative counts before it:
    /// closes every window that ends before it.
    #[inline]
    pub fn advance(
        &mut self,
        pulse: i64,
        cumulative: &SiftCounts,
        stream: &StreamCounters,
        class_p: [f64; 4],
        key: &KeyConfig,
    ) {
        if pulse < (self.current + 1) * self.pulses {
            return;
        }
        let w = pulse.div_euclid(self.pulses);
        self.close(cumulative, stream, class_p, key);
        // Windows with no detections at all in between are not recorded.
        self.current = w;
    }

    /// Closes the current window with the cumulative counts at its end.
    pub fn close(&mut self, cumulative: &SiftCounts, stream: &StreamCounters, class_p: [f64; 4], key: &KeyConfig) {
        let mut counts = cumulative.clone();
        counts.subtract(&self.at_start);
        let qber = [counts.qber(0, None), counts.qber(1, None)];
        let key_length_bits = key_length(&counts, class_p, key).map_or(0, |k| k.key_length_bits);
        if counts.detected_pulses.iter().sum::<u64>() > 0 {
            let s0 = &self.stream_at_start;
            self.closed.push_back(WindowRecord {
                index: self.current,
                counts,
                qber,
                key_length_bits,
                channel_tags: std::array::from_fn(|c| stream.channel_tags[c] - s0.channel_tags[c]),
                rate_offset: self.rate_offset,
                overflows: stream.overflows - s0.overflows,
                missed: stream.missed - s0.missed,
                duration_s: self.pulses as f64 * self.pulse_period_ps * 1e-12,
                analysed_fraction: {
                    let start = self.current * self.pulses;
                    (1.0 - self.skipped_in(start, start + self.pulses) as f64 / self.pulses as f64).clamp(0.0, 1.0)
                },
            });
            self.closed_total += 1;
            if self.closed.len() > self.keep {
                self.closed.pop_front();
            }
        }
        self.at_start = cumulative.clone();
        self.stream_at_start = *stream;
        // Ranges wholly before the next window are done with.
        let next = (self.current + 1) * self.pulses;
        while self.skipped.front().is_some_and(|&(_, t)| t <= next) {
            self.skipped.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(c: &mut SiftCounts, n: u64) {
        c.detected_pulses[0] += n;
        c.sifted[0][1] += n;
    }

    #[test]
    fn windows_take_their_share_of_counts_and_skip_silent_ones() {
        let key = KeyConfig::default();
        let p = [0.5, 0.25, 0.25, 0.0];
        // Windows of 1000 pulses of 10 ns (10 µs).
        let mut w = Windows::new(1000, 10_000.0, 2);
        let (mut total, mut stream) = (SiftCounts::default(), StreamCounters::default());
        click(&mut total, 5);
        stream.channel_tags[0] = 7;
        assert_eq!(w.next_start(), 1000);
        assert!(!w.ends_before(999) && w.ends_before(1000));
        w.advance(999, &total, &stream, p, &key);
        assert_eq!(w.closed_total, 0, "pulse 999 is still in window 0");
        // A second run of the same steps, to check the exact boundary through advance itself.
        let mut edge = Windows::new(1000, 10_000.0, 2);
        edge.advance(1000, &total, &stream, p, &key);
        assert_eq!(edge.closed_total, 1, "pulse 1000 opens window 1");
        // Pulse 3500: window 0 closes; windows 1 and 2 had nothing and are not recorded.
        w.advance(3500, &total, &stream, p, &key);
        click(&mut total, 3);
        stream.channel_tags[0] += 4;
        stream.missed = 2;
        stream.overflows = 1;
        w.advance(4000, &total, &stream, p, &key);
        click(&mut total, 1);
        w.close(&total, &stream, p, &key);
        let closed: Vec<&WindowRecord> = w.closed.iter().collect();
        assert_eq!(w.closed_total, 3);
        assert_eq!(closed.len(), 2, "only the last two are kept");
        assert_eq!((closed[0].index, closed[1].index), (3, 4));
        assert_eq!(closed[0].counts.detected_pulses[0], 3);
        assert_eq!((closed[0].channel_tags[0], closed[0].missed, closed[0].overflows), (4, 2, 1));
        assert_eq!(closed[1].counts.detected_pulses[0], 1);
        assert_eq!((closed[1].missed, closed[1].overflows), (0, 0));
        assert!((closed[0].duration_s - 1e-5).abs() < 1e-15);
        assert_eq!(closed[0].qber, [None, Some(0.0)]);
        // Closing again with nothing new records no empty window.
        w.close(&total, &stream, p, &key);
        assert_eq!(w.closed_total, 3, "a window without detections is not recorded");
    }

    #[test]
    fn the_key_length_uses_the_configured_key_basis() {
        let mut c = SiftCounts::default();
        // Plenty of counts in both bases, a little error in each.
        for k in 0..3 {
            let n = [4e8, 5e7, 1e7][k] as u64;
            c.sifted[k] = [n, n];
            c.errors[k] = [n / 100, n / 50];
        }
        let p = [0.7, 0.2, 0.1, 0.0];
        let x = key_length(&c, p, &KeyConfig { key_basis: 1, ..KeyConfig::default() }).expect("X key");
        let z = key_length(&c, p, &KeyConfig { key_basis: 0, ..KeyConfig::default() }).expect("Z key");
        assert!(x.key_length_bits > 0 && z.key_length_bits > 0);
        // X has the higher error rate here: the key from X is shorter.
        assert!(x.key_length_bits < z.key_length_bits, "{} vs {}", x.key_length_bits, z.key_length_bits);
        assert!((x.qber_x - 0.02).abs() < 1e-3 && (z.qber_x - 0.01).abs() < 1e-3);
    }
}
