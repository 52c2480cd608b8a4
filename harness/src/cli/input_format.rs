//! `--format` of `dump` and `convert`: force how an input is read (default: from its
//! content).

use recordings::import::timestamp7::Layout;
use recordings::Format;

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// From the content (HDF5 or PTU magic, or a PicoQuant instrument's name; timestamp7 text or binary, the a1 word order
    /// from the data).
    Auto,
    /// A qkdbench HDF5 recording.
    Recording,
    /// A PicoQuant PTU file, or an older .ht2/.ht3/.pt2/.pt3/.t3r file.
    Ptu,
    /// timestamp7 "a0": one 32-bit hex word per line (low, then high).
    Ts7A0,
    /// timestamp7 "a1": binary, two little-endian u32 per event, low word first.
    Ts7A1,
    /// timestamp7 "a1", legacy word order (high word first).
    Ts7A1Legacy,
    /// timestamp7 "a2": one 64-bit hex word per line.
    Ts7A2,
}

impl InputFormat {
    /// The format to force, or None to detect it.
    pub fn forced(self) -> Option<Format> {
        match self {
            InputFormat::Auto => None,
            InputFormat::Recording => Some(Format::Recording),
            InputFormat::Ptu => Some(Format::Ptu),
            InputFormat::Ts7A0 => Some(Format::Timestamp7(Layout::A0)),
            InputFormat::Ts7A1 => Some(Format::Timestamp7(Layout::A1 { legacy: false })),
            InputFormat::Ts7A1Legacy => Some(Format::Timestamp7(Layout::A1 { legacy: true })),
            InputFormat::Ts7A2 => Some(Format::Timestamp7(Layout::A2)),
        }
    }
}
