//! Importers on the real instrument files of ../shared/data, against facts decoded
//! independently from PicoQuant's and fpfind's published layouts (a separate script, not
//! this code), and on broken files.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use recordings::import::ptu::{PtuReader, RecordType};
use recordings::import::timestamp7::Layout;
use recordings::{open, Event, EventKind, RecordingError};

fn data(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        assert!(
            std::env::var_os("QKDBENCH_REQUIRE_DATA").is_none(),
            "../shared/data is missing and QKDBENCH_REQUIRE_DATA is set"
        );
        eprintln!("skipped: {} is absent (the reference files live in ../shared/data)", p.display());
        None
    }
}

fn all(path: &Path) -> Vec<Event> {
    let mut src = open(path).unwrap();
    let mut v = Vec::new();
    while src.read_events(&mut v, 10_000).unwrap() > 0 {}
    v
}

fn counts(v: &[Event]) -> HashMap<(EventKind, u32), usize> {
    let mut m = HashMap::new();
    for e in v {
        *m.entry((e.kind, if e.kind == EventKind::Overflow { 0 } else { e.channel })).or_default() += 1;
    }
    m
}

#[test]
fn hydraharp_v2_t2_decodes_to_the_spec() {
    let Some(p) = data("ptu/hydraharp_v2_t2.ptu") else { return };
    let r = PtuReader::open(&p).unwrap();
    assert_eq!((r.record_type, r.records), (RecordType::HydraHarpV2T2, 435_319));
    let v = all(&p);
    assert_eq!(v.len(), 435_319, "one event per record");
    let c = counts(&v);
    assert_eq!(c[&(EventKind::Tag, 1)], 305_565);
    assert_eq!(c[&(EventKind::Overflow, 0)], 129_754);
    assert_eq!(c.len(), 2, "{c:?}");
    let first: Vec<(EventKind, u32, i64)> = v[..4].iter().map(|e| (e.kind, e.channel, e.time_ps)).collect();
    assert_eq!(
        first,
        vec![
            (EventKind::Tag, 1, 24_433_765),
            (EventKind::Overflow, 0, 33_554_432),
            (EventKind::Tag, 1, 42_010_976),
            (EventKind::Tag, 1, 42_303_858)
        ]
    );
    // V2 wraps every 2^25 units (not V1's 33,552,000), times a count on multi-overflows:
    // the last record lands at 4.99998 s of a 5 s measurement.
    assert_eq!(v.last().unwrap().time_ps, 4_999_979_466_752);
    let tags: Vec<i64> = v.iter().filter(|e| e.kind == EventKind::Tag).map(|e| e.time_ps).collect();
    assert!(tags.windows(2).all(|w| w[1] >= w[0]), "one channel's times never go back");
}

#[test]
fn hydraharp_v2_t3_with_image_markers_decodes_to_the_spec() {
    let Some(p) = data("ptu/hydraharp_v2_t3_image_markers.ptu") else { return };
    let r = PtuReader::open(&p).unwrap();
    assert_eq!((r.record_type, r.records), (RecordType::HydraHarpV2T3, 104_776));
    assert!(r.tags.iter().any(|t| t.name == "ImgHdr_PixX"), "header tags are kept");
    let v = all(&p);
    assert_eq!(v.len(), 104_776);
    let c = counts(&v);
    assert_eq!((c[&(EventKind::Tag, 1)], c[&(EventKind::Tag, 2)]), (52_833, 20_954));
    assert_eq!(c[&(EventKind::Overflow, 0)], 30_889);
    // A 50 x 50 image: 50 line-start (marker bit 4) and 50 line-stop (bit 8) markers.
    assert_eq!((c[&(EventKind::Marker, 4)], c[&(EventKind::Marker, 8)]), (50, 50));
    // T3 time = nsync * sync period (25 ns) + dtime * 16 ps.
    assert_eq!((v[1].kind, v[1].time_ps), (EventKind::Tag, 4_834_625_267));
    assert_eq!(v.last().unwrap().time_ps, 10_555_756_825_405);
}

