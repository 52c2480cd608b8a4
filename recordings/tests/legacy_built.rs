//! PicoQuant's older per-instrument files (.ht2/.ht3 1.0 and 2.0, .pt2/.pt3 2.0, .t3r 5.0
//! and 6.0) built here field by field from the layouts of PicoQuant's demo programs
//! (ht3demo, pt3demo, t3rdemo and their T2 siblings), independently of the reader: record
//! types, resolutions, times derived by hand in the comments, and the header checks with the
//! exact byte offset of each error. The real samples are tested in import.rs.

#[path = "common/built.rs"]
mod built;
#[path = "../../tests/common/scratch.rs"]
mod common_scratch;

use recordings::import::ptu::{PtuReader, RecordType, TagValue};
use recordings::{open, EventKind, RecordingError};

/// A packed little-endian header, written field by field.
#[derive(Default)]
struct B(Vec<u8>);

impl B {
    fn text(&mut self, n: usize, s: &str) -> &mut Self {
        let mut f = vec![0u8; n];
        f[..s.len()].copy_from_slice(s.as_bytes());
        self.0.extend(f);
        self
    }
    fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn f64(&mut self, v: f64) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn f32(&mut self, v: f32) -> &mut Self {
        self.0.extend(v.to_le_bytes());
        self
    }
    fn zeros(&mut self, n: usize) -> &mut Self {
        self.0.extend(vec![0u8; n]);
        self
    }
    /// The display and repeat block every family has after the acquisition time: StopAt,
    /// StopOnOvfl, Restart, DisplayLinLog, 4 axis limits (int32), 8 display curves (2 int32),
    /// 3 parameter triples (3 float32), 4 repeat int32, a 20-byte script name.
    fn display(&mut self) -> &mut Self {
        self.zeros(8 * 4 + 8 * 8 + 3 * 12 + 4 * 4 + 20)
    }
    fn records(&mut self, r: &[u32]) -> Vec<u8> {
        for w in r {
            self.0.extend(w.to_le_bytes());
        }
        std::mem::take(&mut self.0)
    }
}

/// HydraHarp .ht2/.ht3 (ht3demo.c's TxtHdr, BinHdr, TTTRHdr): 4 input channels.
struct Hh {
    version: &'static str,
    mode: i32,
    bits: i32,
    channels: i32,
    sync_rate_hz: i32,
    resolution_ps: f64,
    records: Option<i64>,
    img_words: i32,
}

impl Default for Hh {
    fn default() -> Self {
        Hh {
            version: "2.0",
            mode: 3,
            bits: 32,
            channels: 4,
            sync_rate_hz: 40_000_000,
            resolution_ps: 4.0,
            records: None,
            img_words: 0,
        }
    }
}

impl Hh {
    fn build(&self, records: &[u32]) -> Vec<u8> {
        let mut b = B::default();
        b.text(16, "HydraHarp").text(6, self.version);
        b.text(18, "HydraHarp AcqUI").text(12, "2.0.0.0").text(18, "28/11/12 10:45:06");
        b.0.extend(b"\r\n");
        b.text(256, "built by legacy_built.rs");
        // NumberOfCurves, BitsPerRecord, ActiveCurve, MeasurementMode, SubMode, Binning.
        b.i32(0).i32(self.bits).i32(0).i32(self.mode).i32(0).i32(2);
        // Resolution (ps), Offset, AcquisitionTime (ms).
        b.f64(self.resolution_ps).i32(0).i32(1000);
        b.display();
        b.text(16, "HydraHarp 400").text(8, "930021").i32(1_018_786).i32(4).zeros(80);
        // BaseResolution (ps), InputsEnabled, InputChannelsPresent, RefClockSource, ExtDevices,
        // MarkerSettings, SyncDivider, SyncCFDLevel, SyncCFDZeroCross, SyncOffset.
        b.f64(1.0).i64(0xF).i32(self.channels).i32(0).i32(0).i32(0).i32(1).i32(50).i32(10).i32(0);
        for _ in 0..self.channels.max(0) {
            b.zeros(16);
        }
        for i in 0..self.channels.max(0) {
            b.i32(1000 + i);
        }
        let n = self.records.unwrap_or(records.len() as i64);
        // SyncRate, StopAfter, StopReason, ImgHdrSize, NumRecords (int64), the image header.
        b.i32(self.sync_rate_hz).i32(1000).i32(0).i32(self.img_words).i64(n);
        b.zeros(4 * self.img_words.max(0) as usize);
        b.records(records)
    }
}

