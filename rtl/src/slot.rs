//! The per-slot output of the pattern generator, packed in one `u32` as the shim and the
//! golden model both produce it (docs/register-map.md, "Slot word").
//!
//! ```text
//! bits 1:0  intensity class        bit 4  laser fired (0: external-mode underflow)
//! bit  2    basis (0 Z, 1 X)       bit 5  sync output
//! bit  3    bit value              bit 6  frame mark
//! bits 11:8 polarisation select    bits 31:16 intensity DAC code
//! ```

/// Basis of a BB84 state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Basis {
    /// Rectilinear (H/V).
    Z = 0,
    /// Diagonal (D/A).
    X = 1,
}

/// One pulse slot as the pattern generator emitted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotWord(pub u32);

impl SlotWord {
    /// Packs the fields.
    #[allow(clippy::too_many_arguments)]
    pub fn pack(class: u8, basis: Basis, bit: u8, fired: bool, sync: bool, frame: bool, pol: u8, dac: u16) -> Self {
        SlotWord(
            u32::from(class & 3)
                | (basis as u32) << 2
                | u32::from(bit & 1) << 3
                | u32::from(fired) << 4
                | u32::from(sync) << 5
                | u32::from(frame) << 6
                | u32::from(pol & 0xF) << 8
                | u32::from(dac) << 16,
        )
    }
    /// Intensity class, 0..=3.
    pub fn class(self) -> u8 {
        (self.0 & 3) as u8
    }
    /// Basis.
    pub fn basis(self) -> Basis {
        if self.0 & 4 != 0 {
            Basis::X
        } else {
            Basis::Z
        }
    }
    /// Bit value, 0 or 1.
    pub fn bit(self) -> u8 {
        ((self.0 >> 3) & 1) as u8
    }
    /// Whether the laser fired (false only for an external-mode slot without random bits).
    pub fn fired(self) -> bool {
        self.0 & 0x10 != 0
    }
    /// Whether the sync output fired in this slot.
    pub fn sync(self) -> bool {
        self.0 & 0x20 != 0
    }
    /// Whether this slot carries the frame mark.
    pub fn frame(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// Polarisation / laser select.
    pub fn pol_sel(self) -> u8 {
        ((self.0 >> 8) & 0xF) as u8
    }
    /// Intensity-modulator DAC code.
    pub fn dac_code(self) -> u16 {
        (self.0 >> 16) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let w = SlotWord::pack(2, Basis::X, 1, true, false, true, 0xA, 0x1234);
        assert_eq!(
            (w.class(), w.basis(), w.bit(), w.fired(), w.sync(), w.frame(), w.pol_sel(), w.dac_code()),
            (2, Basis::X, 1, true, false, true, 0xA, 0x1234)
        );
    }
}
