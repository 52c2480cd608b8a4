//! Safe wrapper of the Verilated time tagger.

use std::ffi::CString;
use std::path::Path;
use std::ptr::NonNull;

use crate::error::RtlError;
use crate::ffi;
use crate::hit::{Hit, StepReport};
use crate::regmap::status;

/// The time-tagger RTL (`rtl/time_tagger/`) under Verilator, one call per batch of cycles.
///
/// Every register access takes one clock cycle, as on the device's register bus; during it
/// no hits are presented and no word is read.
#[derive(Debug)]
pub struct TimeTaggerRtl {
    raw: NonNull<ffi::QkdTt>,
}

// SAFETY: the model has its own VerilatedContext and is only touched through &mut self.
unsafe impl Send for TimeTaggerRtl {}

impl Default for TimeTaggerRtl {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeTaggerRtl {
    /// A model fresh out of reset, at cycle 0, not running.
    pub fn new() -> Self {
        // SAFETY: qkd_tt_new returns a valid, owned object.
        let raw = unsafe { ffi::qkd_tt_new() };
        TimeTaggerRtl { raw: NonNull::new(raw).expect("qkd_tt_new returned null") }
    }

    /// The current coarse cycle (the next cycle a hit can be presented in).
    pub fn cycle(&self) -> u64 {
        // SAFETY: raw is valid.
        unsafe { ffi::qkd_tt_cycle(self.raw.as_ptr()) }
    }

    /// Writes a register (one cycle).
    pub fn write_reg(&mut self, addr: u8, value: u32) -> Result<(), RtlError> {
        // SAFETY: raw is valid; rdata may be null.
        let st = unsafe { ffi::qkd_tt_reg(self.raw.as_ptr(), 1, addr, value, std::ptr::null_mut()) };
        match st {
            status::OK => Ok(()),
            s => Err(RtlError::from_status(addr, s)),
        }
    }

    /// Reads a register (one cycle).
    pub fn read_reg(&mut self, addr: u8) -> Result<u32, RtlError> {
        let mut v = 0u32;
        // SAFETY: raw is valid; v outlives the call.
        let st = unsafe { ffi::qkd_tt_reg(self.raw.as_ptr(), 0, addr, 0, &mut v) };
        match st {
            status::OK => Ok(v),
            s => Err(RtlError::from_status(addr, s)),
        }
    }

    /// Steps `cycles` clocks presenting `hits` (sorted by cycle; the first hit per channel
    /// and cycle counts). With `out_ready` the FIFO is read, one word per cycle, into `words`.
    pub fn step(&mut self, cycles: u64, hits: &[Hit], out_ready: bool, words: &mut Vec<u32>) -> StepReport {
        let start = words.len();
        words.reserve(cycles as usize);
        let (mut consumed, mut late) = (0usize, 0usize);
        // SAFETY: hits is a valid slice of repr(C) Hit; words has room for `cycles` more.
        let n = unsafe {
            ffi::qkd_tt_step(
                self.raw.as_ptr(),
                cycles,
                hits.as_ptr(),
                hits.len(),
                i32::from(out_ready),
                words.as_mut_ptr().add(start),
                &mut consumed,
                &mut late,
            )
        };
        // SAFETY: the shim initialised exactly n words.
        unsafe { words.set_len(start + n) };
        StepReport { consumed, late }
    }

    /// Starts writing an FST waveform of every signal to `path` (needs the `trace` feature).
    pub fn trace(&mut self, path: &Path) -> Result<(), RtlError> {
        let c = CString::new(path.to_string_lossy().as_bytes()).map_err(|_| RtlError::TraceUnavailable)?;
        // SAFETY: c is a valid NUL-terminated string.
        match unsafe { ffi::qkd_tt_trace(self.raw.as_ptr(), c.as_ptr()) } {
            0 => Ok(()),
            _ => Err(RtlError::TraceUnavailable),
        }
    }
}

impl Drop for TimeTaggerRtl {
    fn drop(&mut self) {
        // SAFETY: raw was created by qkd_tt_new and is freed once.
        unsafe { ffi::qkd_tt_free(self.raw.as_ptr()) }
    }
}
