//! Reading qkdbench recordings back, in batches, without loading the file.

use std::path::{Path, PathBuf};

use drivers::protocol::tag_stream::TimeBase;
use drivers::stream::{StreamEvent, TagBatch};
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File};
use rtl::model::pattern_gen::PatternSettings;

use crate::error::RecordingError;
use crate::event::{Event, EventKind};
use crate::writer::{event_kind, ConfigValue, SCHEMA_VERSION};

/// An open recording.
#[derive(Debug)]
pub struct Recording {
    path: PathBuf,
    time_ps: Dataset,
    channel: Dataset,
    /// (tag index, event), all of the file's events (they are few).
    events: Vec<(u64, StreamEvent)>,
    next_event: usize,
    /// The latest tag time read so far (for the damage check).
    latest_ps: i64,
    pos: usize,
    len: usize,
    /// How the run ended ("complete", "aborted: ...", or "running" after a crash).
    pub run_status: String,
    /// Time base, pattern, pulse rate, intensities, frame reference (what `/pattern` and
    /// the root attributes record).
    pub info: RunInfo,
    /// The file, for the attributes read on demand (`config`, `text_attr`): variable-length
    /// strings live in HDF5's global heap, where a damaged byte can crash the library, so
    /// `dump` (which needs none of them) never reads them.
    file: File,
}

/// How far a tag time may lie behind the latest one before the file counts as damaged: the
/// disorder imported files may have (timestamp7's bound).
const MAX_BACKWARDS_PS: i64 = 1_000_000_000;

fn fmt(path: &Path, what: &str, reason: impl std::fmt::Display) -> RecordingError {
    RecordingError::Hdf5 { path: path.into(), reason: format!("{what}: {reason}") }
}

/// Rows of `ds` that can hold data: for a chunked dataset, the rows of its allocated chunks
/// (a chunk never written reads back as zeros, which are not data). A file may declare a
/// larger extent than it holds: a crash between extending and writing, or a damaged file.
fn present_rows(ds: &Dataset) -> usize {
    let declared = ds.size();
    let Some(chunk) = ds.chunk().and_then(|c| c.first().copied()) else { return declared };
    let Ok(space) = ds.space() else { return declared };
    let mut n: hdf5_sys::h5::hsize_t = 0;
    // SAFETY: valid dataset and dataspace ids while `ds` and `space` live (HDF5 1.10 wants a
    // real dataspace, not H5S_ALL); `n` outlives the call.
    let r = unsafe { hdf5_sys::h5d::H5Dget_num_chunks(ds.id(), space.id(), &mut n) };
    if r < 0 {
        return declared;
    }
    declared.min((n as usize).saturating_mul(chunk))
}

/// The rows of a crashed recording (`running`) that can be trusted: the last chunk is
/// rewritten at every flush, so a kill can tear it (it no longer inflates) or leave an older
/// version of it under the newer extent (trailing zeros). Such a tail is dropped; every
/// chunk before it was complete before the crash.
fn crashed_tail(time_ps: &Dataset, channel: &Dataset, len: usize) -> usize {
    let Some(chunk) = time_ps.chunk().and_then(|c| c.first().copied()).filter(|c| *c > 0) else { return len };
    if len == 0 {
        return 0;
    }
    let start = (len - 1) / chunk * chunk;
    // A torn chunk is checked here, on its raw bytes: HDF5 1.10 may crash (not fail) when
    // its filters meet one.
    if !crate::chunks::chunk_intact(time_ps, start, chunk, 8) || !crate::chunks::chunk_intact(channel, start, chunk, 1)
    {
        return start;
    }
    let (Ok(t), Ok(_)) = (time_ps.read_slice_1d::<i64, _>(start..len), channel.read_slice_1d::<u8, _>(start..len))
    else {
        return start;
    };
    // Times run forward (give or take the tagger's channel order within a cycle); a zero
    // after a later time, or a jump backwards, is where the written data ended.
    let mut prev = if start > 0 {
        time_ps.read_slice_1d::<i64, _>(start - 1..start).ok().and_then(|v| v.first().copied()).unwrap_or(i64::MIN)
    } else {
        i64::MIN
    };
    for (i, &x) in t.iter().enumerate() {
        if (x == 0 && prev > 0) || x < prev.saturating_sub(1_000_000) {
            return start + i;
        }
        prev = prev.max(x);
    }
    len
}

