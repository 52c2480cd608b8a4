//! The packed counting key of a single click: everything the counts, the sifting and the
//! patterning estimate need about one detection, in one byte, so the block pass can count
//! single-click pulses in a 256-entry table instead of sifting each one.

/// A click's key: the previous pulse's class (bits 7..6), this pulse's class (5..4), the
/// sent basis (3), the sent bit (2) and the detector (1..0: H, V, D, A).
///
/// The hot path stores and sorts the raw byte (`SymbolKey::raw`); this type names the fields
/// where they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct SymbolKey(pub u8);

impl SymbolKey {
    /// Packs the fields (each masked to its width).
    pub const fn new(prev_class: u8, class: u8, basis: u8, bit: u8, detector: u8) -> Self {
        SymbolKey((prev_class & 3) << 6 | (class & 3) << 4 | (basis & 1) << 3 | (bit & 1) << 2 | (detector & 3))
    }
    /// The byte as stored.
    pub const fn raw(self) -> u8 {
        self.0
    }
    /// Intensity class of the previous pulse (0 signal, 1 decoy, 2 vacuum or weak, 3 unused).
    pub const fn prev_class(self) -> usize {
        (self.0 >> 6) as usize
    }
    /// Intensity class of this pulse.
    pub const fn class(self) -> usize {
        ((self.0 >> 4) & 3) as usize
    }
    /// The sent basis: 0 Z, 1 X.
    pub const fn basis(self) -> usize {
        ((self.0 >> 3) & 1) as usize
    }
    /// The sent bit.
    pub const fn bit(self) -> usize {
        ((self.0 >> 2) & 1) as usize
    }
    /// The detector that clicked: 0 H, 1 V, 2 D, 3 A.
    pub const fn detector(self) -> usize {
        (self.0 & 3) as usize
    }
    /// The detector's basis (H, V: Z; D, A: X).
    pub const fn detector_basis(self) -> usize {
        self.detector() / 2
    }
    /// The detector's bit (H, D: 0; V, A: 1).
    pub const fn detector_bit(self) -> usize {
        self.detector() & 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        for raw in 0..=255u8 {
            let k = SymbolKey(raw);
            let again = SymbolKey::new(
                k.prev_class() as u8,
                k.class() as u8,
                k.basis() as u8,
                k.bit() as u8,
                k.detector() as u8,
            );
            assert_eq!(again, k);
        }
        let k = SymbolKey::new(2, 1, 1, 0, 3);
        assert_eq!((k.prev_class(), k.class(), k.basis(), k.bit(), k.detector()), (2, 1, 1, 0, 3));
        assert_eq!((k.detector_basis(), k.detector_bit()), (1, 1));
    }
}
