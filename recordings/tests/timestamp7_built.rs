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

/// The layouts' names, as `describe` (and so a converted file's `source`) gives them.
#[test]
fn layouts_are_named_as_fpfind_names_them() {
    use recordings::import::timestamp7::Layout;
    assert_eq!(Layout::A0.name(), "a0 (text, 32-bit words)");
    assert_eq!(Layout::A1 { legacy: false }.name(), "a1 (binary)");
    assert_eq!(Layout::A1 { legacy: true }.name(), "a1 (binary, legacy word order)");
    assert_eq!(Layout::A2.name(), "a2 (text, 64-bit words)");
    let p = file("named.ts", &[event(5, 1, false), event(9, 2, false)], false, &[]);
    assert_eq!(recordings::open(&p).unwrap().describe(), "S-Fifteen timestamp7 a1 (binary)");
}

/// Progress for text files: a0 holds an event in two 9-byte lines, a2 in one 17-byte line.
#[test]
fn text_files_estimate_their_events_from_their_size() {
    for (name, line_of, lines_per_event) in [("ten.a0", 8usize, 2usize), ("ten.a2", 16, 1)] {
        let line = format!("{}\n", "0".repeat(line_of - 1) + "1");
        let p = common_scratch::scratch_file("ts7-built", name);
        std::fs::write(&p, line.repeat(10 * lines_per_event)).unwrap();
        assert_eq!(Timestamp7Reader::open(&p).unwrap().records(), 10, "{name}");
    }
}

/// The disorder bound is 1 ms exactly: an event exactly 1 ms (256e6 units) before the
/// latest is data; one unit more is an error at its offset (layout forced, so the reader's
/// own check is what is tested).
#[test]
fn the_disorder_bound_is_one_millisecond_inclusive() {
    use recordings::import::timestamp7::Layout;
    let t = 1u64 << 30;
    for (back, ok) in [(256_000_000u64, true), (256_000_001, false)] {
        let p = file("disorder.ts", &[event(t, 1, false), event(t - back, 2, false)], false, &[]);
        let mut r = Timestamp7Reader::open_as(&p, Some(Layout::A1 { legacy: false })).unwrap();
        let mut v = Vec::new();
        let got = r.read_events(&mut v, 10);
        assert_eq!(got.is_ok(), ok, "{back}: {got:?}");
        if !ok {
            assert!(got.unwrap_err().to_string().contains("byte 8:"));
        }
    }
}

/// Detection refuses a file whose times run backwards more than once per 1000 events, in
/// the better word order: one step in 1000 events is a glitch (accepted), in 999 it is not
/// this layout. And one event alone: the order in which it is a detection wins (the other
/// reads a rollover flag), whatever the name says; an 8-byte file is one whole event.
#[test]
fn detection_thresholds_by_hand() {
    for (n, ok) in [(1000u64, true), (999, false)] {
        let mut ev: Vec<(u32, u32)> = (0..n).map(|i| event((1 << 30) + i * 1000, 1, false)).collect();
        // One step back by 2 ms in the middle.
        ev[500] = event((1 << 30) + 500 * 1000 - 512_000_000, 1, false);
        let p = file(&format!("glitch{n}.ts"), &ev, false, &[]);
        match Timestamp7Reader::open(&p) {
            Ok(_) => assert!(ok, "{n} events"),
            // The first backward event, the 501st, is at byte 500 x 8.
            Err(e) => assert!(!ok && e.to_string().contains("byte 4000:"), "{n} events: {e}"),
        }
        // A step back by exactly 1 ms is within the disorder bound: no step at all.
        let mut ev: Vec<(u32, u32)> = (0..n).map(|i| event((1 << 30) + i * 1000, 1, false)).collect();
        ev[500] = event((1 << 30) + 499 * 1000 - 256_000_000, 1, false);
        assert!(Timestamp7Reader::open(&file("exact.ts", &ev, false, &[])).is_ok(), "{n} events, 1 ms back");
    }
    // low = 0x401 (1 unit, detector 1), high = 0x10: in the normal order a detection; read
    // the other way the low word 0x10 is a rollover dummy.
    let lone = [(0x401u32, 0x10u32)];
    let p = file("lone.ts", &lone, false, &[]);
    let r = Timestamp7Reader::open(&p).unwrap();
    assert!(!r.legacy());
    let p = file("lone_swapped.ts", &lone, true, &[]);
    assert!(Timestamp7Reader::open(&p).unwrap().legacy());
    // Read one way the event has detector bits, the other way none (and no rollover flag):
    // the way with bits wins.
    let p = file("bitless.ts", &[(0x401u32, 0x400u32)], true, &[]);
    assert!(Timestamp7Reader::open(&p).unwrap().legacy());
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 8);
}
