//! Streaming decoder of the time tagger's word stream (docs/wire-format.md).
//!
//! Bytes in, any chunking; tags (picoseconds, channel) and in-band events out. Written by
//! hand rather than with a parser library because it is the hot path of every tag
//! (goal: 500e6 tags/s per core) and a tag is one shift-and-add away from its time.

use crate::stream::{StreamErrorKind, StreamEvent, TagBatch};
use rtl::wire::{self, Record};

/// Time-base parameters the decoder needs, read from the tagger's registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBase {
    /// COARSE_PERIOD_PS.
    pub coarse_period_ps: u32,
    /// FINE_BINS.
    pub fine_bins: u16,
}

impl Default for TimeBase {
    fn default() -> Self {
        TimeBase { coarse_period_ps: 10_000, fine_bins: 1000 }
    }
}

const EPOCH_MASK: u64 = (1 << wire::EPOCH_BITS) - 1;

/// Number of leading words of `bytes` (whole words only) that are tags (bit 31 clear),
/// testing four words per step.
#[inline]
fn tag_run_len(bytes: &[u8]) -> usize {
    const HIGH: u64 = 0x8000_0000_8000_0000;
    let mut n = 0;
    for q in bytes.chunks_exact(16) {
        let a = u64::from_le_bytes([q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]]);
        let b = u64::from_le_bytes([q[8], q[9], q[10], q[11], q[12], q[13], q[14], q[15]]);
        if (a | b) & HIGH != 0 {
            break;
        }
        n += 4;
    }
    n + bytes[4 * n..].chunks_exact(4).position(|w| w[3] & 0x80 != 0).unwrap_or((bytes.len() - 4 * n) / 4)
}

/// Tag times of a run of tag words: `base + coarse_lo * coarse + fine * step`.
#[inline(always)]
fn fill_times(words: &[u32], out: &mut [std::mem::MaybeUninit<i64>], base: i64, coarse: u32, step: u32) {
    for (w, t) in words.iter().zip(out.iter_mut()) {
        let u = ((w >> wire::FINE_BITS) & 0x3FFFF) * coarse + (w & 0x3FF) * step;
        t.write(base + i64::from(u));
    }
}

/// The decoder. Feed it bytes with [`Decoder::decode`]; call [`Decoder::finish`] at the end.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Picoseconds of each fine code, rounded to the nearest picosecond.
    fine_ps: Box<[i64; 1024]>,
    coarse_ps: i64,
    /// (coarse period, fine bin) in ps as u32 when the bin is a whole number of picoseconds
    /// (10 ps by default) and a time within an epoch fits 32 bits: the fast path.
    step32: Option<(u32, u32)>,
    /// Time of the current epoch's start, picoseconds; None before the first WRAP.
    epoch_base_ps: Option<i64>,
    epoch: u64,
    carry: [u8; 4],
    carry_len: usize,
    /// Bytes consumed before the current chunk.
    offset: u64,
    /// MISSED_HI seen, waiting for its MISSED: (channel, high bits).
    missed_hi: Option<(u8, u64)>,
}

impl Decoder {
    /// A decoder for a stream with time base `tb`.
    pub fn new(tb: TimeBase) -> Self {
        let coarse = i64::from(tb.coarse_period_ps);
        let bins = i64::from(tb.fine_bins.max(1));
        let mut fine_ps = Box::new([0i64; 1024]);
        for (f, ps) in fine_ps.iter_mut().enumerate() {
            // Round half up: f * coarse / bins to the nearest picosecond.
            *ps = (2 * f as i64 * coarse + bins) / (2 * bins);
        }
        let step = coarse / bins;
        let fits = 0x3FFFF * coarse + 1023 * step < (1 << 32);
        let step32 = (coarse % bins == 0 && fits).then_some((coarse as u32, step as u32));
        Decoder {
            fine_ps,
            coarse_ps: coarse,
            step32,
            epoch_base_ps: None,
            epoch: 0,
            carry: [0; 4],
            carry_len: 0,
            offset: 0,
            missed_hi: None,
        }
    }

    /// Bytes consumed so far.
    pub fn bytes_consumed(&self) -> u64 {
        self.offset + self.carry_len as u64
    }

