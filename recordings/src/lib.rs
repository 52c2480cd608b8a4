//! Recordings: the HDF5 recording format (docs/recording-schema.md: writer, reader, replay), and importers of time-tagged files from
//! other instruments (PicoQuant PTU, S-Fifteen timestamp7) into one normalised event stream.
//!
//! Importers stream: they read a file in pieces, so files larger than memory work.
#![warn(missing_docs)]

pub mod channels;
mod chunks;
pub mod convert;
mod error;
pub mod event;
mod fast_deflate;
pub mod import;
pub mod photon_hdf5;
pub mod reader;
pub mod replay;
pub mod table;
mod writeback;
pub mod writer;

pub use chunks::TAG_CHUNK;
pub use error::RecordingError;
pub use event::{Event, EventKind};
pub use import::{open, open_as, EventSource, Format};
pub use reader::Recording;
pub use writer::{Compression, ConfigValue, MetricsRow, RecordingWriter, RunMeta, RunStatus, WindowRow};
