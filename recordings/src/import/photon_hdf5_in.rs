//! Photon-HDF5 files as input (qkdbench's own export and phconvert's): `/photon_data`
//! timestamps times `timestamps_unit`, plus nanotimes times `tcspc_unit` where the file has
//! them (TCSPC), in picoseconds by the one rounding rule (exact, nearest, ties to even);
//! detector IDs as qkdbench numbers channels (docs/recording-schema.md). What qkdbench puts
//! in `/user` comes back too: the markers, in their original place among the photons, and
//! for an export of a recording its loss events and run (so that it converts back whole
//! and `replay` can sift it).

use std::path::{Path, PathBuf};

use hdf5::{Dataset, File};

use drivers::stream::TagBatch;

use super::exact_time::{time_ps, ExactPs};
use crate::error::RecordingError;
use crate::event::Event;
use crate::photon_hdf5::user::{self, UserData};
use crate::reader::RecordedRun;

/// A Photon-HDF5 file being read.
#[derive(Debug)]
pub struct PhotonHdf5Reader {
    path: PathBuf,
    timestamps: Dataset,
    detectors: Option<Dataset>,
    nanotimes: Option<Dataset>,
    unit: ExactPs,
    tcspc: ExactPs,
    len: usize,
    pos: usize,
    /// The laser's repetition rate, Hz, where the file gives one.
    pub laser_rate_hz: Option<f64>,
    /// The root `run_status` (qkdbench's exports: `complete`, `truncated: ...`), if any.
    pub run_status: Option<String>,
    /// Markers and, for an export of a recording, its loss events and run.
    user: UserData,
    next_marker: usize,
    next_event: usize,
    /// Photons and markers handed out so far (the tag index of a recording).
    emitted: u64,
}

fn unsupported(path: &Path, reason: String) -> RecordingError {
    RecordingError::Unsupported { path: path.into(), reason }
}

impl PhotonHdf5Reader {
    /// Whether `file` is Photon-HDF5 (it has a `/photon_data` group).
    pub fn is_photon_hdf5(file: &File) -> bool {
        file.group("photon_data").is_ok()
    }