/// PicoHarp 300 .pt2/.pt3 (pt3demo.c): one board, 4 router channels.
fn picoharp(mode: i32, cnt_rate0: i32, resolution_ns: f32, records: &[u32]) -> Vec<u8> {
    let mut b = B::default();
    b.text(16, "PicoHarp 300").text(6, "2.0");
    b.text(18, "PicoHarp Software").text(12, "2.3").text(18, "28/11/12 10:45:06");
    b.0.extend(b"\r\n");
    b.text(256, "");
    // NumberOfCurves, BitsPerRecord, RoutingChannels, NumberOfBoards, ActiveCurve,
    // MeasurementMode, SubMode, RangeNo, Offset, AcquisitionTime.
    b.i32(0).i32(32).i32(1).i32(1).i32(0).i32(mode).i32(0).i32(0).i32(0).i32(1000);
    b.display();
    // Board: ident, version, serial, sync divider, 4 CFD settings, Resolution (ns, float32),
    // router model and enable, 4 router channels of 6 int32.
    b.text(16, "PicoHarp 300").text(8, "2.0").i32(1_000_123).i32(1).zeros(16).f32(resolution_ns);
    b.i32(0).i32(0).zeros(4 * 6 * 4);
    // ExtDevices, Reserved1, Reserved2, CntRate0 (sync), CntRate1, StopAfter, StopReason,
    // NoOfRecords, ImgHdrSize.
    b.i32(0).i32(0).i32(0).i32(cnt_rate0).i32(1234).i32(1000).i32(0).i32(records.len() as i32).i32(0);
    b.records(records)
}

/// TimeHarp 200 .t3r (t3rdemo.c): format 5.0 (no creator fields, 24-byte board) or 6.0.
fn timeharp(v5: bool, records: &[u32]) -> Vec<u8> {
    let mut b = B::default();
    b.text(16, "TimeHarp 200").text(6, if v5 { "5.0" } else { "6.0" });
    if v5 {
        b.text(6, "2.4");
    } else {
        b.text(18, "TimeHarp Software").text(12, "6.0");
    }
    b.text(18, "08/09/03 12:51:43");
    b.0.extend(b"\r\n");
    b.text(256, "");
    // NumberOfChannels, NumberOfCurves, BitsPerChannel, RoutingChannels, NumberOfBoards,
    // ActiveCurve, MeasurementMode, SubMode, RangeNo, Offset, AcquisitionTime.
    b.i32(4096).i32(0).i32(32).i32(4).i32(1).i32(0).i32(2).i32(0).i32(1).i32(0).i32(1000);
    b.display();
    if !v5 {
        b.text(16, "TimeHarp 200").text(8, "2.0");
    }
    // BoardSerial, CFDZeroCross, CFDDiscrMin, SYNCLevel, CurveOffset, Resolution (ns, float32).
    b.i32(76).i32(20).i32(50).i32(-300).i32(0).f32(0.0625);
    // TTTRGlobClock (ns), 6 reserved, SyncRate, AverageCFDRate, StopAfter, StopReason,
    // NumberOfRecords, SpecHeaderLength.
    b.i32(100).zeros(24).i32(5_000_000).i32(7624).i32(1000).i32(0).i32(records.len() as i32).i32(0);
    b.records(records)
}

const SUITE: &str = "legacy-built";

fn write(name: &str, bytes: &[u8]) -> common_scratch::Scratch {
    built::write(SUITE, name, bytes)
}

fn events(name: &str, bytes: &[u8]) -> Vec<(EventKind, u32, i64)> {
    built::events(SUITE, name, bytes)
}

fn open_err(name: &str, bytes: &[u8]) -> RecordingError {
    built::open_err(SUITE, name, bytes)
}

fn float(r: &PtuReader, name: &str) -> f64 {
    match r.tag(name) {
        Some(TagValue::Float(v)) => *v,
        other => panic!("{name}: {other:?}"),
    }
}

