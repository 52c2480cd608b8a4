//! Times from counts and a header's resolution, computed exactly (docs/recording-schema.md,
//! "Times of imported files"): the resolution is the header's float64 in seconds, which is
//! an exact binary fraction m * 2^e; count * resolution in picoseconds is then an exact
//! rational, and it is rounded to the nearest picosecond, ties to even. In integers, never
//! in f64 (whose product of a count and a resolution is off by up to half a unit in the
//! last place, which moves half-picosecond ties either way).

/// A resolution in picoseconds as `a / 2^k`, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactPs {
    a: u128,
    k: u32,
}

/// 5^12: 10^12 = 2^12 * 5^12.
const FIVE_12: u128 = 244_140_625;

impl ExactPs {
    /// Exactly one picosecond.
    pub const ONE_PS: ExactPs = ExactPs { a: 1, k: 0 };

    /// The exact value in picoseconds of `seconds`, a positive normal float64 between 1e-15
    /// and 1e-3 (the importers refuse others before they get here).
    pub fn from_seconds(seconds: f64) -> ExactPs {
        let bits = seconds.to_bits();
        let exp = ((bits >> 52) & 0x7FF) as i32;
        let mut m = u128::from(bits & ((1 << 52) - 1)) | if exp != 0 { 1 << 52 } else { 0 };
        let mut e = if exp != 0 { exp - 1075 } else { -1074 };
        while m != 0 && m & 1 == 0 {
            m >>= 1;
            e += 1;
        }
        // seconds * 1e12 = m * 5^12 * 2^(e + 12).
        let j = e + 12;
        if j >= 0 {
            ExactPs { a: (m * FIVE_12) << j, k: 0 }
        } else {
            ExactPs { a: m * FIVE_12, k: (-j) as u32 }
        }
    }

    /// `count` times this resolution: (whole picoseconds, the fraction's numerator over 2^k).
    fn times(self, count: u64) -> (u128, u128) {
        let (hi, lo) = mul(count, self.a);
        if self.k == 0 {
            return (lo, 0);
        }
        let k = self.k;
        let q = (hi << (128 - k)) | (lo >> k);
        (q, lo & ((1u128 << k) - 1))
    }
}

/// x * y as a 192-bit number (high, low 128 bits).
fn mul(x: u64, y: u128) -> (u128, u128) {
    let (y0, y1) = (y & u128::from(u64::MAX), y >> 64);
    let p0 = u128::from(x) * y0;
    let p1 = u128::from(x) * y1;
    let lo = p0.wrapping_add(p1 << 64);
    ((p1 >> 64) + u128::from(lo < p0), lo)
}

/// `n1 * r1 + n2 * r2` picoseconds, rounded to the nearest, ties to even.
pub fn time_ps(n1: u64, r1: ExactPs, n2: u64, r2: ExactPs) -> i64 {
    let (q1, f1) = r1.times(n1);
    let (q2, f2) = r2.times(n2);
    let k = r1.k.max(r2.k);
    let f = (f1 << (k - r1.k)) + (f2 << (k - r2.k));
    let mut q = q1 + q2 + if k > 0 { f >> k } else { 0 };
    if k > 0 {
        let f = f & ((1u128 << k) - 1);
        let half = 1u128 << (k - 1);
        if f > half || (f == half && q & 1 == 1) {
            q += 1;
        }
    }
    i64::try_from(q).unwrap_or(i64::MAX)
}

/// `n * r` picoseconds, rounded to the nearest, ties to even.
pub fn time1_ps(n: u64, r: ExactPs) -> i64 {
    time_ps(n, r, 0, ExactPs { a: 0, k: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_picosecond_resolutions_are_exact() {
        let r = ExactPs::from_seconds(4e-12);
        // 4e-12 is not a binary fraction: its float64 is a hair above or below 4 ps, and
        // the rounding brings every count back to 4 ps per unit.
        for n in [0u64, 1, 7, 1 << 20, (1 << 40) + 3, 1 << 50] {
            assert_eq!(time1_ps(n, r), 4 * n as i64, "{n}");
        }
    }

    #[test]
    fn half_picosecond_ties_go_to_even() {
        // 2^-41 s = 5^12 / 2^29 ps exactly: 2^28 units are 5^12 / 2 = 122,070,312.5 ps.
        let r = ExactPs::from_seconds(2f64.powi(-41));
        assert_eq!(time1_ps(1 << 28, r), 122_070_312);
        assert_eq!(time1_ps(3 << 28, r), 366_210_938); // 366,210,937.5
        assert_eq!(time1_ps((1 << 28) + 1, r), 122_070_313); // just above the tie
                                                             // A sum whose fractions add to exactly one half.
        assert_eq!(time_ps(1 << 27, r, 1 << 27, r), 122_070_312);
    }

    #[test]
    fn large_counts_do_not_overflow() {
        // 2^46 sync periods of 25 ns (20 days), 1.8e18 ps, near i64's end. The float64 25e-9
        // is 8e-25 s short of 25 ns, so 2^46 of them are 80 ps short: exactly so here.
        let (sync, bin) = (ExactPs::from_seconds(25e-9), ExactPs::from_seconds(16e-12));
        let t = time_ps(1 << 46, sync, 0, bin);
        assert_eq!(t, (1i64 << 46) * 25_000 - 80);
        // Plus 5 micro-time bins of 16 ps.
        assert_eq!(time_ps(1 << 46, sync, 5, bin) - t, 80);
    }
}
