//! PicoQuant PTU files: the tagged header, then 32-bit T2 or T3 records, for every record
//! type in PicoQuant's public "PicoQuant-Time-Tagged-File-Format-Demos" (apx_tagtypes,
//! apx_tttrrecords, Read_PTU.py): PicoHarp 300, HydraHarp V1 and V2, TimeHarp 260 N and P,
//! and the Generic types of MultiHarp and PicoHarp 330.
//!
//! Channels in the normalised stream: detection channels are numbered from 1 (PicoQuant's
//! convention in its demos), syncs are channel 0 with kind `sync` (T2 files only; T3 records
//! carry the sync count instead), markers carry their marker bits as the channel.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::exact_time::{time1_ps, time_ps, ExactPs};
use crate::error::RecordingError;
use crate::event::{Event, EventKind};

mod legacy;

/// One header tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// Tag name.
    pub name: String,
    /// Index (-1 when the tag is not an array element).
    pub index: i32,
    /// Value.
    pub value: TagValue,
}

/// A header tag's value.
#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    /// tyEmpty8.
    Empty,
    /// tyBool8.
    Bool(bool),
    /// tyInt8, tyBitSet64, tyColor8.
    Int(i64),
    /// tyFloat8.
    Float(f64),
    /// tyTDateTime: days since 1899-12-30.
    DateTime(f64),
    /// tyFloat8Array.
    FloatArray(Vec<f64>),
    /// tyAnsiString, tyWideString.
    Text(String),
    /// tyBinaryBlob.
    Blob(Vec<u8>),
}

/// Record layouts (TTResultFormat_TTTRRecType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    /// PicoHarp 300, T2.
    PicoHarpT2,
    /// PicoHarp 300, T3.
    PicoHarpT3,
    /// HydraHarp V1, T2 (wrap 33,552,000).
    HydraHarpV1T2,
    /// HydraHarp V1, T3.
    HydraHarpV1T3,
    /// HydraHarp V2, TimeHarp 260 N/P, Generic (MultiHarp, PicoHarp 330), T2 (wrap 2^25).
    HydraHarpV2T2,
    /// The same families, T3.
    HydraHarpV2T3,
    /// TimeHarp 200 `.t3r`: a 100 ns macro clock (not the sync) and a 12-bit micro time.
    TimeHarp200T3,
}

impl RecordType {
    fn from_code(code: i64) -> Option<(RecordType, &'static str)> {
        Some(match code {
            0x0001_0203 => (RecordType::PicoHarpT2, "PicoHarp 300 T2"),
            0x0001_0303 => (RecordType::PicoHarpT3, "PicoHarp 300 T3"),
            0x0001_0204 => (RecordType::HydraHarpV1T2, "HydraHarp V1 T2"),
            0x0001_0304 => (RecordType::HydraHarpV1T3, "HydraHarp V1 T3"),
            0x0101_0204 => (RecordType::HydraHarpV2T2, "HydraHarp V2 T2"),
            0x0101_0304 => (RecordType::HydraHarpV2T3, "HydraHarp V2 T3"),
            0x0001_0205 => (RecordType::HydraHarpV2T2, "TimeHarp 260 N T2"),
            0x0001_0305 => (RecordType::HydraHarpV2T3, "TimeHarp 260 N T3"),
            0x0001_0206 => (RecordType::HydraHarpV2T2, "TimeHarp 260 P T2"),
            0x0001_0306 => (RecordType::HydraHarpV2T3, "TimeHarp 260 P T3"),
            0x0001_0207 => (RecordType::HydraHarpV2T2, "Generic T2 (MultiHarp, PicoHarp 330)"),
            0x0001_0307 => (RecordType::HydraHarpV2T3, "Generic T3 (MultiHarp, PicoHarp 330)"),
            _ => return None,
        })
    }

    /// T3: how many micro-time codes the record holds (PicoHarp 12 bits, the others 15).
    pub fn tcspc_bins(self) -> u32 {
        match self {
            RecordType::PicoHarpT3 | RecordType::TimeHarp200T3 => 1 << 12,
            _ => 1 << 15,
        }
    }