#[test]
fn timestamp7_files_decode_in_both_word_orders() {
    if let Some(p) = data("timestamp7/timestamp7_c1234.Aa1.ts") {
        let v = all(&p);
        let c = counts(&v);
        assert_eq!([1, 2, 3, 4].map(|ch| c[&(EventKind::Tag, ch)]), [621, 488, 481, 422]);
        assert_eq!((v[0].time_ps, v[0].channel), (69_615_127_658_509_750, 4));
    }
    if let Some(p) = data("timestamp7/timestamp7_c14_rollover.Aa1fX.ts") {
        let v = all(&p);
        let c = counts(&v);
        assert_eq!(c[&(EventKind::Tag, 1)], 431);
        assert_eq!(c[&(EventKind::Tag, 4)], 431, "channel 4 is a delayed copy of channel 1");
        assert_eq!(c[&(EventKind::Overflow, 0)], 138, "rollover dummies are not detections");
        assert_eq!(c.len(), 3);
        assert_eq!((v[0].time_ps, v[0].channel), (65_333_011_796_794_137, 1));
    }
}

#[path = "../../tests/common/scratch.rs"]
mod common_scratch;

fn scratch(name: &str, bytes: &[u8]) -> common_scratch::Scratch {
    let p = common_scratch::scratch_file("import", name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Reads `src` in blocks of `max` until its error; the events before it and the error.
/// `what` says what was expected when the end comes without one.
fn until_error(src: &mut recordings::EventSource, max: usize, what: &str) -> (Vec<Event>, RecordingError) {
    let mut v = Vec::new();
    loop {
        match src.read_events(&mut v, max) {
            Ok(0) => panic!("read to the end: {what}"),
            Ok(_) => {}
            Err(e) => return (v, e),
        }
    }
}

/// Reads a file that opens but is damaged further on, and returns the error it must give.
fn first_error(p: &Path) -> RecordingError {
    let mut src = open(p).unwrap();
    until_error(&mut src, 100_000, &format!("{}: the damage was not reported", p.display())).1
}

#[test]
fn broken_files_give_errors_naming_file_and_offset() {
    let p = scratch("bad_magic.ptu", b"PQXXXR\0\0garbage garbage garbage");
    let e = open(&p).unwrap_err();
    assert!(matches!(e, RecordingError::Format { offset: 0, .. }), "{e}");
    assert!(e.to_string().contains("bad_magic.ptu") && e.to_string().contains("PQTTTR"), "{e}");

    let p = scratch("foreign.bin", b"hello");
    assert!(matches!(open(&p).unwrap_err(), RecordingError::Unsupported { .. }));

    // 12 bytes of zeros: no detector bit, no rollover flag: not timestamp7 data.
    let p = scratch("odd.ts", &[0u8; 12]);
    let e = open(&p).unwrap_err();
    assert!(e.to_string().contains("at byte 0") && e.to_string().contains("no event has a detector bit"), "{e}");
    // A real a1 file cut inside an event: its complete events, then where it is cut.
    if let Some(real) = data("timestamp7/timestamp7_c1234.Aa1.ts") {
        let bytes = std::fs::read(&real).unwrap();
        let p = scratch("cut-a1.ts", &[&bytes[..8 * 1000], &bytes[8 * 1000..8 * 1000 + 5]].concat());
        let mut src =
            recordings::open_as(&p, Some(recordings::Format::Timestamp7(Layout::A1 { legacy: false }))).unwrap();
        let (_, e) = until_error(&mut src, 300, "no error");
        assert!(matches!(e, RecordingError::Truncated { offset: 8000, .. }), "{e}");
    }

    let Some(real) = data("ptu/hydraharp_v2_t2.ptu") else { return };
    let bytes = std::fs::read(&real).unwrap();
    // Cut in the middle of a record: the error is at the start of that record, the byte
    // offset computed here from the layout (records of 4 bytes after the 48-byte Header_End).
    let records_start = bytes.windows(10).position(|w| w == b"Header_End").unwrap() + 48;
    let cut_len = records_start + (bytes.len() / 2 - records_start) / 4 * 4 + 2;
    let want = records_start + (cut_len - records_start) / 4 * 4;
    assert_ne!(want, cut_len, "the cut is inside a record");
    let p = scratch("cut.ptu", &bytes[..cut_len]);
    let e = first_error(&p);
    match &e {
        RecordingError::Truncated { offset, .. } => assert_eq!(*offset as usize, want, "{e}"),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("cut.ptu") && e.to_string().contains(&format!("byte {want}")), "{e}");
    // An unknown record type.
    let mut patched = bytes.clone();
    let at = patched.windows(26).position(|w| w == b"TTResultFormat_TTTRRecType").unwrap();
    patched[at + 40..at + 48].copy_from_slice(&0x0BAD_0BADi64.to_le_bytes());
    let p = scratch("rectype.ptu", &patched);
    let e = open(&p).unwrap_err();
    assert!(e.to_string().contains("0x0bad0bad") && e.to_string().contains("rectype.ptu"), "{e}");
    // A header cut short.
    let p = scratch("header.ptu", &bytes[..1000]);
    assert!(matches!(open(&p).unwrap_err(), RecordingError::Truncated { .. }));
}

/// The three record types without a test before (issue 16), against the facts that
/// ../shared/data/README.md gives for each file (counted by their publishers' own tools,
/// not by this code): records, photons per input, markers and overflows.
#[test]
fn picoharp_t2_t3_and_hydraharp_v1_t3_decode_to_the_published_counts() {
    for (file, rt, records, photons, markers, overflows) in [
        ("ptu/picoharp300_t2.ptu", RecordType::PicoHarpT2, 929_254, vec![(1, 531_477), (2, 388_700)], 0, 9_077),
        ("ptu/picoharp300_t3_flim_markers.ptu", RecordType::PicoHarpT3, 155_398, vec![(1, 150_363)], 2_565, 2_470),
        ("ptu/hydraharp_v1_t3.ptu", RecordType::HydraHarpV1T3, 167_801, vec![(1, 48_001), (2, 46_559)], 0, 73_241),
    ] {
        let Some(p) = data(file) else { continue };
        let r = PtuReader::open(&p).unwrap();
        assert_eq!((r.record_type, r.records), (rt, records), "{file}");
        let v = all(&p);
        assert_eq!(v.len() as u64, records, "{file}: one event per record");
        let c = counts(&v);
        for (ch, n) in photons {
            assert_eq!(c.get(&(EventKind::Tag, ch)).copied().unwrap_or(0), n, "{file}: photons on input {ch}");
        }
        let m: usize = c.iter().filter(|(k, _)| k.0 == EventKind::Marker).map(|(_, n)| n).sum();
        assert_eq!(m, markers, "{file}: markers");
        assert_eq!(c.get(&(EventKind::Overflow, 0)).copied().unwrap_or(0), overflows, "{file}: overflows");
        // Times run forward within a channel (the wrap arithmetic of each record type).
        let mut last = HashMap::new();
        for e in v.iter().filter(|e| e.kind == EventKind::Tag) {
            let prev = last.insert(e.channel, e.time_ps).unwrap_or(i64::MIN);
            assert!(e.time_ps >= prev, "{file}: channel {} goes back from {prev} to {}", e.channel, e.time_ps);
        }
    }
    // The FLIM file's markers carry bits 1, 2 and 4 only (line, frame and pixel clocks).
    if let Some(p) = data("ptu/picoharp300_t3_flim_markers.ptu") {
        let bits: std::collections::BTreeSet<u32> =
            all(&p).iter().filter(|e| e.kind == EventKind::Marker).map(|e| e.channel).collect();
        assert!(bits.iter().all(|b| [1, 2, 4].contains(b)), "{bits:?}");
    }
}

/// fpfind's rollover events in all four layouts (a0 text, a2 text, a1 legacy binary; and
/// that binary under a name without its `X`) give the same events: the layout and the word
/// order come from the content. Forcing the wrong order is an error at the first event that
/// runs backwards, not thousands of garbage rows.
#[test]
fn every_timestamp7_layout_gives_the_same_events_whatever_the_name() {
    let (Some(a0), Some(a2), Some(a1x)) = (
        data("timestamp7/fpfind_timestamp7_c14_rollover.Aa0f.ts"),
        data("timestamp7/fpfind_timestamp7_c14_rollover.Aa2f.ts"),
        data("timestamp7/timestamp7_c14_rollover.Aa1fX.ts"),
    ) else {
        return;
    };
    let renamed = scratch("no-x-in-the-name.dat", &std::fs::read(&a1x).unwrap());
    let want = all(&a1x);
    assert_eq!(want.len(), 1000);
    let c = counts(&want);
    assert_eq!((c[&(EventKind::Tag, 1)], c[&(EventKind::Tag, 4)], c[&(EventKind::Overflow, 0)]), (431, 431, 138));
    assert_eq!((want[0].time_ps, want[0].channel), (65_333_011_796_794_137, 1));
    for p in [&a0, &a2, &renamed.to_path_buf()] {
        assert_eq!(all(p), want, "{}", p.display());
    }
    let forced = recordings::open_as(&a1x, Some(recordings::Format::Timestamp7(Layout::A1 { legacy: false })));
    let mut src = forced.unwrap();
    let (v, e) = until_error(&mut src, 100, "the wrong word order read to the end");
    assert!(e.to_string().contains("before the latest one") && v.len() < 10, "{e} after {} events", v.len());
    // Random bytes fit no layout: refused, naming an offset.
    let noise: Vec<u8> = (0..8000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let p = scratch("noise.ts", &noise);
    let e = open(&p).unwrap_err();
    assert!(e.to_string().contains("fits no timestamp7 layout") && e.to_string().contains("at byte"), "{e}");
}

/// The second reviewer's findings on the importers, each a repro.
#[test]
fn importer_review_findings_stay_fixed() {
    let Some(x) = data("timestamp7/timestamp7_c14_rollover.Aa1fX.ts") else { return };
    let bytes = std::fs::read(&x).unwrap();
    let want = all(&x);
    // A legacy-order file of 1, 2 or 3 events, without its X: the order from the span of
    // its times, not the name.
    for n in [1usize, 2, 3] {
        let p = scratch(&format!("short{n}.ts"), &bytes[..8 * n]);
        let got = all(&p);
        assert_eq!(got[..], want[..got.len()], "{n} events");
    }
    // timestamp7 data named .ptu is read as what it is.
    let p = scratch("legacy.ptu", &bytes);
    assert_eq!(all(&p), want);
    // A bad line in a2 text: the 499 lines before it, then its offset.
    if let Some(a2) = data("timestamp7/fpfind_timestamp7_c14_rollover.Aa2f.ts") {
        let text = std::fs::read_to_string(&a2).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines[499] = "zzzz_bad";
        let p = scratch("badline.ts", (lines.join("\n") + "\n").as_bytes());
        let mut src = open(&p).unwrap();
        let (v, e) = until_error(&mut src, 100, "read to the end");
        assert!(matches!(e, RecordingError::Format { offset: 8483, .. }) && e.to_string().contains("zzzz_bad"), "{e}");
        assert_eq!(v[..], want[..v.len()]);
        assert!(v.len() >= 499 - 1, "{} events before the bad line", v.len());
    }
    // Binary forced as text: an error with an offset, not an I/O message.
    let forced = recordings::open_as(&x, Some(recordings::Format::Timestamp7(Layout::A0)));
    let mut src = forced.unwrap();
    let e = src.read_events(&mut Vec::new(), 10).unwrap_err();
    assert!(matches!(e, RecordingError::Format { offset: 0, .. }) && e.to_string().contains("not text"), "{e}");
    // A PTU header announcing fewer records than the file holds.
    if let Some(ptu) = data("ptu/picoharp300_t2.ptu") {
        let mut b = std::fs::read(&ptu).unwrap();
        let tag = b.windows(24).position(|w| w == b"TTResult_NumberOfRecords").unwrap();
        b[tag + 40..tag + 48].copy_from_slice(&10i64.to_le_bytes());
        let p = scratch("fewer.ptu", &b);
        let mut src = open(&p).unwrap();
        let (v, e) = until_error(&mut src, 4, "ten records and a silent end");
        assert_eq!(v.len(), 10);
        assert!(e.to_string().contains("announces 10 records, but") && e.to_string().contains("more bytes"), "{e}");
    }
}

/// PicoQuant's older files (../shared/data/picoquant-legacy): header facts read off the bytes
/// by hand (offsets in the comments), counts from a scan of the raw words written here from
/// the demos' bit layouts, the first events derived by hand; tttrlib's reader of the .ht3
/// finds the same 44,141 photons (checked when this test was written, and in harness's
/// convert tests when tttrlib is installed).
#[test]
fn picoquant_legacy_samples_decode_to_hand_read_headers_and_counts() {
    let Some(ht3) = data("picoquant-legacy/hydraharp_v20.ht3") else { return };
    let r = PtuReader::open(&ht3).unwrap();
    assert_eq!((r.record_type, r.container.as_str()), (RecordType::HydraHarpV2T3, "HT3 2.0"));
    // SyncRate 998,898 Hz at byte 0x308; Resolution 16.0 ps (float64 at 0x160); 53,606
    // records (int64 at 0x318), which start at 0x320 = 800.
    assert_eq!((r.records, r.resolution_ps), (53_606, 16.0));
    assert_eq!(r.laser_rate_hz, Some(998_898.0));
    let bytes = std::fs::read(&ht3).unwrap();
    let words: Vec<u32> = bytes[800..].chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    let special = words.iter().filter(|w| *w >> 31 == 1).count();
    let ovf = words.iter().filter(|w| *w >> 31 == 1 && (*w >> 25) & 0x3F == 63).count();
    let v = all(&ht3);
    let c = counts(&v);
    assert_eq!((special, ovf), (9_465, 9_465), "every special record is an overflow");
    assert_eq!(c[&(EventKind::Overflow, 0)], 9_465);
    assert_eq!(v.iter().filter(|e| e.kind == EventKind::Tag).count(), 53_606 - 9_465);
    // The first record 0x02CD6871: channel 1 (-> 2), dtime 13,146, nsync 113: 113 periods of
    // 1/998,898 s (113,124,663.4 ps) + 13,146 x 16 ps = 113,334,999.4 -> 113,334,999 ps.
    assert_eq!(words[0], 0x02CD_6871);
    assert_eq!((v[0].kind, v[0].channel, v[0].time_ps), (EventKind::Tag, 2, 113_334_999));

    let Some(t3r) = data("picoquant-legacy/timeharp200_v50.t3r") else { return };
    let r = PtuReader::open(&t3r).unwrap();
    assert_eq!((r.record_type, r.container.as_str()), (RecordType::TimeHarp200T3, "T3R 5.0"));
    // TTTRGlobClock 100 ns (0x21C), SyncRate 4,999,168 Hz (0x238), 86,997 records (0x248),
    // starting at 0x250 = 592; the file has 1 byte more (a line feed).
    assert_eq!((r.records, r.global_resolution_ps, r.laser_rate_hz), (86_997, 100_000.0, Some(4_999_168.0)));
    let bytes = std::fs::read(&t3r).unwrap();
    assert_eq!(bytes.len(), 592 + 86_997 * 4 + 1);
    let words: Vec<u32> =
        bytes[592..bytes.len() - 1].chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().unwrap())).collect();
    let valid = words.iter().filter(|w| (*w >> 30) & 1 == 1).count();
    let ovf = words.iter().filter(|w| (*w >> 30) & 1 == 0 && (*w >> 16) & 0x800 != 0).count();
    let mut src = open(&t3r).unwrap();
    let mut v = Vec::new();
    while src.read_events(&mut v, 10_000).unwrap() > 0 {}
    let note = src.note().expect("the stray byte is said");
    assert!(note.contains("the 1 byte(s)") && note.contains("byte 348580 on"), "{note}");
    let c = counts(&v);
    assert_eq!((valid, ovf), (85_571, 1_425));
    assert_eq!(v.iter().filter(|e| e.kind == EventKind::Tag).count(), valid);
    assert_eq!(c[&(EventKind::Overflow, 0)], ovf);
    // Record 0: invalid, no overflow bit, Data 7: markers 7 at tick 4 (400,000 ps). Record 1,
    // 0x48930409: valid, route 0 (-> 1), Data 2,195, tick 1,033: 103,300,000 ps + 2,195 bins
    // of the board's 0.0702371 ns (float32 0x3D8FD872): 154,170.4 ps -> 103,454,170 ps.
    assert_eq!(words[1], 0x4893_0409);
    assert_eq!((v[0].kind, v[0].channel, v[0].time_ps), (EventKind::Marker, 7, 400_000));
    assert_eq!((v[1].kind, v[1].channel, v[1].time_ps), (EventKind::Tag, 1, 103_454_170));

    // A HydraHarp .ht2 header announcing 10,431,577 records with 25 behind it: those 25
    // (syncs: special, channel 0), then the cut, at byte 900.
    let Some(ht2) = data("picoquant-legacy/hydraharp_v20_header_only.ht2") else { return };
    let mut src = open(&ht2).unwrap();
    let (v, e) = until_error(&mut src, 10, "a cut .ht2");
    assert_eq!((v.len(), v.iter().all(|e| e.kind == EventKind::Sync && e.channel == 0)), (25, true));
    let e = e.to_string();
    assert!(e.contains("byte 900") && e.contains("record 25 of the 10431577"), "{e}");
}
