//! PicoQuant's per-instrument files from before PTU: HydraHarp `.ht2`/`.ht3` (format 1.0 and
//! 2.0), PicoHarp 300 `.pt2`/`.pt3` (2.0) and TimeHarp 200 `.t3r` (5.0 and 6.0).
//!
//! Each is a fixed, packed, little-endian binary header (the layouts of PicoQuant's demo code
//! for each instrument: ht2demo/ht3demo, pt2demo/pt3demo, t3rdemo) followed by the same
//! 32-bit records as PTU. The header is read into PTU's typed tags, under PTU's names where
//! PTU records the same quantity (`MeasDesc_Resolution`, `TTResult_NumberOfRecords`, ...), so
//! that everything after the header (resolutions, the acquisition-end check, the records,
//! `/source_header` of a converted file) is PTU's code. Fields PTU has no tag for keep
//! their legacy names. Units follow PTU: resolutions in seconds, times in ms.
//!
//! Resolutions that legacy headers give in other units (ps, ns, a sync rate in Hz) are
//! converted to seconds in float64, once, by one correctly rounded division (a float32 field
//! first becomes the shortest decimal that rounds to it: 0.008 ns, as written); the
//! exact-time rule then applies to that float64 (docs/recording-schema.md, "Times of
//! imported files").

use super::{PtuReader, RecordType, Tag, TagValue};
use crate::error::RecordingError;

/// An instrument family, from the 16-byte ident at the start of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    /// HydraHarp 400: `.ht2`, `.ht3`.
    HydraHarp,
    /// PicoHarp 300: `.pt2`, `.pt3`.
    PicoHarp,
    /// TimeHarp 200: `.t3r`.
    TimeHarp200,
}

impl Family {
    /// The instruments' names as their files start.
    pub(super) const NAMES: [&'static [u8]; 3] = [b"HydraHarp", b"PicoHarp 300", b"TimeHarp 200"];

    /// The family whose name the 16-byte ident holds (NUL-padded), if any.
    pub(super) fn from_ident(ident: &[u8]) -> Option<Family> {
        let name = ident.split(|&b| b == 0).next().unwrap_or(&[]);
        match name {
            b"HydraHarp" => Some(Family::HydraHarp),
            b"PicoHarp 300" => Some(Family::PicoHarp),
            b"TimeHarp 200" => Some(Family::TimeHarp200),
            _ => None,
        }
    }
}

/// Most input channels a header may declare (HydraHarp: 8 per module, up to 8 modules), and
/// most boards: a corrupt count must not make the reader skip gigabytes as "header".
const MAX_CHANNELS: i64 = 64;
const MAX_BOARDS: i64 = 4;
/// Longest image (or special) header, 32-bit words.
const MAX_EXTRA_WORDS: i64 = 1 << 20;

/// The fields of a legacy header, read in order into PTU tags.
struct Fields<'a> {
    r: &'a mut PtuReader,
}