    /// Decodes `bytes` (any length; a partial word is kept for the next call) into `out`.
    pub fn decode(&mut self, mut bytes: &[u8], out: &mut TagBatch) {
        if self.carry_len > 0 {
            let take = (4 - self.carry_len).min(bytes.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&bytes[..take]);
            self.carry_len += take;
            bytes = &bytes[take..];
            if self.carry_len < 4 {
                return;
            }
            let w = u32::from_le_bytes(self.carry);
            self.carry_len = 0;
            self.word(w, out);
            self.offset += 4;
        }
        let words = bytes.len() / 4;
        out.time_ps.reserve(words);
        out.channel.reserve(words);
        let body = &bytes[..words * 4];
        let mut i = 0;
        while i < words {
            // (A pending MISSED_HI needs its MISSED next: that check is on the slow path.)
            if let (Some(base), None) = (self.epoch_base_ps, self.missed_hi) {
                // The hot path: a run of tags in a known epoch, written straight into the
                // reserved capacity (two pushes per tag would check capacity twice).
                let start = out.time_ps.len();
                let rest = &body[4 * i..];
                let k = tag_run_len(rest);
                let run = &rest[..4 * k];
                let times = &mut out.time_ps.spare_capacity_mut()[..k];
                let chans = &mut out.channel.spare_capacity_mut()[..k];
                match self.step32 {
                    // The common case: coarse_lo * coarse + fine * step fits 32 bits, so the
                    // loop has no 64-bit multiply, no lookup and no exit: it vectorises.
                    Some((coarse, step)) => {
                        // Words into an aligned scratch block first; the arithmetic loop
                        // then runs over plain arrays, which the compiler vectorises.
                        let mut tmp = [0u32; 256];
                        let blocks = run.chunks(1024).zip(times.chunks_mut(256)).zip(chans.chunks_mut(256));
                        for ((src, td), cd) in blocks {
                            let m = td.len();
                            for (d, b) in tmp[..m].iter_mut().zip(src.chunks_exact(4)) {
                                *d = u32::from_le_bytes(b.try_into().expect("4 bytes"));
                            }
                            if (coarse, step) == (10_000, 10) {
                                fill_times(&tmp[..m], td, base, 10_000, 10); // constants: the default
                            } else {
                                fill_times(&tmp[..m], td, base, coarse, step);
                            }
                            for (w, c) in tmp[..m].iter().zip(cd.iter_mut()) {
                                c.write((w >> 28) as u8 & 7);
                            }
                        }
                    }
                    None => {
                        let (coarse, fine_ps) = (self.coarse_ps, &*self.fine_ps);
                        for ((b, t), c) in run.chunks_exact(4).zip(times.iter_mut()).zip(chans.iter_mut()) {
                            let w = u32::from_le_bytes(b.try_into().expect("4 bytes"));
                            let lo = i64::from((w >> wire::FINE_BITS) & 0x3FFFF);
                            t.write(base + lo * coarse + fine_ps[(w & 0x3FF) as usize]);
                            c.write((w >> 28) as u8 & 7);
                        }
                    }
                }
                i += k;
                // SAFETY: the first k spare slots of both vectors were just written.
                unsafe {
                    out.time_ps.set_len(start + k);
                    out.channel.set_len(start + k);
                }
                self.offset += 4 * k as u64;
                if i == words {
                    break;
                }
            }
            let b = &body[4 * i..4 * i + 4];
            self.word(u32::from_le_bytes([b[0], b[1], b[2], b[3]]), out);
            self.offset += 4;
            i += 1;
        }
        let rest = &bytes[words * 4..];
        self.carry[..rest.len()].copy_from_slice(rest);
        self.carry_len = rest.len();
    }

    /// Ends the stream: a partial word left over is reported as an error event.
    pub fn finish(&mut self, out: &mut TagBatch) {
        if self.carry_len > 0 {
            let mut b = [0u8; 4];
            b[..self.carry_len].copy_from_slice(&self.carry[..self.carry_len]);
            out.push_event(StreamEvent::Error {
                byte_offset: self.offset,
                word: u32::from_le_bytes(b),
                kind: StreamErrorKind::TruncatedWord,
            });
            self.offset += self.carry_len as u64;
            self.carry_len = 0;
        }
        if let Some((_, _)) = self.missed_hi.take() {
            out.push_event(StreamEvent::Error {
                byte_offset: self.offset,
                word: 0,
                kind: StreamErrorKind::OrphanMissedHi,
            });
        }
    }

    fn error(&self, w: u32, kind: StreamErrorKind, out: &mut TagBatch) {
        out.push_event(StreamEvent::Error { byte_offset: self.offset, word: w, kind });
    }

    fn time_in_epoch(&self, coarse_lo: u32) -> Option<i64> {
        self.epoch_base_ps.map(|b| b + i64::from(coarse_lo) * self.coarse_ps)
    }