    /// Whether the records are T3 (sync count + micro time) rather than T2.
    pub fn is_t3(self) -> bool {
        matches!(
            self,
            RecordType::PicoHarpT3 | RecordType::HydraHarpV1T3 | RecordType::HydraHarpV2T3 | RecordType::TimeHarp200T3
        )
    }
}

/// A PTU file being read.
#[derive(Debug)]
pub struct PtuReader {
    path: PathBuf,
    reader: BufReader<File>,
    /// Header tags, in file order.
    pub tags: Vec<Tag>,
    /// Record layout.
    pub record_type: RecordType,
    /// Instrument family, as PicoQuant names the record type.
    pub instrument: &'static str,
    /// The container: "PTU", or a legacy file's kind and format version ("HT3 2.0").
    pub container: String,
    /// The laser (sync) repetition rate, Hz, where the file has one: 1 / the sync period of
    /// T3 data, TimeHarp 200's measured sync rate (its macro clock is not the sync).
    pub laser_rate_hz: Option<f64>,
    /// Records the header announces.
    pub records: u64,
    /// T2: time unit (ps); T3: sync period (ps).
    pub global_resolution_ps: f64,
    /// T3: micro-time unit (ps).
    pub resolution_ps: f64,
    overflow: u64,
    read: u64,
    offset: u64,
    /// The file's length, bytes.
    file_len: u64,
    /// Bytes after the last announced record, fewer than a record: ignored, and said.
    trailing: u64,
    /// T3: the sync count and micro-time code of the record just decoded.
    last_t3: (u64, u16),
    /// The resolutions as exact picoseconds (T2 unit or T3 sync period; T3 micro-time bin).
    exact: (ExactPs, ExactPs),
    /// The latest time an event can have, ps: the header's acquisition time or stop time
    /// (the larger), with a margin; None when the header gives neither.
    end_ps: Option<i64>,
}

const TY_EMPTY8: u32 = 0xFFFF_0008;
const TY_BOOL8: u32 = 0x0000_0008;
const TY_INT8: u32 = 0x1000_0008;
const TY_BITSET64: u32 = 0x1100_0008;
const TY_COLOR8: u32 = 0x1200_0008;
const TY_FLOAT8: u32 = 0x2000_0008;
const TY_DATETIME: u32 = 0x2100_0008;
const TY_FLOAT8_ARRAY: u32 = 0x2001_FFFF;
const TY_ANSI_STRING: u32 = 0x4001_FFFF;
const TY_WIDE_STRING: u32 = 0x4002_FFFF;
const TY_BLOB: u32 = 0xFFFF_FFFF;

/// Longest inline tag payload accepted (a corrupt length must not allocate gigabytes).
const MAX_TAG_BYTES: u64 = 64 << 20;

/// Whether a file's first 16 bytes name a PicoQuant instrument whose legacy files qkdbench
/// reads (.ht2/.ht3, .pt2/.pt3, .t3r). A file cut inside its name (8 bytes or more of it)
/// counts too, so that the PicoQuant reader says where it ends rather than another format
/// misreading it.
pub fn is_legacy_ident(ident: &[u8]) -> bool {
    if ident.len() >= 16 {
        return legacy::Family::from_ident(&ident[..16]).is_some();
    }
    ident.len() >= 8
        && legacy::Family::NAMES.iter().any(|name| {
            let mut padded = [0u8; 16];
            padded[..name.len()].copy_from_slice(name);
            padded.starts_with(ident)
        })
}