impl Fields<'_> {
    fn push(&mut self, name: &str, index: i32, value: TagValue) {
        self.r.tags.push(Tag { name: name.into(), index, value });
    }

    fn skip(&mut self, n: usize, what: &str) -> Result<(), RecordingError> {
        self.r.bytes(n, what).map(|_| ())
    }

    fn i32(&mut self, name: &str) -> Result<i64, RecordingError> {
        let b = self.r.bytes(4, name)?;
        Ok(i64::from(i32::from_le_bytes(b[..4].try_into().expect("4 bytes"))))
    }

    /// An int32 field kept as the integer tag `name`.
    fn int(&mut self, name: &str) -> Result<i64, RecordingError> {
        self.int_at(name, -1)
    }

    fn int_at(&mut self, name: &str, index: i32) -> Result<i64, RecordingError> {
        let v = self.i32(name)?;
        self.push(name, index, TagValue::Int(v));
        Ok(v)
    }

    fn i64(&mut self, name: &str) -> Result<i64, RecordingError> {
        let b = self.r.bytes(8, name)?;
        let v = i64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
        self.push(name, -1, TagValue::Int(v));
        Ok(v)
    }

    /// A float64 field, returned (the caller decides its unit and tag).
    fn f64(&mut self, name: &str) -> Result<f64, RecordingError> {
        let b = self.r.bytes(8, name)?;
        Ok(f64::from_le_bytes(b[..8].try_into().expect("8 bytes")))
    }

    /// A float32 field as the decimal it was written as: the shortest decimal that rounds to
    /// it (0.008 ns, not the 0.00800000038 ns the float32 holds), read as float64.
    fn f32(&mut self, name: &str) -> Result<f64, RecordingError> {
        let b = self.r.bytes(4, name)?;
        let v = f32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
        Ok(v.to_string().parse::<f64>().unwrap_or(f64::NAN))
    }

    /// A fixed-length text field (NUL-padded), kept as the text tag `name`.
    fn text(&mut self, n: usize, name: &str) -> Result<String, RecordingError> {
        let b = self.r.bytes(n, name)?;
        let raw = b.split(|&c| c == 0).next().unwrap_or(&[]);
        let v = String::from_utf8_lossy(raw).trim_end().to_string();
        self.push(name, -1, TagValue::Text(v.clone()));
        Ok(v)
    }

    /// A count read at `at` that must lie in `range`.
    fn count(
        &self,
        at: u64,
        name: &str,
        v: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<usize, RecordingError> {
        if !range.contains(&v) {
            return Err(self
                .r
                .format(at, format!("{name} is {v}, outside {}..={}: a damaged header", range.start(), range.end())));
        }
        Ok(v as usize)
    }

    /// The common start of every family's text block after the ident and format version:
    /// creator, file time, comment (TimeHarp 200 format 5.0 has no creator fields).
    fn texts(&mut self, creator: bool) -> Result<(), RecordingError> {
        if creator {
            self.text(18, "CreatorSW_Name")?;
            self.text(12, "CreatorSW_Version")?;
        } else {
            self.text(6, "HW_Version")?;
        }
        self.text(18, "File_CreatingTime")?;
        self.skip(2, "the CR LF after the file time")?;
        self.text(256, "File_Comment")?;
        Ok(())
    }

    /// The display and repeat settings and the script name, which have no bearing on the
    /// data: 8 int32 of display/stop settings, 8 display curves, 3 parameter triples, 4
    /// repeat settings, a 20-byte script name.
    fn skip_display(&mut self) -> Result<(), RecordingError> {
        self.skip(8 * 4 + 8 * 8 + 3 * 12 + 4 * 4 + 20, "the display and repeat settings")
    }
}

/// Reads a legacy header after its 16-byte ident: the format version, the instrument's
/// fields, the TTTR header and any image header, leaving the reader at the first record.
/// The tags the common code reads (`TTResult_NumberOfRecords`, `MeasDesc_GlobalResolution`,
/// for T3 `MeasDesc_Resolution`, `MeasDesc_AcquisitionTime`, `TTResult_StopAfter`) are set.
pub(super) fn read_header(r: &mut PtuReader, family: Family) -> Result<(RecordType, &'static str), RecordingError> {
    let at = r.offset;
    let version = {
        let b = r.bytes(6, "the format version")?;
        String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or(&[])).trim().to_string()
    };
    let mut f = Fields { r };
    f.push("File_FormatVersion", -1, TagValue::Text(version.clone()));
    let unsupported = |f: &Fields, what: &str| {
        f.r.format(
            at,
            format!("{family:?} file format version {version:?}: qkdbench reads {what}; convert it to PTU with PicoQuant's software"),
        )
    };
    let (rt, instrument, ext) = match family {
        Family::HydraHarp => {
            let v1 = match version.as_str() {
                "1.0" => true,
                "2.0" => false,
                _ => return Err(unsupported(&f, "HydraHarp formats 1.0 and 2.0")),
            };
            hydraharp(&mut f, v1)?
        }
        Family::PicoHarp => {
            if version != "2.0" {
                return Err(unsupported(&f, "PicoHarp format 2.0"));
            }
            picoharp(&mut f)?
        }
        Family::TimeHarp200 => {
            let v5 = match version.as_str() {
                "5.0" => true,
                "6.0" => false,
                _ => return Err(unsupported(&f, "TimeHarp 200 formats 5.0 and 6.0")),
            };
            timeharp200(&mut f, v5)?
        }
    };
    f.r.container = format!("{ext} {version}");
    Ok((rt, instrument))
}

