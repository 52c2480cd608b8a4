//! The simulated bench: the project's own FPGA designs (as Verilated RTL or as golden
//! models) with a physical optics model between them, reached through the same drivers as
//! real boards.
pub mod bench;
pub mod config;
pub mod devices;
pub mod geometry;
pub mod links;
pub mod optics;
pub mod pty;
pub mod serve;
pub mod symbols;
pub mod truth;

pub use bench::{BenchConfig, SimBench};
pub use config::{DetectorConfig, Fault, Fidelity, OpticsConfig, ReceiverConfig, SourceConfig, SyncConfig};
pub use devices::{open, SimDevices};
pub use geometry::{ChannelModel, CircularOrbit, PassProfile};
pub use links::{SimPatternGenLink, SimTaggerLink};
