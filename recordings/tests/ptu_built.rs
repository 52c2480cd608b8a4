//! The PTU importer on files built here, byte by byte, from PicoQuant's published layout
//! (the PTU header of tagged values; the record formats of Read_PTU.py): every record type
//! code PicoQuant documents, including those with no real file in ../shared/data
//! (HydraHarp V1 T2, TimeHarp 260 N/P, MultiHarp / PicoHarp 330), each special record, and
//! the header checks with the exact byte offset of each error. Expected values are derived
//! by hand in the comments, not computed with the importer's code.

#[path = "common/built.rs"]
mod built;
#[path = "../../tests/common/scratch.rs"]
mod common_scratch;

use recordings::import::ptu::{PtuReader, RecordType};
use recordings::{open, Event, EventKind, RecordingError};

const TY_EMPTY8: u32 = 0xFFFF_0008;
const TY_INT8: u32 = 0x1000_0008;
const TY_FLOAT8: u32 = 0x2000_0008;
const TY_ANSI_STRING: u32 = 0x4001_FFFF;

/// A header tag: 32-byte name, i32 index (-1: not an array), u32 type, 8-byte value.
fn tag(name: &str, typ: u32, value: [u8; 8]) -> Vec<u8> {
    let mut b = vec![0u8; 48];
    b[..name.len()].copy_from_slice(name.as_bytes());
    b[32..36].copy_from_slice(&(-1i32).to_le_bytes());
    b[36..40].copy_from_slice(&typ.to_le_bytes());
    b[40..48].copy_from_slice(&value);
    b
}

fn int(name: &str, v: i64) -> Vec<u8> {
    tag(name, TY_INT8, v.to_le_bytes())
}

fn float(name: &str, v: f64) -> Vec<u8> {
    tag(name, TY_FLOAT8, v.to_le_bytes())
}

/// A PTU file: magic, version, the given tags, Header_End, then the records. The record
/// count tag is written from `records.len()` unless `tags` has one.
fn ptu(code: i64, tags: &[Vec<u8>], records: &[u32]) -> Vec<u8> {
    let mut b = b"PQTTTR\0\0".to_vec();
    b.extend(b"1.0.00\0\0");
    b.extend(int("TTResultFormat_TTTRRecType", code));
    if !tags.iter().any(|t| t.starts_with(b"TTResult_NumberOfRecords")) {
        b.extend(int("TTResult_NumberOfRecords", records.len() as i64));
    }
    for t in tags {
        b.extend(t);
    }
    b.extend(tag("Header_End", TY_EMPTY8, [0; 8]));
    for r in records {
        b.extend(r.to_le_bytes());
    }
    b
}

const SUITE: &str = "ptu-built";

fn write(name: &str, bytes: &[u8]) -> common_scratch::Scratch {
    built::write(SUITE, name, bytes)
}

fn events(name: &str, bytes: &[u8]) -> Vec<(EventKind, u32, i64)> {
    built::events(SUITE, name, bytes)
}

fn open_err(name: &str, bytes: &[u8]) -> RecordingError {
    built::open_err(SUITE, name, bytes)
}

/// T2 headers: 1 ps units, so a record's time field is its time in ps.
fn t2_tags() -> Vec<Vec<u8>> {
    vec![float("MeasDesc_GlobalResolution", 1e-12)]
}

/// T3 headers: a 25 ns sync period (40 MHz) and 4 ps micro-time bins.
fn t3_tags() -> Vec<Vec<u8>> {
    vec![float("MeasDesc_GlobalResolution", 25e-9), float("MeasDesc_Resolution", 4e-12)]
}

/// HydraHarp / TimeHarp 260 / MultiHarp T2 record: special bit 31, channel 30..25, time 24..0.
fn ht2(special: u32, chan: u32, time: u32) -> u32 {
    (special << 31) | (chan << 25) | time
}

/// The same families in T3: special 31, channel 30..25, dtime 24..10, nsync 9..0.
fn ht3(special: u32, chan: u32, dtime: u32, nsync: u32) -> u32 {
    (special << 31) | (chan << 25) | (dtime << 10) | nsync
}

