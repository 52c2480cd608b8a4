//! Transports: how bytes reach a device. Protocols sit on top and never know which one.
//!
//! - [`ByteLink`]: a bidirectional byte pipe (serial port, pseudo-terminal). The pattern
//!   generator's register frames travel over one.
//! - [`StreamLink`]: a bulk byte stream in plus register access (USB bulk IN + control
//!   transfers; the simulated bench; a Unix socket to `qkdbench sim serve`). The time
//!   tagger's word stream travels over one.

use std::time::Duration;

use crate::error::DriverError;

pub mod serial;
pub mod unix;
pub mod usb;

/// A bidirectional byte pipe to a device.
pub trait ByteLink: Send {
    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), DriverError>;
    /// Reads what is available into `buf`, waiting at most `timeout` for the first byte.
    /// `Ok(0)` means the timeout passed with nothing to read.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, DriverError>;
    /// What the link is connected to, for messages (e.g. `/dev/ttyUSB0`).
    fn describe(&self) -> String;
}

/// The outcome of one [`StreamLink::read_stream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRead {
    /// This many bytes were appended.
    Data(usize),
    /// Nothing arrived within the timeout; the stream goes on.
    Timeout,
    /// The stream ended cleanly (a replayed or simulated run reached its end).
    End,
}

/// A bulk byte stream from a device, plus its registers.
pub trait StreamLink: Send {
    /// Appends the next bytes of the stream to `buf`, waiting at most `timeout`.
    fn read_stream(&mut self, buf: &mut Vec<u8>, timeout: Duration) -> Result<StreamRead, DriverError>;
    /// Writes a device register.
    fn write_register(&mut self, addr: u8, value: u32) -> Result<(), DriverError>;
    /// Reads a device register.
    fn read_register(&mut self, addr: u8) -> Result<u32, DriverError>;
    /// What the link is connected to, for messages.
    fn describe(&self) -> String;
}

impl<T: ByteLink + ?Sized> ByteLink for Box<T> {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
        (**self).write_all(bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, DriverError> {
        (**self).read(buf, timeout)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<T: StreamLink + ?Sized> StreamLink for Box<T> {
    fn read_stream(&mut self, buf: &mut Vec<u8>, timeout: Duration) -> Result<StreamRead, DriverError> {
        (**self).read_stream(buf, timeout)
    }
    fn write_register(&mut self, addr: u8, value: u32) -> Result<(), DriverError> {
        (**self).write_register(addr, value)
    }
    fn read_register(&mut self, addr: u8) -> Result<u32, DriverError> {
        (**self).read_register(addr)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}
