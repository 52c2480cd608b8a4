//! qkdbench's streaming engine: decode → clock recovery → pulse index → gate → sift →
//! metrics and the finite key.
//!
//! [`Engine`] is the single-threaded core: it takes tag batches in stream order and keeps
//! everything a [`Snapshot`] reports. It knows devices only as tag batches
//! (`drivers::stream::TagBatch`) and the generator only as its register settings
//! (`rtl::model::pattern_gen::PatternSettings`, from which symbol(i) follows). The pipeline
//! around it (reader thread, ring, recorder, live views) lives in `harness`; nothing here
//! knows about threads, files or terminals.
//!
//! The two paths that must agree (the SIMD block pass and the per-tag path) are described in
//! docs/engine.md.
#![warn(missing_docs)]

mod block;
mod calibrate;
pub mod characterise;
pub mod clock;
mod config;
mod engine;
mod fast;
pub mod finite_key;
mod key;
pub mod qubit_sync;
pub mod sift;
mod snapshot;
pub mod windows;

pub use self::config::{ConfigError, EngineConfig, SyncMode, PULSE_RATE_RANGE_HZ};
pub use self::engine::{
    set_thread_nice, Engine, LockEvent, Snapshot, WorkerPriority, BACKGROUND_NICE, HISTOGRAM_BIN_PS,
};
pub use self::fast::{best_simd, limit_simd, simd_level, Simd};
pub use self::key::SymbolKey;