#[test]
fn every_documented_t2_code_of_the_hydraharp_layout_decodes_by_hand() {
    use EventKind::*;
    let records = [
        ht2(0, 2, 100),    // input 2 (0-based) at 100 ps: channel 3 (stored one up)
        ht2(1, 0x3F, 5),   // overflow: V1 adds 33,552,000 whatever the field; V2 adds 5 * 2^25
        ht2(0, 0, 7),      // input 0 at overflow + 7
        ht2(1, 3, 9),      // marker bits 3 at overflow + 9
        ht2(1, 0, 11),     // sync at overflow + 11
        ht2(1, 0x3F, 0),   // overflow, field 0: V1 adds 33,552,000 again; V2 adds 1 * 2^25
        ht2(0, 63 - 1, 1), // input 62 at overflow + 1: channel 63
    ];
    let v2 = |o1: i64, o2: i64| {
        vec![
            (Tag, 3, 100),
            (Overflow, 0, o1),
            (Tag, 1, o1 + 7),
            (Marker, 3, o1 + 9),
            (Sync, 0, o1 + 11),
            (Overflow, 0, o1 + o2),
            (Tag, 63, o1 + o2 + 1),
        ]
    };
    let codes: [(i64, RecordType, (i64, i64)); 5] = [
        (0x0001_0204, RecordType::HydraHarpV1T2, (33_552_000, 33_552_000)),
        (0x0101_0204, RecordType::HydraHarpV2T2, (5 << 25, 1 << 25)),
        (0x0001_0205, RecordType::HydraHarpV2T2, (5 << 25, 1 << 25)),
        (0x0001_0206, RecordType::HydraHarpV2T2, (5 << 25, 1 << 25)),
        (0x0001_0207, RecordType::HydraHarpV2T2, (5 << 25, 1 << 25)),
    ];
    for (code, rt, (o1, o2)) in codes {
        let bytes = ptu(code, &t2_tags(), &records);
        let name = format!("t2-{code:08x}.ptu");
        assert_eq!(PtuReader::open(&write(&name, &bytes)).unwrap().record_type, rt, "{code:#x}");
        assert_eq!(events(&name, &bytes), v2(o1, o2), "record type {code:#010x}");
    }
}

#[test]
fn every_documented_t3_code_of_the_hydraharp_layout_decodes_by_hand() {
    use EventKind::*;
    const SYNC: i64 = 25_000; // ps
    let records = [
        ht3(0, 0, 20, 10),       // input 0: nsync 10, dtime 20: 10 * 25 ns + 20 * 4 ps, channel 1
        ht3(1, 0x3F, 0, 3),      // overflow: V1 adds 1024 syncs; V2 adds 3 * 1024
        ht3(0, 1, 0x7FFF, 1023), // input 1, the largest dtime and nsync
        ht3(1, 8, 0, 5),         // marker bits 8 at overflow + 5 syncs
    ];
    let expect = |ovf: i64| {
        vec![
            (Tag, 1, 10 * SYNC + 80),
            (Overflow, 0, ovf * SYNC),
            (Tag, 2, (ovf + 1023) * SYNC + 0x7FFF * 4),
            (Marker, 8, (ovf + 5) * SYNC),
        ]
    };
    let codes: [(i64, RecordType, i64); 5] = [
        (0x0001_0304, RecordType::HydraHarpV1T3, 1024),
        (0x0101_0304, RecordType::HydraHarpV2T3, 3 * 1024),
        (0x0001_0305, RecordType::HydraHarpV2T3, 3 * 1024),
        (0x0001_0306, RecordType::HydraHarpV2T3, 3 * 1024),
        (0x0001_0307, RecordType::HydraHarpV2T3, 3 * 1024),
    ];
    for (code, rt, ovf) in codes {
        let bytes = ptu(code, &t3_tags(), &records);
        let name = format!("t3-{code:08x}.ptu");
        assert_eq!(PtuReader::open(&write(&name, &bytes)).unwrap().record_type, rt, "{code:#x}");
        assert_eq!(events(&name, &bytes), expect(ovf), "record type {code:#010x}");
    }
}