/// HydraHarp T3 record: special bit 31, channel 30..25, dtime 24..10, nsync 9..0.
fn ht3(special: u32, chan: u32, dtime: u32, nsync: u32) -> u32 {
    special << 31 | chan << 25 | dtime << 10 | nsync
}

#[test]
fn hydraharp_headers_are_800_bytes_with_4_channels_and_decode_by_hand() {
    use EventKind::*;
    let records = [ht3(0, 0, 7, 3), ht3(1, 63, 0, 2), ht3(0, 3, 0, 5), ht3(1, 4, 0, 9)];
    let bytes = Hh::default().build(&records);
    // The real HydraHarp 2.0 sample (4 channels, no image header) has its records at 800.
    assert_eq!(bytes.len(), 800 + 16);
    let p = write("v2.ht3", &bytes);
    let r = PtuReader::open(&p).unwrap();
    assert_eq!((r.record_type, r.records, r.container.as_str()), (RecordType::HydraHarpV2T3, 4, "HT3 2.0"));
    // The sync period from the sync rate: 1 / 40 MHz = 25 ns; micro-time bins of 4 ps.
    assert_eq!(float(&r, "MeasDesc_GlobalResolution"), 1.0 / 40e6);
    assert_eq!(float(&r, "MeasDesc_Resolution"), 4e-12);
    assert_eq!(r.laser_rate_hz, Some(40e6));
    // Sync 3 + 7 bins: 75,000 + 28 ps, channel 0 -> 1. The V2 overflow with nsync 2 adds
    // 2 x 1024 syncs (51,200,000 ps). Then sync 2048 + 5 = 2053 (51,325,000 ps) on
    // channel 4, and a marker 4 at sync 2048 + 9.
    assert_eq!(
        events("v2.ht3", &bytes),
        vec![(Tag, 1, 75_028), (Overflow, 0, 51_200_000), (Tag, 4, 51_325_000), (Marker, 4, 51_425_000)]
    );
    // Format 1.0: the same records as HydraHarp V1, whose overflow is always 1024 syncs.
    let v1 = Hh { version: "1.0", ..Hh::default() }.build(&records);
    let r = PtuReader::open(&write("v1.ht3", &v1)).unwrap();
    assert_eq!((r.record_type, r.container.as_str()), (RecordType::HydraHarpV1T3, "HT3 1.0"));
    assert_eq!(events("v1.ht3", &v1)[1..3], [(Overflow, 0, 25_600_000), (Tag, 4, 25_725_000)]);
    // T2: time tags in the base resolution (1 ps): time field 25 bits, channel, special.
    let t2 = [5_000u32, 1 << 31 | 100, 2 << 25 | 7];
    for (version, rt, wrap) in
        [("2.0", RecordType::HydraHarpV2T2, 1 << 25), ("1.0", RecordType::HydraHarpV1T2, 33_552_000)]
    {
        let bytes = Hh { version, mode: 2, ..Hh::default() }.build(&[t2[0], t2[1], 1 << 31 | 63 << 25 | 1, t2[2]]);
        let name = format!("t2-{version}.ht2");
        let r = PtuReader::open(&write(&name, &bytes)).unwrap();
        assert_eq!((r.record_type, r.laser_rate_hz), (rt, None), "{version}");
        assert_eq!(float(&r, "MeasDesc_GlobalResolution"), 1e-12);
        // Tag at 5,000 ps on channel 1; a sync (special, channel 0) at 100 ps; an overflow of
        // one wrap (V2: 1 x 2^25; V1: 33,552,000); channel 2 -> 3 at wrap + 7.
        assert_eq!(
            events(&name, &bytes),
            vec![(Tag, 1, 5_000), (Sync, 0, 100), (Overflow, 0, wrap), (Tag, 3, wrap + 7)],
            "{version}"
        );
    }
    // An image header is skipped: 3 words more before the records.
    let img = Hh { img_words: 3, ..Hh::default() }.build(&records);
    assert_eq!(events("img.ht3", &img), events("v2.ht3", &bytes));
}

