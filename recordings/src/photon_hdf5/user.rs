//! Photon-HDF5's free `/user` group as qkdbench fills it, written and read here only
//! (docs/recording-schema.md, "Photon-HDF5 export"):
//!
//! - `/user/markers`: every marker record, which the photon arrays have no place for:
//!   `timestamps` (int64, in the photons' `timestamps_unit`), `ids` (uint8, the marker bits
//!   as the instrument numbers them) and `photon_index` (uint64, the photons before it, so
//!   that the original order comes back, not only the time order).
//! - `/user/qkdbench`, for an export of a qkdbench recording: the run's metadata exactly as
//!   the recording keeps it on its root (`pattern`, `config`, time base, pulse rate, source;
//!   the writer's `write_run_metadata`), its `run_status`, and its in-band loss events
//!   (`events/*`, the columns of a recording's `/events`, `tag_index` counting photons and
//!   markers). With it a recording survives the round trip through Photon-HDF5 whole, and
//!   `replay` can sift the export.

use std::path::Path;

use drivers::stream::StreamEvent;
use hdf5::types::VarLenUnicode;
use hdf5::{File, Group, H5Type};

use crate::error::RecordingError;
use crate::reader::{read_config, read_run_info, text_attr, RecordedRun};
use crate::writer::{event_kind, write_run_metadata, Compression};

/// One marker record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    /// Time in the photon timestamps' unit.
    pub timestamp: i64,
    /// Marker bits.
    pub bits: u8,
    /// Photons before it in the file.
    pub photon_index: u64,
}

/// What `/user` holds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct UserData {
    /// `/user/markers`, in file order.
    pub markers: Vec<Marker>,
    /// `/user/qkdbench/events`: (photons and markers before it, event).
    pub events: Vec<(u64, StreamEvent)>,
    /// `/user/qkdbench`, for an export of a recording.
    pub run: Option<RecordedRun>,
}

fn h5<'a>(path: &'a Path, what: &str) -> impl Fn(hdf5::Error) -> RecordingError + 'a {
    let what = what.to_string();
    move |e| RecordingError::Hdf5 { path: path.into(), reason: format!("{what}: {e}") }
}

fn column<T: H5Type>(g: &Group, name: &str, values: &[T], title: &str) -> hdf5::Result<()> {
    let ds = g.new_dataset::<T>().shape(values.len()).create(name)?;
    ds.write(values)?;
    ds.new_attr::<VarLenUnicode>().create("TITLE")?.write_scalar(&title.parse::<VarLenUnicode>().expect("no NUL"))
}

/// Writes `/user`: the markers (if any), and for a recording's export its run and events.
pub(crate) fn write(
    path: &Path,
    file: &File,
    markers: &[Marker],
    events: &[(u64, StreamEvent)],
    run: Option<&RecordedRun>,
) -> Result<(), RecordingError> {
    if markers.is_empty() && run.is_none() {
        return Ok(());
    }
    let user = file.create_group("user").map_err(h5(path, "user"))?;
    if !markers.is_empty() {
        let g = user.create_group("markers").map_err(h5(path, "user/markers"))?;
        let t: Vec<i64> = markers.iter().map(|m| m.timestamp).collect();
        let ids: Vec<u8> = markers.iter().map(|m| m.bits).collect();
        let at: Vec<u64> = markers.iter().map(|m| m.photon_index).collect();
        column(&g, "timestamps", &t, "Marker times, in /photon_data/timestamps_specs/timestamps_unit.")
            .map_err(h5(path, "user/markers/timestamps"))?;
        column(&g, "ids", &ids, "Marker bits of each marker record, as the instrument numbers them.")
            .map_err(h5(path, "user/markers/ids"))?;
        column(&g, "photon_index", &at, "Photons before each marker in /photon_data (the original order).")
            .map_err(h5(path, "user/markers/photon_index"))?;
    }
    if let Some(run) = run {
        let g = user.create_group("qkdbench").map_err(h5(path, "user/qkdbench"))?;
        write_run_metadata(path, &g, &run.meta(Compression::None))?;
        let text = |name: &str, v: &str| -> hdf5::Result<()> {
            let v = v.replace('\0', "").parse::<VarLenUnicode>().expect("no NUL");
            match g.attr(name) {
                Ok(a) => a.write_scalar(&v),
                Err(_) => g.new_attr::<VarLenUnicode>().create(name)?.write_scalar(&v),
            }
        };
        text("format", "qkdbench run").map_err(h5(path, "user/qkdbench/format"))?;
        text("run_status", &run.run_status).map_err(h5(path, "user/qkdbench/run_status"))?;
        text("verdict", &run.verdict).map_err(h5(path, "user/qkdbench/verdict"))?;
        let ev = g.create_group("events").map_err(h5(path, "user/qkdbench/events"))?;
        let rows: Vec<_> = events.iter().map(|(at, e)| (*at, event_kind::encode(e))).collect();
        let e = h5(path, "user/qkdbench/events");
        column(&ev, "tag_index", &rows.iter().map(|r| r.0).collect::<Vec<_>>(), "photons and markers before it")
            .map_err(&e)?;
        column(&ev, "kind", &rows.iter().map(|r| r.1 .0).collect::<Vec<_>>(), "as /events/kind of a recording")
            .map_err(&e)?;
        column(&ev, "time_ps", &rows.iter().map(|r| r.1 .1).collect::<Vec<_>>(), "as /events/time_ps").map_err(&e)?;
        column(&ev, "channel", &rows.iter().map(|r| r.1 .2).collect::<Vec<_>>(), "as /events/channel").map_err(&e)?;
        column(&ev, "count", &rows.iter().map(|r| r.1 .3).collect::<Vec<_>>(), "as /events/count").map_err(&e)?;
    }
    Ok(())
}

