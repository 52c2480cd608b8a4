//! Photon-HDF5 export (version 0.5, photon-hdf5.org): the open format of timestamp-based
//! single-photon data, so tools such as phconvert, FRETBursts or anything with h5py read
//! qkdbench data without knowing qkdbench.
//!
//! What goes in: every detection and (T2) sync as a timestamp with a detector ID, in
//! picoseconds (`timestamps_unit` 1e-12). IDs are the recording channel numbers
//! (crate::channels): 0..63 detections, 64 the sync. Markers, overflow records and loss
//! events have no place in Photon-HDF5; how many were left out is written in
//! `/description`. Every field carries a `TITLE` attribute with its meaning, as the
//! reference implementation (phconvert, through PyTables) writes them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hdf5::types::FixedAscii;
use hdf5::{Dataset, File, Group, H5Type};

use crate::error::RecordingError;
use crate::table::{column, extend, h5};

const LASER_RATES_TITLE: &str = "Repetition rates in Hz for each laser. CW lasers have a value of 0.";
const LASER_RATE_TITLE: &str = "Repetition rate of the pulsed excitation laser (in Hertz).";

/// The format, version and URL written (Photon-HDF5 0.5).
const FORMAT: [(&str, &str); 3] =
    [("format_name", "Photon-HDF5"), ("format_version", "0.5"), ("format_url", "http://photon-hdf5.org/")];

pub mod user;

/// Rows per chunk of the photon arrays.
const CHUNK: usize = 1 << 16;

/// TCSPC data (PicoQuant T3): timestamps count syncs (TimeHarp 200: its macro clock),
/// nanotimes count micro-time bins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tcspc {
    /// The unit of `timestamps`, s: the sync (laser) period; a TimeHarp 200's macro clock.
    pub timestamps_unit_s: f64,
    /// The micro-time bin, s (`nanotimes_specs/tcspc_unit`).
    pub unit_s: f64,
    /// Micro-time bins (`nanotimes_specs/tcspc_num_bins`).
    pub bins: u32,
}

/// A Photon-HDF5 file being written.
#[derive(Debug)]
pub struct PhotonHdf5Writer {
    path: PathBuf,
    file: File,
    timestamps: Dataset,
    detectors: Dataset,
    nanotimes: Option<Dataset>,
    tcspc: Option<Tcspc>,
    rows: usize,
    buf_t: Vec<i64>,
    buf_d: Vec<u8>,
    buf_n: Vec<u16>,
    counts: BTreeMap<u8, u64>,
    /// First and last timestamp, in the timestamps' unit.
    first: Option<i64>,
    last: i64,
    /// Marker records, for `/user/markers`.
    markers: Vec<user::Marker>,
    /// A recording's loss events (photons and markers before each), for `/user/qkdbench`.
    events: Vec<(u64, drivers::stream::StreamEvent)>,
    /// A recording's run, for `/user/qkdbench`.
    run: Option<crate::reader::RecordedRun>,
}

/// A fixed-length ASCII string of capacity N (PyTables, and so phconvert's validator, does
/// not read variable-length strings); non-ASCII characters become '?'.
fn fixed<const N: usize>(s: &str) -> hdf5::Result<FixedAscii<N>> {
    let ascii: String = s.chars().map(|c| if c.is_ascii() && c != '\0' { c } else { '?' }).collect();
    FixedAscii::<N>::from_ascii(ascii.as_bytes()).map_err(|e| hdf5::Error::from(e.to_string().as_str()))
}

fn fixed_attr<const N: usize>(loc: &hdf5::Location, name: &str, s: &str) -> hdf5::Result<()> {
    loc.new_attr::<FixedAscii<N>>().create(name)?.write_scalar(&fixed::<N>(s)?)
}

fn fixed_scalar<const N: usize>(g: &Group, name: &str, s: &str) -> hdf5::Result<Dataset> {
    let ds = g.new_dataset::<FixedAscii<N>>().shape(()).create(name)?;
    ds.write_scalar(&fixed::<N>(s)?)?;
    Ok(ds)
}

