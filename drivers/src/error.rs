//! The error type of the drivers crate.

use std::time::Duration;

use thiserror::Error;

/// Everything a driver can fail with. Each variant names the device or setting involved,
/// so a message reaches the user without context being added elsewhere.
#[derive(Debug, Error)]
pub enum DriverError {
    /// A setting was refused before anything was sent to the device.
    #[error("invalid setting {field}: {reason}")]
    InvalidSetting {
        /// The setting, as named in configurations (e.g. `class_probabilities`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The device could not be opened.
    #[error("cannot open {device}: {reason}")]
    Open {
        /// Device path or description.
        device: String,
        /// The OS's or library's reason.
        reason: String,
    },
    /// The device went away (unplugged cable, closed socket, ended process).
    #[error("{device} disconnected: {reason}")]
    Disconnected {
        /// Device path or description.
        device: String,
        /// What was seen.
        reason: String,
    },
    /// No (complete) answer in time.
    #[error("{device}: no reply to {what} within {timeout:?} (after {attempts} attempts)")]
    Timeout {
        /// Device path or description.
        device: String,
        /// The request that went unanswered.
        what: String,
        /// Time allowed per attempt.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The device answered with an error status.
    #[error("{device}: register {addr:#04x}: {what} (status {status})")]
    Device {
        /// Device path or description.
        device: String,
        /// Register address.
        addr: u8,
        /// Status code.
        status: u8,
        /// Meaning of the status.
        what: &'static str,
    },
    /// The device answered with bytes that are not a valid reply.
    #[error("{device}: malformed reply: {reason}")]
    Protocol {
        /// Device path or description.
        device: String,
        /// What is wrong.
        reason: String,
    },
    /// An I/O error on the transport.
    #[error("{device}: {source}")]
    Io {
        /// Device path or description.
        device: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A simulation input (pass profile, optics setting) is unusable.
    #[error("{0}")]
    Simulation(String),
}
