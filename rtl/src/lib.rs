//! The two FPGA designs of qkdbench — the decoy-state pattern generator and the time tagger —
//! as Verilated RTL behind safe Rust wrappers, and as bit-exact golden models in Rust.
//!
//! The RTL is the firmware a board runs and the stand-in for boards in CI; the golden models
//! are what the fast simulated bench and the host-side engine use (the host recomputes
//! `symbol(i)` for any pulse index in O(1)). Co-simulation tests prove the two agree word for
//! word. Formats: `docs/register-map.md`, `docs/wire-format.md`.
#![warn(missing_docs)]

mod core;
mod error;
mod ffi;
pub mod frame;
pub mod hit;
pub mod model;
mod pattern_gen_rtl;
pub mod regmap;
pub mod slot;
mod time_tagger_rtl;
pub mod wire;

pub use crate::core::TimeTaggerCore;
pub use error::RtlError;
pub use hit::{Hit, StepReport};
pub use pattern_gen_rtl::PatternGenRtl;
pub use time_tagger_rtl::TimeTaggerRtl;

/// Clock cycles per UART bit of the simulated pattern generator (100 MHz, 115200 baud).
pub fn uart_clks_per_bit() -> u32 {
    // SAFETY: a pure function of a compile-time constant.
    unsafe { ffi::qkd_uart_clks_per_bit() }
}
