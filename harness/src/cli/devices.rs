//! `qkdbench devices`: what can be driven from this machine.

use anyhow::Result;

/// Runs `qkdbench devices`.
pub fn run() -> Result<()> {
    println!("serial ports (pattern generator: 115200 baud 8N1):");
    match serialport::available_ports() {
        Ok(ports) if ports.is_empty() => println!("  none"),
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
                println!("  {}  ({kind})", p.port_name);
            }
        }
        Err(e) => println!("  cannot list serial ports: {e}"),
    }
    println!(
        "USB time taggers ({:04x}:{:04x}):",
        drivers::transport::usb::TAGGER_VID,
        drivers::transport::usb::TAGGER_PID
    );
    match drivers::transport::usb::list_taggers() {
        Ok(t) if t.is_empty() => println!("  none"),
        Ok(t) => {
            for d in t {
                println!("  {}{}", d.location, d.serial.map(|s| format!("  serial {s}")).unwrap_or_default());
            }
        }
        Err(e) => println!("  cannot list USB devices: {e}"),
    }
    println!("simulated bench:");
    println!("  sim (fast: golden models; rtl: Verilated RTL)  start with `qkdbench sim serve`");
    Ok(())
}
