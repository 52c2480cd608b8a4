//! Photon-HDF5 files as input (qkdbench's own export and phconvert's): `/photon_data`
//! timestamps times `timestamps_unit`, plus nanotimes times `tcspc_unit` where the file has
//! them (TCSPC), in picoseconds by the one rounding rule (exact, nearest, ties to even);
//! detector IDs as qkdbench numbers channels (docs/recording-schema.md).

use std::path::{Path, PathBuf};

use hdf5::{Dataset, File};

use super::exact_time::{time_ps, ExactPs};
use crate::error::RecordingError;
use crate::event::Event;

/// A Photon-HDF5 file being read.
#[derive(Debug)]
pub struct PhotonHdf5Reader {
    path: PathBuf,
    timestamps: Dataset,
    detectors: Dataset,
    nanotimes: Option<Dataset>,
    unit: ExactPs,
    tcspc: ExactPs,
    len: usize,
    pos: usize,
    /// The laser's repetition rate, Hz, where the file gives one.
    pub laser_rate_hz: Option<f64>,
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
        let detectors = pd.dataset("detectors").map_err(h5("/photon_data/detectors"))?;
        let len = timestamps.size();
        if detectors.size() != len {
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
        Ok(PhotonHdf5Reader {
            path: path.into(),
            timestamps,
            detectors,
            nanotimes,
            unit,
            tcspc,
            len,
            pos: 0,
            laser_rate_hz,
        })
    }

    /// Photons in the file.
    pub fn photons(&self) -> u64 {
        self.len as u64
    }

    /// Appends up to `max` photons as events; returns how many were read (0 at the end).
    pub fn read_events(&mut self, out: &mut Vec<Event>, max: usize) -> Result<usize, RecordingError> {
        let end = (self.pos + max).min(self.len);
        if end == self.pos {
            return Ok(0);
        }
        let h5 = |what: &'static str| {
            let path = self.path.clone();
            move |e: hdf5::Error| RecordingError::Hdf5 { path, reason: format!("{what}: {e}") }
        };
        let t = self.timestamps.read_slice_1d::<i64, _>(self.pos..end).map_err(h5("/photon_data/timestamps"))?;
        let d = self.detectors.read_slice_1d::<u8, _>(self.pos..end).map_err(h5("/photon_data/detectors"))?;
        let n = match &self.nanotimes {
            Some(n) => Some(n.read_slice_1d::<u16, _>(self.pos..end).map_err(h5("/photon_data/nanotimes"))?),
            None => None,
        };
        for i in 0..t.len() {
            let Ok(ts) = u64::try_from(t[i]) else {
                return Err(RecordingError::Format {
                    path: self.path.clone(),
                    offset: (self.pos + i) as u64,
                    reason: format!("photon {} has a negative timestamp ({})", self.pos + i, t[i]),
                });
            };
            let nano = n.as_ref().map_or(0, |n| u64::from(n[i]));
            let (kind, channel) = crate::channels::from_recording(d[i]);
            out.push(Event { time_ps: time_ps(ts, self.unit, nano, self.tcspc), channel, kind });
        }
        let read = end - self.pos;
        self.pos = end;
        Ok(read)
    }
}