/// The measurement mode: 2 is T2, 3 is T3; 0 (interactive) is a histogram, not time tags.
fn t3_mode(f: &Fields, at: u64, mode: i64) -> Result<bool, RecordingError> {
    match mode {
        2 => Ok(false),
        3 => Ok(true),
        0 => Err(f.r.format(at, "measurement mode 0 (interactive): a histogram file, not time-tagged records".into())),
        m => Err(f.r.format(at, format!("measurement mode {m} is neither 2 (T2) nor 3 (T3)"))),
    }
}

fn bits_per_record(f: &Fields, at: u64, bits: i64) -> Result<(), RecordingError> {
    if bits != 32 {
        return Err(f.r.format(at, format!("{bits} bits per record: PicoQuant's time-tagged records are 32 bits")));
    }
    Ok(())
}

/// A resolution read at `at`, in ps: from 1 fs to 1 ms, as PTU's (outside it times would
/// saturate, not be times).
fn resolution_ps(f: &Fields, at: u64, name: &str, ps: f64) -> Result<(), RecordingError> {
    if !(ps.is_finite() && (1e-3..=1e9).contains(&ps)) {
        return Err(f.r.format(at, format!("{name} is {ps:e} ps, outside 1e-3..=1e9 ps (1 fs to 1 ms)")));
    }
    Ok(())
}

/// The sync period, s, from a measured sync rate in Hz (the only form legacy T3 headers give
/// it in, as PicoQuant's demos compute it).
fn sync_period_s(f: &Fields, at: u64, rate_hz: i64) -> Result<f64, RecordingError> {
    if rate_hz < 1000 {
        return Err(f.r.format(
            at,
            format!("sync rate {rate_hz} Hz: a T3 file needs it for the sync period, which must be at most 1 ms"),
        ));
    }
    Ok(1.0 / rate_hz as f64)
}

fn records(f: &mut Fields, at: u64, n: i64) -> Result<(), RecordingError> {
    if n < 0 {
        return Err(f.r.format(at, format!("the number of records is {n}: a count cannot be negative")));
    }
    Ok(())
}

fn hydraharp(f: &mut Fields, v1: bool) -> Result<(RecordType, &'static str, &'static str), RecordingError> {
    f.texts(true)?;
    f.int("NumberOfCurves")?;
    let at = f.r.offset;
    let bits = f.int("TTResultFormat_BitsPerRecord")?;
    bits_per_record(f, at, bits)?;
    f.int("ActiveCurve")?;
    let at_mode = f.r.offset;
    let mode = f.int("Measurement_Mode")?;
    let t3 = t3_mode(f, at_mode, mode)?;
    f.int("Measurement_SubMode")?;
    f.int("MeasDesc_BinningFactor")?;
    let at_res = f.r.offset;
    let res_ps = f.f64("Resolution")?;
    f.int("MeasDesc_Offset")?;
    f.int("MeasDesc_AcquisitionTime")?;
    f.skip_display()?;
    f.text(16, "HW_Type")?;
    f.text(8, "HW_PartNo")?;
    f.int("HW_SerialNo")?;
    let at_mod = f.r.offset;
    let modules = f.int("HW_Modules")?;
    f.count(at_mod, "HW_Modules", modules, 0..=10)?;
    f.skip(10 * 8, "the module info")?;
    let at_base = f.r.offset;
    let base_ps = f.f64("BaseResolution")?;
    f.push("MeasDesc_BaseResolution", -1, TagValue::Float(base_ps / 1e12));
    f.i64("HW_InpChannelsEnabled")?;
    let at_ch = f.r.offset;
    let channels = f.int("HW_InpChannels")?;
    let channels = f.count(at_ch, "InputChannelsPresent", channels, 0..=MAX_CHANNELS)?;
    f.int("HW_RefClockSource")?;
    f.int("HW_ExternalDevices")?;
    f.int("HWMarkers_Settings")?;
    f.int("HWSync_Divider")?;
    f.int("HWSync_CFDLevel")?;
    f.int("HWSync_CFDZeroCross")?;
    f.int("HWSync_Offset")?;
    for i in 0..channels as i32 {
        f.int_at("HWInpChan_ModuleIdx", i)?;
        f.int_at("HWInpChan_CFDLevel", i)?;
        f.int_at("HWInpChan_CFDZeroCross", i)?;
        f.int_at("HWInpChan_Offset", i)?;
    }
    for i in 0..channels as i32 {
        f.int_at("TTResult_InputRate", i)?;
    }
    let at_sync = f.r.offset;
    let sync_rate = f.int("TTResult_SyncRate")?;
    f.int("TTResult_StopAfter")?;
    f.int("TTResult_StopReason")?;
    let at_img = f.r.offset;
    let img = f.int("ImgHdrSize")?;
    let img = f.count(at_img, "ImgHdrSize", img, 0..=MAX_EXTRA_WORDS)?;
    let at_n = f.r.offset;
    let n = f.i64("TTResult_NumberOfRecords")?;
    records(f, at_n, n)?;
    f.skip(4 * img, "the image header")?;
    if t3 {
        let period = sync_period_s(f, at_sync, sync_rate)?;
        resolution_ps(f, at_res, "Resolution", res_ps)?;
        f.push("MeasDesc_GlobalResolution", -1, TagValue::Float(period));
        f.push("MeasDesc_Resolution", -1, TagValue::Float(res_ps / 1e12));
    } else {
        // T2 time tags count the base resolution (1 ps on the HydraHarp 400).
        resolution_ps(f, at_base, "BaseResolution", base_ps)?;
        f.push("MeasDesc_GlobalResolution", -1, TagValue::Float(base_ps / 1e12));
    }
    let (rt, code) = match (v1, t3) {
        (true, false) => (RecordType::HydraHarpV1T2, 0x0001_0204),
        (true, true) => (RecordType::HydraHarpV1T3, 0x0001_0304),
        (false, false) => (RecordType::HydraHarpV2T2, 0x0101_0204),
        (false, true) => (RecordType::HydraHarpV2T3, 0x0101_0304),
    };
    f.push("TTResultFormat_TTTRRecType", -1, TagValue::Int(code));
    let name = match rt {
        RecordType::HydraHarpV1T2 => "HydraHarp V1 T2",
        RecordType::HydraHarpV1T3 => "HydraHarp V1 T3",
        RecordType::HydraHarpV2T2 => "HydraHarp V2 T2",
        _ => "HydraHarp V2 T3",
    };
    Ok((rt, name, if t3 { "HT3" } else { "HT2" }))
}

