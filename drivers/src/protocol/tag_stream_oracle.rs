//! The decoder against an encoder written here from docs/wire-format.md alone (bit layouts
//! typed out, not `rtl::wire`'s helpers), and the expected times computed from the ground
//! truth with other arithmetic than the decoder's (floating point rounding, u128 epochs).

use super::*;
use proptest::prelude::*;

/// One thing the "device" did, in stream order.
#[derive(Debug, Clone)]
enum Truth {
    /// A detection at an absolute coarse count with a fine code, on a channel.
    Tag { coarse: u64, fine: u16, channel: u8 },
    /// Filler words (USB transfers padded to whole packets).
    Pad(usize),
    /// An overflow from `begin` to `end` (absolute coarse counts) losing `lost[ch]` tags.
    Overflow { begin: u64, end: u64, lost: Vec<(u8, u64)> },
}

/// The doc's encoder: WRAP (`1000`, epoch bits 27..0) at the first word and at every new
/// epoch (coarse bits 45..18); TAG `0ccc` + coarse_lo 27..10 + fine 9..0; OVF_BEGIN `1001`,
/// OVF_END `1010` after a WRAP; MISSED_HI `1101` (only if the count is at least 2^25),
/// MISSED `1100`, channel in 27..25; PAD all ones.
fn encode(truth: &[Truth]) -> Vec<u32> {
    let mut words = Vec::new();
    let mut epoch: Option<u64> = None;
    let mut enter = |words: &mut Vec<u32>, coarse: u64, force: bool| {
        let e = coarse >> 18;
        if force || epoch != Some(e) {
            words.push(0x8000_0000 | (e & 0x0FFF_FFFF) as u32);
            epoch = Some(e);
        }
        ((coarse & 0x3FFFF) as u32) << 10
    };
    for t in truth {
        match t {
            Truth::Tag { coarse, fine, channel } => {
                let lo = enter(&mut words, *coarse, false);
                words.push((u32::from(*channel) << 28) | lo | u32::from(*fine));
            }
            Truth::Pad(n) => words.extend(std::iter::repeat_n(0xFFFF_FFFF, *n)),
            Truth::Overflow { begin, end, lost } => {
                let lo = enter(&mut words, *begin, false);
                words.push(0x9000_0000 | lo);
                let lo = enter(&mut words, *end, true);
                words.push(0xA000_0000 | lo);
                for &(ch, n) in lost {
                    if n >= 1 << 25 {
                        words.push(0xD000_0000 | (u32::from(ch) << 25) | ((n >> 25) & 0x1FF_FFFF) as u32);
                    }
                    words.push(0xC000_0000 | (u32::from(ch) << 25) | (n & 0x1FF_FFFF) as u32);
                }
            }
        }
    }
    words
}

/// Picoseconds of a coarse count and fine code: exact rational arithmetic, rounded to the
/// nearest picosecond, halves up (the documented rule).
fn time_ps(tb: TimeBase, coarse: u64, fine: u16) -> i64 {
    let cp = u128::from(tb.coarse_period_ps);
    let bins = u128::from(tb.fine_bins);
    let num = u128::from(fine) * cp; // fine time = num / bins ps
    let whole = num / bins;
    let frac2 = 2 * (num % bins); // compare the remainder with half a bin
    let fine_ps = whole + u128::from(frac2 >= bins);
    (u128::from(coarse) * cp + fine_ps) as i64
}