/// Every attribute of the `config` group of `loc` (none when the group is absent), in name
/// order.
pub(crate) fn read_config(loc: &hdf5::Group) -> hdf5::Result<Vec<(String, ConfigValue)>> {
    use hdf5::types::{FloatSize, IntSize, TypeDescriptor};
    let Ok(g) = loc.group("config") else { return Ok(Vec::new()) };
    let mut names = g.attr_names()?;
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let a = g.attr(&name)?;
        let v = match a.dtype()?.to_descriptor()? {
            TypeDescriptor::Unsigned(IntSize::U1) => ConfigValue::Bool(a.read_scalar::<u8>()? != 0),
            TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => ConfigValue::Int(a.read_scalar::<i64>()?),
            TypeDescriptor::Float(FloatSize::U4) | TypeDescriptor::Float(FloatSize::U8) => {
                ConfigValue::Float(a.read_scalar::<f64>()?)
            }
            TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii => {
                ConfigValue::Text(a.read_scalar::<VarLenUnicode>()?.as_str().to_string())
            }
            // Other types (a tool's own additions) are not part of the schema: skipped.
            _ => continue,
        };
        out.push((name, v));
    }
    Ok(out)
}

/// A run's metadata as a recording keeps it: on its root, and on `/user/qkdbench` of a
/// Photon-HDF5 export of it (the writer's `write_run_metadata`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The tagger's time base.
    pub time_base: TimeBase,
    /// The generator's settings, if recorded.
    pub pattern: Option<PatternSettings>,
    /// The transmitter's nominal pulse rate, Hz, if recorded.
    pub pulse_rate_hz: Option<f64>,
    /// The intensities as set (`pattern/mu`).
    pub pattern_mu: Option<Vec<f64>>,
    /// The modulator calibration (`pattern/mu_full_scale`).
    pub mu_full_scale: Option<f64>,
    /// A frame mark's device time (ps) and absolute pulse index (`pattern/frame_reference_*`).
    pub frame_reference: Option<(f64, i64)>,
}

/// A recorded run whole: its metadata, its structured configuration, how it ended and the
/// texts that describe it. What a recording keeps on its root and a Photon-HDF5 export of
/// it in `/user/qkdbench`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRun {
    /// Time base, pattern, pulse rate, intensities, frame reference.
    pub info: RunInfo,
    /// The structured configuration (`config`).
    pub config: Vec<(String, ConfigValue)>,
    /// How the run ended.
    pub run_status: String,
    /// Where its tags came from.
    pub source: String,
    /// The configuration as given.
    pub config_text: String,
    /// The scenario it belonged to (TOML), or empty.
    pub scenario: String,
    /// Its scenario verdict (JSON), or empty.
    pub verdict: String,
}

impl RecordedRun {
    /// The writer's metadata for a file that carries this run on (a converted copy).
    pub fn meta(&self, compression: crate::writer::Compression) -> crate::writer::RunMeta {
        crate::writer::RunMeta {
            source: self.source.clone(),
            config_text: self.config_text.clone(),
            pattern: self.info.pattern,
            pattern_mu: self.info.pattern_mu.clone().map(|mu| (mu, self.info.mu_full_scale.unwrap_or(f64::NAN))),
            frame_reference: self.info.frame_reference,
            time_base: (self.info.time_base.coarse_period_ps, self.info.time_base.fine_bins),
            compression,
            scenario_text: (!self.scenario.is_empty()).then(|| self.scenario.clone()),
            pulse_rate_hz: self.info.pulse_rate_hz,
            config: self.config.clone(),
        }
    }
}

/// The text attributes of a run on `loc` (empty when absent).
pub(crate) fn text_attr(loc: &hdf5::Group, name: &str) -> String {
    loc.attr(name)
        .and_then(|a| a.read_scalar::<VarLenUnicode>())
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default()
}