fn picoharp(f: &mut Fields) -> Result<(RecordType, &'static str, &'static str), RecordingError> {
    f.texts(true)?;
    f.int("NumberOfCurves")?;
    let at = f.r.offset;
    let bits = f.int("TTResultFormat_BitsPerRecord")?;
    bits_per_record(f, at, bits)?;
    f.int("RoutingChannels")?;
    let at_b = f.r.offset;
    let boards = f.int("NumberOfBoards")?;
    let boards = f.count(at_b, "NumberOfBoards", boards, 1..=MAX_BOARDS)?;
    f.int("ActiveCurve")?;
    let at_mode = f.r.offset;
    let mode = f.int("Measurement_Mode")?;
    let t3 = t3_mode(f, at_mode, mode)?;
    f.int("Measurement_SubMode")?;
    f.int("RangeNo")?;
    f.int("MeasDesc_Offset")?;
    f.int("MeasDesc_AcquisitionTime")?;
    f.skip_display()?;
    let (mut res_ns, mut at_res) = (0.0, 0);
    for b in 0..boards {
        if b == 0 {
            f.text(16, "HW_Type")?;
            f.text(8, "HW_Version")?;
            f.int("HW_SerialNo")?;
            f.int("HWSync_Divider")?;
            f.int("HWInpChan_CFDZeroCross0")?;
            f.int("HWInpChan_CFDLevel0")?;
            f.int("HWInpChan_CFDZeroCross1")?;
            f.int("HWInpChan_CFDLevel1")?;
            at_res = f.r.offset;
            res_ns = f.f32("Resolution")?;
            f.int("HWRouter_ModelCode")?;
            f.int("HWRouter_Enabled")?;
            f.skip(4 * 6 * 4, "the router channels")?;
        } else {
            f.skip(156, "a further board")?;
        }
    }
    f.int("HW_ExternalDevices")?;
    f.skip(8, "reserved")?;
    let at_sync = f.r.offset;
    let sync_rate = f.int("TTResult_SyncRate")?;
    f.int_at("TTResult_InputRate", 0)?;
    f.int("TTResult_StopAfter")?;
    f.int("TTResult_StopReason")?;
    let at_n = f.r.offset;
    let n = f.int("TTResult_NumberOfRecords")?;
    records(f, at_n, n)?;
    let at_img = f.r.offset;
    let img = f.int("ImgHdrSize")?;
    let img = f.count(at_img, "ImgHdrSize", img, 0..=MAX_EXTRA_WORDS)?;
    f.skip(4 * img, "the image header")?;
    if t3 {
        let period = sync_period_s(f, at_sync, sync_rate)?;
        resolution_ps(f, at_res, "Resolution", res_ns * 1e3)?;
        f.push("MeasDesc_GlobalResolution", -1, TagValue::Float(period));
        f.push("MeasDesc_Resolution", -1, TagValue::Float(res_ns / 1e9));
        f.push("TTResultFormat_TTTRRecType", -1, TagValue::Int(0x0001_0303));
        Ok((RecordType::PicoHarpT3, "PicoHarp 300 T3", "PT3"))
    } else {
        // The PicoHarp 300's T2 time unit is fixed at 4 ps (pt2demo).
        f.push("MeasDesc_GlobalResolution", -1, TagValue::Float(4e-12));
        f.push("TTResultFormat_TTTRRecType", -1, TagValue::Int(0x0001_0203));
        Ok((RecordType::PicoHarpT2, "PicoHarp 300 T2", "PT2"))
    }
}