/// The expected decode: tags, and events placed after the tags before them. The first WRAP
/// carries only the epoch's low 28 bits, so times count from that 28-bit epoch.
fn expect(truth: &[Truth], tb: TimeBase) -> TagBatch {
    let first = truth.iter().find_map(|t| match t {
        Truth::Tag { coarse, .. } | Truth::Overflow { begin: coarse, .. } => Some(*coarse),
        Truth::Pad(_) => None,
    });
    let unknown = first.map_or(0, |c| (c >> 18 >> 28) << 28 << 18);
    let time_ps = |tb, coarse: u64, fine| time_ps(tb, coarse - unknown, fine);
    let mut out = TagBatch::default();
    for t in truth {
        match t {
            Truth::Tag { coarse, fine, channel } => {
                out.time_ps.push(time_ps(tb, *coarse, *fine));
                out.channel.push(*channel);
            }
            Truth::Pad(_) => {}
            Truth::Overflow { begin, end, lost } => {
                let n = out.time_ps.len();
                out.events.push((n, StreamEvent::OverflowBegin { time_ps: time_ps(tb, *begin, 0) }));
                out.events.push((n, StreamEvent::OverflowEnd { time_ps: time_ps(tb, *end, 0) }));
                for &(channel, count) in lost {
                    out.events.push((n, StreamEvent::Missed { channel, count }));
                }
            }
        }
    }
    out
}

/// One step of a history: gap in coarse cycles, fine code, channel, what happens (a pad
/// run, an overflow or a tag) and a count (pad words or tags lost).
type Step = (u64, u16, u8, u8, u64);

/// A plausible device history: time runs forward by random gaps (some crossing many
/// epochs), starting just below the 28-bit epoch rollover so the decoder has to extend it.
fn history() -> impl Strategy<Value = (u64, Vec<Step>)> {
    (
        prop_oneof![Just((1u64 << 28) - 3), 0u64..1 << 20],
        prop::collection::vec(
            (
                prop_oneof![8 => 0u64..50, 2 => 0u64..1 << 19, 1 => 0u64..1 << 21],
                0u16..1024,
                0u8..8,
                0u8..40, // < 2: a pad run; 2: an overflow; else a tag
                prop_oneof![0u64..1000, (1u64 << 25) - 2..(1 << 25) + 2, 0u64..1 << 40],
            ),
            0..300,
        ),
    )
}

fn build(start_epoch: u64, steps: &[Step], fine_bins: u16) -> Vec<Truth> {
    let mut coarse = start_epoch << 18;
    let mut truth = Vec::new();
    for &(gap, fine, channel, what, n) in steps {
        coarse += gap;
        match what {
            0 | 1 => truth.push(Truth::Pad(1 + (n % 130) as usize)),
            2 => {
                let end = coarse + 1 + gap;
                let lost = vec![(channel, n.max(1)), ((channel + 3) % 8, 1 + n % 7)];
                let lost = if channel % 2 == 0 { lost[..1].to_vec() } else { lost };
                truth.push(Truth::Overflow { begin: coarse, end, lost });
                coarse = end;
            }
            _ => truth.push(Truth::Tag { coarse, fine: fine % fine_bins, channel }),
        }
    }
    truth
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Every tag's time, channel and order, and every loss event with its place and count,
    /// equal the truth the stream was encoded from; chunked at random, it stays equal.
    #[test]
    fn the_decoder_returns_the_truth_the_documented_encoder_wrote(
        (start, steps) in history(),
        tb in prop_oneof![
            Just(TimeBase::default()),
            Just(TimeBase { coarse_period_ps: 10_000, fine_bins: 1024 }),
            (1000u32..20_000, 1u16..=1024).prop_map(|(c, b)| TimeBase { coarse_period_ps: c, fine_bins: b }),
        ],
        cut in 1usize..200,
    ) {
        let truth = build(start, &steps, tb.fine_bins);
        let words = encode(&truth);
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let want = expect(&truth, tb);
        let mut d = Decoder::new(tb);
        let mut got = TagBatch::default();
        let mut fed = 0u64;
        for c in bytes.chunks(cut) {
            d.decode(c, &mut got);
            fed += c.len() as u64;
            // A partial word held for the next chunk counts as consumed.
            prop_assert_eq!(d.bytes_consumed(), fed);
        }
        d.finish(&mut got);
        prop_assert_eq!(d.bytes_consumed(), bytes.len() as u64);
        prop_assert_eq!(&got.channel, &want.channel);
        prop_assert_eq!(&got.time_ps, &want.time_ps);
        prop_assert_eq!(&got.events, &want.events);
    }
}

