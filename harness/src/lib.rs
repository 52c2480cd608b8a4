//! qkdbench's top crate: the streaming engine, the scenario runner, the TUI and the CLI.
//!
//! Built so far: the benchmarks (`bench`). The engine, scenarios and TUI come with their
//! issues; see docs/ and DESIGN.md for where they go.
#![warn(missing_docs)]

pub mod bench;
pub mod engine;
pub mod pipeline;
pub mod recorder;
