//! S-Fifteen Instruments timestamp7 files, in the three layouts fpfind reads
//! (`parse_timestamps.py`): "a1" binary, each event two little-endian u32 words, low word
//! first (the legacy order swaps them); "a0" text, one 32-bit word per line in hex, low then
//! high; "a2" text, one 64-bit word per line in hex (high << 32 | low). time = (high << 22) +
//! (low >> 10) in units of 1/256 ns; `low & 0xF` holds the detector bits (several set:
//! simultaneous clicks; bit k is channel k+1); `low & 0x10` flags a rollover dummy.
//!
//! The layout comes from the content, never from the name alone: text or binary from the
//! bytes, and the a1 word order from the data, because the wrong order is plainly wrong
//! (times jump back and forth by hours). The name (a stem ending in `X`: legacy) only breaks
//! a tie. A stream whose times run backwards by more than [`MAX_DISORDER_PS`] is refused:
//! that is not timestamp7 data in this layout.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::RecordingError;
use crate::event::{Event, EventKind};

/// The largest backwards step between events that real files show, with a margin: events
/// are not strictly time-ordered across channels (fpfind's rollover test file has a channel
/// delayed by 97 µs against another). 1 ms.
pub const MAX_DISORDER_PS: i64 = 1_000_000_000;

/// Events looked at to decide the word order of an a1 file.
const SNIFF_EVENTS: usize = 65_536;

/// A layout of timestamp7 data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Text, one 32-bit hex word per line: low, high.
    A0,
    /// Binary, two little-endian u32 per event; `legacy`: high word first.
    A1 {
        /// The words are swapped (high first).
        legacy: bool,
    },
    /// Text, one 64-bit hex word per line.
    A2,
}

impl Layout {
    /// As fpfind and the docs name it.
    pub fn name(self) -> &'static str {
        match self {
            Layout::A0 => "a0 (text, 32-bit words)",
            Layout::A1 { legacy: false } => "a1 (binary)",
            Layout::A1 { legacy: true } => "a1 (binary, legacy word order)",
            Layout::A2 => "a2 (text, 64-bit words)",
        }
    }
}

/// An event's (low, high) words and the byte offset where it starts.
type Words = ((u32, u32), u64);

/// A timestamp7 file being read.
#[derive(Debug)]
pub struct Timestamp7Reader {
    path: PathBuf,
    reader: BufReader<File>,
    layout: Layout,
    /// Bytes read so far (a1), or lines read so far (a0, a2).
    offset: u64,
    len: u64,
    /// The latest time seen, ps (for the disorder check).
    latest_ps: i64,
    line: String,
}

fn bad(path: &Path, offset: u64, reason: String) -> RecordingError {
    RecordingError::Format { path: path.into(), offset, reason }
}

/// (low, high) words to the time in ps: units of 1/256 ns = 3.90625 ps exactly, so
/// units * 1000 / 256, rounded to the nearest, ties to even (the rule of every importer).
fn time_ps(low: u32, high: u32) -> i64 {
    let units = (u64::from(high) << 22) + u64::from(low >> 10);
    let (q, r) = ((units as u128 * 1000) / 256, (units as u128 * 1000) % 256);
    (q + u128::from(r > 128 || (r == 128 && q & 1 == 1))) as i64
}

/// Backward steps beyond the disorder bound among events given as (low, high).
fn backward_steps(events: &[(u32, u32)]) -> (usize, Option<usize>) {
    let (mut latest, mut count, mut first) = (i64::MIN, 0, None);
    for (i, &(lo, hi)) in events.iter().enumerate() {
        let t = time_ps(lo, hi);
        if t < latest.saturating_sub(MAX_DISORDER_PS) {
            count += 1;
            first.get_or_insert(i);
        }
        latest = latest.max(t);
    }
    (count, first)
}

/// Whether `bytes` look like hex text: hex digits and line ends only.
fn is_hex_text(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_hexdigit() || matches!(b, b'\n' | b'\r'))
}