#[test]
fn picoharp_pt2_and_pt3_decode_by_hand() {
    use EventKind::*;
    // PicoHarp T3: nsync 15..0, dtime 27..16, channel 31..28; channel 15 is special.
    let pt3 = [3 | 100 << 16 | 1 << 28, 0xF << 28, 2 | 2 << 28, 5 | 0xF << 28 | 2 << 16];
    // Sync rate 10 MHz: 100 ns period; 8 ps bins (0.008 ns as float32).
    let bytes = picoharp(3, 10_000_000, 0.008, &pt3);
    // Records after 536 (text, settings, display) + 156 (board) + 36 (TTTR header).
    assert_eq!(bytes.len(), 728 + 16);
    let r = PtuReader::open(&write("a.pt3", &bytes)).unwrap();
    assert_eq!((r.record_type, r.container.as_str()), (RecordType::PicoHarpT3, "PT3 2.0"));
    assert_eq!(float(&r, "MeasDesc_GlobalResolution"), 1e-7);
    // The float32 0.008 ns read as the decimal it was written as: 8 ps, not 8.00000038 ps.
    assert_eq!(float(&r, "MeasDesc_Resolution"), 8e-12);
    // Sync 3 (300,000 ps) + 100 bins of 8 ps (800): channel 1. An overflow (65,536 syncs:
    // 6,553,600,000 ps). Sync 65,538 on channel 2. A marker 2 at sync 65,541.
    assert_eq!(
        events("a.pt3", &bytes),
        vec![(Tag, 1, 300_800), (Overflow, 0, 6_553_600_000), (Tag, 2, 6_553_800_000), (Marker, 2, 6_554_100_000)]
    );
    // PicoHarp T2: time 27..0 in 4 ps units, channel 31..28 (0-based inputs; 15 special).
    let pt2 = [1_000 | 1 << 28, 0xF << 28, 10];
    let bytes = picoharp(2, 0, 0.004, &pt2);
    let r = PtuReader::open(&write("a.pt2", &bytes)).unwrap();
    assert_eq!((r.record_type, r.laser_rate_hz), (RecordType::PicoHarpT2, None));
    // 1,000 x 4 ps on channel 1 -> 2; an overflow of 210,698,240 units (842,792,960 ps);
    // then 10 units on channel 0 -> 1.
    assert_eq!(events("a.pt2", &bytes), vec![(Tag, 2, 4_000), (Overflow, 0, 842_792_960), (Tag, 1, 842_793_000)]);
}

#[test]
fn timeharp200_t3r_decodes_by_hand_in_both_formats() {
    use EventKind::*;
    // TimeTag 15..0 (100 ns macro clock), Data 27..16 (micro time), Route 29..28, Valid 30.
    let rec = [1 << 30 | 2 << 28 | 160 << 16 | 7, 0x800 << 16, 1 << 30 | 3, 5 << 16 | 9, 0];
    for v5 in [true, false] {
        let bytes = timeharp(v5, &rec);
        let name = if v5 { "a5.t3r" } else { "a6.t3r" };
        let r = PtuReader::open(&write(name, &bytes)).unwrap();
        assert_eq!(r.record_type, RecordType::TimeHarp200T3);
        assert_eq!(r.container, if v5 { "T3R 5.0" } else { "T3R 6.0" });
        // The laser rate is the header's sync rate, not 1 / the 100 ns macro clock.
        assert_eq!(r.laser_rate_hz, Some(5e6));
        assert_eq!(float(&r, "MeasDesc_GlobalResolution"), 1e-7);
        // Tick 7 (700,000 ps) + 160 bins of 62.5 ps (10,000): route 2 -> channel 3. An
        // overflow: 65,536 ticks (6,553,600,000 ps). Tick 65,539 on route 0 -> 1. A marker
        // (invalid, no overflow bit) with bits 5 at tick 65,545. A special record with neither
        // marker bits nor overflow: an error record.
        assert_eq!(
            events(name, &bytes),
            vec![
                (Tag, 3, 710_000),
                (Overflow, 0, 6_553_600_000),
                (Tag, 1, 6_553_900_000),
                (Marker, 5, 6_554_500_000),
                (Error, 0, 6_553_600_000)
            ],
            "{name}"
        );
    }
}