/// Reads a run's metadata from `loc`, the group `at` ("/" or "/user/qkdbench/"), in `path`.
pub(crate) fn read_run_info(path: &Path, loc: &hdf5::Group, at: &str) -> Result<RunInfo, RecordingError> {
    let num = |name: &str| -> Result<u64, RecordingError> {
        let a = loc.attr(name).map_err(|e| fmt(path, &format!("attribute {at}{name}"), e))?;
        a.read_scalar::<u64>()
            .or_else(|_| a.read_scalar::<u32>().map(u64::from))
            .or_else(|_| a.read_scalar::<u16>().map(u64::from))
            .map_err(|e| fmt(path, &format!("attribute {at}{name}"), e))
    };
    let time_base = TimeBase { coarse_period_ps: num("coarse_period_ps")? as u32, fine_bins: num("fine_bins")? as u16 };
    let pattern_group = loc.group("pattern").ok();
    let pattern = pattern_group.as_ref().and_then(|g| {
        let v = |name: &str| g.attr(name).and_then(|a| a.read_raw::<u64>()).ok();
        let thr = v("class_thr")?;
        let dac = v("dac_code")?;
        Some(PatternSettings {
            seed: *v("seed")?.first()?,
            class_thr: [*thr.first()? as u32, *thr.get(1)? as u32, *thr.get(2)? as u32],
            basis_thr: *v("basis_thr")?.first()? as u32,
            dac_code: [*dac.first()? as u16, *dac.get(1)? as u16, *dac.get(2)? as u16, *dac.get(3)? as u16],
            pol_map: *v("pol_map")?.first()? as u16,
            sync_period: *v("sync_period")?.first()? as u32,
            frame_period: *v("frame_period")?.first()? as u32,
        })
    });
    let pattern_mu = pattern_group.as_ref().and_then(|g| g.attr("mu").and_then(|a| a.read_raw::<f64>()).ok());
    let mu_full_scale =
        pattern_group.as_ref().and_then(|g| g.attr("mu_full_scale").and_then(|a| a.read_scalar::<f64>()).ok());
    let frame_reference = pattern_group.as_ref().and_then(|g| {
        let t = g.attr("frame_reference_time_ps").and_then(|a| a.read_scalar::<f64>()).ok()?;
        let pulse = g.attr("frame_reference_pulse").and_then(|a| a.read_scalar::<i64>()).ok()?;
        (t.is_finite() && pulse >= 0).then_some((t, pulse))
    });
    Ok(RunInfo {
        time_base,
        pattern,
        pulse_rate_hz: loc.attr("pulse_rate_hz").and_then(|a| a.read_scalar::<f64>()).ok().filter(|r| *r > 0.0),
        pattern_mu,
        mu_full_scale,
        frame_reference,
    })
}