    /// Opens a Photon-HDF5 file (single spot: `/photon_data`).
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let h5 = |what: &str| {
            let what = what.to_string();
            move |e: hdf5::Error| RecordingError::Hdf5 { path: path.into(), reason: format!("{what}: {e}") }
        };
        let file = File::open(path).map_err(h5("opening"))?;
        let pd = file.group("photon_data").map_err(|_| unsupported(path, "no /photon_data group".into()))?;
        let timestamps = pd.dataset("timestamps").map_err(h5("/photon_data/timestamps"))?;
        // A single-detector file may leave `detectors` out (the spec makes it optional then):
        // every photon is detector 0.
        let detectors = pd.dataset("detectors").ok();
        let len = timestamps.size();
        if let Some(detectors) = detectors.as_ref().filter(|d| d.size() != len) {
            return Err(unsupported(
                path,
                format!("/photon_data: {len} timestamps but {} detectors", detectors.size()),
            ));
        }
        let seconds = |name: &str| -> Result<f64, RecordingError> {
            let v = file
                .dataset(name)
                .and_then(|d| d.read_scalar::<f64>())
                .map_err(|_| unsupported(path, format!("no {name}")))?;
            if !(v.is_finite() && (1e-15..=1e-3).contains(&v)) {
                return Err(unsupported(path, format!("{name} is {v:e} s, outside 1e-15..=1e-3 s")));
            }
            Ok(v)
        };
        // A unit of 1e-12 s means whole picoseconds (qkdbench's export, and the usual
        // convention): taken as exactly 1 ps, not as the float64 nearest to 1e-12, whose
        // excess of 3e-17 relative moves times of 1e16 ps by a picosecond.
        let u = seconds("photon_data/timestamps_specs/timestamps_unit")?;
        let unit = if u == 1e-12 { ExactPs::ONE_PS } else { ExactPs::from_seconds(u) };
        let nanotimes = pd.dataset("nanotimes").ok();
        let tcspc = match &nanotimes {
            Some(n) if n.size() != len => {
                return Err(unsupported(path, format!("/photon_data: {len} timestamps but {} nanotimes", n.size())))
            }
            Some(_) => ExactPs::from_seconds(seconds("photon_data/nanotimes_specs/tcspc_unit")?),
            None => ExactPs::from_seconds(1e-12),
        };
        let laser_rate_hz = file
            .dataset("photon_data/measurement_specs/laser_repetition_rate")
            .and_then(|d| d.read_scalar::<f64>())
            .ok()
            .filter(|r| r.is_finite() && *r > 0.0);
        let user = user::read(path, &file)?;
        let run_status = file.attr("run_status").ok().and_then(|a| {
            a.read_scalar::<hdf5::types::VarLenUnicode>()
                .map(|v| v.as_str().to_string())
                .or_else(|_| {
                    a.read_scalar::<hdf5::types::FixedAscii<1024>>()
                        .map(|v| v.as_str().trim_end_matches('\0').to_string())
                })
                .ok()
        });
        Ok(PhotonHdf5Reader {
            run_status,
            path: path.into(),
            timestamps,
            detectors,
            nanotimes,
            unit,
            tcspc,
            len,
            pos: 0,
            laser_rate_hz,
            user,
            next_marker: 0,
            next_event: 0,
            emitted: 0,
        })
    }

    /// The run of an exported qkdbench recording (`/user/qkdbench`), if the file has one.
    pub fn run(&self) -> Option<&RecordedRun> {
        self.user.run.as_ref()
    }

    /// Marker records in `/user/markers`.
    pub fn markers(&self) -> usize {
        self.user.markers.len()
    }

    /// Photons in the file.
    pub fn photons(&self) -> u64 {
        self.len as u64
    }

    /// Appends up to `max` photons, with the markers and loss events among them, as a
    /// recording's tags (channels as docs/recording-schema.md numbers them, markers 128 +
    /// bits); returns the photons read (0 at the end, once the markers and events after the
    /// last photon are out too).
    pub fn read_batch(&mut self, out: &mut TagBatch, max: usize) -> Result<usize, RecordingError> {
        let end = (self.pos + max).min(self.len);
        let h5 = |what: &'static str| {
            let path = self.path.clone();
            move |e: hdf5::Error| RecordingError::Hdf5 { path, reason: format!("{what}: {e}") }
        };
        let (t, d, n) = if end > self.pos {
            let t = self.timestamps.read_slice_1d::<i64, _>(self.pos..end).map_err(h5("/photon_data/timestamps"))?;
            let d = match &self.detectors {
                Some(d) => d.read_slice_1d::<u8, _>(self.pos..end).map_err(h5("/photon_data/detectors"))?.to_vec(),
                None => vec![0; end - self.pos],
            };
            let n = match &self.nanotimes {
                Some(n) => Some(n.read_slice_1d::<u16, _>(self.pos..end).map_err(h5("/photon_data/nanotimes"))?),
                None => None,
            };
            (t.to_vec(), d, n.map(|n| n.to_vec()))
        } else {
            (Vec::new(), Vec::new(), None)
        };
        let path = self.path.clone();
        let unsigned = |row: usize, v: i64, what: &str| {
            u64::try_from(v).map_err(|_| RecordingError::Format {
                path: path.clone(),
                offset: row as u64,
                reason: format!("{what} {row} has a negative timestamp ({v})"),
            })
        };
        // Beyond i64 picoseconds (292 days; the exact product saturates there): a damaged
        // timestamp or unit, not a time.
        let in_range = |row: usize, t: i64, what: &str| {
            if t == i64::MAX {
                Err(RecordingError::Format {
                    path: path.clone(),
                    offset: row as u64,
                    reason: format!("{what} {row}: its time does not fit in 64-bit picoseconds (a damaged timestamp?)"),
                })
            } else {
                Ok(t)
            }
        };
        let last = end == self.len;
        for i in 0..=t.len() {
            // Before photon `pos + i` (or, after the last, everything left): the markers
            // placed before it, and the events before each tag.
            let photon = (self.pos + i) as u64;
            while let Some(m) =
                self.user.markers.get(self.next_marker).filter(|m| m.photon_index <= photon || last && i == t.len())
            {
                let m = *m;
                self.events_before(out);
                let ts = unsigned(self.next_marker, m.timestamp, "marker")?;
                let t = in_range(self.next_marker, time_ps(ts, self.unit, 0, self.tcspc), "marker")?;
                out.push(t, crate::channels::MARKER_BASE + m.bits);
                self.emitted += 1;
                self.next_marker += 1;
            }
            if i == t.len() {
                break;
            }
            self.events_before(out);
            let ts = unsigned(self.pos + i, t[i], "photon")?;
            let nano = n.as_ref().map_or(0, |n| u64::from(n[i]));
            out.push(in_range(self.pos + i, time_ps(ts, self.unit, nano, self.tcspc), "photon")?, d[i]);
            self.emitted += 1;
        }
        if last {
            while let Some((_, e)) = self.user.events.get(self.next_event) {
                out.events.push((out.len(), *e));
                self.next_event += 1;
            }
        }
        let read = end - self.pos;
        self.pos = end;
        Ok(read)
    }

    /// The loss events due before the next tag.
    fn events_before(&mut self, out: &mut TagBatch) {
        while let Some((_, e)) = self.user.events.get(self.next_event).filter(|(at, _)| *at <= self.emitted) {
            out.events.push((out.len(), *e));
            self.next_event += 1;
        }
    }

    /// Appends up to `max` photons as events, with the markers and loss events among them;
    /// returns how many photons were read (0 at the end).
    pub fn read_events(&mut self, out: &mut Vec<Event>, max: usize) -> Result<usize, RecordingError> {
        let mut b = TagBatch::default();
        let n = self.read_batch(&mut b, max)?;
        crate::reader::batch_events(&b, out);
        Ok(n)
    }
}
