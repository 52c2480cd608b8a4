//! `qkdbench convert IN OUT`: any file qkdbench reads (PTU, timestamp7, a recording) into a
//! qkdbench recording or a Photon-HDF5 file, streaming (files larger than memory work).
//!
//! The output is written under a temporary name beside OUT and renamed when complete, so a
//! failed conversion leaves nothing that looks like a finished file.

use std::path::{Path, PathBuf};

use drivers::stream::{StreamErrorKind, StreamEvent, TagBatch};

use crate::error::RecordingError;
use crate::event::EventKind;
use crate::import::ptu::RecordType;
use crate::import::{self, EventSource};
use crate::photon_hdf5::{PhotonHdf5Writer, Tcspc};
use crate::writer::{Compression, ConfigValue, RecordingWriter, RunMeta, RunStatus};

/// Format of the converted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// A qkdbench recording (docs/recording-schema.md).
    Recording,
    /// Photon-HDF5 0.5.
    PhotonHdf5,
}

/// What a conversion did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConvertSummary {
    /// Events read from the input, by kind: tag, sync, marker, overflow, missed, error.
    pub events_in: [u64; 6],
    /// Rows written to the output's tag (or photon) arrays.
    pub rows_out: u64,
    /// Events that have no place in the output format (counted, not written).
    pub left_out: u64,
    /// The input ended inside a record (a crashed acquisition): where, and how many records
    /// its header announced. Every complete record was converted, and the output says
    /// `truncated: <this>`.
    pub truncated: Option<String>,
    /// Something the input's reader noticed that is not an error (bytes ignored at its end).
    pub note: Option<String>,
}

fn kind_index(k: EventKind) -> usize {
    match k {
        EventKind::Tag => 0,
        EventKind::Sync => 1,
        EventKind::Marker => 2,
        EventKind::Overflow => 3,
        EventKind::Missed => 4,
        EventKind::Error => 5,
    }
}

/// An event the output format cannot hold.
fn unfit(input: &Path, time_ps: i64, reason: String) -> RecordingError {
    RecordingError::Unsupported { path: input.into(), reason: format!("event at {time_ps} ps: {reason}") }
}

/// The temporary name a conversion writes to before the rename.
pub fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    output.with_file_name(name)
}

/// Refuses outputs that must not be written over: anything but a regular file (a folder, a
/// device node such as /dev/null, a FIFO), and the input itself.
fn check_output(input: &Path, output: &Path) -> Result<(), RecordingError> {
    let refuse = |path: &Path, reason: String| Err(RecordingError::Refused { path: path.into(), reason });
    for p in [output.to_path_buf(), partial_path(output)] {
        if let Ok(m) = std::fs::metadata(&p) {
            if !m.is_file() {
                return refuse(
                    &p,
                    "exists and is not a regular file (a folder, a device or a FIFO): not replaced".into(),
                );
            }
        }
    }
    // The same file by another name (a link, ./x against x): compare where they lead.
    let canon = |p: &Path| -> Option<PathBuf> {
        if let Ok(c) = std::fs::canonicalize(p) {
            return Some(c);
        }
        let parent = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Some(std::fs::canonicalize(parent).ok()?.join(p.file_name()?))
    };
    if canon(input).is_some_and(|i| canon(output) == Some(i)) {
        return refuse(output, "is the input: convert writes a new file, choose another name".into());
    }
    Ok(())
}