impl Recording {
    /// Opens a recording; refuses files that are not ours or are of a newer schema.
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        crate::import::regular_file(path)?;
        let file = File::open(path).map_err(|e| fmt(path, "not an HDF5 file qkdbench can open", e))?;
        let text = |name: &str| -> Result<String, RecordingError> {
            file.attr(name)
                .and_then(|a| a.read_scalar::<VarLenUnicode>())
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .map_err(|e| fmt(path, &format!("attribute /{name}"), e))
        };
        let format = text("format").map_err(|_| RecordingError::Unsupported {
            path: path.into(),
            reason: "an HDF5 file without the attribute format = \"qkdbench recording\"".into(),
        })?;
        if format != "qkdbench recording" {
            return Err(RecordingError::Unsupported { path: path.into(), reason: format!("format is {format:?}") });
        }
        // An integer from 1 on: -1, 0 or 1.5 are no schema versions.
        let version_attr = file.attr("schema_version").map_err(|e| fmt(path, "attribute /schema_version", e))?;
        let integer = matches!(
            version_attr.dtype().and_then(|t| t.to_descriptor()),
            Ok(hdf5::types::TypeDescriptor::Unsigned(_) | hdf5::types::TypeDescriptor::Integer(_))
        );
        let version = version_attr.read_scalar::<i64>().map_err(|e| fmt(path, "attribute /schema_version", e))?;
        if !integer || version < 1 {
            return Err(fmt(path, "attribute /schema_version", "must be an integer from 1 on"));
        }
        let version = u32::try_from(version).unwrap_or(u32::MAX);
        if version > SCHEMA_VERSION {
            return Err(fmt(
                path,
                "attribute /schema_version",
                format!("{version} is newer than this qkdbench reads ({SCHEMA_VERSION}); update qkdbench"),
            ));
        }
        let run = read_run_info(path, &file, "/")?;
        let ds = |name: &str| file.dataset(name).map_err(|e| fmt(path, &format!("dataset /{name}"), e));
        let (time_ps, channel) = (ds("tags/time_ps")?, ds("tags/channel")?);
        // The rows the run says it wrote (`tag_count`, written when it ended): both columns
        // must hold them; a file closed after a write error may keep a larger extent whose
        // tail was never written. A crashed file (`running`) has no count: its columns must
        // agree.
        let run_status = text("run_status")?;
        let declared = match file.attr("tag_count") {
            Ok(a) => Some(a.read_scalar::<u64>().map_err(|e| fmt(path, "attribute /tag_count", e))?),
            Err(_) if run_status == "running" => None,
            Err(e) => {
                return Err(fmt(
                    path,
                    "attribute /tag_count",
                    format!("a finished run ({run_status}) must have it: {e}"),
                ))
            }
        };
        let len = match declared {
            Some(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                for (name, d) in [("time_ps", &time_ps), ("channel", &channel)] {
                    if d.size() < n {
                        return Err(fmt(
                            path,
                            &format!("dataset /tags/{name}"),
                            format!("{} rows, but tag_count says {n}", d.size()),
                        ));
                    }
                }
                n
            }
            None if channel.size() != time_ps.size() => {
                return Err(fmt(
                    path,
                    "dataset /tags/channel",
                    format!("{} rows, /tags/time_ps has {}", channel.size(), time_ps.size()),
                ))
            }
            None => time_ps.size(),
        };
        let mut len = len.min(present_rows(&time_ps)).min(present_rows(&channel));
        // A run that did not complete may end in a chunk that was torn or never written.
        if run_status != "complete" {
            len = crashed_tail(&time_ps, &channel, len);
        }
        // Events are read whole: a declared size the file cannot hold is refused before
        // anything is allocated for it.
        for name in ["events/tag_index", "events/kind", "events/time_ps", "events/channel", "events/count"] {
            let d = ds(name)?;
            let (declared, present) = (d.size(), present_rows(&d));
            if declared > present {
                return Err(fmt(
                    path,
                    &format!("dataset /{name}"),
                    format!("declares {declared} rows but its chunks hold at most {present}"),
                ));
            }
        }
        let read_u64 = |name: &str| -> Result<Vec<u64>, RecordingError> {
            ds(name)?.read_raw::<u64>().map_err(|e| fmt(path, &format!("dataset /{name}"), e))
        };
        let idx = read_u64("events/tag_index")?;
        let count = read_u64("events/count")?;
        let kind = ds("events/kind")?.read_raw::<u8>().map_err(|e| fmt(path, "dataset /events/kind", e))?;
        let t = ds("events/time_ps")?.read_raw::<i64>().map_err(|e| fmt(path, "dataset /events/time_ps", e))?;
        let ch = ds("events/channel")?.read_raw::<u8>().map_err(|e| fmt(path, "dataset /events/channel", e))?;
        let n = idx.len();
        if [count.len(), kind.len(), t.len(), ch.len()].iter().any(|&l| l != n) {
            return Err(fmt(path, "group /events", "its datasets have different lengths"));
        }
        if let Some(i) = (1..n).find(|&i| idx[i] < idx[i - 1]) {
            return Err(fmt(
                path,
                "dataset /events/tag_index",
                format!("row {i}: {} after {}: the events are not in stream order", idx[i], idx[i - 1]),
            ));
        }
        if let Some(i) = (0..n).find(|&i| idx[i] > len as u64) {
            return Err(fmt(
                path,
                "dataset /events/tag_index",
                format!("row {i}: {} is beyond the {len} tags", idx[i]),
            ));
        }
        let mut events = Vec::with_capacity(n);
        for i in 0..n {
            let Some(e) = event_kind::decode(kind[i], t[i], ch[i], count[i]) else {
                return Err(fmt(path, "dataset /events/kind", format!("row {i}: unknown kind {}", kind[i])));
            };
            events.push((idx[i], e));
        }
        Ok(Recording {
            info: run,
            path: path.into(),
            time_ps,
            channel,
            events,
            next_event: 0,
            latest_ps: i64::MIN,
            pos: 0,
            len,
            run_status,
            file: file.clone(),
        })
    }

    /// The structured run configuration (`/config`), every attribute, in name order.
    pub fn config(&self) -> Result<Vec<(String, ConfigValue)>, RecordingError> {
        read_config(&self.file).map_err(|e| fmt(&self.path, "group /config", e))
    }

    /// A text attribute of the root (`source`, `scenario`, `verdict`), empty when absent.
    pub fn text_attr(&self, name: &str) -> String {
        text_attr(&self.file, name)
    }

    /// The run whole (reads the configuration and the texts).
    pub fn run(&self) -> Result<RecordedRun, RecordingError> {
        Ok(RecordedRun {
            info: self.info.clone(),
            config: self.config()?,
            run_status: self.run_status.clone(),
            source: self.text_attr("source"),
            config_text: self.text_attr("config_text"),
            scenario: self.text_attr("scenario"),
            verdict: self.text_attr("verdict"),
        })
    }

    /// Tags in the file.
    pub fn tags(&self) -> usize {
        self.len
    }

    /// Appends the next up to `max` tags and the events among them to `out`; returns the
    /// number of tags (0 at the end, once the events after the last tag are out too).
    pub fn read_batch(&mut self, out: &mut TagBatch, max: usize) -> Result<usize, RecordingError> {
        let end = (self.pos + max).min(self.len);
        let base = out.len();
        if end > self.pos {
            let t = self
                .time_ps
                .read_slice_1d::<i64, _>(self.pos..end)
                .map_err(|e| fmt(&self.path, "dataset /tags/time_ps", e))?;
            let c = self
                .channel
                .read_slice_1d::<u8, _>(self.pos..end)
                .map_err(|e| fmt(&self.path, "dataset /tags/channel", e))?;
            // A tagger's stream runs forward (imported files: within 1 ms of disorder). A
            // time far behind the latest is damage, e.g. a chunk whose index entry was hit
            // and that reads as the fill value 0: an error at its row, not rows.
            let times = t.as_slice().expect("contiguous");
            let mut latest = self.latest_ps;
            for (i, &x) in times.iter().enumerate() {
                if x < latest.saturating_sub(MAX_BACKWARDS_PS) {
                    return Err(fmt(
                        &self.path,
                        "dataset /tags/time_ps",
                        format!(
                            "row {}: {x} ps is {:.6} s before an earlier tag: the file is damaged",
                            self.pos + i,
                            (latest - x) as f64 * 1e-12
                        ),
                    ));
                }
                latest = latest.max(x);
            }
            self.latest_ps = latest;
            // Events before each tag go in before it.
            while self.next_event < self.events.len() && self.events[self.next_event].0 < end as u64 {
                let (at, e) = self.events[self.next_event];
                out.events.push((base + (at.max(self.pos as u64) as usize - self.pos), e));
                self.next_event += 1;
            }
            out.time_ps.extend_from_slice(t.as_slice().expect("contiguous"));
            out.channel.extend_from_slice(c.as_slice().expect("contiguous"));
        }
        let n = end - self.pos;
        self.pos = end;
        if self.pos == self.len {
            while self.next_event < self.events.len() {
                out.events.push((out.len(), self.events[self.next_event].1));
                self.next_event += 1;
            }
        }
        Ok(n)
    }

    /// The next up to `max` tags as normalised events (for `dump`).
    pub fn read_events(&mut self, out: &mut Vec<Event>, max: usize) -> Result<usize, RecordingError> {
        let mut b = TagBatch::default();
        let n = self.read_batch(&mut b, max)?;
        batch_events(&b, out);
        Ok(n)
    }
}

