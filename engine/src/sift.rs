//! Sifting: detections grouped by pulse, compared with what was sent.

use rtl::model::pattern_gen::{self as pg, PatternSettings};
use serde::Serialize;

/// Counts of a run (or a window of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SiftCounts {
    /// Clicks by `[class][sent basis][sent bit][detector]`.
    pub clicks: [[[[u64; 4]; 2]; 2]; 4],
    /// Pulses with at least one gated click, by class.
    pub detected_pulses: [u64; 4],
    /// Sifted events by `[class][basis]` (receiver basis = sent basis, one analyser).
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
    let key = crate::SymbolKey(key);
    count(key.class(), key.basis(), key.bit(), pulse, mask, c);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The counting key of a pulse of class `k`, sent basis `sb` and bit `sbit`.
    fn key(k: u8, sb: u8, sbit: u8) -> u8 {
        k << 4 | sb << 3 | sbit << 2
    }

    #[test]
    fn a_single_click_in_the_sent_basis_is_sifted_and_checked() {
        let mut c = SiftCounts::default();
        sift_key(key(1, 0, 1), 10, 0b0010, &mut c); // Z, bit 1 sent; V clicked: right
        sift_key(key(1, 0, 1), 11, 0b0001, &mut c); // H clicked: an error
        sift_key(key(2, 1, 0), 12, 0b0100, &mut c); // X, bit 0 sent; D clicked: right
        sift_key(key(2, 0, 0), 13, 0b1000, &mut c); // Z sent, A clicked: not sifted
        sift_key(key(2, 1, 0), 14, 0b1000, &mut c); // X, bit 0 sent; A clicked: an error
        assert_eq!(c.sifted[1], [2, 0]);
        assert_eq!(c.errors[1], [1, 0]);
        assert_eq!(c.sifted[2], [0, 2]);
        assert_eq!(c.errors[2], [0, 1]);
        assert_eq!(c.detected_pulses, [0, 2, 3, 0]);
        assert_eq!((c.double_clicks, c.cross_basis), (0, 0), "single clicks are neither");
        assert_eq!(c.clicks[2][0][0][3], 1);
        assert_eq!(c.qber(0, None), Some(0.5));
        assert_eq!(c.qber(1, Some(2)), Some(0.5));
        assert_eq!(c.qber(1, Some(1)), None);
    }

    #[test]
    fn add_and_subtract_are_inverse_on_every_field() {
        let mut a = SiftCounts::default();
        let mut b = SiftCounts::default();
        for (i, p) in (0..200).enumerate() {
            let mask = [0b0001u8, 0b0010, 0b0100, 0b1000, 0b0011, 0b1100, 0b0101][i % 7];
            sift_key(key((i % 3) as u8, (i % 2) as u8, (i / 2 % 2) as u8), p, mask, &mut a);
            sift_key(key((i % 4) as u8, ((i + 1) % 2) as u8, (i % 2) as u8), p + 7, mask, &mut b);
        }
        assert!(a.double_clicks > 0 && a.cross_basis > 0 && b.double_clicks > 0);
        let mut sum = a.clone();
        sum.add(&b);
        assert_eq!(sum.double_clicks, a.double_clicks + b.double_clicks);
        assert_eq!(sum.cross_basis, a.cross_basis + b.cross_basis);
        assert_eq!(sum.sifted[0][0], a.sifted[0][0] + b.sifted[0][0]);
        sum.subtract(&b);
        assert_eq!(sum, a, "(a + b) - b = a, field by field");
    }

    #[test]
    fn the_squash_bit_is_the_documented_function_of_the_pulse() {
        // squash_bit(p) = mix64(p XOR 0x5157A5A5) & 1, pinned for a few pulses.
        for p in [0i64, 1, 2, 3, 1000, 123_456_789, -1] {
            let want = (pg::mix64(p as u64 ^ 0x5157_A5A5) & 1) as u8;
            assert_eq!(squash_bit(p), want, "pulse {p}");
        }
        let ones: u32 = (0..64).map(|p| u32::from(squash_bit(p))).sum();
        let pinned: u32 = (0..64u64).map(|p| (pg::mix64(p ^ 0x5157_A5A5) & 1) as u32).sum();
        assert_eq!(ones, pinned);
    }

    #[test]
    fn double_clicks_get_a_reproducible_random_bit_and_cross_basis_clicks_are_dropped() {
        let mut c = SiftCounts::default();
        let mut errors = 0;
        for p in 0..1000 {
            sift_key(key(0, 0, 0), p, 0b0011, &mut c);
            errors += u64::from(squash_bit(p) != 0);
        }
        assert_eq!(c.double_clicks, 1000);
        assert_eq!(c.sifted[0][0], 1000);
        assert_eq!(c.errors[0][0], errors);
        assert!((400..600).contains(&errors), "{errors} of 1000: not a fair coin");
        sift_key(key(0, 0, 0), 5, 0b0101, &mut c);
        assert_eq!(c.cross_basis, 1);
        assert_eq!(c.sifted[0][0], 1000);
        assert_eq!(c.detected_pulses[0], 1001);
        assert_eq!(c.clicks[0][0][0], [1001, 1000, 1, 0]);
    }

    #[test]
    fn a_window_is_the_difference_of_cumulative_counts() {
        let (mut a, mut b) = (SiftCounts::default(), SiftCounts::default());
        for p in 0..50 {
            sift_key(key((p % 4) as u8, (p % 2) as u8, 0), p, 1 << (p % 4), &mut a);
        }
        b.clone_from(&a);
        for p in 50..80 {
            sift_key(key((p % 3) as u8, 1, 1), p, 0b1100, &mut b);
        }
        let mut window = b.clone();
        window.subtract(&a);
        let mut back = a.clone();
        back.add(&window);
        assert_eq!(back, b);
        assert_eq!(window.detected_pulses.iter().sum::<u64>(), 30);
        assert_eq!(window.double_clicks, 30);
    }

    #[test]
    fn the_symbol_path_and_the_key_path_count_alike() {
        let s = PatternSettings::default();
        let (mut by_symbol, mut by_key) = (SiftCounts::default(), SiftCounts::default());
        for p in 1..5000i64 {
            let mask = [0b0001, 0b0010, 0b0100, 0b1000, 0b0011, 0b0110][(p % 6) as usize];
            if sift_pulse(&s, p, mask, &mut by_symbol).is_some() {
                let w = pg::slot_word(&s, p as u64);
                sift_key(key(w.class(), w.basis() as u8, w.bit()), p, mask, &mut by_key);
            }
        }
        assert_eq!(by_symbol, by_key);
        assert!(by_symbol.detected_pulses.iter().sum::<u64>() > 4000);
    }
}