#[test]
fn picoharp_t2_and_t3_special_records_decode_by_hand() {
    use EventKind::*;
    // T2: channel 31..28, time 27..0; channel 15 is special: markers in bits 3..0, and
    // markers 0 is an overflow of 210,698,240 units. A marker's time is its whole time
    // field, marker bits included (Read_PTU.py: the markers cost the low 4 bits' resolution).
    let t2 = [(1 << 28) | 50, 0xF000_0000, 0xF000_0000 | 6, 30];
    let t2_tags = vec![float("MeasDesc_GlobalResolution", 4e-12)];
    assert_eq!(
        events("pico-t2.ptu", &ptu(0x0001_0203, &t2_tags, &t2)),
        vec![
            (Tag, 2, 200),
            (Overflow, 0, 210_698_240 * 4),
            (Marker, 6, (210_698_240 + 6) * 4),
            (Tag, 1, (210_698_240 + 30) * 4)
        ]
    );
    // T3: channel 31..28, dtime 27..16, nsync 15..0; channel 15 special: dtime 0 is an
    // overflow of 65,536 syncs, else the markers.
    // Channels 1-4 are inputs; channel 0 does not occur (Read_PTU.py: illegal), an error
    // record (a T2 file relabelled T3 decodes into these, not into detections).
    let t3 = [(2 << 28) | (9 << 16) | 4, 0xF000_0000, 0xF000_0000 | (2 << 16) | 7, (3 << 16) | 8];
    assert_eq!(
        events("pico-t3.ptu", &ptu(0x0001_0303, &t3_tags(), &t3)),
        vec![
            (Tag, 2, 4 * 25_000 + 9 * 4),
            (Overflow, 0, 65_536 * 25_000),
            (Marker, 2, (65_536 + 7) * 25_000),
            (Error, 0, (65_536 + 8) * 25_000 + 3 * 4)
        ]
    );
}

#[test]
fn header_errors_name_the_tag_and_the_exact_byte_offset() {
    let offset = |e: &RecordingError| match e {
        RecordingError::Format { offset, .. } | RecordingError::Truncated { offset, .. } => *offset,
        other => panic!("no offset in {other}"),
    };
    // Tags start at byte 16; TTTRRecType is tag 0, the record count tag 1, the test's tags
    // from tag 2 (byte 16 + 2 * 48 = 112).
    let first = 16 + 2 * 48;
    // An unknown tag type: the error points at the type field (byte 36 of the tag).
    let mut odd = float("MeasDesc_GlobalResolution", 1e-12);
    odd[36..40].copy_from_slice(&0x7777_0008u32.to_le_bytes());
    let e = open_err("type.ptu", &ptu(0x0101_0204, &[odd], &[]));
    assert_eq!(offset(&e), first + 36, "{e}");
    assert!(e.to_string().contains("unknown tag type"), "{e}");
    // An implausible string length: at the value field (byte 40).
    let e = open_err("len.ptu", &ptu(0x0101_0204, &[tag("File_Comment", TY_ANSI_STRING, (-5i64).to_le_bytes())], &[]));
    assert_eq!(offset(&e), first + 40, "{e}");
    // A file cut inside a tag: the offset where the bytes ran out.
    let whole = ptu(0x0101_0204, &t2_tags(), &[]);
    let e = open_err("cut.ptu", &whole[..first as usize + 20]);
    assert_eq!(offset(&e), first + 20, "{e}");
    // A negative record count is refused; zero records is an empty file, not an error.
    let e = open_err("neg.ptu", &ptu(0x0101_0204, &[int("TTResult_NumberOfRecords", -1), t2_tags()[0].clone()], &[]));
    assert!(e.to_string().contains("cannot be negative"), "{e}");
    assert_eq!(events("zero.ptu", &ptu(0x0101_0204, &t2_tags(), &[])), vec![]);
    // Resolutions: zero, negative and NaN are not positive floats; a T3 micro-time bin of a
    // whole second is outside 1 fs..1 ms; a T2 file needs no MeasDesc_Resolution at all.
    for bad in [0.0, -1e-12, f64::NAN] {
        let e = open_err("res.ptu", &ptu(0x0101_0204, &[float("MeasDesc_GlobalResolution", bad)], &[]));
        assert!(e.to_string().contains("positive float tag MeasDesc_GlobalResolution"), "{bad}: {e}");
    }
    let e = open_err(
        "t3res.ptu",
        &ptu(0x0101_0304, &[float("MeasDesc_GlobalResolution", 25e-9), float("MeasDesc_Resolution", 1.0)], &[]),
    );
    assert!(e.to_string().contains("MeasDesc_Resolution is 1e0 s"), "{e}");
    let e = open_err("globres.ptu", &ptu(0x0101_0204, &[float("MeasDesc_GlobalResolution", 1.0)], &[]));
    assert!(e.to_string().contains("MeasDesc_GlobalResolution is 1e0 s"), "{e}");
    // An undocumented record type code names the tag.
    let e = open_err("code.ptu", &ptu(0x0001_0208, &t2_tags(), &[]));
    assert!(e.to_string().contains("TTResultFormat_TTTRRecType"), "{e}");
}