fn titled(loc: &hdf5::Location, title: &str) -> hdf5::Result<()> {
    match title.len() {
        0..=127 => fixed_attr::<128>(loc, "TITLE", title),
        _ => fixed_attr::<1024>(loc, "TITLE", title),
    }
}

fn string(g: &Group, name: &str, value: &str, title: &str) -> hdf5::Result<()> {
    let ds = match value.len() {
        0..=63 => fixed_scalar::<64>(g, name, value)?,
        64..=511 => fixed_scalar::<512>(g, name, value)?,
        512..=4095 => fixed_scalar::<4096>(g, name, value)?,
        _ => fixed_scalar::<65536>(g, name, value)?,
    };
    // PyTables hands a scalar string to Python as `bytes` (which phconvert decodes) only
    // when the dataset says so: CLASS/VERSION/FLAVOR as PyTables writes them.
    fixed_attr::<8>(&ds, "CLASS", "ARRAY")?;
    fixed_attr::<8>(&ds, "VERSION", "2.4")?;
    fixed_attr::<8>(&ds, "FLAVOR", "python")?;
    titled(&ds, title)
}

fn scalar<T: H5Type>(g: &Group, name: &str, value: T, title: &str) -> hdf5::Result<()> {
    let ds = g.new_dataset::<T>().shape(()).create(name)?;
    ds.write_scalar(&value)?;
    titled(&ds, title)
}

fn array<T: H5Type>(g: &Group, name: &str, values: &[T], title: &str) -> hdf5::Result<()> {
    let ds = g.new_dataset::<T>().shape(values.len()).create(name)?;
    ds.write(values)?;
    titled(&ds, title)
}

impl PhotonHdf5Writer {
    /// Creates `path` (replacing it); `tcspc` for T3 data (timestamps in syncs, and
    /// nanotimes), None for timestamps in ps.
    pub fn create(path: &Path, tcspc: Option<Tcspc>) -> Result<Self, RecordingError> {
        let e = |what: &'static str| move |err| h5(path, what, err);
        let file = File::create(path).map_err(e("creating the file"))?;
        titled(&file, "A file format for photon-counting detector based single-molecule spectroscopy experiments.")
            .map_err(e("/TITLE"))?;
        let pd = file.create_group("photon_data").map_err(e("photon_data"))?;
        titled(&pd, "Group containing arrays of photon-data.").map_err(e("photon_data"))?;
        let timestamps = column::<i64>(&pd, "timestamps", "ps", "photon timestamps", CHUNK, true)
            .and_then(|d| {
                titled(
                    &d,
                    "Array of photon timestamps. Units specified in timestamps_units (defined in timestamps_specs/).",
                )
                .map(|_| d)
            })
            .map_err(e("photon_data/timestamps"))?;
        let detectors = column::<u8>(&pd, "detectors", "1", "detector (pixel) ID of each timestamp", CHUNK, true)
            .and_then(|d| titled(&d, "Array of pixel IDs for each timestamp.").map(|_| d))
            .map_err(e("photon_data/detectors"))?;
        let nanotimes = match tcspc {
            Some(_) => Some(
                column::<u16>(&pd, "nanotimes", "1", "TCSPC micro-time bin of each timestamp", CHUNK, true)
                    .and_then(|d| {
                        titled(&d, "TCSPC photon arrival time (nanotimes). Units and other specifications are in nanotimes_specs group.")
                            .map(|_| d)
                    })
                    .map_err(e("photon_data/nanotimes"))?,
            ),
            None => None,
        };
        Ok(PhotonHdf5Writer {
            path: path.into(),
            file,
            timestamps,
            detectors,
            nanotimes,
            tcspc,
            rows: 0,
            buf_t: Vec::with_capacity(CHUNK),
            buf_d: Vec::with_capacity(CHUNK),
            buf_n: Vec::with_capacity(CHUNK),
            counts: BTreeMap::new(),
            first: None,
            last: 0,
            markers: Vec::new(),
            events: Vec::new(),
            run: None,
        })
    }

