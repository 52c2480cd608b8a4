//! Device roles (pattern generator, time tagger), their wire protocols, transports and
//! backends: hardware (serial, USB) and the simulated bench (RTL or golden models with a
//! physical optics model in between).
//!
//! A driver is generic over a small transport trait, so a lab's board and CI's simulated
//! bench run the same driver code (DESIGN.md decision 4).
#![warn(missing_docs)]

pub mod channels;
pub mod error;
pub mod protocol;
pub mod stream;

pub use channels::{ChannelMap, DEFAULT_PULSE_RATE_HZ};
pub use error::DriverError;
pub mod pattern_gen;
pub mod sim;
pub mod time_tagger;
pub mod transport;
