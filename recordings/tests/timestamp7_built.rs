//! The timestamp7 "a1" importer on files built here from fpfind's documented layout: two
//! little-endian u32 words per event, low first (legacy files, named `...X.ts`, swapped);
//! time = (high << 22) + (low >> 10) units of 1/256 ns; low bits 3..0 the detectors,
//! bit 4 a rollover dummy. Expected values are derived by hand.

#[path = "../../tests/common/scratch.rs"]
mod common_scratch;

use recordings::import::timestamp7::Timestamp7Reader;
use recordings::{Event, EventKind, RecordingError};

/// One event: `units` of 1/256 ns, detector bits, rollover flag; in the modern word order.
fn event(units: u64, bits: u32, rollover: bool) -> (u32, u32) {
    let low = (((units & 0x3F_FFFF) as u32) << 10) | bits | if rollover { 0x10 } else { 0 };
    (low, (units >> 22) as u32)
}

fn file(name: &str, events: &[(u32, u32)], legacy: bool, tail: &[u8]) -> common_scratch::Scratch {
    let mut b = Vec::new();
    for &(low, high) in events {
        let (a, c) = if legacy { (high, low) } else { (low, high) };
        b.extend(a.to_le_bytes());
        b.extend(c.to_le_bytes());
    }
    b.extend(tail);
    let p = common_scratch::scratch_file("ts7-built", name);
    std::fs::write(&p, b).unwrap();
    p
}

fn read(p: &std::path::Path, max: usize) -> (Vec<usize>, Vec<Event>, Option<RecordingError>) {
    let mut r = Timestamp7Reader::open(p).unwrap();
    let (mut counts, mut v) = (Vec::new(), Vec::new());
    loop {
        match r.read_events(&mut v, max) {
            Ok(0) => return (counts, v, None),
            Ok(n) => counts.push(n),
            Err(e) => return (counts, v, Some(e)),
        }
    }
}

#[test]
fn both_word_orders_decode_by_hand() {
    // 2^22 + 5 units: the high word is 1; 1/256 ns = 3.90625 ps: (2^22 + 5) * 3.90625 ps =
    // 16,384,019.53... ps, rounded to 16,384,020. Then a click on detectors 1 and 3 (bits
    // 0 and 2) 256 units (1 ns) later, and a rollover dummy.
    let t0 = (1u64 << 22) + 5;
    let events = [event(t0, 0b0001, false), event(t0 + 256, 0b0101, false), event(t0 + 512, 0, true)];
    let want = vec![
        Event { time_ps: 16_384_020, channel: 1, kind: EventKind::Tag },
        Event { time_ps: 16_385_020, channel: 1, kind: EventKind::Tag },
        Event { time_ps: 16_385_020, channel: 3, kind: EventKind::Tag },
        Event { time_ps: 16_386_020, channel: 0, kind: EventKind::Overflow },
    ];
    for (name, legacy) in [("c13.ts", false), ("c13X.ts", true)] {
        let p = file(name, &events, legacy, &[]);
        let r = Timestamp7Reader::open(&p).unwrap();
        assert_eq!((r.records(), r.legacy()), (3, legacy), "{name}");
        let (counts, v, err) = read(&p, 2);
        assert!(err.is_none(), "{name}: {err:?}");
        assert_eq!(counts, [2, 1], "{name}: records per call, at most max");
        assert_eq!(v, want, "{name}");
    }
}

#[test]
fn a_file_ending_inside_a_record_says_where() {
    // One whole record (exactly 8 bytes left is a record, not a truncation), then 4 bytes.
    let one = file("one.ts", &[event(1000, 0b1000, false)], false, &[]);
    let (counts, v, err) = read(&one, 10);
    assert!(err.is_none() && counts == [1] && v.len() == 1 && v[0].channel == 4, "{counts:?} {v:?} {err:?}");
    let cut = file("cut.ts", &[event(1000, 0b1000, false)], false, &[1, 2, 3, 4]);
    let (_, v, err) = read(&cut, 10);
    assert_eq!(v.len(), 1);
    match err {
        Some(RecordingError::Truncated { offset, what, .. }) => {
            assert_eq!(offset, 8);
            assert!(what.contains("4 bytes left"), "{what}");
        }
        other => panic!("expected a truncation at byte 8, got {other:?}"),
    }
}

/// Half-picosecond ties go to even, as for every importer: 16 units are 62.5 ps, 48 units
/// 187.5 ps.
#[test]
fn half_picosecond_ties_go_to_even() {
    let p = file("ties.ts", &[event(16, 1, false), event(48, 1, false), event(49, 1, false)], false, &[]);
    let (_, v, err) = read(&p, 10);
    assert!(err.is_none());
    assert_eq!(v.iter().map(|e| e.time_ps).collect::<Vec<_>>(), [62, 188, 191]);
    // 191.40625
}
