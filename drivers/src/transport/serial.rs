//! Serial ports through the `serialport` crate (built without libudev).

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use serialport::SerialPort;

use super::ByteLink;
use crate::error::DriverError;

/// Baud rate of the pattern generator's UART.
pub const PATTERN_GEN_BAUD: u32 = 115_200;

/// A serial port (a USB-UART adapter, or a pseudo-terminal of the simulated bench).
pub struct SerialLink {
    port: Box<dyn SerialPort>,
    path: String,
}

impl std::fmt::Debug for SerialLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialLink").field("path", &self.path).finish()
    }
}

impl SerialLink {
    /// Opens `path` at `baud`, 8N1, no flow control.
    pub fn open(path: &str, baud: u32) -> Result<Self, DriverError> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(Duration::from_millis(100))
            .open()
            .map_err(|e| DriverError::Open { device: path.to_string(), reason: e.to_string() })?;
        Ok(SerialLink { port, path: path.to_string() })
    }

    fn io(&self, e: std::io::Error) -> DriverError {
        match e.kind() {
            ErrorKind::BrokenPipe | ErrorKind::NotConnected | ErrorKind::UnexpectedEof => {
                DriverError::Disconnected { device: self.path.clone(), reason: e.to_string() }
            }
            _ if e.raw_os_error() == Some(nix::libc::EIO) || e.raw_os_error() == Some(nix::libc::ENXIO) => {
                DriverError::Disconnected { device: self.path.clone(), reason: e.to_string() }
            }
            _ => DriverError::Io { device: self.path.clone(), source: e },
        }
    }
}

impl ByteLink for SerialLink {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
        self.port.write_all(bytes).map_err(|e| self.io(e))?;
        self.port.flush().map_err(|e| self.io(e))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, DriverError> {
        self.port
            .set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(|e| DriverError::Io { device: self.path.clone(), source: e.into() })?;
        match self.port.read(buf) {
            Ok(0) => Err(DriverError::Disconnected { device: self.path.clone(), reason: "end of file".into() }),
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(0),
            Err(e) => Err(self.io(e)),
        }
    }

    fn describe(&self) -> String {
        self.path.clone()
    }
}
