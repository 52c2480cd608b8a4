//! Tests against real boards. Built only with `--features hardware-tests`; each test reads
//! its device from an environment variable and says so when it is unset:
//!
//! - `QKDBENCH_PATTERN_GEN_PORT`: serial port of the pattern generator (e.g. /dev/ttyUSB0);
//! - `QKDBENCH_TAGGER`: `usb` for the first USB tagger, or `usb:SERIAL`.
//!
//! `cargo test -p drivers --features hardware-tests --test hardware -- --test-threads 1`
#![cfg(feature = "hardware-tests")]

use std::time::Duration;

use drivers::pattern_gen::{PatternConfig, PatternGenerator, UartPatternGenerator};
use drivers::stream::TagBatch;
use drivers::time_tagger::{StreamTimeTagger, TaggerConfig, TimeTagger};
use drivers::transport::serial::{SerialLink, PATTERN_GEN_BAUD};
use drivers::transport::usb::UsbLink;

fn env(name: &str) -> Option<String> {
    let v = std::env::var(name).ok();
    if v.is_none() {
        eprintln!("skipped: set {name} to run this test against a board");
    }
    v
}

#[test]
fn pattern_generator_board_configures_starts_and_counts() {
    let Some(port) = env("QKDBENCH_PATTERN_GEN_PORT") else { return };
    let mut pg = UartPatternGenerator::new(SerialLink::open(&port, PATTERN_GEN_BAUD).unwrap());
    pg.identify().unwrap();
    pg.configure(&PatternConfig::default()).unwrap();
    pg.start().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let s = pg.status().unwrap();
    pg.stop().unwrap();
    // 100 ms at 100 MHz, give or take the UART's own latency.
    assert!(s.running && s.pulses > 5_000_000, "{s:?}");
}

#[test]
fn usb_tagger_streams_tags() {
    let Some(spec) = env("QKDBENCH_TAGGER") else { return };
    let serial = spec.strip_prefix("usb:");
    let mut t = StreamTimeTagger::new(UsbLink::open(serial).unwrap());
    t.configure(&TaggerConfig::default()).unwrap();
    t.start().unwrap();
    let mut tags = TagBatch::default();
    for _ in 0..20 {
        t.read_batch(&mut tags, Duration::from_millis(100)).unwrap();
    }
    t.stop().unwrap();
    assert!(
        tags.events.iter().all(|e| !matches!(e.1, drivers::stream::StreamEvent::Error { .. })),
        "{:?}",
        tags.events
    );
}
