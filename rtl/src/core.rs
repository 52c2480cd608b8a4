//! One interface over the RTL and the golden model of each design, so a bench (and a test)
//! can swap fidelities without knowing which it drives.

use crate::error::RtlError;
use crate::hit::{Hit, StepReport};
use crate::model::time_tagger::TaggerModel;
use crate::TimeTaggerRtl;

/// A time tagger at the register-and-cycle level: the RTL or its golden model.
pub trait TimeTaggerCore: Send {
    /// Writes a register (one cycle).
    fn write_reg(&mut self, addr: u8, value: u32) -> Result<(), RtlError>;
    /// Reads a register (one cycle).
    fn read_reg(&mut self, addr: u8) -> Result<u32, RtlError>;
    /// Steps `cycles` clocks with `hits` (sorted by cycle); reads words into `out` when
    /// `out_ready`.
    fn step(&mut self, cycles: u64, hits: &[Hit], out_ready: bool, out: &mut Vec<u32>) -> StepReport;
    /// The current coarse cycle.
    fn cycle(&self) -> u64;
    /// "rtl" or "model", for messages.
    fn fidelity(&self) -> &'static str;
}

impl TimeTaggerCore for TimeTaggerRtl {
    fn write_reg(&mut self, addr: u8, value: u32) -> Result<(), RtlError> {
        TimeTaggerRtl::write_reg(self, addr, value)
    }
    fn read_reg(&mut self, addr: u8) -> Result<u32, RtlError> {
        TimeTaggerRtl::read_reg(self, addr)
    }
    fn step(&mut self, cycles: u64, hits: &[Hit], out_ready: bool, out: &mut Vec<u32>) -> StepReport {
        TimeTaggerRtl::step(self, cycles, hits, out_ready, out)
    }
    fn cycle(&self) -> u64 {
        TimeTaggerRtl::cycle(self)
    }
    fn fidelity(&self) -> &'static str {
        "rtl"
    }
}

impl TimeTaggerCore for TaggerModel {
    fn write_reg(&mut self, addr: u8, value: u32) -> Result<(), RtlError> {
        TaggerModel::write_reg(self, addr, value)
    }
    fn read_reg(&mut self, addr: u8) -> Result<u32, RtlError> {
        TaggerModel::read_reg(self, addr)
    }
    fn step(&mut self, cycles: u64, hits: &[Hit], out_ready: bool, out: &mut Vec<u32>) -> StepReport {
        TaggerModel::step(self, cycles, hits, out_ready, out)
    }
    fn cycle(&self) -> u64 {
        TaggerModel::cycle(self)
    }
    fn fidelity(&self) -> &'static str {
        "model"
    }
}
