//! `qkdbench convert IN OUT`: other instruments' files into a qkdbench recording, or any
//! file qkdbench reads into Photon-HDF5.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use recordings::convert::{convert, OutputFormat};

use super::compression::Compress;

/// Output formats of `qkdbench convert`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// A qkdbench recording (docs/recording-schema.md): replay, dump and the engine read it.
    Qkdbench,
    /// Photon-HDF5 0.5 (photon-hdf5.org): detections and syncs, timestamps in ps.
    PhotonHdf5,
}

/// Arguments of `qkdbench convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Input: a PicoQuant PTU file (T2 or T3) or an older .ht2/.ht3/.pt2/.pt3/.t3r file, an
    /// S-Fifteen timestamp7 `.ts` file, a Photon-HDF5 file, or a qkdbench recording.
    input: PathBuf,
    /// Output HDF5 file (replaced if it exists; written under OUT.partial until complete).
    output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "qkdbench")]
    to: Format,
    /// Compression of a qkdbench recording.
    #[arg(long, value_enum, default_value = "gzip")]
    compression: Compress,
    /// Read the input as this format instead of recognising it by content.
    #[arg(long, value_enum, default_value = "auto")]
    format: super::input_format::InputFormat,
    /// Refuse an input that ends inside a record (no output), instead of converting every
    /// complete record into an output marked `truncated`.
    #[arg(long)]
    strict: bool,
}

/// Runs `qkdbench convert`: exit 0 when OUT is complete; 2 (naming the file and offset)
/// when the input is bad, and OUT is then not created, except for an input cut inside a
/// record: OUT then holds every complete record and says `truncated: <where>` (exit 2
/// still), unless `--strict`.
pub fn run(args: ConvertArgs) -> ExitCode {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} converting [{wide_bar}] {pos}/{len} records ({per_sec}, {eta} left)")
            .expect("valid template"),
    );
    let format = match args.to {
        Format::Qkdbench => OutputFormat::Recording,
        Format::PhotonHdf5 => OutputFormat::PhotonHdf5,
    };
    let compression = args.compression.into();
    // Ctrl-C, SIGTERM and SIGHUP stop the conversion between blocks; the partial output
    // is removed.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let _ = ctrlc::set_handler(move || s.store(true, std::sync::atomic::Ordering::Relaxed));
    let r = convert(
        &args.input,
        &args.output,
        format,
        compression,
        args.strict,
        args.format.forced(),
        &mut |read, total| {
            bar.set_length(total.max(read));
            bar.set_position(read);
            !stop.load(std::sync::atomic::Ordering::Relaxed)
        },
    );
    bar.finish_and_clear();
    if let Some(note) = r.as_ref().ok().and_then(|s| s.note.as_deref()) {
        super::errln!("qkdbench convert: note: {note}");
    }
    match r {
        Ok(s) if s.truncated.is_some() => {
            super::errln!(
                "qkdbench convert: {}; {} holds the {} rows before it and says `truncated` (--strict refuses such \
                 an input)",
                s.truncated.as_deref().unwrap_or_default(),
                args.output.display(),
                s.rows_out
            );
            ExitCode::from(2)
        }
        Ok(s) => {
            let [tags, syncs, markers, overflows, missed, errors] = s.events_in;
            super::outln!(
                "converted {} -> {}: {tags} detections, {syncs} syncs, {markers} markers, {overflows} overflow \
                 records, {missed} missed, {errors} errors read; {} rows written, {} events left out",
                args.input.display(),
                args.output.display(),
                s.rows_out,
                s.left_out
            );
            ExitCode::SUCCESS
        }
        Err(recordings::RecordingError::Refused { reason, .. }) if reason.starts_with("conversion interrupted") => {
            // Stopped by the user: a run cut short (exit 1), not bad input.
            super::errln!(
                "qkdbench convert: interrupted; {} was removed, {} not written",
                recordings::convert::partial_path(&args.output).display(),
                args.output.display()
            );
            ExitCode::from(1)
        }
        Err(e @ (recordings::RecordingError::Io { .. } | recordings::RecordingError::Hdf5 { .. }))
            if e.to_string().starts_with(&args.output.display().to_string()) =>
        {
            // Writing the output failed (a full disk): the input was fine.
            super::errln!("qkdbench convert: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            super::errln!("qkdbench convert: {e}");
            if args.output.is_file() && !matches!(e, recordings::RecordingError::Refused { .. }) {
                super::errln!(
                    "qkdbench convert: {} was not replaced: the file there is an older one",
                    args.output.display()
                );
            }
            ExitCode::from(2)
        }
    }
}