    /// Appends one photon (detection or sync) on detector ID `detector`: at `timestamp`
    /// (ps, or syncs for TCSPC data) and, for TCSPC data, with micro-time bin `nanotime`.
    pub fn push(&mut self, timestamp: i64, nanotime: u16, detector: u8) -> Result<(), RecordingError> {
        self.buf_t.push(timestamp);
        self.buf_d.push(detector);
        if self.nanotimes.is_some() {
            self.buf_n.push(nanotime);
        }
        *self.counts.entry(detector).or_default() += 1;
        self.first.get_or_insert(timestamp);
        self.last = timestamp;
        if self.buf_t.len() >= CHUNK {
            self.write_buffer()?;
        }
        Ok(())
    }

    fn write_buffer(&mut self) -> Result<(), RecordingError> {
        extend(&self.path, &self.timestamps, self.rows, &self.buf_t)?;
        extend(&self.path, &self.detectors, self.rows, &self.buf_d)?;
        if let Some(n) = &self.nanotimes {
            extend(&self.path, n, self.rows, &self.buf_n)?;
        }
        self.rows += self.buf_t.len();
        self.buf_t.clear();
        self.buf_d.clear();
        self.buf_n.clear();
        Ok(())
    }

    /// Appends a marker record at `timestamp` (the photons' unit) with marker bits `bits`,
    /// for `/user/markers`.
    pub fn push_marker(&mut self, timestamp: i64, bits: u8) {
        self.markers.push(user::Marker { timestamp, bits, photon_index: self.photons() as u64 });
    }

    /// Appends an in-band loss event of an exported recording, after the photons and markers
    /// so far (`/user/qkdbench/events`).
    pub fn push_event(&mut self, e: drivers::stream::StreamEvent) {
        self.events.push(((self.photons() + self.markers.len()) as u64, e));
    }

    /// Keeps an exported recording's run (metadata, texts, run status) in `/user/qkdbench`.
    pub fn set_run(&mut self, run: crate::reader::RecordedRun) {
        self.run = Some(run);
    }

    /// Whether a recording's run goes to `/user/qkdbench`.
    pub fn has_run(&self) -> bool {
        self.run.is_some()
    }

    /// Marker records so far.
    pub fn markers(&self) -> usize {
        self.markers.len()
    }

    /// Photons written.
    pub fn photons(&self) -> usize {
        self.rows + self.buf_t.len()
    }

