//! Input hits of the time tagger, shared by the RTL wrapper and the golden model.

/// One hit on a tagger input channel: what the analogue front end hands the FPGA.
///
/// Layout matches `QkdHit` in the C++ shim, so slices pass through the FFI without copying.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Hit {
    /// Absolute coarse clock cycle of the hit (10 ns per cycle).
    pub cycle: u64,
    /// Fine code from the TDC, 0 .. FINE_BINS-1 (larger values are clamped by the design).
    pub fine: u16,
    /// Input channel, 0..=7.
    pub channel: u8,
    _pad: [u8; 5],
}

impl Hit {
    /// A hit on `channel` in `cycle` with fine code `fine`.
    pub fn new(cycle: u64, channel: u8, fine: u16) -> Self {
        Hit { cycle, fine, channel, _pad: [0; 5] }
    }
}

/// What one `step` call did with its hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepReport {
    /// Hits used or skipped (hits at or after the step's end stay for the next call).
    pub consumed: usize,
    /// Hits whose cycle had already passed; they were skipped.
    pub late: usize,
}