    /// Every word that is not a tag in a known epoch.
    #[cold]
    fn word(&mut self, w: u32, out: &mut TagBatch) {
        let rec = Record::from_word(w);
        if let Some((ch, _)) = self.missed_hi {
            if !matches!(rec, Record::Missed { channel, .. } if channel == ch) {
                self.missed_hi = None;
                self.error(w, StreamErrorKind::OrphanMissedHi, out);
            }
        }
        match rec {
            Record::Tag { channel, coarse_lo, fine } => match self.time_in_epoch(coarse_lo) {
                Some(t) => out.push(t + self.fine_ps[usize::from(fine)], channel),
                None => self.error(w, StreamErrorKind::TagBeforeWrap, out),
            },
            Record::Wrap { epoch } => self.wrap(u64::from(epoch), w, out),
            Record::OverflowBegin { coarse_lo } => match self.time_in_epoch(coarse_lo) {
                Some(time_ps) => out.push_event(StreamEvent::OverflowBegin { time_ps }),
                None => self.error(w, StreamErrorKind::TagBeforeWrap, out),
            },
            Record::OverflowEnd { coarse_lo } => match self.time_in_epoch(coarse_lo) {
                Some(time_ps) => out.push_event(StreamEvent::OverflowEnd { time_ps }),
                None => self.error(w, StreamErrorKind::TagBeforeWrap, out),
            },
            Record::MissedHi { channel, count_hi } => self.missed_hi = Some((channel, u64::from(count_hi))),
            Record::Missed { channel, count_lo } => {
                let hi = self.missed_hi.take().map_or(0, |(_, h)| h);
                out.push_event(StreamEvent::Missed { channel, count: (hi << wire::MISSED_BITS) | u64::from(count_lo) });
            }
            Record::Pad => {}
            Record::Unknown(_) => self.error(w, StreamErrorKind::UnknownRecord, out),
        }
    }

