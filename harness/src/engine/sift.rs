//! Sifting: detections grouped by pulse, compared with what was sent.

use rtl::model::pattern_gen::{self as pg, PatternSettings};
use serde::Serialize;

/// Counts of a run (or a window of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SiftCounts {
    /// Clicks by [class][sent basis][sent bit][detector].
    pub clicks: [[[[u64; 4]; 2]; 2]; 4],
    /// Pulses with at least one gated click, by class.
    pub detected_pulses: [u64; 4],
    /// Sifted events by [class][basis] (receiver basis = sent basis, one analyser).
    pub sifted: [[u64; 2]; 4],
    /// Bit errors among them.
    pub errors: [[u64; 2]; 4],
    /// Pulses with both detectors of one analyser clicking (bit drawn at random).
    pub double_clicks: u64,
    /// Pulses with clicks in both analysers (never sifted).
    pub cross_basis: u64,
}

impl SiftCounts {
    /// QBER of `basis` (0 Z, 1 X) over all classes, or per class with `Some(k)`.
    pub fn qber(&self, basis: usize, class: Option<usize>) -> Option<f64> {
        let (e, n) = match class {
            Some(k) => (self.errors[k][basis], self.sifted[k][basis]),
            None => (0..4).fold((0, 0), |(e, n), k| (e + self.errors[k][basis], n + self.sifted[k][basis])),
        };
        (n > 0).then(|| e as f64 / n as f64)
    }

    /// Subtracts counts taken earlier from these (a window's share of cumulative counts).
    pub fn subtract(&mut self, o: &SiftCounts) {
        for k in 0..4 {
            for b in 0..2 {
                for bit in 0..2 {
                    for d in 0..4 {
                        self.clicks[k][b][bit][d] -= o.clicks[k][b][bit][d];
                    }
                }
                self.sifted[k][b] -= o.sifted[k][b];
                self.errors[k][b] -= o.errors[k][b];
            }
            self.detected_pulses[k] -= o.detected_pulses[k];
        }
        self.double_clicks -= o.double_clicks;
        self.cross_basis -= o.cross_basis;
    }

    /// Adds another set of counts.
    pub fn add(&mut self, o: &SiftCounts) {
        for k in 0..4 {
            for b in 0..2 {
                for bit in 0..2 {
                    for d in 0..4 {
                        self.clicks[k][b][bit][d] += o.clicks[k][b][bit][d];
                    }
                }
                self.sifted[k][b] += o.sifted[k][b];
                self.errors[k][b] += o.errors[k][b];
            }
            self.detected_pulses[k] += o.detected_pulses[k];
        }
        self.double_clicks += o.double_clicks;
        self.cross_basis += o.cross_basis;
    }
}

/// The bit a double click in one analyser gets: random, but reproducible from the pulse
/// index (squashing, QKD-REFERENCE.md section 1).
#[inline]
pub fn squash_bit(pulse: i64) -> u8 {
    (pg::mix64(pulse as u64 ^ 0x5157_A5A5) & 1) as u8
}

/// `sift_pulse` for a pulse whose symbol is already known from its counting key
/// (`fast::symbol_key`: class in bits 5..4, sent basis in bit 3, sent bit in bit 2): the same
/// counts without computing the symbol again.
#[inline]
pub fn sift_key(key: u8, pulse: i64, mask: u8, c: &mut SiftCounts) {
    let (k, sb, sbit) = (usize::from((key >> 4) & 3), usize::from((key >> 3) & 1), usize::from((key >> 2) & 1));
    count(k, sb, sbit, pulse, mask, c);
}

/// Counts a pulse of class `k` sent in basis `sb` with bit `sbit` whose detectors `mask` clicked.
#[inline]
fn count(k: usize, sb: usize, sbit: usize, pulse: i64, mask: u8, c: &mut SiftCounts) {
    for d in 0..4 {
        if mask & (1 << d) != 0 {
            c.clicks[k][sb][sbit][d] += 1;
        }
    }
    c.detected_pulses[k] += 1;
    let (z, x) = (mask & 0b0011, mask & 0b1100);
    if z != 0 && x != 0 {
        c.cross_basis += 1;
        return;
    }
    let (rb, pair) = if z != 0 { (0usize, z) } else { (1usize, x >> 2) };
    let bit = match pair {
        0b01 => 0,
        0b10 => 1,
        _ => {
            c.double_clicks += 1;
            squash_bit(pulse)
        }
    };
    if rb == sb {
        c.sifted[k][rb] += 1;
        c.errors[k][rb] += u64::from(usize::from(bit) != sbit);
    }
}

/// Sifts one pulse whose detectors `mask` (bit d: detector d; 0 H, 1 V, 2 D, 3 A) clicked.
/// Returns the pulse's intensity class (None if the laser did not fire).
#[inline]
pub fn sift_pulse(s: &PatternSettings, pulse: i64, mask: u8, c: &mut SiftCounts) -> Option<u8> {
    let w = pg::slot_word(s, pulse as u64);
    if !w.fired() {
        return None;
    }
    count(usize::from(w.class()), w.basis() as usize, usize::from(w.bit()), pulse, mask, c);
    Some(w.class())
}
