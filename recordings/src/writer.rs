//! The HDF5 recording writer (docs/recording-schema.md).
//!
//! Crash safety by periodic flushes: data go into chunked, extendible datasets, and the file
//! is flushed (H5Fflush) at least once a second, so after a crash — `kill -9` included — the
//! file opens and holds everything written up to the last flush. The run status attribute
//! says "running" until `finish` writes how the run ended.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use drivers::stream::TagBatch;
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File};

use crate::error::RecordingError;
use crate::table::{column, extend, h5, text, Col, ColumnSpec, Table, Value};

/// Version of docs/recording-schema.md this writer follows.
pub const SCHEMA_VERSION: u32 = 1;
use crate::chunks::TagColumns;
pub use crate::chunks::TAG_CHUNK;
/// Flush at least this often.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// What the recording says about its run, besides the data.
#[derive(Debug, Clone, Default)]
pub struct RunMeta {
    /// Where the tags came from (device description).
    pub source: String,
    /// The run configuration as the user wrote it (TOML or command line).
    pub config_text: String,
    /// Generator settings needed to compute symbol(i) (written to the `/pattern` group).
    pub pattern: Option<rtl::model::pattern_gen::PatternSettings>,
    /// The mean photon number of each intensity class as set (`/pattern/mu`; the finite key
    /// is computed with these), and the modulator calibration that turned them into DAC
    /// codes (`/pattern/mu_full_scale`), when the run had a pattern generator.
    pub pattern_mu: Option<(Vec<f64>, f64)>,
    /// For a recording opened in the middle of a run: a frame mark's device time (ps) and
    /// absolute pulse index (`/pattern/frame_reference_time_ps`, `.../frame_reference_pulse`),
    /// without which its pulses cannot be matched to the generator's symbols.
    pub frame_reference: Option<(f64, i64)>,
    /// Coarse period and fine bins of the tagger, ps and count.
    pub time_base: (u32, u16),
    /// Compression of the datasets.
    pub compression: Compression,
    /// The scenario (TOML text) the run belongs to, if any.
    pub scenario_text: Option<String>,
    /// The transmitter's nominal pulse rate, Hz, if known.
    pub pulse_rate_hz: Option<f64>,
    /// The run configuration as structured values (name with its unit, value): attributes
    /// of the `/config` group, next to `config_text`, the configuration as given.
    pub config: Vec<(String, ConfigValue)>,
}

/// A value of the structured run configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A flag.
    Bool(bool),
    /// Text (also lists, comma separated).
    Text(String),
}

/// Compression of the tag datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// gzip (deflate level 1) after byte shuffling: stock h5py reads it, no plugins.
    #[default]
    Gzip,
    /// None: the fastest to write, the largest file.
    None,
}

/// One row of the metrics time series (cumulative counts since the start of the run).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MetricsRow {
    /// Time of the latest tag when the row was taken, ps.
    pub time_ps: i64,
    /// Lock state: 0 searching, 1 locked, 2 holdover, 3 lost.
    pub lock_state: u8,
    /// Relative offset of the received pulse rate from nominal.
    pub rate_offset: f64,
    /// The clock fit: the sync period now, ps (NaN before the first lock).
    pub sync_period_ps: f64,
    /// The clock fit: time of the reference (filtered) sync, ps (NaN before the first lock).
    pub sync_phase_ps: f64,
    /// Gated detections.
    pub gated: u64,
    /// Sifted events in Z and X.
    pub sifted: [u64; 2],
    /// Bit errors in Z and X.
    pub errors: [u64; 2],
    /// Finite-key length of the run so far, bits.
    pub key_length_bits: u64,
    /// Overflow episodes seen in the stream.
    pub overflows: u64,
    /// Tags the device reported lost.
    pub missed: u64,
    /// Tags analysed / tags read since the start.
    pub analysed_fraction: f64,
}

