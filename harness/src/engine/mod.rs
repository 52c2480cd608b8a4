//! The streaming engine: decode → clock recovery → gate → sift → metrics.
//!
//! [`Engine`] is the single-threaded core: it takes tag batches in stream order and keeps
//! everything a snapshot reports. The pipeline around it (reader thread, ring, fan-out to
//! recorder and TUI) feeds it batches; nothing here knows about threads.
pub mod characterise;
pub mod clock;
pub mod core;
pub mod fast;
pub mod finite_key;
pub mod qubit_sync;
pub mod sift;
pub mod windows;

pub use self::core::{Engine, EngineConfig, Snapshot, SyncMode};
