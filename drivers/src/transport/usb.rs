//! The time tagger over USB through `nusb`: a bulk IN endpoint for the word stream (several
//! 1 MiB transfers queued, as USB 3 needs for ~400 MB/s), vendor control requests for the
//! registers (docs/register-map.md).

use std::time::Duration;

use nusb::transfer::{Bulk, ControlIn, ControlOut, ControlType, In, Recipient, TransferError};
use nusb::MaybeFuture;

use super::{StreamLink, StreamRead};
use crate::error::DriverError;

/// USB vendor ID of the qkdbench tagger firmware (pid.codes open-source VID).
pub const TAGGER_VID: u16 = 0x1209;
/// USB product ID of the qkdbench tagger firmware. Provisional: not yet allocated by
/// pid.codes; change it here and in `udev/60-qkdbench.rules` together.
pub const TAGGER_PID: u16 = 0x7154;
/// Bulk IN endpoint carrying the word stream.
pub const STREAM_ENDPOINT: u8 = 0x81;
/// Bytes per bulk transfer.
pub const TRANSFER_BYTES: usize = 1 << 20;
/// Bulk transfers kept in flight.
pub const TRANSFERS_IN_FLIGHT: usize = 8;
/// Vendor request: write a register (wIndex = address, 4 data bytes little-endian).
pub const REQUEST_WRITE: u8 = 0x01;
/// Vendor request: read a register (wIndex = address, 4 data bytes little-endian).
pub const REQUEST_READ: u8 = 0x02;

const CONTROL_TIMEOUT: Duration = Duration::from_millis(500);

/// A tagger found on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbTaggerInfo {
    /// Bus and address, e.g. `usb 3-2`.
    pub location: String,
    /// Serial number string, if the device has one.
    pub serial: Option<String>,
}

/// Lists qkdbench taggers (by VID/PID).
pub fn list_taggers() -> Result<Vec<UsbTaggerInfo>, DriverError> {
    let devices = nusb::list_devices()
        .wait()
        .map_err(|e| DriverError::Open { device: "USB bus".into(), reason: e.to_string() })?;
    Ok(devices
        .filter(|d| d.vendor_id() == TAGGER_VID && d.product_id() == TAGGER_PID)
        .map(|d| UsbTaggerInfo {
            location: format!("usb {}-{}", d.busnum(), d.device_address()),
            serial: d.serial_number().map(str::to_string),
        })
        .collect())
}

/// An open tagger.
pub struct UsbLink {
    interface: nusb::Interface,
    endpoint: nusb::Endpoint<Bulk, In>,
    name: String,
}

impl std::fmt::Debug for UsbLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsbLink").field("name", &self.name).finish_non_exhaustive()
    }
}

fn transfer_error(name: &str, e: TransferError) -> DriverError {
    match e {
        TransferError::Disconnected => {
            DriverError::Disconnected { device: name.to_string(), reason: "USB device gone".into() }
        }
        other => DriverError::Io { device: name.to_string(), source: std::io::Error::other(other.to_string()) },
    }
}

impl UsbLink {
    /// Opens the first tagger, or the one with serial number `serial`.
    pub fn open(serial: Option<&str>) -> Result<Self, DriverError> {
        let devices = nusb::list_devices()
            .wait()
            .map_err(|e| DriverError::Open { device: "USB bus".into(), reason: e.to_string() })?;
        let info = devices
            .filter(|d| d.vendor_id() == TAGGER_VID && d.product_id() == TAGGER_PID)
            .find(|d| serial.is_none() || d.serial_number() == serial)
            .ok_or_else(|| DriverError::Open {
                device: format!(
                    "USB tagger {TAGGER_VID:04x}:{TAGGER_PID:04x}{}",
                    serial.map(|s| format!(" serial {s}")).unwrap_or_default()
                ),
                reason: "not found (is it plugged in, and does udev/60-qkdbench.rules give you access?)".into(),
            })?;
        let name = format!("USB tagger at usb {}-{}", info.busnum(), info.device_address());
        let open_err = |e: std::io::Error| DriverError::Open { device: name.clone(), reason: e.to_string() };
        let device = info.open().wait().map_err(|e| open_err(e.into()))?;
        let interface = device.claim_interface(0).wait().map_err(|e| open_err(e.into()))?;
        let endpoint = interface.endpoint::<Bulk, In>(STREAM_ENDPOINT).map_err(|e| open_err(e.into()))?;
        Ok(UsbLink { interface, endpoint, name })
    }
}

impl StreamLink for UsbLink {
    fn read_stream(&mut self, buf: &mut Vec<u8>, timeout: Duration) -> Result<StreamRead, DriverError> {
        while self.endpoint.pending() < TRANSFERS_IN_FLIGHT {
            let b = self.endpoint.allocate(TRANSFER_BYTES);
            self.endpoint.submit(b);
        }
        let Some(c) = self.endpoint.wait_next_complete(timeout) else {
            return Ok(StreamRead::Timeout);
        };
        c.status.map_err(|e| transfer_error(&self.name, e))?;
        let n = c.buffer.len();
        buf.extend_from_slice(&c.buffer);
        let mut b = c.buffer;
        b.clear();
        self.endpoint.submit(b);
        Ok(if n == 0 { StreamRead::Timeout } else { StreamRead::Data(n) })
    }

    fn write_register(&mut self, addr: u8, value: u32) -> Result<(), DriverError> {
        let data = value.to_le_bytes();
        self.interface
            .control_out(
                ControlOut {
                    control_type: ControlType::Vendor,
                    recipient: Recipient::Device,
                    request: REQUEST_WRITE,
                    value: 0,
                    index: u16::from(addr),
                    data: &data,
                },
                CONTROL_TIMEOUT,
            )
            .wait()
            .map_err(|e| register_error(&self.name, addr, e))
    }

    fn read_register(&mut self, addr: u8) -> Result<u32, DriverError> {
        let v = self
            .interface
            .control_in(
                ControlIn {
                    control_type: ControlType::Vendor,
                    recipient: Recipient::Device,
                    request: REQUEST_READ,
                    value: 0,
                    index: u16::from(addr),
                    length: 4,
                },
                CONTROL_TIMEOUT,
            )
            .wait()
            .map_err(|e| register_error(&self.name, addr, e))?;
        let b: [u8; 4] = v.get(..4).and_then(|s| s.try_into().ok()).ok_or_else(|| DriverError::Protocol {
            device: self.name.clone(),
            reason: format!("register {addr:#04x}: {} bytes instead of 4", v.len()),
        })?;
        Ok(u32::from_le_bytes(b))
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}

/// A stalled register request is the firmware refusing it (unknown, read-only, bad value).
fn register_error(name: &str, addr: u8, e: TransferError) -> DriverError {
    match e {
        TransferError::Stall => DriverError::Device {
            device: name.to_string(),
            addr,
            status: 0xFF,
            what: "request refused (stalled): unknown or read-only register, or value out of range",
        },
        other => transfer_error(name, other),
    }
}
