//! Golden model of the pattern generator: `symbol(settings, i)` in O(1).
//!
//! Mirrors `rtl/pattern_gen/pattern_gen_core.v`: the random word of slot i is the SplitMix64
//! output `mix64(seed + (i + 1) * GAMMA)` (Steele, Lea & Flood, OOPSLA 2014). Statistically
//! strong, not cryptographic: see the module doc of the RTL.

use crate::regmap::pattern_gen as reg;
use crate::slot::{Basis, SlotWord};

/// SplitMix64's increment (the golden ratio in 64-bit fixed point).
pub const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// Threshold value meaning "probability 1": thresholds are compared with 16 random bits.
pub const THRESHOLD_ONE: u32 = 65536;

/// The pattern generator's settings, as its registers hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternSettings {
    /// Seed of the counter-mode generator (SEED_HI:SEED_LO).
    pub seed: u64,
    /// Cumulative class thresholds (CLASS_THR0..2), each 0..=65536.
    pub class_thr: [u32; 3],
    /// Basis-Z threshold (BASIS_THR), 0..=65536.
    pub basis_thr: u32,
    /// DAC code per intensity class.
    pub dac_code: [u16; 4],
    /// Polarisation select per state, nibble 2*basis+bit (POL_MAP).
    pub pol_map: u16,
    /// Sync every N slots (SYNC_PERIOD), N >= 1.
    pub sync_period: u32,
    /// Frame mark every M syncs (FRAME_PERIOD), M >= 1.
    pub frame_period: u32,
}

impl Default for PatternSettings {
    /// The reset values of the registers (read through the register model, the one place
    /// that maps registers to settings).
    fn default() -> Self {
        crate::model::pattern_gen_regs::PatternGenRegisters::new().settings()
    }
}

impl PatternSettings {
    /// The register writes that program these settings, in order (CTRL excluded).
    pub fn register_writes(&self) -> [(u8, u32); 14] {
        [
            (reg::SEED_LO, self.seed as u32),
            (reg::SEED_HI, (self.seed >> 32) as u32),
            (reg::CLASS_THR0, self.class_thr[0]),
            (reg::CLASS_THR1, self.class_thr[1]),
            (reg::CLASS_THR2, self.class_thr[2]),
            (reg::BASIS_THR, self.basis_thr),
            (reg::DAC_CODE0, u32::from(self.dac_code[0])),
            (reg::DAC_CODE1, u32::from(self.dac_code[1])),
            (reg::DAC_CODE2, u32::from(self.dac_code[2])),
            (reg::DAC_CODE3, u32::from(self.dac_code[3])),
            (reg::POL_MAP, u32::from(self.pol_map)),
            (reg::SYNC_PERIOD, self.sync_period),
            (reg::FRAME_PERIOD, self.frame_period),
            (reg::SCRATCH, 0),
        ]
    }

    /// Probability of each intensity class implied by the thresholds.
    pub fn class_probabilities(&self) -> [f64; 4] {
        let t = self.class_thr.map(|x| f64::from(x.min(THRESHOLD_ONE)));
        let one = f64::from(THRESHOLD_ONE);
        let c0 = t[0];
        let c1 = t[1].max(c0);
        let c2 = t[2].max(c1);
        [c0 / one, (c1 - c0) / one, (c2 - c1) / one, (one - c2) / one]
    }
}

/// The symbol of one pulse slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Symbol {
    /// Intensity class, 0..=3.
    pub class: u8,
    /// Basis.
    pub basis: Basis,
    /// Bit value, 0 or 1.
    pub bit: u8,
}

/// SplitMix64's output function.
#[inline(always)]
pub fn mix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random word behind slot `i` in bench (counter) mode.
#[inline(always)]
pub fn random_word(seed: u64, i: u64) -> u64 {
    mix64(seed.wrapping_add(i.wrapping_add(1).wrapping_mul(GAMMA)))
}

/// The symbol a random word selects under `s` (also the external-random mode's rule).
#[inline(always)]
pub fn symbol_from_word(s: &PatternSettings, r: u64) -> Symbol {
    let u = (r & 0xFFFF) as u32;
    // The RTL's priority chain "first k with u < THRk, else 3", without branches: a random
    // class would mispredict every other time. Exact for unsorted thresholds too.
    let below =
        u32::from(u < s.class_thr[0]) | u32::from(u < s.class_thr[1]) << 1 | u32::from(u < s.class_thr[2]) << 2 | 8;
    let class = below.trailing_zeros() as u8;
    let basis = if (((r >> 16) & 0xFFFF) as u32) < s.basis_thr { Basis::Z } else { Basis::X };
    Symbol { class, basis, bit: ((r >> 32) & 1) as u8 }
}

/// The symbol of pulse slot `i` in bench mode: O(1) for any `i`.
#[inline(always)]
pub fn symbol(s: &PatternSettings, i: u64) -> Symbol {
    symbol_from_word(s, random_word(s.seed, i))
}

/// Whether slot `i` carries the sync output.
#[inline]
pub fn is_sync(s: &PatternSettings, i: u64) -> bool {
    i.is_multiple_of(u64::from(s.sync_period.max(1)))
}

/// Whether slot `i` carries the frame mark.
#[inline]
pub fn is_frame(s: &PatternSettings, i: u64) -> bool {
    let n = u64::from(s.sync_period.max(1));
    i.is_multiple_of(n) && (i / n).is_multiple_of(u64::from(s.frame_period.max(1)))
}

/// The full slot word the RTL emits for a fired slot `i` whose random word is `r`.
#[inline]
pub fn slot_word_from(s: &PatternSettings, i: u64, r: u64) -> SlotWord {
    let sym = symbol_from_word(s, r);
    let state = (sym.basis as u16) * 2 + u16::from(sym.bit);
    let pol = ((s.pol_map >> (4 * state)) & 0xF) as u8;
    SlotWord::pack(
        sym.class,
        sym.basis,
        sym.bit,
        true,
        is_sync(s, i),
        is_frame(s, i),
        pol,
        s.dac_code[sym.class as usize],
    )
}

/// The slot word of slot `i` in bench mode.
#[inline]
pub fn slot_word(s: &PatternSettings, i: u64) -> SlotWord {
    slot_word_from(s, i, random_word(s.seed, i))
}

/// The slot word of an external-mode slot `i` that found no random bits: laser not fired.
#[inline]
pub fn underflow_slot_word(s: &PatternSettings, i: u64) -> SlotWord {
    SlotWord::pack(0, Basis::Z, 0, false, is_sync(s, i), is_frame(s, i), 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_its_reference_sequence() {
        // SplitMix64 seeded with 0 (the reference implementation's first outputs).
        assert_eq!(random_word(0, 0), 0xE220_A839_7B1D_CDAF);
        assert_eq!(random_word(0, 1), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn class_probabilities_follow_thresholds() {
        let s = PatternSettings { class_thr: [32768, 49152, 65536], ..Default::default() };
        assert_eq!(s.class_probabilities(), [0.5, 0.25, 0.25, 0.0]);
    }

    #[test]
    fn sync_and_frame_marks() {
        let s = PatternSettings { sync_period: 10, frame_period: 3, ..Default::default() };
        assert!(is_sync(&s, 0) && is_frame(&s, 0));
        assert!(is_sync(&s, 10) && !is_frame(&s, 10));
        assert!(is_frame(&s, 30) && !is_sync(&s, 31));
    }
}
