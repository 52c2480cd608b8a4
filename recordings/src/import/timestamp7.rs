//! S-Fifteen Instruments timestamp7 "a1" binary files (as in fpfind's test data): each event
//! is two little-endian u32 words, low word first (a file name ending in `X` stores them
//! swapped, the legacy order). time = (high << 22) + (low >> 10) in units of 1/256 ns;
//! `low & 0xF` holds the detector bits (several set: simultaneous clicks; bit k is channel
//! k+1); `low & 0x10` flags a rollover dummy, not a detection.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::RecordingError;
use crate::event::{Event, EventKind};

/// A timestamp7 file being read.
#[derive(Debug)]
pub struct Timestamp7Reader {
    path: PathBuf,
    reader: BufReader<File>,
    legacy: bool,
    offset: u64,
    len: u64,
}

impl Timestamp7Reader {
    /// Opens a file; the word order follows the name (a stem ending in `X`: legacy).
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let file = File::open(path).map_err(|source| RecordingError::Io { path: path.into(), source })?;
        let len = file.metadata().map_err(|source| RecordingError::Io { path: path.into(), source })?.len();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let stem = name.strip_suffix(".ts").unwrap_or(name);
        Ok(Timestamp7Reader {
            path: path.into(),
            reader: BufReader::with_capacity(1 << 20, file),
            legacy: stem.ends_with('X'),
            offset: 0,
            len,
        })
    }

    /// 64-bit records in the file.
    pub fn records(&self) -> u64 {
        self.len / 8
    }

    /// Whether the words are in the legacy (swapped) order.
    pub fn legacy(&self) -> bool {
        self.legacy
    }

    /// Appends the events of up to `max` records to `out` (one per detector bit set; one
    /// `overflow` for a rollover dummy); returns how many records were read.
    pub fn read_events(&mut self, out: &mut Vec<Event>, max: usize) -> Result<usize, RecordingError> {
        let mut b = [0u8; 8];
        let mut n = 0;
        while n < max && self.offset < self.len {
            if self.len - self.offset < 8 {
                return Err(RecordingError::Truncated {
                    path: self.path.clone(),
                    offset: self.offset,
                    what: format!("an 8-byte event ({} bytes left)", self.len - self.offset),
                });
            }
            self.reader.read_exact(&mut b).map_err(|source| RecordingError::Io { path: self.path.clone(), source })?;
            self.offset += 8;
            n += 1;
            let (w0, w1) =
                (u32::from_le_bytes(b[..4].try_into().expect("4")), u32::from_le_bytes(b[4..].try_into().expect("4")));
            let (low, high) = if self.legacy { (w1, w0) } else { (w0, w1) };
            let units = (u64::from(high) << 22) + u64::from(low >> 10);
            // 1/256 ns = 3.90625 ps exactly: units * 1000 / 256, rounded half up.
            let time_ps = ((units as u128 * 1000 + 128) / 256) as i64;
            if low & 0x10 != 0 {
                out.push(Event { time_ps, channel: 0, kind: EventKind::Overflow });
                continue;
            }
            let bits = low & 0xF;
            if bits == 0 {
                out.push(Event { time_ps, channel: 0, kind: EventKind::Error });
            }
            for k in 0..4 {
                if bits & (1 << k) != 0 {
                    out.push(Event { time_ps, channel: k + 1, kind: EventKind::Tag });
                }
            }
        }
        Ok(n)
    }
}