fn timeharp200(f: &mut Fields, v5: bool) -> Result<(RecordType, &'static str, &'static str), RecordingError> {
    f.texts(!v5)?;
    f.int("NumberOfChannels")?;
    f.int("NumberOfCurves")?;
    f.int("BitsPerChannel")?;
    f.int("RoutingChannels")?;
    let at_b = f.r.offset;
    let boards = f.int("NumberOfBoards")?;
    let boards = f.count(at_b, "NumberOfBoards", boards, 1..=MAX_BOARDS)?;
    f.int("ActiveCurve")?;
    f.int("Measurement_Mode")?;
    f.int("Measurement_SubMode")?;
    f.int("RangeNo")?;
    f.int("MeasDesc_Offset")?;
    f.int("MeasDesc_AcquisitionTime")?;
    f.skip_display()?;
    let (mut res_ns, mut at_res) = (0.0, 0);
    for b in 0..boards {
        if b > 0 {
            f.skip(if v5 { 24 } else { 48 }, "a further board")?;
            continue;
        }
        if !v5 {
            f.text(16, "HW_Type")?;
            f.text(8, "HW_Version")?;
        }
        f.int("HW_SerialNo")?;
        f.int("HWInpChan_CFDZeroCross")?;
        f.int("HWInpChan_CFDLevel")?;
        f.int("HWSync_Level")?;
        f.int("CurveOffset")?;
        at_res = f.r.offset;
        res_ns = f.f32("Resolution")?;
    }
    let at_clock = f.r.offset;
    let clock_ns = f.int("TTTRGlobClock")?;
    f.skip(6 * 4, "reserved")?;
    f.int("TTResult_SyncRate")?;
    f.int("AverageCFDRate")?;
    f.int("TTResult_StopAfter")?;
    f.int("TTResult_StopReason")?;
    let at_n = f.r.offset;
    let n = f.int("TTResult_NumberOfRecords")?;
    records(f, at_n, n)?;
    let at_spec = f.r.offset;
    let spec = f.int("SpecHeaderLength")?;
    let spec = f.count(at_spec, "SpecHeaderLength", spec, 0..=MAX_EXTRA_WORDS)?;
    f.skip(4 * spec, "the special header")?;
    if !(1..=1_000_000).contains(&clock_ns) {
        return Err(f.r.format(at_clock, format!("TTTRGlobClock is {clock_ns} ns, outside 1 ns..1 ms")));
    }
    resolution_ps(f, at_res, "Resolution", res_ns * 1e3)?;
    // The macro clock (100 ns on the TimeHarp 200) is the unit of the time tags.
    f.push("MeasDesc_GlobalResolution", -1, TagValue::Float(clock_ns as f64 / 1e9));
    f.push("MeasDesc_Resolution", -1, TagValue::Float(res_ns / 1e9));
    Ok((RecordType::TimeHarp200T3, "TimeHarp 200 T3R", "T3R"))
}