    /// A WRAP: extends the 28-bit epoch to 64 bits. The first WRAP sets the epoch; later
    /// ones must repeat it (overflow exit re-announces it) or advance it; anything else is
    /// a cut or reordered stream, reported, and the new epoch is taken as given.
    fn wrap(&mut self, e28: u64, w: u32, out: &mut TagBatch) {
        const HALF: u64 = 1 << (wire::EPOCH_BITS - 1);
        let new = if self.epoch_base_ps.is_none() {
            e28
        } else {
            let prev28 = self.epoch & EPOCH_MASK;
            let high = self.epoch & !EPOCH_MASK;
            if e28 >= prev28 {
                if e28 - prev28 > (1 << 20) {
                    // More than 2^20 epochs (45 min) skipped: not a plausible gap.
                    self.error(w, StreamErrorKind::EpochDiscontinuity, out);
                }
                high | e28
            } else if prev28 - e28 > HALF {
                // The 28-bit epoch counter rolled over (every 8.2 days).
                (high | e28) + (1 << wire::EPOCH_BITS)
            } else {
                // Backwards: a cut or reordered stream. Reported, and the device's word taken.
                self.error(w, StreamErrorKind::EpochDiscontinuity, out);
                high | e28
            }
        };
        // Epochs past 2^30 (33 days of running) or times past i64 only come from a corrupt
        // stream: report it and forget the epoch until the next plausible WRAP.
        let span = ((1i64 << wire::COARSE_LO_BITS) + 1).saturating_mul(self.coarse_ps);
        let base = (new < 1 << 30)
            .then(|| ((new << wire::COARSE_LO_BITS) as i64).checked_mul(self.coarse_ps))
            .flatten()
            .filter(|b| b.checked_add(span).is_some());
        if base.is_none() {
            self.error(w, StreamErrorKind::EpochDiscontinuity, out);
            self.epoch = 0;
        } else {
            self.epoch = new;
        }
        self.epoch_base_ps = base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtl::wire::{kind, missed, overflow, tag, wrap};

    fn bytes(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn decode_all(words: &[u32], tb: TimeBase) -> TagBatch {
        let mut d = Decoder::new(tb);
        let mut out = TagBatch::default();
        d.decode(&bytes(words), &mut out);
        d.finish(&mut out);
        out
    }

    #[test]
    fn tags_get_absolute_picoseconds() {
        let out = decode_all(&[wrap(3), tag(2, 5, 7), tag(1, 0x3FFFF, 999)], TimeBase::default());
        let epoch_ps = 3i64 << 18;
        assert_eq!(out.time_ps, vec![(epoch_ps + 5) * 10_000 + 70, (epoch_ps + 0x3FFFF) * 10_000 + 9_990]);
        assert_eq!(out.channel, vec![2, 1]);
        assert!(out.events.is_empty());
    }

    #[test]
    fn fine_codes_round_to_the_nearest_picosecond() {
        let d = Decoder::new(TimeBase { coarse_period_ps: 10_000, fine_bins: 1024 });
        assert_eq!(d.fine_ps[1], 10); // 9.765625
        assert_eq!(d.fine_ps[3], 29); // 29.296875
        assert_eq!(d.fine_ps[1023], 9990); // 9990.234375
    }

    #[test]
    fn overflow_and_missed_counts_are_events_in_place() {
        let out = decode_all(
            &[
                wrap(0),
                tag(0, 1, 0),
                overflow(kind::OVF_BEGIN, 2),
                wrap(4),
                overflow(kind::OVF_END, 9),
                missed(kind::MISSED_HI, 3, 2),
                missed(kind::MISSED, 3, 5),
                missed(kind::MISSED, 0, 1),
                tag(0, 10, 0),
            ],
            TimeBase::default(),
        );
        assert_eq!(out.len(), 2);
        assert_eq!(
            out.events,
            vec![
                (1, StreamEvent::OverflowBegin { time_ps: 20_000 }),
                (1, StreamEvent::OverflowEnd { time_ps: ((4 << 18) + 9) * 10_000 }),
                (1, StreamEvent::Missed { channel: 3, count: (2 << 25) | 5 }),
                (1, StreamEvent::Missed { channel: 0, count: 1 }),
            ]
        );
    }

    #[test]
    fn epochs_extend_past_28_bits() {
        let top = (1u64 << 28) - 1;
        let out = decode_all(&[wrap(top), tag(0, 0, 0), wrap(0), tag(0, 0, 0)], TimeBase::default());
        assert_eq!(out.time_ps[1] - out.time_ps[0], (1i64 << 18) * 10_000);
        assert!(out.events.is_empty());
    }

    #[test]
    fn bad_words_become_error_events_with_byte_offsets() {
        let out = decode_all(&[tag(1, 1, 1), wrap(0), 0xB000_0001, tag(1, 1, 1)], TimeBase::default());
        assert_eq!(out.len(), 1);
        assert_eq!(
            out.events,
            vec![
                (0, StreamEvent::Error { byte_offset: 0, word: tag(1, 1, 1), kind: StreamErrorKind::TagBeforeWrap }),
                (0, StreamEvent::Error { byte_offset: 8, word: 0xB000_0001, kind: StreamErrorKind::UnknownRecord }),
            ]
        );
        let mut d = Decoder::new(TimeBase::default());
        let mut o = TagBatch::default();
        d.decode(&[1, 2, 3, 4, 5], &mut o);
        d.finish(&mut o);
        // The first word is a tag before any WRAP; the fifth byte is a truncated word.
        assert!(matches!(
            o.events[..],
            [
                (0, StreamEvent::Error { byte_offset: 0, kind: StreamErrorKind::TagBeforeWrap, .. }),
                (0, StreamEvent::Error { byte_offset: 4, kind: StreamErrorKind::TruncatedWord, .. })
            ]
        ));
    }

    #[test]
    fn any_chunking_gives_the_same_result() {
        let words: Vec<u32> = std::iter::once(wrap(1))
            .chain((0..500u32).map(|i| {
                if i % 97 == 0 {
                    wrap(1 + u64::from(i / 97) + 1)
                } else {
                    tag((i % 8) as u8, i * 7, (i % 1000) as u16)
                }
            }))
            .collect();
        let b = bytes(&words);
        let whole = decode_all(&words, TimeBase::default());
        for chunk in [1usize, 2, 3, 5, 7, 64, 1000] {
            let mut d = Decoder::new(TimeBase::default());
            let mut out = TagBatch::default();
            for c in b.chunks(chunk) {
                d.decode(c, &mut out);
            }
            d.finish(&mut out);
            assert_eq!(out, whole, "chunk size {chunk}");
        }
    }
}

#[cfg(test)]
#[path = "tag_stream_oracle.rs"]
mod oracle;

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Arbitrary bytes never panic, and any chunking decodes to the same tags and events.
        #[test]
        fn arbitrary_bytes_decode_the_same_in_any_chunking(
            words in prop::collection::vec(prop_oneof![
                4 => any::<u32>().prop_map(|w| w & 0x7FFF_FFFF),
                1 => (0u64..1 << 28).prop_map(rtl::wire::wrap),
                1 => any::<u32>(),
            ], 0..400),
            tail in prop::collection::vec(any::<u8>(), 0..4),
            cuts in prop::collection::vec(1usize..64, 1..20),
        ) {
            let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            bytes.extend(tail);
            let mut whole = TagBatch::default();
            let mut d = Decoder::new(TimeBase::default());
            d.decode(&bytes, &mut whole);
            d.finish(&mut whole);
            let mut pieces = TagBatch::default();
            let mut d = Decoder::new(TimeBase::default());
            let mut rest = &bytes[..];
            for c in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let n = (*c).min(rest.len());
                d.decode(&rest[..n], &mut pieces);
                rest = &rest[n..];
            }
            d.finish(&mut pieces);
            prop_assert_eq!(pieces, whole);
        }
    }
}