impl Timestamp7Reader {
    /// Opens a file, deciding its layout from its content (the name breaks a tie only).
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        Self::open_as(path, None)
    }

    /// Opens a file in the given layout, or (None) the layout its content shows.
    pub fn open_as(path: &Path, forced: Option<Layout>) -> Result<Self, RecordingError> {
        let io = |source| RecordingError::Io { path: path.into(), source };
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = vec![0u8; (8 * SNIFF_EVENTS).min(len as usize)];
        file.read_exact(&mut head).map_err(io)?;
        let layout = match forced {
            Some(l) => l,
            None => Self::detect(path, &head, len)?,
        };
        let file = File::open(path).map_err(io)?;
        Ok(Timestamp7Reader {
            path: path.into(),
            reader: BufReader::with_capacity(1 << 20, file),
            layout,
            offset: 0,
            len,
            latest_ps: i64::MIN,
            line: String::new(),
        })
    }

    fn detect(path: &Path, head: &[u8], len: u64) -> Result<Layout, RecordingError> {
        let first = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
        let first_line_hex = head.len() > first.len() && is_hex_text(first);
        if is_hex_text(head) || first_line_hex {
            // Text: the first line's length says which; a bad line further on is reported
            // by the reader at its offset, after the good lines.
            let first = first.strip_suffix(b"\r").unwrap_or(first);
            return match first.len() {
                8 => Ok(Layout::A0),
                16 => Ok(Layout::A2),
                n => Err(bad(path, 0, format!("hex text with {n}-digit lines: timestamp7 text has 8 (a0) or 16 (a2)"))),
            };
        }
        if len < 8 {
            return Err(bad(path, 0, format!("{len} bytes: shorter than one timestamp7 a1 event, and not hex text")));
        }
        // Printable text that is not hex is no timestamp7 layout (binary a1 words are almost
        // never all printable).
        if head.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) {
            return Err(bad(path, 0, "text, but not lines of 8 (a0) or 16 (a2) hex digits".into()));
        }
        // Whole events only: a file cut inside its last event (a crashed acquisition) is
        // still a1, and the reader says where it ends.
        let head = &head[..head.len() / 8 * 8];
        let words: Vec<u32> = head.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4"))).collect();
        let normal: Vec<(u32, u32)> = words.chunks_exact(2).map(|w| (w[0], w[1])).collect();
        let legacy: Vec<(u32, u32)> = words.chunks_exact(2).map(|w| (w[1], w[0])).collect();
        let (bn, first_n) = backward_steps(&normal);
        let (bl, first_l) = backward_steps(&legacy);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let by_name = name.strip_suffix(".ts").unwrap_or(name).ends_with('X');
        // Fewer backward jumps wins; then the shorter span of times (the wrong order spreads
        // a few events over hours, the right one over microseconds); then more detections;
        // then the name.
        let span = |ev: &[(u32, u32)]| {
            let t: Vec<i64> = ev.iter().map(|&(lo, hi)| time_ps(lo, hi)).collect();
            t.iter().max().copied().unwrap_or(0) - t.iter().min().copied().unwrap_or(0)
        };
        // (A lone event has no span: then the order in which it is a detection rather
        // than a rollover dummy or a bit-less word.)
        let not_detections = |ev: &[(u32, u32)]| ev.iter().filter(|&&(lo, _)| lo & 0x10 != 0 || lo & 0xF == 0).count();
        let legacy_order = match bn
            .cmp(&bl)
            .then(span(&normal).cmp(&span(&legacy)))
            .then(not_detections(&normal).cmp(&not_detections(&legacy)))
        {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => by_name,
        };
        let (steps, first) = if legacy_order { (bl, first_l) } else { (bn, first_n) };
        // Real files show none; a few in 65,536 could be a glitch, more is not this layout.
        if steps * 1000 > normal.len() {
            let at = first.unwrap_or(0) as u64 * 8;
            return Err(bad(
                path,
                at,
                format!(
                    "fits no timestamp7 layout: in either a1 word order, times run backwards by more than 1 ms \
                     ({bn} times in the normal order, {bl} in the legacy order, in the first {} events); the first \
                     such event in the better order is at this offset",
                    normal.len()
                ),
            ));
        }
        if !(if legacy_order { &legacy } else { &normal }).iter().any(|&(lo, _)| lo & 0x1F != 0) {
            return Err(bad(path, 0, "no event has a detector bit or the rollover flag: not timestamp7 data".into()));
        }
        Ok(Layout::A1 { legacy: legacy_order })
    }

    /// The layout being read.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Events in the file (a1: exactly; text: estimated from the size), for progress.
    pub fn records(&self) -> u64 {
        match self.layout {
            Layout::A1 { .. } => self.len / 8,
            Layout::A0 => self.len / 18,
            Layout::A2 => self.len / 17,
        }
    }

    /// Whether the words are in the legacy (swapped) order.
    pub fn legacy(&self) -> bool {
        matches!(self.layout, Layout::A1 { legacy: true })
    }

    /// The next hex line as a number, or None at the end. `offset` counts lines.
    fn hex_line(&mut self, digits: usize) -> Result<Option<u64>, RecordingError> {
        self.line.clear();
        let n = self.reader.read_line(&mut self.line).map_err(|source| match source.kind() {
            std::io::ErrorKind::InvalidData => {
                bad(&self.path, self.offset, "not text (bytes that are not UTF-8): not a0 or a2 data".into())
            }
            _ => RecordingError::Io { path: self.path.clone(), source },
        })?;
        if n == 0 {
            return Ok(None);
        }
        let at = self.offset;
        self.offset += n as u64;
        let text = self.line.trim_end_matches(['\n', '\r']);
        if text.len() != digits {
            return Err(bad(&self.path, at, format!("line {text:?}: expected {digits} hex digits")));
        }
        u64::from_str_radix(text, 16)
            .map(Some)
            .map_err(|_| bad(&self.path, at, format!("line {text:?}: not hexadecimal")))
    }

    /// The next event's (low, high) words and its byte offset, or None at the end.
    fn next_words(&mut self) -> Result<Option<Words>, RecordingError> {
        let at = self.offset;
        match self.layout {
            Layout::A1 { legacy } => {
                if self.offset >= self.len {
                    return Ok(None);
                }
                if self.len - self.offset < 8 {
                    return Err(RecordingError::Truncated {
                        path: self.path.clone(),
                        offset: self.offset,
                        what: format!("an 8-byte event ({} bytes left)", self.len - self.offset),
                    });
                }
                let mut b = [0u8; 8];
                self.reader
                    .read_exact(&mut b)
                    .map_err(|source| RecordingError::Io { path: self.path.clone(), source })?;
                self.offset += 8;
                let w0 = u32::from_le_bytes(b[..4].try_into().expect("4"));
                let w1 = u32::from_le_bytes(b[4..].try_into().expect("4"));
                Ok(Some((if legacy { (w1, w0) } else { (w0, w1) }, at)))
            }
            Layout::A0 => {
                let Some(lo) = self.hex_line(8)? else { return Ok(None) };
                let Some(hi) = self.hex_line(8)? else {
                    return Err(RecordingError::Truncated {
                        path: self.path.clone(),
                        offset: at,
                        what: "an a0 event: its high word's line is missing".into(),
                    });
                };
                Ok(Some(((lo as u32, hi as u32), at)))
            }
            Layout::A2 => Ok(self.hex_line(16)?.map(|w| (((w & 0xFFFF_FFFF) as u32, (w >> 32) as u32), at))),
        }
    }

    /// Appends the events of up to `max` records to `out` (one per detector bit set; one
    /// `overflow` for a rollover dummy); returns how many records were read. A time that
    /// runs backwards by more than [`MAX_DISORDER_PS`] is an error naming its offset.
    pub fn read_events(&mut self, out: &mut Vec<Event>, max: usize) -> Result<usize, RecordingError> {
        let mut n = 0;
        while n < max {
            let Some(((low, high), at)) = self.next_words()? else { break };
            n += 1;
            let time_ps = time_ps(low, high);
            if time_ps < self.latest_ps.saturating_sub(MAX_DISORDER_PS) {
                return Err(bad(
                    &self.path,
                    at,
                    format!(
                        "an event {:.6} s before the latest one: more than the 1 ms disorder timestamp7 data shows \
                         (read as {}; `--format` forces another layout)",
                        (self.latest_ps - time_ps) as f64 * 1e-12,
                        self.layout.name()
                    ),
                ));
            }
            self.latest_ps = self.latest_ps.max(time_ps);
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
