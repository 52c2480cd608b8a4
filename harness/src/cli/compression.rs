//! The `--compression` flag of the commands that write recordings.

use clap::ValueEnum;
use recordings::Compression;

/// Compression of a qkdbench recording's datasets.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Compress {
    /// gzip + shuffle: every HDF5 1.10+ reader opens it, about 3 bytes per tag.
    Gzip,
    /// None: fastest, 9 bytes per tag; no checksum, so a damaged byte can change a tag
    /// unnoticed (gzip's chunks carry zlib's checksum).
    None,
}

impl From<Compress> for Compression {
    fn from(c: Compress) -> Self {
        match c {
            Compress::Gzip => Compression::Gzip,
            Compress::None => Compression::None,
        }
    }
}