#[test]
fn legacy_header_errors_name_the_field_and_its_byte_offset() {
    let rec = [ht3(0, 0, 7, 3)];
    let msg = |name: &str, bytes: &[u8]| open_err(name, bytes).to_string();
    // The measurement mode sits after 22 + 306 bytes of text and 3 int32: byte 340.
    let e = msg("mode0.ht3", &Hh { mode: 0, ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 340:") && e.contains("interactive"), "{e}");
    let e = msg("mode7.ht3", &Hh { mode: 7, ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 340:") && e.contains("mode 7"), "{e}");
    // BitsPerRecord at 332.
    let e = msg("bits.ht3", &Hh { bits: 16, ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 332:") && e.contains("16 bits"), "{e}");
    // InputChannelsPresent at 0x298 = 664.
    let e = msg("chans.ht3", &Hh { channels: 1000, ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 664:") && e.contains("InputChannelsPresent is 1000"), "{e}");
    // A T3 file without a sync rate has no sync period: SyncRate at 664 + 4 + 28 + 4 x 20.
    let e = msg("sync.ht3", &Hh { sync_rate_hz: 0, ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 776:") && e.contains("sync rate 0 Hz"), "{e}");
    // A sync rate below 1 kHz would make a sync period above 1 ms: named at SyncRate too.
    let e = msg("sync1.ht3", &Hh { sync_rate_hz: 1, ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 776:") && e.contains("sync rate 1 Hz"), "{e}");
    // A zero resolution, named at its field (Resolution, float64 at 352).
    let e = msg("res0.ht3", &Hh { resolution_ps: 0.0, ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 352:") && e.contains("Resolution is 0e0 ps"), "{e}");
    // ImgHdrSize at 788, NumRecords at 792.
    let e = msg("img.ht3", &Hh { img_words: -1, ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 788:") && e.contains("ImgHdrSize is -1"), "{e}");
    let e = msg("neg.ht3", &Hh { records: Some(-5), ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 792:") && e.contains("-5"), "{e}");
    // A format version nobody wrote, named at the version field (byte 16).
    let e = msg("v3.ht3", &Hh { version: "3.0", ..Hh::default() }.build(&rec));
    assert!(e.contains("byte 16:") && e.contains("\"3.0\"") && e.contains("1.0 and 2.0"), "{e}");
    // A header that announces more records than the file holds: every complete record,
    // then where it ends.
    let bytes = Hh { records: Some(3), ..Hh::default() }.build(&rec);
    let p = write("short.ht3", &bytes);
    let mut src = open(&p).unwrap();
    let mut v = Vec::new();
    let e = src.read_events(&mut v, 10).unwrap_err().to_string();
    assert!(e.contains("record 1 of the 3"), "{e}");
    assert_eq!(v.len(), 1);
}

#[test]
fn a_legacy_file_cut_anywhere_is_an_error_naming_where_never_a_panic() {
    let bytes = Hh::default().build(&[ht3(0, 0, 7, 3), ht3(0, 1, 8, 4)]);
    for cut in 0..bytes.len() {
        let p = write("cut.ht3", &bytes[..cut]);
        let r = open(&p);
        if cut < 800 {
            let e = r.expect_err("a cut header").to_string();
            assert!(e.contains("cut.ht3"), "{cut}: {e}");
            // Once 8 bytes of the name show HydraHarp's, the error is the cut, at its byte.
            if cut >= 8 {
                assert!(e.contains(&format!("truncated at byte {cut}:")), "{cut}: {e}");
            }
        } else {
            let mut src = r.unwrap();
            let mut v = Vec::new();
            let got = src.read_events(&mut v, 10);
            if cut == bytes.len() {
                assert_eq!(got.unwrap(), 2);
            } else {
                // Every complete record, then the record the cut is in.
                let e = got.expect_err("a cut record").to_string();
                let complete = (cut - 800) / 4;
                assert_eq!(v.len(), complete, "{cut}");
                assert!(e.contains(&format!("byte {}:", 800 + 4 * complete)), "{cut}: {e}");
            }
        }
    }
}

#[test]
fn fewer_than_four_bytes_after_the_records_are_ignored_and_said_four_are_an_error() {
    let bytes = timeharp(true, &[1 << 30 | 3]);
    for extra in 1..=4usize {
        let mut b = bytes.clone();
        b.extend(vec![b'\n'; extra]);
        let p = write("tail.t3r", &b);
        let mut src = open(&p).unwrap();
        let mut v = Vec::new();
        let first = src.read_events(&mut v, 10).unwrap();
        assert_eq!(first, 1);
        let end = src.read_events(&mut v, 10);
        if extra < 4 {
            assert_eq!(end.unwrap(), 0);
            let note = src.note().expect("a note");
            assert!(
                note.contains(&format!("the {extra} byte(s)")) && note.contains(&format!("byte {} on", bytes.len())),
                "{note}"
            );
        } else {
            let e = end.unwrap_err().to_string();
            assert!(e.contains("4 more bytes"), "{e}");
        }
    }
    assert!(open(&write("exact.t3r", &bytes)).unwrap().note().is_none());
}

/// phconvert's own readers of .pt3 and .ht3 (format 1.0), with their own header layouts, as
/// an independent check of the layouts here: the same sync counts, micro times and
/// channels. phconvert is an optional test dependency (scripts/setup.sh).
#[test]
fn phconvert_reads_the_built_pt3_and_ht3_the_same_way() {
    // Two overflows each: phconvert's overflow correction needs more than one.
    let pt3 = [3 | 100 << 16 | 1 << 28, 0xF << 28, 2 | 7 << 16 | 2 << 28, 0xF << 28, 40_000 | 4095 << 16 | 4 << 28];
    let ht3_records = [ht3(0, 0, 7, 3), ht3(1, 63, 0, 0), ht3(0, 3, 32_767, 1023), ht3(1, 63, 0, 0), ht3(0, 1, 1, 0)];
    let files = [
        ("phc.pt3", picoharp(3, 10_000_000, 0.008, &pt3), "load_pt3"),
        ("phc.ht3", Hh { version: "1.0", ..Hh::default() }.build(&ht3_records), "load_ht3"),
    ];
    for (name, bytes, reader) in files {
        let p = write(name, &bytes);
        let mut r = PtuReader::open(&p).unwrap();
        let (mut ev, mut raw) = (Vec::new(), Vec::new());
        while r.read_events_raw(&mut ev, Some(&mut raw), 100).unwrap() > 0 {}
        let ours: Vec<String> = ev
            .iter()
            .zip(&raw)
            .filter(|(e, _)| e.kind == EventKind::Tag)
            .map(|(e, (nsync, dtime))| format!("{nsync} {dtime} {}", e.channel))
            .collect();
        let script = format!(
            "import sys\ntry:\n    import phconvert.pqreader as p\nexcept ImportError:\n    print('absent'); sys.exit()\n\
             ts, det, nt, meta = p.{reader}({:?})[:4]\nprint('units', meta['timestamps_unit'], meta['nanotimes_unit'])\n\
             for a, b, c in zip(ts, det, nt): print('ev', a, c, b)",
            p.to_str().unwrap()
        );
        let out = std::process::Command::new("python3").arg("-c").arg(&script).output().expect("python3");
        let text = String::from_utf8_lossy(&out.stdout);
        if text.trim() == "absent" {
            eprintln!("skipped: phconvert is not installed (optional: scripts/setup.sh installs it)");
            return;
        }
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        // phconvert numbers PicoHarp inputs as the records do (1-4; ours too) and HydraHarp
        // inputs from 0 (ours from 1).
        let units: Vec<f64> = text
            .lines()
            .find_map(|l| l.strip_prefix("units "))
            .expect("units")
            .split(' ')
            .map(|x| x.parse().unwrap())
            .collect();
        // The same units, to the last bit or one rounding apart (they multiply, we divide).
        for (theirs, ours) in units.iter().zip([r.global_resolution_ps / 1e12, r.resolution_ps / 1e12]) {
            assert!((theirs - ours).abs() <= 2.0 * f64::EPSILON * ours, "{name}: {theirs} {ours}");
        }
        // phconvert keeps overflow records as detector 15 (PicoHarp) or 127 (HydraHarp).
        let theirs: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("ev "))
            .map(|l| l.split(' ').map(|x| x.parse::<u64>().unwrap()).collect::<Vec<_>>())
            .filter(|v| v[2] != if reader == "load_ht3" { 127 } else { 15 })
            .map(|v| {
                let ch = if reader == "load_ht3" { v[2] + 1 } else { v[2] };
                format!("{} {} {ch}", v[0], v[1])
            })
            .collect();
        assert_eq!(ours, theirs, "{name}");
        assert_eq!(ours.len(), 3, "{name}");
    }
}
