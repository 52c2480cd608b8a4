use thiserror::Error;

/// Errors of the `rtl` crate: register accesses the designs refused, and frames that could
/// not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RtlError {
    /// The design answered a register access with a non-OK status.
    #[error("register {addr:#04x}: {what} (status {status})")]
    Status {
        /// Register address.
        addr: u8,
        /// Status code from the reply (`regmap::status`).
        status: u8,
        /// Human-readable meaning of the status.
        what: &'static str,
    },
    /// No complete reply within the allowed number of clock cycles.
    #[error("no reply from the pattern generator's UART bridge after {cycles} clock cycles")]
    Timeout {
        /// Cycles waited.
        cycles: u64,
    },
    /// A reply frame that does not decode.
    #[error("bad reply frame: {0}")]
    Frame(#[from] crate::frame::FrameError),
    /// FST tracing was asked for but the crate was built without the `trace` feature.
    #[error("FST tracing needs the `trace` feature of the rtl crate (cargo build --features rtl/trace)")]
    TraceUnavailable,
}

impl RtlError {
    /// The error for a non-OK status code.
    pub fn from_status(addr: u8, status: u8) -> Self {
        RtlError::Status { addr, status, what: crate::frame::status_name(status) }
    }
}
