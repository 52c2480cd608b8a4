//! The time tagger's 32-bit word stream (docs/wire-format.md): record kinds and field layout.
//!
//! The golden model encodes with these; the drivers' stream decoder decodes with them.
//!
//! ```text
//! 0ccc tttt tttt tttt tttt ttff ffff ffff   TAG: channel c, coarse_lo t (18 b), fine f (10 b)
//! 1000 eeee ...                      eeee   WRAP: epoch e (28 b); coarse = e << 18 | coarse_lo
//! 1001 tttt ... tt00 0000 0000              OVF_BEGIN at coarse_lo t (current epoch)
//! 1010 tttt ... tt00 0000 0000              OVF_END at coarse_lo t (epoch: the WRAP before it)
//! 1100 ccc nnnn ...                         MISSED: channel c lost n[24:0] tags in the overflow
//! 1101 ccc nnnn ...                         MISSED_HI: n[49:25] of the MISSED record after it
//! 1111 1111 ...                             PAD: filler, ignored (USB transfer alignment)
//! ```

/// Bits of coarse time carried in a tag record.
pub const COARSE_LO_BITS: u32 = 18;
/// Bits of fine code carried in a tag record.
pub const FINE_BITS: u32 = 10;
/// Bits of the epoch number carried in a WRAP record.
pub const EPOCH_BITS: u32 = 28;
/// Bits of a missed count per MISSED / MISSED_HI record.
pub const MISSED_BITS: u32 = 25;
/// The padding word.
pub const PAD: u32 = 0xFFFF_FFFF;

/// Record kind: the top nibble of a word whose bit 31 is set.
pub mod kind {
    /// Epoch start.
    pub const WRAP: u32 = 0x8;
    /// FIFO overflow started; tags are being dropped.
    pub const OVF_BEGIN: u32 = 0x9;
    /// FIFO overflow ended.
    pub const OVF_END: u32 = 0xA;
    /// Per-channel missed count, low bits.
    pub const MISSED: u32 = 0xC;
    /// Per-channel missed count, high bits.
    pub const MISSED_HI: u32 = 0xD;
    /// Padding.
    pub const PAD: u32 = 0xF;
}

/// A tag record.
#[inline]
pub fn tag(channel: u8, coarse_lo: u32, fine: u16) -> u32 {
    (u32::from(channel & 7) << 28) | ((coarse_lo & 0x3FFFF) << FINE_BITS) | u32::from(fine & 0x3FF)
}

/// A WRAP record for `epoch`.
#[inline]
pub fn wrap(epoch: u64) -> u32 {
    (kind::WRAP << 28) | (epoch as u32 & 0x0FFF_FFFF)
}

/// An OVF_BEGIN or OVF_END record.
#[inline]
pub fn overflow(k: u32, coarse_lo: u32) -> u32 {
    (k << 28) | ((coarse_lo & 0x3FFFF) << FINE_BITS)
}

/// A MISSED or MISSED_HI record.
#[inline]
pub fn missed(k: u32, channel: u8, count_bits: u64) -> u32 {
    (k << 28) | (u32::from(channel & 7) << MISSED_BITS) | (count_bits as u32 & 0x01FF_FFFF)
}

/// One word of the stream, classified (no time reconstruction: that needs the stream's
/// state and lives in the drivers' stream decoder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// A detection or sync: channel, coarse time within the epoch, fine code.
    Tag {
        /// Input channel.
        channel: u8,
        /// Coarse cycles since the epoch start.
        coarse_lo: u32,
        /// Fine code.
        fine: u16,
    },
    /// An epoch starts (low 28 bits of the epoch number).
    Wrap {
        /// Epoch number modulo 2^28.
        epoch: u32,
    },
    /// Overflow began at this coarse time in the current epoch.
    OverflowBegin {
        /// Coarse cycles since the epoch start.
        coarse_lo: u32,
    },
    /// Overflow ended at this coarse time in the current epoch.
    OverflowEnd {
        /// Coarse cycles since the epoch start.
        coarse_lo: u32,
    },
    /// Tags of `channel` lost in the overflow just ended, bits 24..0 of the count.
    Missed {
        /// Input channel.
        channel: u8,
        /// Count bits 24..0.
        count_lo: u32,
    },
    /// Bits 49..25 of the next MISSED record's count.
    MissedHi {
        /// Input channel.
        channel: u8,
        /// Count bits 49..25.
        count_hi: u32,
    },
    /// Filler.
    Pad,
    /// A kind the format does not define (3-bit kinds 0xB and 0xE).
    Unknown(u32),
}

impl Record {
    /// Classifies one word.
    #[inline]
    pub fn from_word(w: u32) -> Record {
        if w & 0x8000_0000 == 0 {
            return Record::Tag {
                channel: ((w >> 28) & 7) as u8,
                coarse_lo: (w >> FINE_BITS) & 0x3FFFF,
                fine: (w & 0x3FF) as u16,
            };
        }
        let ch = ((w >> MISSED_BITS) & 7) as u8;
        match w >> 28 {
            kind::WRAP => Record::Wrap { epoch: w & 0x0FFF_FFFF },
            kind::OVF_BEGIN => Record::OverflowBegin { coarse_lo: (w >> FINE_BITS) & 0x3FFFF },
            kind::OVF_END => Record::OverflowEnd { coarse_lo: (w >> FINE_BITS) & 0x3FFFF },
            kind::MISSED => Record::Missed { channel: ch, count_lo: w & 0x01FF_FFFF },
            kind::MISSED_HI => Record::MissedHi { channel: ch, count_hi: w & 0x01FF_FFFF },
            kind::PAD if w == PAD => Record::Pad,
            _ => Record::Unknown(w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoders_and_classifier_agree() {
        assert_eq!(Record::from_word(tag(5, 0x3FFFF, 999)), Record::Tag { channel: 5, coarse_lo: 0x3FFFF, fine: 999 });
        assert_eq!(Record::from_word(wrap(0x0001_2345_6789)), Record::Wrap { epoch: 0x0345_6789 });
        assert_eq!(Record::from_word(overflow(kind::OVF_BEGIN, 77)), Record::OverflowBegin { coarse_lo: 77 });
        assert_eq!(Record::from_word(overflow(kind::OVF_END, 78)), Record::OverflowEnd { coarse_lo: 78 });
        assert_eq!(
            Record::from_word(missed(kind::MISSED, 7, 0x1FF_FFFF)),
            Record::Missed { channel: 7, count_lo: 0x1FF_FFFF }
        );
        assert_eq!(Record::from_word(missed(kind::MISSED_HI, 2, 3)), Record::MissedHi { channel: 2, count_hi: 3 });
        assert_eq!(Record::from_word(PAD), Record::Pad);
        assert_eq!(Record::from_word(0xB000_0000), Record::Unknown(0xB000_0000));
    }
}