    /// Writes the metadata groups and closes the file. `description` says what the data are
    /// (and what was left out); `source` is the file converted from; `final_path` the name the
    /// file will have once complete (it is written under a temporary name); `run_status` goes
    /// into the root attribute of that name (`complete` or `truncated: ...`).
    /// `pulse_rate_hz`: the source's repetition rate where known; Photon-HDF5 needs one for a
    /// pulsed source, so without it the source is declared CW (and `/description` says so).
    pub fn finish(
        mut self,
        description: &str,
        source: &Path,
        final_path: &Path,
        pulse_rate_hz: Option<f64>,
        run_status: &str,
    ) -> Result<(), RecordingError> {
        self.write_buffer()?;
        let path = self.path.clone();
        let path = path.as_path();
        let e = |what: &'static str| move |err| h5(path, what, err);
        let f = &self.file;
        let root: &Group = f;
        let unit_s = self.tcspc.map_or(1e-12, |t| t.timestamps_unit_s);
        let duration_s = (self.last - self.first.unwrap_or(self.last)) as f64 * unit_s;
        scalar(root, "acquisition_duration", duration_s, "Measurement duration in seconds.")
            .map_err(e("acquisition_duration"))?;

        let pd = f.group("photon_data").map_err(e("photon_data"))?;
        let ts = pd.create_group("timestamps_specs").map_err(e("timestamps_specs"))?;
        titled(&ts, "Specifications for timestamps.").map_err(e("timestamps_specs"))?;
        scalar(&ts, "timestamps_unit", unit_s, "Value of 1-unit timestamp-increment in seconds.")
            .map_err(e("timestamps_unit"))?;
        if let Some(t) = self.tcspc {
            let ns = pd.create_group("nanotimes_specs").map_err(e("nanotimes_specs"))?;
            titled(&ns, "Group for nanotime-specific data.").map_err(e("nanotimes_specs"))?;
            scalar(&ns, "tcspc_unit", t.unit_s, "Value of 1-unit nanotime-increment in seconds (TCSPC bin size).")
                .map_err(e("tcspc_unit"))?;
            scalar(&ns, "tcspc_num_bins", i64::from(t.bins), "Number of TCSPC bins.").map_err(e("tcspc_num_bins"))?;
            scalar(&ns, "tcspc_range", t.unit_s * f64::from(t.bins), "TCSPC full-scale range in seconds.")
                .map_err(e("tcspc_range"))?;
        }
        let ms = pd.create_group("measurement_specs").map_err(e("measurement_specs"))?;
        titled(&ms, "Metadata necessary for interpretation of the particular type of measurement.")
            .map_err(e("measurement_specs"))?;
        string(&ms, "measurement_type", "generic", "Name of the measurement the data represents.")
            .map_err(e("measurement_type"))?;
        let dspecs = ms.create_group("detectors_specs").map_err(e("detectors_specs"))?;
        titled(&dspecs, "Mapping between the pixel IDs and the detection channels.").map_err(e("detectors_specs"))?;

        let ids: Vec<u8> = self.counts.keys().copied().collect();
        let counts: Vec<u64> = self.counts.values().copied().collect();
        let setup = f.create_group("setup").map_err(e("setup"))?;
        titled(&setup, "Information about the experimental setup.").map_err(e("setup"))?;
        scalar(&setup, "num_pixels", ids.len() as i64, "Total number of detector pixels.").map_err(e("num_pixels"))?;
        scalar(&setup, "num_spots", 1i64, "Number of excitation (or detection) \"spots\" in the sample.")
            .map_err(e("num_spots"))?;
        scalar(&setup, "num_spectral_ch", 1i64, "Number of distinct spectral bands which are acquired.")
            .map_err(e("num_spectral_ch"))?;
        scalar(&setup, "num_polarization_ch", 1i64, "Number of distinct polarization states which are acquired.")
            .map_err(e("num_polarization_ch"))?;
        scalar(
            &setup,
            "num_split_ch",
            1i64,
            "Number of distinct detection channels detecting the same spectral band and polarization. \
             This value is > 1 when using a non-polarizing beam splitter.",
        )
        .map_err(e("num_split_ch"))?;
        scalar(
            &setup,
            "modulated_excitation",
            0i64,
            "True (i.e. 1) if there is any form of excitation modulation of excitation wavelength (as in us-ALEX \
             or PAX) or polarization. This field is also True for pulse-interleaved excitation (PIE) or ns-ALEX \
             measurements.",
        )
        .map_err(e("modulated_excitation"))?;
        array(
            &setup,
            "excitation_alternated",
            &[0i64],
            "New in version 0.5. Indicates whether each excitation source is alternated (True, or 1) or not \
             alternated (False, or 0).",
        )
        .map_err(e("excitation_alternated"))?;
        let description = match pulse_rate_hz {
            Some(_) => description.to_string(),
            None => format!("{description} The source's repetition rate is not known: declared CW."),
        };
        array(
            &setup,
            "excitation_cw",
            &[i64::from(pulse_rate_hz.is_none())],
            "For each excitation source, this field indicates whether excitation is continuous wave (CW), True \
             (i.e. 1), or pulsed, False (i.e. 0).",
        )
        .map_err(e("excitation_cw"))?;
        if let Some(rate) = pulse_rate_hz {
            array(&setup, "laser_repetition_rates", &[rate], LASER_RATES_TITLE).map_err(e("laser_repetition_rates"))?;
            scalar(&ms, "laser_repetition_rate", rate, LASER_RATE_TITLE).map_err(e("laser_repetition_rate"))?;
        }
        scalar(
            &setup,
            "lifetime",
            i64::from(self.tcspc.is_some()),
            "True (i.e. 1) if the measurement includes a nanotimes array of photon arrival times with respect to a \
             laser pulse (as in TCSPC measurements).",
        )
        .map_err(e("lifetime"))?;
        let det = setup.create_group("detectors").map_err(e("setup/detectors"))?;
        titled(
            &det,
            "Metadata relative to each detector's pixel. Each field is an array with size equal to the number of \
             the detectors.",
        )
        .map_err(e("setup/detectors"))?;
        array(&det, "id", &ids, "Detector IDs as they appear on /photon_data/detectors.")
            .map_err(e("setup/detectors/id"))?;
        array(&det, "counts", &counts, "Total number of counts detected by each detector.")
            .map_err(e("setup/detectors/counts"))?;
        let labels = ids
            .iter()
            .map(|&d| {
                fixed::<32>(&if d == crate::channels::SYNC { "sync".to_string() } else { format!("channel {d}") })
            })
            .collect::<hdf5::Result<Vec<_>>>()
            .map_err(e("setup/detectors/label"))?;
        array(&det, "label", &labels, "Labels (strings) describing each detector.")
            .map_err(e("setup/detectors/label"))?;

        string(root, "description", &description, "A user-defined comment describing the data file.")
            .map_err(e("description"))?;
        // The format's name, version and URL as root attributes, and the name and version as
        // root fields, as phconvert writes them (its validator's `require_rootformat`, and its
        // version check, read them; the spec has no root `format_url` field).
        for (field, value) in FORMAT {
            fixed_attr::<32>(root, field, value).map_err(e("root format attributes"))?;
        }
        // As in a qkdbench recording: `complete`, or `truncated: <where the source ends>`.
        fixed_attr::<1024>(root, "run_status", run_status).map_err(e("run_status"))?;
        for (field, value, title) in [
            ("format_name", FORMAT[0].1, "Name of the file format."),
            ("format_version", FORMAT[1].1, "Version for the Photon-HDF5 format."),
        ] {
            string(root, field, value, title).map_err(e("root format fields"))?;
        }
        let id = f.create_group("identity").map_err(e("identity"))?;
        titled(&id, "Information about the Photon-HDF5 data file.").map_err(e("identity"))?;
        let name = final_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for (field, value, title) in [
            ("format_name", FORMAT[0].1, "Name of the file format."),
            ("format_version", FORMAT[1].1, "Version for the Photon-HDF5 format."),
            ("format_url", FORMAT[2].1, "Official URL for the Photon-HDF5 format."),
            ("software", "qkdbench", "Name of the software used to create the current Photon-HDF5 file."),
            (
                "software_version",
                env!("CARGO_PKG_VERSION"),
                "Version of the software used to create current the Photon-HDF5 file.",
            ),
            ("creation_time", now_utc().as_str(), "Creation time of the current Photon-HDF5 file."),
            (
                "filename",
                name.as_str(),
                "Original file name of the current Photon-HDF5 file (i.e. file name at creation time).",
            ),
        ] {
            string(&id, field, value, title).map_err(e("identity"))?;
        }
        let prov = f.create_group("provenance").map_err(e("provenance"))?;
        titled(&prov, "Information about the original data file.").map_err(e("provenance"))?;
        let src_name = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        string(&prov, "filename", &src_name, "File name of the original data file before conversion to Photon-HDF5.")
            .map_err(e("provenance/filename"))?;
        string(
            &prov,
            "filename_full",
            &source.display().to_string(),
            "File name (with full path) of the original data file before conversion to Photon-HDF5.",
        )
        .map_err(e("provenance/filename_full"))?;
        user::write(path, f, &self.markers, &self.events, self.run.as_ref())?;
        self.file.flush().map_err(e("flush"))
    }
}

/// The time now, UTC, as "YYYY-MM-DD HH:MM:SS" (the form phconvert writes).
fn now_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Gregorian date of a day count from 1970-01-01 (Howard Hinnant's days-to-civil algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates_of_known_days() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(super::civil_from_days(20_785), (2026, 11, 28));
    }
}