/// One closed metrics window (e.g. 100 ms of pulses).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WindowRow {
    /// Window number: first pulse index / pulses per window.
    pub index: i64,
    /// Nominal length, s.
    pub duration_s: f64,
    /// QBER in Z and X (NaN without sifted events).
    pub qber: [f64; 2],
    /// Sifted events in Z and X in the window.
    pub sifted: [u64; 2],
    /// Bit errors in Z and X in the window.
    pub errors: [u64; 2],
    /// Finite-key length of the window alone, bits.
    pub key_length_bits: u64,
    /// Tags of the detector channels 0..3 in the window.
    pub detector_tags: [u64; 4],
    /// Overflow episodes and tags lost in the window.
    pub overflows: u64,
    /// See `overflows`.
    pub missed: u64,
    /// Fraction of the window's pulses analysed.
    pub analysed_fraction: f64,
}

/// How a run ended, written into the file on every exit path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// All data of the run are in the file.
    Complete,
    /// The run stopped early; the reason says why.
    Aborted(String),
    /// A converted file whose source ended in the middle (a crashed acquisition): the file
    /// holds every complete record; the reason says where the source ends.
    Truncated(String),
}

/// As the file's `run_status` attribute says it: `complete` or `aborted: <reason>`.
impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunStatus::Complete => f.write_str("complete"),
            RunStatus::Aborted(r) => write!(f, "aborted: {r}"),
            RunStatus::Truncated(r) => write!(f, "truncated: {r}"),
        }
    }
}

/// Kind codes of the events dataset.
pub mod event_kind {
    /// Overflow began.
    pub const OVERFLOW_BEGIN: u8 = 1;
    /// Overflow ended.
    pub const OVERFLOW_END: u8 = 2;
    /// Tags missed (count in `count`, channel in `channel`).
    pub const MISSED: u8 = 3;
    /// Stream error (the word in `count`, its byte offset in `time_ps`).
    pub const ERROR: u8 = 4;

    use drivers::stream::{StreamErrorKind, StreamEvent};

    /// An event as the `/events` columns hold it: (kind, time_ps, channel, count).
    pub fn encode(e: &StreamEvent) -> (u8, i64, u8, u64) {
        match *e {
            StreamEvent::OverflowBegin { time_ps } => (OVERFLOW_BEGIN, time_ps, 0, 0),
            StreamEvent::OverflowEnd { time_ps } => (OVERFLOW_END, time_ps, 0, 0),
            StreamEvent::Missed { channel, count } => (MISSED, -1, channel, count),
            StreamEvent::Error { byte_offset, word, kind } => {
                let _: StreamErrorKind = kind;
                (ERROR, byte_offset as i64, 0, u64::from(word))
            }
        }
    }

    /// The event of one `/events` row, None for an unknown kind.
    pub fn decode(kind: u8, time_ps: i64, channel: u8, count: u64) -> Option<StreamEvent> {
        Some(match kind {
            OVERFLOW_BEGIN => StreamEvent::OverflowBegin { time_ps },
            OVERFLOW_END => StreamEvent::OverflowEnd { time_ps },
            MISSED => StreamEvent::Missed { channel, count },
            ERROR => StreamEvent::Error {
                byte_offset: time_ps as u64,
                word: count as u32,
                kind: StreamErrorKind::UnknownRecord,
            },
            _ => return None,
        })
    }
}

/// The /metrics columns.
const METRIC_COLUMNS: &[ColumnSpec] = &[
    ("time_ps", "ps", "device time the row was taken at: a multiple of 100 ms, or the last tag", Col::Int),
    ("lock_state", "1", "0 searching, 1 locked, 2 holdover, 3 lost", Col::Int),
    ("rate_offset", "1", "received pulse rate / nominal - 1 (Doppler and clocks)", Col::Float),
    ("sync_period_ps", "ps", "clock fit: sync period (NaN before the first lock)", Col::Float),
    ("sync_phase_ps", "ps", "clock fit: time of the filtered reference sync (NaN before the first lock)", Col::Float),
    ("gated", "1", "gated detections since the start", Col::Int),
    ("sifted_z", "1", "sifted events in Z since the start", Col::Int),
    ("sifted_x", "1", "sifted events in X since the start", Col::Int),
    ("errors_z", "1", "bit errors in Z since the start", Col::Int),
    ("errors_x", "1", "bit errors in X since the start", Col::Int),
    ("key_length_bits", "bit", "finite-key length of the run so far (one block)", Col::Int),
    ("overflows", "1", "overflow episodes since the start", Col::Int),
    ("missed", "1", "tags the device reported lost since the start", Col::Int),
    (
        "analysed_fraction",
        "1",
        "tags analysed / tags read since the start (1 unless a live run skipped blocks)",
        Col::Float,
    ),
];

