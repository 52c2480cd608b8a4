//! Importers of other instruments' files, each streaming into [`Event`]s.

use std::path::Path;

use crate::error::RecordingError;
use crate::event::Event;

pub mod exact_time;
pub mod photon_hdf5_in;
pub mod ptu;
pub mod timestamp7;

/// Any file qkdbench reads, as a stream of normalised events.
#[derive(Debug)]
pub enum EventSource {
    /// A PicoQuant PTU file.
    Ptu(Box<ptu::PtuReader>),
    /// An S-Fifteen timestamp7 file.
    Timestamp7(timestamp7::Timestamp7Reader),
    /// A qkdbench recording.
    Recording(Box<crate::reader::Recording>),
    /// A Photon-HDF5 file.
    PhotonHdf5(Box<photon_hdf5_in::PhotonHdf5Reader>),
}

impl EventSource {
    /// What the file is, for the `source` of a converted file: format and instrument.
    pub fn describe(&self) -> String {
        match self {
            EventSource::Ptu(r) => format!("PicoQuant {}, {}", r.container, r.instrument),
            EventSource::Timestamp7(r) => format!("S-Fifteen timestamp7 {}", r.layout().name()),
            EventSource::Recording(_) => "qkdbench recording".into(),
            EventSource::PhotonHdf5(_) => "Photon-HDF5".into(),
        }
    }

    /// The source's pulse (laser repetition) rate, Hz, only where the file has one: a T3
    /// PicoQuant file's sync period (its global resolution; a TimeHarp 200 `.t3r`: the sync
    /// rate it measured, its time tags count a macro clock), a recording's `pulse_rate_hz`.
    /// A T2 file's `TTResult_SyncRate` is the count rate of input 0, not a laser's rate.
    pub fn pulse_rate_hz(&self) -> Option<f64> {
        match self {
            EventSource::Ptu(r) => r.laser_rate_hz,
            EventSource::Timestamp7(_) => None,
            EventSource::Recording(r) => r.info.pulse_rate_hz,
            EventSource::PhotonHdf5(r) => r.laser_rate_hz,
        }
    }

    /// Records (PTU records, timestamp7 words, recording tags) the file holds, for progress.
    pub fn records_total(&self) -> u64 {
        match self {
            EventSource::Ptu(r) => r.records,
            EventSource::Timestamp7(r) => r.records(),
            EventSource::Recording(r) => r.tags() as u64,
            EventSource::PhotonHdf5(r) => r.photons(),
        }
    }

    /// What is worth saying about the file that is not an error (bytes ignored at its end).
    pub fn note(&self) -> Option<String> {
        match self {
            EventSource::Ptu(r) => r.note(),
            _ => None,
        }
    }

    /// The next up to `max` tags with their loss events as a recording holds them, for the
    /// sources that are a recording's tag stream (a recording, a Photon-HDF5 file); None for
    /// the others (their records are read as events).
    pub fn read_batch(
        &mut self,
        out: &mut drivers::stream::TagBatch,
        max: usize,
    ) -> Option<Result<usize, RecordingError>> {
        match self {
            EventSource::Recording(r) => Some(r.read_batch(out, max)),
            EventSource::PhotonHdf5(r) => Some(r.read_batch(out, max)),
            _ => None,
        }
    }

    /// Whether the source is a recording's tag stream, read with [`read_batch`](Self::read_batch).
    pub fn is_tag_stream(&self) -> bool {
        matches!(self, EventSource::Recording(_) | EventSource::PhotonHdf5(_))
    }

    /// The recorded run the source carries: a recording's, or a Photon-HDF5 export's
    /// (`/user/qkdbench`); None for other files.
    pub fn run(&self) -> Result<Option<crate::reader::RecordedRun>, RecordingError> {
        match self {
            EventSource::Recording(r) => r.run().map(Some),
            EventSource::PhotonHdf5(r) => Ok(r.run().cloned()),
            _ => Ok(None),
        }
    }