/// Cut at every byte of the records (at each record boundary and inside each record): the
/// complete records come out, then a truncation naming the cut record's byte offset, its
/// number, the count the header announced and where the file ends.
#[test]
fn a_file_cut_anywhere_gives_its_complete_records_then_says_where() {
    let records: Vec<u32> = (0..7).map(|i| ht2(0, 1, 100 * (i + 1))).collect();
    let whole = ptu(0x0101_0204, &t2_tags(), &records);
    let start = whole.len() - 4 * records.len();
    for len in start..whole.len() {
        let p = write(&format!("cut{len}.ptu"), &whole[..len]);
        let mut src = open(&p).unwrap();
        let mut v: Vec<Event> = Vec::new();
        let err = loop {
            match src.read_events(&mut v, 2) {
                Ok(0) => panic!("cut at {len}: read to the end without an error"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        let complete = (len - start) / 4;
        let times: Vec<i64> = v.iter().map(|e| e.time_ps).collect();
        assert_eq!(times, (1..=complete as i64).map(|i| 100 * i).collect::<Vec<_>>(), "cut at {len}");
        match err {
            RecordingError::Truncated { offset, what, .. } => {
                assert_eq!(offset as usize, start + 4 * complete, "cut at {len}");
                assert_eq!(
                    what,
                    format!("record {complete} of the 7 the header announces (the file ends at byte {len})")
                );
            }
            other => panic!("cut at {len}: {other}"),
        }
    }
}

/// An event dated after the end of the acquisition the header declares (a misread record
/// type, a damaged file) is an error at that record's offset, not output.
#[test]
fn an_event_after_the_declared_end_is_an_error_naming_its_offset() {
    // A 1 ms acquisition (MeasDesc_AcquisitionTime in ms); records at 0.5 ms, then 10 ms.
    let tags = vec![t2_tags()[0].clone(), int("MeasDesc_AcquisitionTime", 1)];
    let records = [ht2(0, 0, 500_000_000 & 0x1FF_FFFF), ht2(1, 0x3F, 300), ht2(0, 0, 5)];
    let bytes = ptu(0x0101_0204, &tags, &records);
    let p = write("late.ptu", &bytes);
    let mut src = open(&p).unwrap();
    let mut v: Vec<Event> = Vec::new();
    let e = src.read_events(&mut v, 10).unwrap_err();
    let start = (bytes.len() - 4 * records.len()) as u64;
    match &e {
        RecordingError::Format { offset, reason, .. } => {
            // The overflow record itself is dated 300 * 2^25 ps = 10 ms.
            assert_eq!(*offset, start + 4, "{e}");
            assert!(reason.contains("after the end of the acquisition"), "{e}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(v.len(), 1, "the event before it is delivered");
}