/// The /lock_changes columns.
const LOCK_COLUMNS: &[ColumnSpec] = &[
    ("time_ps", "ps", "device time of the change", Col::Int),
    ("state", "1", "the new state: 0 searching, 1 locked, 2 holdover, 3 lost", Col::Int),
];

/// The /windows columns.
const WINDOW_COLUMNS: &[ColumnSpec] = &[
    ("index", "1", "window number: first pulse index / pulses per window", Col::Int),
    ("duration_s", "s", "nominal length of the window", Col::Float),
    ("qber_z", "1", "QBER in Z (NaN without sifted events)", Col::Float),
    ("qber_x", "1", "QBER in X (NaN without sifted events)", Col::Float),
    ("sifted_z", "1", "sifted events in Z", Col::Int),
    ("sifted_x", "1", "sifted events in X", Col::Int),
    ("errors_z", "1", "bit errors in Z", Col::Int),
    ("errors_x", "1", "bit errors in X", Col::Int),
    ("key_length_bits", "bit", "finite-key length of the window alone", Col::Int),
    ("tags_h", "1", "tags of detector H (channel 0)", Col::Int),
    ("tags_v", "1", "tags of detector V (channel 1)", Col::Int),
    ("tags_d", "1", "tags of detector D (channel 2)", Col::Int),
    ("tags_a", "1", "tags of detector A (channel 3)", Col::Int),
    ("overflows", "1", "overflow episodes", Col::Int),
    ("missed", "1", "tags the device reported lost", Col::Int),
    (
        "analysed_fraction",
        "1",
        "fraction of the window's pulses analysed (1 unless a live run skipped blocks)",
        Col::Float,
    ),
];

/// A recording being written.
#[derive(Debug)]
pub struct RecordingWriter {
    path: PathBuf,
    file: File,
    tags: TagColumns,
    ev_tag_index: Dataset,
    ev_kind: Dataset,
    ev_time_ps: Dataset,
    ev_channel: Dataset,
    ev_count: Dataset,
    metrics: Table,
    lock_changes: Table,
    windows: Table,
    events: usize,
    last_flush: Instant,
    /// Disk space held back for closing the file after a write error (see [`Reserve`]).
    reserve: Reserve,
    /// A write failed: `finish` then writes no more tags, only the status.
    failed: bool,
    /// Writeback of the file's new bytes from the start (none where the file cannot be
    /// opened twice or the thread cannot start: the kernel's own writeback then).
    _flusher: Option<crate::writeback::Flusher>,
}

/// Bytes held in a file beside the recording, released when a write fails so that the
/// recording can still be closed with its status, its tag count and a superblock that
/// covers the data already written. Without it, a full disk leaves a file that says
/// `running` and whose written chunks cannot be read.
const RESERVE_BYTES: usize = 256 * 1024;

#[derive(Debug)]
struct Reserve(Option<PathBuf>);