/// A batch of a recording's tags and events as normalised events, in stream order.
pub(crate) fn batch_events(b: &TagBatch, out: &mut Vec<Event>) {
    let mut ev = b.events.iter().peekable();
    let mut last_t = 0;
    for (i, (&t, &c)) in b.time_ps.iter().zip(&b.channel).enumerate() {
        while let Some((_, e)) = ev.next_if(|(at, _)| *at <= i) {
            out.push(normalised(e, last_t));
        }
        let (kind, channel) = crate::channels::from_recording(c);
        out.push(Event { time_ps: t, channel, kind });
        last_t = t;
    }
    for (_, e) in ev {
        out.push(normalised(e, last_t));
    }
}

fn normalised(e: &StreamEvent, last_t: i64) -> Event {
    match *e {
        StreamEvent::OverflowBegin { time_ps } | StreamEvent::OverflowEnd { time_ps } => {
            Event { time_ps, channel: 0, kind: EventKind::Overflow }
        }
        // The CSV has no count column: one `missed` row per in-band missed record.
        StreamEvent::Missed { channel, .. } => {
            Event { time_ps: last_t, channel: u32::from(channel), kind: EventKind::Missed }
        }
        StreamEvent::Error { .. } => Event { time_ps: last_t, channel: 0, kind: EventKind::Error },
    }
}