/// Reads `/user` (empty when the file has none, as phconvert's files).
pub(crate) fn read(path: &Path, file: &File) -> Result<UserData, RecordingError> {
    let mut out = UserData::default();
    let Ok(user) = file.group("user") else { return Ok(out) };
    let bad = |what: &str, reason: String| RecordingError::Unsupported {
        path: path.into(),
        reason: format!("{what}: {reason}"),
    };
    let photons = file.dataset("photon_data/timestamps").map_or(0, |d| d.size()) as u64;
    if user.link_exists("markers") && user.group("markers").is_err() {
        return Err(bad("/user/markers", "not a group (qkdbench's markers are a group of three columns)".into()));
    }
    if let Ok(g) = user.group("markers") {
        let t =
            g.dataset("timestamps").and_then(|d| d.read_raw::<i64>()).map_err(h5(path, "user/markers/timestamps"))?;
        let ids = g.dataset("ids").and_then(|d| d.read_raw::<u8>()).map_err(h5(path, "user/markers/ids"))?;
        let at = g
            .dataset("photon_index")
            .and_then(|d| d.read_raw::<u64>())
            .map_err(h5(path, "user/markers/photon_index"))?;
        if ids.len() != t.len() || at.len() != t.len() {
            return Err(bad(
                "/user/markers",
                format!("{} timestamps, {} ids, {} photon_index", t.len(), ids.len(), at.len()),
            ));
        }
        if let Some(i) = (1..at.len()).find(|&i| at[i] < at[i - 1]) {
            return Err(bad(
                "/user/markers/photon_index",
                format!("row {i} goes back ({} after {})", at[i], at[i - 1]),
            ));
        }
        if let Some(i) = (0..at.len()).find(|&i| at[i] > photons) {
            return Err(bad(
                "/user/markers/photon_index",
                format!("row {i}: {} is beyond the {photons} photons", at[i]),
            ));
        }
        if let Some(i) = (0..ids.len()).find(|&i| !(1..=127).contains(&ids[i])) {
            return Err(bad("/user/markers/ids", format!("row {i}: marker bits {} are not in 1..=127", ids[i])));
        }
        out.markers = (0..t.len()).map(|i| Marker { timestamp: t[i], bits: ids[i], photon_index: at[i] }).collect();
    }
    let Ok(g) = user.group("qkdbench") else { return Ok(out) };
    let info = read_run_info(path, &g, "/user/qkdbench/")?;
    let config = read_config(&g).map_err(h5(path, "user/qkdbench/config"))?;
    let ev = g.group("events").map_err(h5(path, "user/qkdbench/events"))?;
    let col = |name: &str| ev.dataset(name).map_err(h5(path, "user/qkdbench/events"));
    let idx = col("tag_index")?.read_raw::<u64>().map_err(h5(path, "user/qkdbench/events/tag_index"))?;
    let kind = col("kind")?.read_raw::<u8>().map_err(h5(path, "user/qkdbench/events/kind"))?;
    let t = col("time_ps")?.read_raw::<i64>().map_err(h5(path, "user/qkdbench/events/time_ps"))?;
    let ch = col("channel")?.read_raw::<u8>().map_err(h5(path, "user/qkdbench/events/channel"))?;
    let count = col("count")?.read_raw::<u64>().map_err(h5(path, "user/qkdbench/events/count"))?;
    if [kind.len(), t.len(), ch.len(), count.len()].iter().any(|&l| l != idx.len()) {
        return Err(bad("/user/qkdbench/events", "its columns have different lengths".into()));
    }
    for i in 0..idx.len() {
        if i > 0 && idx[i] < idx[i - 1] {
            return Err(bad("/user/qkdbench/events/tag_index", format!("row {i}: not in stream order")));
        }
        if idx[i] > photons + out.markers.len() as u64 {
            return Err(bad(
                "/user/qkdbench/events/tag_index",
                format!("row {i}: {} is beyond the {} photons and markers", idx[i], photons + out.markers.len() as u64),
            ));
        }
        let e = event_kind::decode(kind[i], t[i], ch[i], count[i])
            .ok_or_else(|| bad("/user/qkdbench/events/kind", format!("row {i}: unknown kind {}", kind[i])))?;
        out.events.push((idx[i], e));
    }
    out.run = Some(RecordedRun {
        info,
        config,
        run_status: text_attr(&g, "run_status"),
        source: text_attr(&g, "source"),
        config_text: text_attr(&g, "config_text"),
        scenario: text_attr(&g, "scenario"),
        verdict: text_attr(&g, "verdict"),
    });
    Ok(out)
}