/// A control word at every position of a tag run: the four-words-at-a-time scan must stop
/// exactly at it, whatever its alignment, and count whole words only.
#[test]
fn a_tag_run_ends_exactly_at_the_first_control_word() {
    for len in 0..40usize {
        for at in 0..=len {
            let mut words: Vec<u32> = (0..len as u32).map(|i| (i % 8) << 28 | i).collect();
            if at < len {
                words[at] = 0x8000_0000 | at as u32;
            }
            let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            assert_eq!(tag_run_len(&bytes), at, "len {len}, control word at {at}");
            bytes.extend([1, 2, 3]); // a partial word never counts
            assert_eq!(tag_run_len(&bytes), at, "len {len} + 3 bytes, control word at {at}");
        }
    }
}

/// PAD words vanish without a trace, in runs of any length, between and inside tag runs.
#[test]
fn pad_words_leave_no_tag_and_no_event() {
    let tag = |ch: u32, lo: u32, f: u32| (ch << 28) | (lo << 10) | f;
    let words =
        [0xFFFF_FFFF, 0x8000_0002, tag(1, 5, 3), 0xFFFF_FFFF, tag(2, 6, 4), 0xFFFF_FFFF, 0xFFFF_FFFF, tag(0, 7, 0)];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut d = Decoder::new(TimeBase::default());
    let mut out = TagBatch::default();
    d.decode(&bytes, &mut out);
    d.finish(&mut out);
    let base = (2i64 << 18) * 10_000;
    assert_eq!(out.time_ps, vec![base + 50_030, base + 60_040, base + 70_000]);
    assert_eq!(out.channel, vec![1, 2, 0]);
    assert!(out.events.is_empty(), "{:?}", out.events);
    // A word with PAD's kind but not all ones is not filler: it is reported.
    let mut out = TagBatch::default();
    let mut d = Decoder::new(TimeBase::default());
    d.decode(&0xF000_0000u32.to_le_bytes(), &mut out);
    assert_eq!(
        out.events,
        vec![(0, StreamEvent::Error { byte_offset: 0, word: 0xF000_0000, kind: StreamErrorKind::UnknownRecord })]
    );
}

/// MISSED_HI must be followed by the MISSED of its channel: anything else, including the
/// end of the stream, is an orphan, reported at its byte offset, and its high bits are not
/// added to a later count.
#[test]
fn a_missed_hi_without_its_missed_is_reported_and_not_carried() {
    let hi = |ch: u32, n: u32| 0xD000_0000 | (ch << 25) | n;
    let lo = |ch: u32, n: u32| 0xC000_0000 | (ch << 25) | n;
    let run = |words: &[u32]| {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut d = Decoder::new(TimeBase::default());
        let mut out = TagBatch::default();
        d.decode(&bytes, &mut out);
        d.finish(&mut out);
        out.events
    };
    let orphan =
        |at: u64, word: u32| StreamEvent::Error { byte_offset: at, word, kind: StreamErrorKind::OrphanMissedHi };
    // Another channel's MISSED: the orphan is reported at that word, which then counts alone.
    assert_eq!(
        run(&[0x8000_0000, hi(2, 1), lo(3, 9)]),
        vec![(0, orphan(8, lo(3, 9))), (0, StreamEvent::Missed { channel: 3, count: 9 })]
    );
    // A tag after MISSED_HI: reported, and the tag still decoded.
    let t = 0x1000_0000 | (4 << 10);
    let ev = run(&[0x8000_0000, hi(2, 1), t, lo(2, 5)]);
    assert_eq!(ev, vec![(0, orphan(8, t)), (1, StreamEvent::Missed { channel: 2, count: 5 })]);
    // MISSED_HI as the last word: reported at the end of the stream.
    assert_eq!(run(&[0x8000_0000, hi(2, 1)]), vec![(0, orphan(8, 0))]);
    // The full 50-bit count.
    assert_eq!(
        run(&[0x8000_0000, hi(7, 0x1FF_FFFF), lo(7, 0x1FF_FFFF)]),
        vec![(0, StreamEvent::Missed { channel: 7, count: (1 << 50) - 1 })]
    );
}
