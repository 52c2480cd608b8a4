//! `qkdbench devices`: what can be driven from this machine.

use anyhow::Result;

/// Runs `qkdbench devices`.
pub fn run() -> Result<()> {
    super::outln!("serial ports (pattern generator: 115200 baud 8N1):");
    match serialport::available_ports() {
        Ok(ports) if ports.is_empty() => super::outln!("  none"),
        Ok(ports) => {
            for p in ports {
                let kind = match p.port_type {
                    serialport::SerialPortType::UsbPort(u) => format!(
                        "USB {:04x}:{:04x}{}",
                        u.vid,
                        u.pid,
                        u.product.map(|s| format!(" {s}")).unwrap_or_default()
                    ),
                    serialport::SerialPortType::PciPort => "PCI".into(),
                    serialport::SerialPortType::BluetoothPort => "Bluetooth".into(),
                    serialport::SerialPortType::Unknown => "unknown".into(),
                };
                super::outln!("  {}  ({kind})", p.port_name);
            }
        }
        Err(e) => super::outln!("  cannot list serial ports: {e}"),
    }
    super::outln!(
        "USB time taggers ({:04x}:{:04x}):",
        drivers::transport::usb::TAGGER_VID,
        drivers::transport::usb::TAGGER_PID
    );
    match drivers::transport::usb::list_taggers() {
        Ok(t) if t.is_empty() => super::outln!("  none"),
        Ok(t) => {
            for d in t {
                super::outln!("  {}{}", d.location, d.serial.map(|s| format!("  serial {s}")).unwrap_or_default());
            }
        }
        Err(e) => super::outln!("  cannot list USB devices: {e}"),
    }
    super::outln!("simulated bench:");
    super::outln!("  sim (fast: golden models; rtl: Verilated RTL)  start with `qkdbench sim serve`");
    Ok(())
}