impl Reserve {
    fn create(recording: &Path) -> std::io::Result<Self> {
        let name =
            format!(".{}.qkdbench-reserve", recording.file_name().and_then(|n| n.to_str()).unwrap_or("recording"));
        let path = recording.with_file_name(name);
        use std::io::Write;
        let mut f = std::fs::File::create(&path)?;
        // Written, not only sized: sparse files and tmpfs allocate on write.
        let r = f.write_all(&vec![0u8; RESERVE_BYTES]).and_then(|()| f.sync_all());
        if let Err(e) = r {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Ok(Reserve(Some(path)))
    }

    fn release(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for Reserve {
    fn drop(&mut self) {
        self.release();
    }
}

fn attr_text(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    loc.new_attr::<VarLenUnicode>().create(name)?.write_scalar(&text(value))
}

/// The run's metadata on `loc` (the root of a recording; `/user/qkdbench` of a Photon-HDF5
/// export of one): the `source`, `config_text`, `scenario` and `verdict` attributes, the
/// `/pattern` and `/config` groups, the time base and the pulse rate
/// (docs/recording-schema.md). One function, so that both carry the same fields.
pub(crate) fn write_run_metadata(path: &Path, loc: &hdf5::Group, meta: &RunMeta) -> Result<(), RecordingError> {
    let e = |what: &'static str| move |err| h5(path, what, err);
    attr_text(loc, "source", &meta.source).map_err(e("source"))?;
    attr_text(loc, "config_text", &meta.config_text).map_err(e("config_text"))?;
    attr_text(loc, "scenario", meta.scenario_text.as_deref().unwrap_or("")).map_err(e("scenario"))?;
    attr_text(loc, "verdict", "").map_err(e("verdict"))?;
    if let Some(p) = &meta.pattern {
        let g = loc.create_group("pattern").map_err(e("group pattern"))?;
        let w =
            |name: &str, v: &[u64]| -> hdf5::Result<()> { g.new_attr::<u64>().shape(v.len()).create(name)?.write(v) };
        let u = |x: &[u32]| x.iter().map(|&v| u64::from(v)).collect::<Vec<u64>>();
        w("seed", &[p.seed]).map_err(e("pattern/seed"))?;
        w("class_thr", &u(&p.class_thr)).map_err(e("pattern/class_thr"))?;
        w("basis_thr", &[u64::from(p.basis_thr)]).map_err(e("pattern/basis_thr"))?;
        w("dac_code", &p.dac_code.map(u64::from)).map_err(e("pattern/dac_code"))?;
        w("pol_map", &[u64::from(p.pol_map)]).map_err(e("pattern/pol_map"))?;
        w("sync_period", &[u64::from(p.sync_period)]).map_err(e("pattern/sync_period"))?;
        w("frame_period", &[u64::from(p.frame_period)]).map_err(e("pattern/frame_period"))?;
        if let Some((mu, full_scale)) = &meta.pattern_mu {
            g.new_attr::<f64>().shape(mu.len()).create("mu").and_then(|a| a.write(mu)).map_err(e("pattern/mu"))?;
            g.new_attr::<f64>()
                .create("mu_full_scale")
                .and_then(|a| a.write_scalar(full_scale))
                .map_err(e("pattern/mu_full_scale"))?;
        }
        if let Some((t, pulse)) = meta.frame_reference {
            g.new_attr::<f64>()
                .create("frame_reference_time_ps")
                .and_then(|a| a.write_scalar(&t))
                .map_err(e("pattern/frame_reference_time_ps"))?;
            g.new_attr::<i64>()
                .create("frame_reference_pulse")
                .and_then(|a| a.write_scalar(&pulse))
                .map_err(e("pattern/frame_reference_pulse"))?;
        }
    }
    loc.new_attr::<u32>()
        .create("coarse_period_ps")
        .and_then(|a| a.write_scalar(&meta.time_base.0))
        .map_err(e("coarse_period_ps"))?;
    loc.new_attr::<f64>()
        .create("pulse_rate_hz")
        .and_then(|a| a.write_scalar(&meta.pulse_rate_hz.unwrap_or(f64::NAN)))
        .map_err(e("pulse_rate_hz"))?;
    loc.new_attr::<u16>()
        .create("fine_bins")
        .and_then(|a| a.write_scalar(&meta.time_base.1))
        .map_err(e("fine_bins"))?;

    let config = loc.create_group("config").map_err(e("group config"))?;
    for (name, value) in &meta.config {
        let r = match value {
            ConfigValue::Int(v) => config.new_attr::<i64>().create(name.as_str()).and_then(|a| a.write_scalar(v)),
            ConfigValue::Float(v) => config.new_attr::<f64>().create(name.as_str()).and_then(|a| a.write_scalar(v)),
            ConfigValue::Bool(v) => {
                config.new_attr::<u8>().create(name.as_str()).and_then(|a| a.write_scalar(&u8::from(*v)))
            }
            ConfigValue::Text(v) => attr_text(&config, name, v),
        };
        r.map_err(|err| h5(path, &format!("config/{name}"), err))?;
    }
    Ok(())
}

impl RecordingWriter {
    /// Creates `path` (replacing it) with the schema's groups, datasets and attributes.
    pub fn create(path: &Path, meta: &RunMeta) -> Result<Self, RecordingError> {
        let e = |what: &'static str| move |err| h5(path, what, err);
        let reserve = Reserve::create(path).map_err(|source| RecordingError::Io { path: path.into(), source })?;
        // Space freed in the file is never reused. The last partial chunk is rewritten at
        // every flush; with space reuse, its old copy (which the index on the disk still
        // points to until the next flush) could be overwritten by other data in between,
        // and a crash then left h5py reading garbage or failing there (3 of 6 `kill -9` in
        // a test). The cost: the old copies stay in the file, at most one partial chunk per
        // flush.
        let file = File::with_options()
            .with_fcpl(|p| p.file_space_strategy(hdf5::file::FileSpaceStrategy::None))
            .create(path)
            .map_err(e("creating the file"))?;
        file.new_attr::<u32>()
            .create("schema_version")
            .and_then(|a| a.write_scalar(&SCHEMA_VERSION))
            .map_err(e("schema_version"))?;
        attr_text(&file, "format", "qkdbench recording").map_err(e("format"))?;
        attr_text(&file, "tool", concat!("qkdbench ", env!("CARGO_PKG_VERSION"))).map_err(e("tool"))?;
        attr_text(&file, "run_status", "running").map_err(e("run_status"))?;
        write_run_metadata(path, &file, meta)?;
        let tags = file.create_group("tags").map_err(e("group tags"))?;
        let events = file.create_group("events").map_err(e("group events"))?;
        let gzip = meta.compression == Compression::Gzip;
        let time_ps = column::<i64>(&tags, "time_ps", "ps", "tag time in the tagger's time base", TAG_CHUNK, gzip)
            .map_err(e("tags/time_ps"))?;
        let channel = column::<u8>(
            &tags,
            "channel",
            "1",
            "0-63 tagger input; 64 instrument sync (imported T2 files); 128 + bits: marker",
            TAG_CHUNK,
            gzip,
        )
        .map_err(e("tags/channel"))?;
        let c = 4096;
        let ev_tag_index = column::<u64>(&events, "tag_index", "1", "number of tags before the event", c, gzip)
            .map_err(e("events/tag_index"))?;
        let ev_kind =
            column::<u8>(&events, "kind", "1", "1 overflow begin, 2 overflow end, 3 missed, 4 stream error", c, gzip)
                .map_err(e("events/kind"))?;
        let ev_time_ps = column::<i64>(
            &events,
            "time_ps",
            "ps",
            "time of an overflow begin/end; byte offset for errors; -1 otherwise",
            c,
            gzip,
        )
        .map_err(e("events/time_ps"))?;
        let ev_channel =
            column::<u8>(&events, "channel", "1", "channel of a missed count", c, gzip).map_err(e("events/channel"))?;
        let ev_count = column::<u64>(&events, "count", "1", "tags missed; the bad word for errors", c, gzip)
            .map_err(e("events/count"))?;
        let metrics = Table::create(path, &file, "metrics", METRIC_COLUMNS, gzip)?;
        let lock_changes = Table::create(path, &file, "lock_changes", LOCK_COLUMNS, gzip)?;
        let windows = Table::create(path, &file, "windows", WINDOW_COLUMNS, gzip)?;
        file.flush().map_err(e("flush"))?;
        Ok(RecordingWriter {
            metrics,
            lock_changes,
            windows,
            path: path.into(),
            file,
            tags: TagColumns::new(path, time_ps, channel, gzip),
            ev_tag_index,
            ev_kind,
            ev_time_ps,
            ev_channel,
            ev_count,
            events: 0,
            last_flush: Instant::now(),
            reserve,
            failed: false,
            _flusher: crate::writeback::Flusher::start(path).ok(),
        })
    }

    /// Appends a batch (tags and events); flushes when a second has passed since the last.
    /// After an error the writer can still be finished (the disk space held back for that is
    /// released).
    pub fn append(&mut self, b: &TagBatch) -> Result<(), RecordingError> {
        let r = self.append_inner(b);
        if r.is_err() {
            self.failed = true;
            self.reserve.release();
        }
        r
    }

    fn append_inner(&mut self, b: &TagBatch) -> Result<(), RecordingError> {
        let base = self.tags.rows();
        if !b.events.is_empty() {
            let n = b.events.len();
            let (mut idx, mut kind, mut time, mut ch, mut count) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            );
            for (i, e) in &b.events {
                idx.push((base + i) as u64);
                let (k, t, c, cnt) = event_kind::encode(e);
                kind.push(k);
                time.push(t);
                ch.push(c);
                count.push(cnt);
            }
            extend(&self.path, &self.ev_tag_index, self.events, &idx)?;
            extend(&self.path, &self.ev_kind, self.events, &kind)?;
            extend(&self.path, &self.ev_time_ps, self.events, &time)?;
            extend(&self.path, &self.ev_channel, self.events, &ch)?;
            extend(&self.path, &self.ev_count, self.events, &count)?;
            self.events += n;
        }
        self.tags.append(&b.time_ps, &b.channel)?;
        if self.last_flush.elapsed() >= FLUSH_INTERVAL {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends one row of the metrics time series (written at the next flush).
    pub fn append_metrics(&mut self, m: &MetricsRow) {
        let i = |x: u64| Value::I(x as i64);
        self.metrics.push(vec![
            Value::I(m.time_ps),
            Value::I(i64::from(m.lock_state)),
            Value::F(m.rate_offset),
            Value::F(m.sync_period_ps),
            Value::F(m.sync_phase_ps),
            i(m.gated),
            i(m.sifted[0]),
            i(m.sifted[1]),
            i(m.errors[0]),
            i(m.errors[1]),
            i(m.key_length_bits),
            i(m.overflows),
            i(m.missed),
            Value::F(m.analysed_fraction),
        ]);
    }

    /// Appends a lock-state change (state codes as in the metrics).
    pub fn append_lock_change(&mut self, time_ps: i64, state: u8) {
        self.lock_changes.push(vec![Value::I(time_ps), Value::I(i64::from(state))]);
    }

    /// Appends a closed metrics window.
    pub fn append_window(&mut self, w: &WindowRow) {
        let i = |x: u64| Value::I(x as i64);
        self.windows.push(vec![
            Value::I(w.index),
            Value::F(w.duration_s),
            Value::F(w.qber[0]),
            Value::F(w.qber[1]),
            i(w.sifted[0]),
            i(w.sifted[1]),
            i(w.errors[0]),
            i(w.errors[1]),
            i(w.key_length_bits),
            i(w.detector_tags[0]),
            i(w.detector_tags[1]),
            i(w.detector_tags[2]),
            i(w.detector_tags[3]),
            i(w.overflows),
            i(w.missed),
            Value::F(w.analysed_fraction),
        ]);
    }

    /// Keeps the source file's header (e.g. a PTU file's tags) as attributes of `/source_header`.
    pub fn write_source_header(&mut self, tags: &[crate::import::ptu::Tag]) -> Result<(), RecordingError> {
        use crate::import::ptu::TagValue;
        let g = self.file.create_group("source_header").map_err(|e| h5(&self.path, "source_header", e))?;
        // Names already written, kept here: asking HDF5 for each one made large headers
        // quadratic (40k tags took minutes).
        let mut seen = std::collections::HashSet::new();
        for t in tags {
            let name = if t.index >= 0 { format!("{}[{}]", t.name, t.index) } else { t.name.clone() };
            // HDF5 attribute names cannot hold '/' or '.' alone, nor be empty.
            if name.is_empty() || name == "." || name.contains('/') || !seen.insert(name.clone()) {
                continue;
            }
            let r = match &t.value {
                TagValue::Empty => attr_text(&g, &name, ""),
                TagValue::Bool(b) => {
                    g.new_attr::<u8>().create(name.as_str()).and_then(|a| a.write_scalar(&u8::from(*b)))
                }
                TagValue::Int(v) => g.new_attr::<i64>().create(name.as_str()).and_then(|a| a.write_scalar(v)),
                TagValue::Float(v) | TagValue::DateTime(v) => {
                    g.new_attr::<f64>().create(name.as_str()).and_then(|a| a.write_scalar(v))
                }
                TagValue::FloatArray(v) => {
                    g.new_attr::<f64>().shape(v.len()).create(name.as_str()).and_then(|a| a.write(v))
                }
                TagValue::Text(s) => attr_text(&g, &name, s),
                TagValue::Blob(b) => g.new_attr::<u8>().shape(b.len()).create(name.as_str()).and_then(|a| a.write(b)),
            };
            r.map_err(|e| h5(&self.path, &format!("source_header/{name}"), e))?;
        }
        Ok(())
    }

    /// Writes the scenario's verdict (and report) into the `verdict` attribute.
    pub fn set_verdict(&mut self, verdict: &str) -> Result<(), RecordingError> {
        self.file.attr("verdict").and_then(|a| a.write_scalar(&text(verdict))).map_err(|e| h5(&self.path, "verdict", e))
    }

    /// Flushes everything written so far to disk.
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        self.tags.flush()?;
        self.metrics.flush()?;
        self.lock_changes.flush()?;
        self.windows.flush()?;
        self.file.flush().map_err(|e| h5(&self.path, "flush", e))?;
        self.last_flush = Instant::now();
        Ok(())
    }

    /// Tags taken so far (written or buffered).
    pub fn tags(&self) -> usize {
        self.tags.rows()
    }

    /// Events written.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Flushes, then writes how the run ended and the number of tags really in the file,
    /// closes it and syncs it to the disk. `complete` is written last, after a successful
    /// flush: a file that says so holds every tag of the run. When the flush fails (a full
    /// disk), the file says `aborted: <the error>` with the count of what it holds, and
    /// the error comes back.
    pub fn finish(mut self, status: &RunStatus) -> Result<(), RecordingError> {
        let path = self.path.clone();
        let flushed = if self.failed {
            // The tags that could not be written stay out; the extent covers what is in (the
            // disk space held back was released when the write failed: room for this).
            self.tags.truncate_to_written();
            Err(RecordingError::Hdf5 {
                path: path.clone(),
                reason: "an earlier write failed (see the run status)".into(),
            })
        } else {
            self.flush()
        };
        if flushed.is_err() {
            self.reserve.release();
            let _ = self.metrics.flush();
            let _ = self.lock_changes.flush();
            let _ = self.windows.flush();
        }
        let s = match (&flushed, status) {
            (Err(_), RunStatus::Aborted(why)) if self.failed => format!("aborted: {why}"),
            (Err(e), _) => format!("aborted: {e}"),
            (Ok(()), RunStatus::Complete) => "complete".to_string(),
            (Ok(()), RunStatus::Aborted(why)) => format!("aborted: {why}"),
            (Ok(()), RunStatus::Truncated(why)) => format!("truncated: {why}"),
        };
        let rows = if flushed.is_err() { self.tags.verified_rows() } else { self.tags.written_rows() } as u64;
        let marked = self
            .file
            .attr("run_status")
            .and_then(|a| a.write_scalar(&text(&s)))
            .and_then(|()| self.file.new_attr::<u64>().create("tag_count").and_then(|a| a.write_scalar(&rows)))
            .and_then(|()| self.file.flush())
            .map_err(|e| h5(&path, "run_status", e));
        drop(self);
        flushed?;
        marked?;
        std::fs::File::open(&path).and_then(|f| f.sync_all()).map_err(|source| RecordingError::Io { path, source })
    }
}

/// Writes `verdict` into the `verdict` attribute of a finished recording (a scenario decides
/// its verdict after the run's file is closed).
pub fn write_verdict(path: &Path, verdict: &str) -> Result<(), RecordingError> {
    let file = File::open_rw(path).map_err(|e| h5(path, "opening for the verdict", e))?;
    file.attr("verdict").and_then(|a| a.write_scalar(&text(verdict))).map_err(|e| h5(path, "verdict", e))?;
    file.close().map_err(|e| h5(path, "closing after the verdict", e))
}
