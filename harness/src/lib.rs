//! qkdbench's top crate: the streaming engine, the pipeline around it, the recorder thread,
//! the run report, the benchmarks and the CLI (in `main.rs`). The scenario runner and the
//! TUI come with their issues; see docs/ and DESIGN.md for where they go.
#![warn(missing_docs)]

pub mod bench;
pub mod engine;
pub mod pipeline;
pub mod recorder;
pub mod report;