impl PtuReader {
    /// Opens a PTU file, or one of PicoQuant's older per-instrument files (.ht2, .ht3, .pt2,
    /// .pt3, .t3r, recognised by the instrument's name at their start), and reads its header.
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let file = File::open(path).map_err(|source| RecordingError::Io { path: path.into(), source })?;
        let file_len = file.metadata().map_or(0, |m| m.len());
        let mut r = PtuReader {
            path: path.into(),
            reader: BufReader::with_capacity(1 << 20, file),
            tags: Vec::new(),
            record_type: RecordType::PicoHarpT2,
            instrument: "",
            container: "PTU".into(),
            laser_rate_hz: None,
            trailing: 0,
            records: 0,
            global_resolution_ps: 0.0,
            resolution_ps: 0.0,
            overflow: 0,
            read: 0,
            offset: 0,
            file_len,
            last_t3: (0, 0),
            exact: (ExactPs::from_seconds(1e-12), ExactPs::from_seconds(1e-12)),
            end_ps: None,
        };
        let ident = r.bytes(16, "the magic")?;
        let (rt, instrument) = if &ident[..6] == b"PQTTTR" {
            r.read_tags()?;
            let code = r.int("TTResultFormat_TTTRRecType")?;
            RecordType::from_code(code).ok_or_else(|| {
                r.format(
                    r.offset,
                    format!("record type {code:#010x} (TTResultFormat_TTTRRecType) is not one PicoQuant documents"),
                )
            })?
        } else if let Some(family) = legacy::Family::from_ident(&ident) {
            legacy::read_header(&mut r, family)?
        } else {
            return Err(r.format(
                0,
                format!(
                    "magic is {:?}, expected \"PQTTTR\" (PTU) or a PicoQuant instrument's name (HydraHarp, \
                     PicoHarp 300, TimeHarp 200: .ht2/.ht3/.pt2/.pt3/.t3r)",
                    String::from_utf8_lossy(&ident[..8])
                ),
            ));
        };
        r.record_type = rt;
        r.instrument = instrument;
        let records = r.int("TTResult_NumberOfRecords")?;
        if records < 0 {
            return Err(
                r.format(r.offset, format!("TTResult_NumberOfRecords is {records}: a count cannot be negative"))
            );
        }
        r.records = records as u64;
        let global_s = r.float("MeasDesc_GlobalResolution")?;
        let res_s = if rt.is_t3() { r.float("MeasDesc_Resolution")? } else { 0.0 };
        r.global_resolution_ps = global_s * 1e12;
        r.resolution_ps = res_s * 1e12;
        // A time unit from 1 fs to 1 ms covers every PicoQuant instrument (T2 resolutions are
        // ps, T3 sync periods ns to us); outside it times would saturate, not be times.
        for (name, ps) in
            [("MeasDesc_GlobalResolution", r.global_resolution_ps), ("MeasDesc_Resolution", r.resolution_ps)]
        {
            if (ps != 0.0 || name == "MeasDesc_GlobalResolution") && !(1e-3..=1e9).contains(&ps) {
                return Err(r.format(r.offset, format!("{name} is {:e} s, outside 1e-15..=1e-3 s", ps * 1e-12)));
            }
        }
        // Events after the end of the acquisition mean a misread record type or a damaged
        // file: 0.1 % and 1 ms of margin for the instrument's own stop.
        let ms = |name: &str| match r.tag(name) {
            Some(TagValue::Int(v)) if *v > 0 => Some(*v as f64),
            Some(TagValue::Float(v)) if *v > 0.0 => Some(*v),
            _ => None,
        };
        r.end_ps = ms("MeasDesc_AcquisitionTime")
            .into_iter()
            .chain(ms("TTResult_StopAfter"))
            .reduce(f64::max)
            .map(|ms| (ms * 1.001 * 1e9 + 1e9) as i64);
        // Checked above: both within 1 fs..1 ms (a T2 file has no micro-time bin).
        r.exact = (ExactPs::from_seconds(global_s), ExactPs::from_seconds(if rt.is_t3() { res_s } else { 1e-12 }));
        // A legacy T3 header gives the sync rate it measured (the sync period is derived from
        // it; TimeHarp 200's records count a macro clock, not the sync); a PTU T3 file's sync
        // period is the laser's; T2 has none (TTResult_SyncRate is the count rate of input 0).
        if rt.is_t3() && r.container != "PTU" {
            r.laser_rate_hz = match r.tag("TTResult_SyncRate") {
                Some(TagValue::Int(v)) if *v > 0 => Some(*v as f64),
                _ => None,
            };
        } else if rt.is_t3() {
            r.laser_rate_hz = Some(1.0 / global_s);
        }
        Ok(r)
    }

    /// Something about the file worth saying that is not an error: bytes after the last
    /// record that are fewer than a record (a stray line end some transfers append).
    pub fn note(&self) -> Option<String> {
        (self.trailing > 0).then(|| {
            format!(
                "{}: the {} byte(s) after the last of the {} records the header announces (byte {} on) are fewer \
                 than a record and were ignored",
                self.path.display(),
                self.trailing,
                self.records,
                self.file_len - self.trailing
            )
        })
    }

    /// The tagged header of a PTU file, after its magic and version, up to `Header_End`.
    fn read_tags(&mut self) -> Result<(), RecordingError> {
        let r = self;
        loop {
            let at = r.offset;
            let head = r.bytes(48, "a header tag")?;
            // The name ends at the first NUL; what follows in the 32 bytes is padding (some
            // writers leave junk there).
            let raw = head[..32].split(|&b| b == 0).next().unwrap_or(&[]);
            let name = String::from_utf8_lossy(raw).escape_debug().to_string();
            let index = i32::from_le_bytes(head[32..36].try_into().expect("4 bytes"));
            let typ = u32::from_le_bytes(head[36..40].try_into().expect("4 bytes"));
            let raw: [u8; 8] = head[40..48].try_into().expect("8 bytes");
            let int = i64::from_le_bytes(raw);
            let inline = |r: &mut PtuReader| -> Result<Vec<u8>, RecordingError> {
                if !(0..=MAX_TAG_BYTES as i64).contains(&int) {
                    return Err(r.format(at + 40, format!("tag {name}: payload length {int} is not plausible")));
                }
                r.bytes(int as usize, &format!("the payload of tag {name}"))
            };
            let value = match typ {
                TY_EMPTY8 => TagValue::Empty,
                TY_BOOL8 => TagValue::Bool(int != 0),
                TY_INT8 | TY_BITSET64 | TY_COLOR8 => TagValue::Int(int),
                TY_FLOAT8 => TagValue::Float(f64::from_le_bytes(raw)),
                TY_DATETIME => TagValue::DateTime(f64::from_le_bytes(raw)),
                TY_FLOAT8_ARRAY => {
                    let b = inline(r)?;
                    TagValue::FloatArray(
                        b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8"))).collect(),
                    )
                }
                TY_ANSI_STRING => {
                    TagValue::Text(String::from_utf8_lossy(&inline(r)?).trim_end_matches('\0').to_string())
                }
                TY_WIDE_STRING => {
                    let b = inline(r)?;
                    let u: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
                    TagValue::Text(String::from_utf16_lossy(&u).trim_end_matches('\0').to_string())
                }
                TY_BLOB => TagValue::Blob(inline(r)?),
                other => return Err(r.format(at + 36, format!("tag {name}: unknown tag type {other:#010x}"))),
            };
            let end = name == "Header_End";
            r.tags.push(Tag { name, index, value });
            if end {
                break;
            }
        }
        Ok(())
    }

    fn format(&self, offset: u64, reason: String) -> RecordingError {
        RecordingError::Format { path: self.path.clone(), offset, reason }
    }

    fn bytes(&mut self, n: usize, what: &str) -> Result<Vec<u8>, RecordingError> {
        let mut b = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.reader.read(&mut b[got..]) {
                Ok(0) => {
                    return Err(RecordingError::Truncated {
                        path: self.path.clone(),
                        offset: self.offset + got as u64,
                        what: what.to_string(),
                    })
                }
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => return Err(RecordingError::Io { path: self.path.clone(), source }),
            }
        }
        self.offset += n as u64;
        Ok(b)
    }

    /// A header tag by name (the first with that name).
    pub fn tag(&self, name: &str) -> Option<&TagValue> {
        self.tags.iter().find(|t| t.name == name).map(|t| &t.value)
    }

    fn int(&self, name: &str) -> Result<i64, RecordingError> {
        match self.tag(name) {
            Some(TagValue::Int(v)) => Ok(*v),
            _ => Err(self.format(self.offset, format!("header lacks the integer tag {name}"))),
        }
    }

    fn float(&self, name: &str) -> Result<f64, RecordingError> {
        match self.tag(name) {
            Some(TagValue::Float(v)) if v.is_finite() && *v > 0.0 => Ok(*v),
            _ => Err(self.format(self.offset, format!("header lacks a positive float tag {name}"))),
        }
    }

    /// Appends up to `max` events (one per record; markers and overflows included) to
    /// `out`; returns how many records were read (0 at the end).
    pub fn read_events(&mut self, out: &mut Vec<Event>, max: usize) -> Result<usize, RecordingError> {
        self.read_events_raw(out, None, max)
    }

    /// As [`read_events`](Self::read_events); for T3 files also each event's sync count
    /// (overflows included) and micro-time code into `raw` (markers and overflows: code 0),
    /// what Photon-HDF5 keeps as `timestamps` and `nanotimes`.
    pub fn read_events_raw(
        &mut self,
        out: &mut Vec<Event>,
        mut raw: Option<&mut Vec<(u64, u16)>>,
        max: usize,
    ) -> Result<usize, RecordingError> {
        let mut buf = [0u8; 4];
        let mut n = 0;
        let tail = self.file_len.saturating_sub(self.offset);
        if self.read == self.records && n < max && (1..4).contains(&tail) {
            self.trailing = tail;
        } else if self.read == self.records && n < max && self.offset < self.file_len {
            // More bytes than the header announces records: a header that lies (or records
            // appended), never a silent cut.
            return Err(self.format(
                self.offset,
                format!(
                    "the header announces {} records, but {} more bytes follow them (TTResult_NumberOfRecords is \
                     wrong, or the file was appended to)",
                    self.records,
                    self.file_len - self.offset
                ),
            ));
        }
        while n < max && self.read < self.records {
            match self.reader.read_exact(&mut buf) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(RecordingError::Truncated {
                        path: self.path.clone(),
                        offset: self.offset,
                        what: format!(
                            "record {} of the {} the header announces (the file ends at byte {})",
                            self.read, self.records, self.file_len
                        ),
                    })
                }
                Err(source) => return Err(RecordingError::Io { path: self.path.clone(), source }),
            }
            self.offset += 4;
            self.read += 1;
            n += 1;
            let e = self.record(u32::from_le_bytes(buf));
            if let Some(end) = self.end_ps.filter(|end| e.time_ps > *end) {
                return Err(self.format(
                    self.offset - 4,
                    format!(
                        "record {} is dated {:.6} s, after the end of the acquisition the header declares \
                         ({:.6} s with margin): a misread record type or a damaged file",
                        self.read - 1,
                        e.time_ps as f64 * 1e-12,
                        end as f64 * 1e-12
                    ),
                ));
            }
            out.push(e);
            if let Some(r) = raw.as_deref_mut() {
                r.push(self.last_t3);
            }
        }
        Ok(n)
    }

    fn t2(&self, units: u64, channel: u32, kind: EventKind) -> Event {
        Event { time_ps: time1_ps(units, self.exact.0), channel, kind }
    }

    fn t3(&mut self, nsync: u64, dtime: u32, channel: u32, kind: EventKind) -> Event {
        self.last_t3 = (nsync, dtime as u16);
        Event { time_ps: time_ps(nsync, self.exact.0, u64::from(dtime), self.exact.1), channel, kind }
    }

    /// Decodes one record (Read_PTU.py's ReadPT2/ReadPT3/ReadHT2/ReadHT3).
    fn record(&mut self, r: u32) -> Event {
        match self.record_type {
            RecordType::PicoHarpT2 => {
                const WRAP: u64 = 210_698_240;
                let (chan, time) = (r >> 28, u64::from(r & 0x0FFF_FFFF));
                if chan == 0xF {
                    let markers = r & 0xF;
                    if markers == 0 {
                        self.overflow += WRAP;
                        return self.t2(self.overflow, 0, EventKind::Overflow);
                    }
                    return self.t2(self.overflow + time, markers, EventKind::Marker);
                }
                self.t2(self.overflow + time, chan + 1, EventKind::Tag)
            }
            RecordType::PicoHarpT3 => {
                const WRAP: u64 = 65_536;
                let (nsync, dtime, chan) = (u64::from(r & 0xFFFF), (r >> 16) & 0xFFF, r >> 28);
                if chan == 0xF {
                    if dtime == 0 {
                        self.overflow += WRAP;
                        return self.t3(self.overflow, 0, 0, EventKind::Overflow);
                    }
                    return self.t3(self.overflow + nsync, 0, dtime, EventKind::Marker);
                }
                // Channels 1-4 are the inputs; 0 (and 5-14) do not occur in PicoHarp T3 data
                // (Read_PTU.py calls them illegal): an error record, not a detection.
                let kind = if (1..=4).contains(&chan) { EventKind::Tag } else { EventKind::Error };
                self.t3(self.overflow + nsync, dtime, chan, kind)
            }
            RecordType::HydraHarpV1T2 | RecordType::HydraHarpV2T2 => {
                let v1 = self.record_type == RecordType::HydraHarpV1T2;
                let (special, chan, time) = (r >> 31, (r >> 25) & 0x3F, u64::from(r & 0x01FF_FFFF));
                if special == 1 {
                    if chan == 0x3F {
                        self.overflow += if v1 {
                            33_552_000
                        } else if time == 0 {
                            1 << 25
                        } else {
                            time << 25
                        };
                        return self.t2(self.overflow, 0, EventKind::Overflow);
                    }
                    if (1..=15).contains(&chan) {
                        return self.t2(self.overflow + time, chan, EventKind::Marker);
                    }
                    if chan == 0 {
                        return self.t2(self.overflow + time, 0, EventKind::Sync);
                    }
                    return self.t2(self.overflow + time, chan, EventKind::Error);
                }
                self.t2(self.overflow + time, chan + 1, EventKind::Tag)
            }
            RecordType::HydraHarpV1T3 | RecordType::HydraHarpV2T3 => {
                let v1 = self.record_type == RecordType::HydraHarpV1T3;
                let (special, chan, dtime, nsync) =
                    (r >> 31, (r >> 25) & 0x3F, (r >> 10) & 0x7FFF, u64::from(r & 0x3FF));
                if special == 1 {
                    if chan == 0x3F {
                        self.overflow += if v1 || nsync == 0 { 1024 } else { 1024 * nsync };
                        return self.t3(self.overflow, 0, 0, EventKind::Overflow);
                    }
                    if (1..=15).contains(&chan) {
                        return self.t3(self.overflow + nsync, 0, chan, EventKind::Marker);
                    }
                    return self.t3(self.overflow + nsync, dtime, chan, EventKind::Error);
                }
                self.t3(self.overflow + nsync, dtime, chan + 1, EventKind::Tag)
            }
            RecordType::TimeHarp200T3 => {
                // PicoQuant's t3rdemo: TimeTag 16 bits, Data 12, Route 2, Valid 1, Reserved 1.
                const WRAP: u64 = 65_536;
                let (tag, data, route, valid) = (u64::from(r & 0xFFFF), (r >> 16) & 0xFFF, (r >> 28) & 3, r >> 30 & 1);
                if valid == 1 {
                    return self.t3(self.overflow + tag, data, route + 1, EventKind::Tag);
                }
                if data & 0x800 != 0 {
                    self.overflow += WRAP;
                    return self.t3(self.overflow, 0, 0, EventKind::Overflow);
                }
                // A special record that is no overflow carries marker bits (1-7); none is
                // no record PicoQuant defines.
                let kind = if data & 7 != 0 { EventKind::Marker } else { EventKind::Error };
                self.t3(self.overflow + tag, 0, data & 7, kind)
            }
        }
    }
}
