use std::path::PathBuf;

use thiserror::Error;

/// Errors of the recordings crate; each names the file and, where it applies, the byte
/// offset of the problem.
#[derive(Debug, Error)]
pub enum RecordingError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not what the format says.
    #[error("{path}: byte {offset}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Byte offset of the problem.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The HDF5 library failed on the file, or the file's HDF5 content is not what the schema
    /// says; there is no byte offset to give.
    #[error("{path}: {reason}")]
    Hdf5 {
        /// The file.
        path: PathBuf,
        /// What failed, naming the dataset or attribute.
        reason: String,
    },
    /// The file ends in the middle of something.
    #[error("{path}: truncated at byte {offset}: {what}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where the data stops.
        offset: u64,
        /// What was being read.
        what: String,
    },
    /// An output that must not be written, or a run that was stopped.
    #[error("{path}: {reason}")]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file this program does not read.
    #[error("{path}: not a file qkdbench reads ({reason})")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