/// Converts `input` into `output`; `progress(records read, records in the file)` is called
/// after every block and returns false to stop (Ctrl-C): the partial output is then removed.
/// An input that ends inside a record gives an output with every complete record and the
/// status `truncated: ...` (`ConvertSummary::truncated` says where), or, when `strict`, the
/// error and no output.
pub fn convert(
    input: &Path,
    output: &Path,
    format: OutputFormat,
    compression: Compression,
    strict: bool,
    input_format: Option<import::Format>,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<ConvertSummary, RecordingError> {
    check_output(input, output)?;
    let src = import::open_as(input, input_format)?;
    let tmp = partial_path(output);
    let result = match format {
        OutputFormat::Recording => to_recording(src, input, &tmp, compression, strict, progress),
        OutputFormat::PhotonHdf5 => to_photon_hdf5(src, input, output, &tmp, strict, progress),
    };
    // Errors while writing name the output the user asked for, not its temporary name.
    let result = result.map_err(|e| match e {
        RecordingError::Format { path, offset, reason } if path == tmp => {
            RecordingError::Format { path: output.into(), offset, reason }
        }
        RecordingError::Io { path, source } if path == tmp => RecordingError::Io { path: output.into(), source },
        RecordingError::Hdf5 { path, reason } if path == tmp => RecordingError::Hdf5 { path: output.into(), reason },
        other => other,
    });
    match result {
        Ok(summary) => {
            std::fs::rename(&tmp, output).map_err(|source| RecordingError::Io { path: output.into(), source })?;
            Ok(summary)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Reads `src` in blocks of events, calling `each` with every block, counting the events
/// by kind into `summary` and reporting progress.
fn for_each_block(
    input: &Path,
    src: &mut EventSource,
    summary: &mut ConvertSummary,
    strict: bool,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    want_raw: bool,
    mut each: impl FnMut(&[crate::event::Event], &[(u64, u16)], &mut ConvertSummary) -> Result<(), RecordingError>,
) -> Result<(), RecordingError> {
    let total = src.records_total();
    let (mut events, mut raw, mut read) = (Vec::with_capacity(1 << 16), Vec::new(), 0u64);
    loop {
        events.clear();
        raw.clear();
        let got = match (want_raw, &mut *src) {
            (true, EventSource::Ptu(p)) => p.read_events_raw(&mut events, Some(&mut raw), 1 << 16),
            _ => src.read_events(&mut events, 1 << 16),
        };
        let n = match got {
            Ok(n) => n,
            // The complete records before the cut are in `events`: they go out, then the
            // output says where the input ends.
            Err(e @ RecordingError::Truncated { .. }) if !strict => {
                for ev in &events {
                    summary.events_in[kind_index(ev.kind)] += 1;
                }
                each(&events, &raw, summary)?;
                summary.truncated = Some(e.to_string());
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            summary.note = src.note();
            return Ok(());
        }
        read += n as u64;
        for e in &events {
            summary.events_in[kind_index(e.kind)] += 1;
        }
        each(&events, &raw, summary)?;
        if !progress(read, total) {
            return Err(RecordingError::Refused {
                path: input.into(),
                reason: "conversion interrupted; the partial output was removed".into(),
            });
        }
    }
}

/// How the source itself ended, when not complete: a recording's (or an export's) run
/// status, a Photon-HDF5 file's root `run_status` (`truncated: ...`).
fn source_status(src: &EventSource, run: Option<&crate::reader::RecordedRun>) -> Option<String> {
    let own = match (run, src) {
        (Some(r), _) => Some(r.run_status.clone()),
        (None, EventSource::PhotonHdf5(p)) => p.run_status.clone(),
        _ => None,
    };
    own.filter(|s| !s.is_empty() && s != "complete").map(|s| match s.strip_prefix("truncated: ") {
        Some(why) => format!("converted from a truncated file: {why}"),
        None => format!("converted from a recording whose run status is {s:?}"),
    })
}

/// As [`for_each_block`] for the sources that are a recording's tag stream (a recording, a
/// Photon-HDF5 file): whole batches of tags with their loss events, exactly as a recording
/// holds them (a missed count stays one event with its count, an overflow keeps its begin and
/// end). Counts the tags and events by kind into `summary`.
fn for_each_batch(
    input: &Path,
    src: &mut EventSource,
    summary: &mut ConvertSummary,
    progress: &mut dyn FnMut(u64, u64) -> bool,
    mut each: impl FnMut(&TagBatch) -> Result<(), RecordingError>,
) -> Result<(), RecordingError> {
    let total = src.records_total();
    let (mut batch, mut read, mut events) = (TagBatch::with_capacity(1 << 16), 0u64, Vec::new());
    loop {
        batch.clear();
        let n = src.read_batch(&mut batch, 1 << 16).expect("a recording-shaped source")?;
        events.clear();
        crate::reader::batch_events(&batch, &mut events);
        for e in &events {
            summary.events_in[kind_index(e.kind)] += 1;
        }
        each(&batch)?;
        if n == 0 {
            return Ok(());
        }
        read += n as u64;
        if !progress(read, total) {
            return Err(RecordingError::Refused {
                path: input.into(),
                reason: "conversion interrupted; the partial output was removed".into(),
            });
        }
    }
}

fn to_recording(
    mut src: EventSource,
    input: &Path,
    tmp: &Path,
    compression: Compression,
    strict: bool,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<ConvertSummary, RecordingError> {
    // A recording, or a Photon-HDF5 export of one, carries its run on: pattern, time base,
    // intensities, frame reference and settings (a replay of the copy analyses it the same
    // way).
    let run = src.run()?;
    let base = RunMeta {
        source: String::new(),
        config_text: String::new(),
        pattern: None,
        pattern_mu: None,
        frame_reference: None,
        // Imported times are integer picoseconds: a 1 ps time base.
        time_base: (1, 1),
        compression,
        scenario_text: None,
        pulse_rate_hz: src.pulse_rate_hz(),
        config: Vec::new(),
    };
    let carried = run.as_ref().map_or(base, |r| r.meta(compression));
    let mut config = vec![
        ("input".to_string(), ConfigValue::Text(input.display().to_string())),
        ("compression".into(), ConfigValue::Text(format!("{compression:?}").to_lowercase())),
    ];
    config.extend(carried.config.into_iter().filter(|(k, _)| k != "input" && k != "compression"));
    // The run's own configuration text and scenario come along; a file without a run gets
    // the command that converted it.
    let config_text = match &run {
        Some(r) => r.config_text.clone(),
        None => std::env::args().collect::<Vec<_>>().join(" "),
    };
    let meta = RunMeta {
        source: format!("{}: {}", src.describe(), input.display()),
        config_text,
        pulse_rate_hz: carried.pulse_rate_hz.or(src.pulse_rate_hz()),
        config,
        ..carried
    };
    // A source that did not complete (a crash: `running`; `aborted: ...`; a truncated
    // file) makes a copy that says so.
    let status = match source_status(&src, run.as_ref()) {
        Some(s) => RunStatus::Aborted(s),
        None => RunStatus::Complete,
    };
    let mut w = RecordingWriter::create(tmp, &meta)?;
    if let Some(r) = run.as_ref().filter(|r| !r.verdict.is_empty()) {
        w.set_verdict(&r.verdict)?;
    }
    if let EventSource::Ptu(r) = &src {
        w.write_source_header(&r.tags)?;
    }
    let mut summary = ConvertSummary::default();
    if src.is_tag_stream() {
        let mut rows = 0u64;
        for_each_batch(input, &mut src, &mut summary, progress, |b| {
            rows += b.len() as u64;
            w.append(b)
        })?;
        summary.rows_out = rows;
        w.finish(&status)?;
        return Ok(summary);
    }
    let mut batch = TagBatch::with_capacity(1 << 16);
    for_each_block(input, &mut src, &mut summary, strict, progress, false, |events, _, summary| {
        batch.clear();
        for e in events {
            match crate::channels::to_recording(e) {
                Ok(Some(c)) => batch.push(e.time_ps, c),
                Ok(None) => match e.kind {
                    EventKind::Missed => batch
                        .events
                        .push((batch.len(), StreamEvent::Missed { channel: e.channel.min(255) as u8, count: 1 })),
                    EventKind::Error => batch.events.push((
                        batch.len(),
                        StreamEvent::Error { byte_offset: 0, word: 0, kind: StreamErrorKind::UnknownRecord },
                    )),
                    // Overflow records only carry the time forward; the times are absolute.
                    _ => summary.left_out += 1,
                },
                Err(reason) => return Err(unfit(input, e.time_ps, reason)),
            }
        }
        summary.rows_out += batch.len() as u64;
        w.append(&batch)
    })?;
    let status = match (&summary.truncated, status) {
        (Some(why), _) => RunStatus::Truncated(why.clone()),
        (None, s) => s,
    };
    w.finish(&status)?;
    Ok(summary)
}

fn to_photon_hdf5(
    mut src: EventSource,
    input: &Path,
    output: &Path,
    tmp: &Path,
    strict: bool,
    progress: &mut dyn FnMut(u64, u64) -> bool,
) -> Result<ConvertSummary, RecordingError> {
    // T3: timestamps in syncs and micro-times as nanotimes, as PicoQuant's data has them.
    let tcspc = match &src {
        EventSource::Ptu(p) if p.record_type.is_t3() && p.resolution_ps > 0.0 => Some(Tcspc {
            timestamps_unit_s: p.global_resolution_ps * 1e-12,
            unit_s: p.resolution_ps * 1e-12,
            bins: p.record_type.tcspc_bins(),
        }),
        _ => None,
    };
    let mut w = PhotonHdf5Writer::create(tmp, tcspc)?;
    let mut summary = ConvertSummary::default();
    let run = src.run()?;
    if let Some(run) = &run {
        // A recording (or an export of one): its run and loss events go to /user/qkdbench.
        w.set_run(run.clone());
    }
    if src.is_tag_stream() {
        for_each_batch(input, &mut src, &mut summary, progress, |b| {
            let mut ev = b.events.iter().peekable();
            for i in 0..b.len() {
                while let Some((_, e)) = ev.next_if(|(at, _)| *at <= i) {
                    w.push_event(*e);
                }
                match b.channel[i] {
                    c if c >= crate::channels::MARKER_BASE => {
                        w.push_marker(b.time_ps[i], c - crate::channels::MARKER_BASE)
                    }
                    c => w.push(b.time_ps[i], 0, c)?,
                }
            }
            for (_, e) in ev {
                w.push_event(*e);
            }
            Ok(())
        })?;
    } else {
        for_each_block(input, &mut src, &mut summary, strict, progress, tcspc.is_some(), |events, raw, summary| {
            for (i, e) in events.iter().enumerate() {
                let stamp = |e: &crate::event::Event| raw.get(i).map_or(e.time_ps, |&(nsync, _)| nsync as i64);
                match (e.kind, crate::channels::to_recording(e)) {
                    (EventKind::Tag | EventKind::Sync, Ok(Some(c))) => {
                        w.push(stamp(e), raw.get(i).map_or(0, |&(_, dtime)| dtime), c)?
                    }
                    // Markers go to /user/markers (the photon arrays have no place for them).
                    (EventKind::Marker, Ok(Some(_))) => w.push_marker(stamp(e), e.channel as u8),
                    (_, Err(reason)) => return Err(unfit(input, e.time_ps, reason)),
                    _ => summary.left_out += 1,
                }
            }
            Ok(())
        })?;
    }
    summary.rows_out = w.photons() as u64;
    let [tags, syncs, markers, overflows, missed, errors] = summary.events_in;
    let description = format!(
        "Converted by qkdbench from {} ({}). {}; detector IDs as qkdbench numbers channels \
         (docs/recording-schema.md): 0-63 the instrument's inputs as the instrument numbers them (PicoQuant \
         from 1, timestamp7 inputs 1-4, a qkdbench recording's detectors 0-3 H V D A, 4 sync, 5 frame mark), \
         64 the instrument's sync (PicoQuant T2), 65-127 inputs 64-126. {tags} detections and {syncs} syncs written; \
         {markers} markers in /user/markers (timestamps, ids = marker bits, photon_index = photons before each); {}",
        input.display(),
        src.describe(),
        if w.has_run() {
            format!(
                "the recording's run (pattern, settings, time base) and its {} loss events in /user/qkdbench \
                 (docs/recording-schema.md), so that it converts back whole and replays.",
                overflows + missed + errors
            )
        } else {
            format!(
                "left out: {overflows} overflow records, {missed} missed-event records, {errors} unreadable records."
            )
        },
        match (&src, tcspc.is_some()) {
            (EventSource::Ptu(p), true) if p.record_type == RecordType::TimeHarp200T3 => {
                "Timestamps in periods of the TimeHarp 200's macro clock (timestamps_unit; not the sync), with each \
                 photon's TCSPC micro-time in nanotimes"
            }
            (_, true) =>
                "Timestamps in sync periods (timestamps_unit), with each photon's TCSPC micro-time in nanotimes",
            _ => "Timestamps in ps",
        }
    );
    // As for a recording: a cut source makes a `truncated` file, a source that did not
    // complete (an aborted run, a truncated file) one that says so.
    let (description, status) = match (&summary.truncated, source_status(&src, run.as_ref())) {
        (Some(why), _) => (format!("TRUNCATED: {why}. {description}"), format!("truncated: {why}")),
        (None, Some(s)) => (format!("NOT COMPLETE: {s}. {description}"), format!("aborted: {s}")),
        (None, None) => (description, "complete".to_string()),
    };
    w.finish(&description, input, output, src.pulse_rate_hz(), &status)?;
    Ok(summary)
}
