//! `qkdbench dump FILE`: the normalised event stream of any file qkdbench reads, as CSV.

use std::io::{BufWriter, ErrorKind, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `qkdbench dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// A qkdbench recording, a Photon-HDF5 file, a PicoQuant PTU file (T2 or T3, any
    /// instrument) or one of PicoQuant's older .ht2/.ht3/.pt2/.pt3/.t3r files, or S-Fifteen
    /// timestamp7 data (a0 or a2 text, a1 binary in either word order), recognised by content.
    file: PathBuf,
    /// Read the file as this format instead of recognising it.
    #[arg(long, value_enum, default_value = "auto")]
    format: super::input_format::InputFormat,
    /// Print at most this many events.
    #[arg(long)]
    limit: Option<u64>,
}

/// Runs `qkdbench dump`: CSV `time_ps,channel,kind` on stdout. On a bad or cut file: every
/// complete record before the problem, then a message naming the file and byte offset (and,
/// for a cut PTU, how many records its header announced) on stderr and exit code 2.
pub fn run(args: DumpArgs) -> ExitCode {
    let mut src = match recordings::open_as(&args.file, args.format.forced()) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    let out = std::io::stdout();
    let mut w = BufWriter::with_capacity(1 << 20, out.lock());
    let mut events = Vec::with_capacity(1 << 16);
    let limit = args.limit.unwrap_or(u64::MAX);
    let mut printed = 0u64;
    let (mut rows, mut num) = (Vec::with_capacity(1 << 21), itoa::Buffer::new());
    let write = |w: &mut BufWriter<_>, s: &str| -> Result<(), std::io::Error> { w.write_all(s.as_bytes()) };
    if let Err(e) = write(&mut w, "time_ps,channel,kind\n") {
        return io_end(e);
    }
    loop {
        events.clear();
        let cut = match src.read_events(&mut events, 1 << 16) {
            Ok(0) => break,
            Ok(_) => None,
            // Every complete record before the problem is printed, then the problem.
            Err(e) => Some(e),
        };
        // The rows of a block formatted into one buffer, integers with `itoa` (no format
        // machinery per row: dump is a few times slower with `writeln!`), then one write.
        let take = events.len().min(usize::try_from(limit - printed).unwrap_or(usize::MAX));
        rows.clear();
        for e in &events[..take] {
            rows.extend_from_slice(num.format(e.time_ps).as_bytes());
            rows.push(b',');
            rows.extend_from_slice(num.format(e.channel).as_bytes());
            rows.push(b',');
            rows.extend_from_slice(e.kind.as_str().as_bytes());
            rows.push(b'\n');
        }
        printed += take as u64;
        if let Err(e) = w.write_all(&rows) {
            return io_end(e);
        }
        if printed >= limit {
            return match w.flush() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => io_end(e),
            };
        }
        if let Some(e) = cut {
            if let Err(e) = w.flush() {
                return io_end(e);
            }
            return fail(&e.to_string());
        }
    }
    if let Err(e) = w.flush() {
        return io_end(e);
    }
    if let Some(note) = src.note() {
        super::errln!("qkdbench dump: note: {note}");
    }
    ExitCode::SUCCESS
}

/// A reader that went away (`| head`) is not an error; an output that cannot be written (a
/// full disk) is exit 1, as for every command (docs/exit-codes.md): the input was fine.
fn io_end(e: std::io::Error) -> ExitCode {
    if e.kind() == ErrorKind::BrokenPipe {
        ExitCode::SUCCESS
    } else {
        super::errln!("qkdbench dump: writing to standard output: {e}");
        ExitCode::from(1)
    }
}

fn fail(msg: &str) -> ExitCode {
    super::errln!("qkdbench dump: {msg}");
    ExitCode::from(2)
}
