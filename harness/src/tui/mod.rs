//! The live TUI (DESIGN.md decision 9, docs/tui.md): QBER, counts, sync and the recording at
//! a glance. Built as ratatui's demo2 is: the state apart from the drawing ([`app`]), one
//! file per panel ([`panels`]), a theme ([`theme`]). The TUI stays off the hot path: the
//! engine's thread hands it owned frames over a bounded channel and never waits for it
//! ([`frame`]); it draws at about 10 Hz from the latest frame.

pub mod app;
pub mod frame;
pub mod panels;
pub mod plain;
pub mod terminal;
pub mod theme;

pub use app::{Action, App, RunInfo};
pub use frame::{Forward, LiveFrame};
