//! The simulated bench: the project's own FPGA designs (as Verilated RTL or as golden
//! models) with a physical optics model between them, reached through the same drivers as
//! real boards.
pub mod pty;
