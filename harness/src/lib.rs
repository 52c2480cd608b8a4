//! qkdbench's top crate: the settings, the session layer (devices or a recording through the
//! pipeline, the engine and the recorder), the run report, the benchmarks and the CLI (in
//! `main.rs`). docs/architecture.md says where each part lives and where new ones go.
#![warn(missing_docs)]

pub mod bench;
pub mod html;
pub mod pipeline;
mod priority;
pub mod recorder;
pub mod report;
pub mod scenario;
pub mod session;
pub mod settings;
pub mod tui;

/// Threads of the engine when not told: every core the process may use.
pub fn engine_threads_default() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