    /// Appends the events of up to `max` records; returns the records read (0 at the end).
    pub fn read_events(&mut self, out: &mut Vec<Event>, max: usize) -> Result<usize, RecordingError> {
        match self {
            EventSource::Ptu(r) => r.read_events(out, max),
            EventSource::Timestamp7(r) => r.read_events(out, max),
            EventSource::Recording(r) => r.read_events(out, max),
            EventSource::PhotonHdf5(r) => r.read_events(out, max),
        }
    }
}

/// Files only: a FIFO would block (or be read twice, once for its magic), a device such as
/// /dev/zero never ends.
pub(crate) fn regular_file(path: &Path) -> Result<(), RecordingError> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => Err(RecordingError::Refused {
            path: path.into(),
            reason: "not a regular file (a folder, a FIFO or a device): qkdbench reads files".into(),
        }),
        Err(source) => Err(RecordingError::Io { path: path.into(), source }),
        Ok(_) => Ok(()),
    }
}

/// A format `dump --format` and `convert --format` can force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A qkdbench HDF5 recording.
    Recording,
    /// A PicoQuant PTU file, or a legacy .ht2/.ht3/.pt2/.pt3/.t3r one.
    Ptu,
    /// timestamp7 in the given layout.
    Timestamp7(timestamp7::Layout),
}

/// Opens `path` by its content: the HDF5 or PTU magic, else timestamp7 (text or binary,
/// the a1 word order from the data). The name is never enough on its own.
pub fn open(path: &Path) -> Result<EventSource, RecordingError> {
    open_as(path, None)
}

/// Opens `path` as `format`, or (None) as its content shows.
pub fn open_as(path: &Path, format: Option<Format>) -> Result<EventSource, RecordingError> {
    regular_file(path)?;
    match format {
        Some(Format::Recording) => return Ok(EventSource::Recording(Box::new(crate::reader::Recording::open(path)?))),
        Some(Format::Ptu) => return Ok(EventSource::Ptu(Box::new(ptu::PtuReader::open(path)?))),
        Some(Format::Timestamp7(l)) => {
            return Ok(EventSource::Timestamp7(timestamp7::Timestamp7Reader::open_as(path, Some(l))?))
        }
        None => {}
    }
    let mut magic = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
        .map_err(|source| RecordingError::Io { path: path.into(), source })?;
    if n == 8 && &magic == b"\x89HDF\r\n\x1a\n" {
        let photon = hdf5::File::open(path).is_ok_and(|f| photon_hdf5_in::PhotonHdf5Reader::is_photon_hdf5(&f));
        if photon {
            return Ok(EventSource::PhotonHdf5(Box::new(photon_hdf5_in::PhotonHdf5Reader::open(path)?)));
        }
        return Ok(EventSource::Recording(Box::new(crate::reader::Recording::open(path)?)));
    }
    // PQTTTR is a PTU file; another "PQ" magic is PicoQuant's too (a damaged or other
    // PicoQuant file): the PTU reader says what is wrong with it. An instrument's name
    // (HydraHarp, PicoHarp 300, TimeHarp 200) starts PicoQuant's older files.
    let mut ident = Vec::with_capacity(16);
    let legacy = std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 16), &mut ident))
        .is_ok_and(|_| ptu::is_legacy_ident(&ident));
    if legacy || (n >= 2 && &magic[..2] == b"PQ") {
        return Ok(EventSource::Ptu(Box::new(ptu::PtuReader::open(path)?)));
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match timestamp7::Timestamp7Reader::open(path) {
        Ok(r) => Ok(EventSource::Timestamp7(r)),
        // Named like a PTU file, without its magic, and not timestamp7 data either: the
        // PTU reader says what is wrong (the name only chooses the message).
        Err(_) if ext == "ptu" => Ok(EventSource::Ptu(Box::new(ptu::PtuReader::open(path)?))),
        Err(RecordingError::Format { offset, reason, .. }) => Err(RecordingError::Unsupported {
            path: path.into(),
            reason: format!(
                "neither a qkdbench HDF5 recording, a PicoQuant file (PTU, or .ht2/.ht3/.pt2/.pt3/.t3r) nor timestamp7 data \
                 (a0, a1, a2): as timestamp7, at byte {offset}: {reason}"
            ),
        }),
        Err(e) => Err(e),
    }
}
