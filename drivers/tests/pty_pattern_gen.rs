//! The pattern-generator RTL driven through the real serialport code over a pseudo-terminal.

use drivers::pattern_gen::{PatternConfig, PatternGenerator, UartPatternGenerator};
use drivers::sim::pty::{Clocking, PtyPatternGen};
use drivers::transport::serial::{SerialLink, PATTERN_GEN_BAUD};
use drivers::DriverError;
use rtl::regmap::pattern_gen as reg;

fn driver(sim: &PtyPatternGen) -> UartPatternGenerator<SerialLink> {
    let link = SerialLink::open(sim.path(), PATTERN_GEN_BAUD).expect("open the pty as a serial port");
    let mut d = UartPatternGenerator::new(link);
    // The RTL steps at ~1e7 cycles/s: a 1.4 ms exchange at 115200 baud takes ~15 ms here.
    d.timeout = std::time::Duration::from_secs(2);
    d
}

#[test]
fn write_read_back_start_and_count_pulses() {
    let sim = PtyPatternGen::spawn(Clocking::OnDemand).unwrap();
    let mut pg = driver(&sim);
    let id = pg.identify().unwrap();
    assert_eq!(id.id, 0x5150_4731);
    let cfg = PatternConfig { seed: 0x0123_4567_89AB_CDEF, sync_period_pulses: 777, ..Default::default() };
    let settings = pg.configure(&cfg).unwrap();
    assert_eq!(pg.read_register(reg::SEED_LO).unwrap(), 0x89AB_CDEF);
    assert_eq!(pg.read_register(reg::SEED_HI).unwrap(), 0x0123_4567);
    assert_eq!(pg.read_register(reg::SYNC_PERIOD).unwrap(), 777);
    assert_eq!(pg.read_register(reg::CLASS_THR0).unwrap(), settings.class_thr[0]);
    assert_eq!(pg.read_register(reg::DAC_CODE0).unwrap(), u32::from(settings.dac_code[0]));
    pg.start().unwrap();
    let first = pg.status().unwrap();
    let second = pg.status().unwrap();
    assert!(first.running && !first.external_mode);
    assert!(
        first.pulses > 0 && second.pulses > first.pulses,
        "pulse counter runs: {} then {}",
        first.pulses,
        second.pulses
    );
    pg.stop().unwrap();
    let stopped = pg.status().unwrap();
    assert!(!stopped.running);
    assert_eq!(pg.status().unwrap().pulses, stopped.pulses, "stopped: the counter holds");
}

#[test]
fn device_errors_come_back_typed_and_bad_settings_never_reach_the_device() {
    let sim = PtyPatternGen::spawn(Clocking::OnDemand).unwrap();
    let mut pg = driver(&sim);
    match pg.write_register(reg::ID, 1) {
        Err(DriverError::Device { addr, status, .. }) => {
            assert_eq!((addr, status), (reg::ID, rtl::regmap::status::READ_ONLY))
        }
        other => panic!("expected a device error, got {other:?}"),
    }
    match pg.read_register(0x7E) {
        Err(DriverError::Device { status, .. }) => {
            assert_eq!(status, rtl::regmap::status::UNKNOWN_REG)
        }
        other => panic!("expected a device error, got {other:?}"),
    }
    pg.write_register(reg::SCRATCH, 5).unwrap();
    let bad = PatternConfig { class_probabilities: vec![0.6, 0.6, -0.2], ..Default::default() };
    assert!(matches!(pg.configure(&bad), Err(DriverError::InvalidSetting { field: "class_probabilities", .. })));
    assert_eq!(pg.read_register(reg::SCRATCH).unwrap(), 5);
}

#[test]
fn a_vanished_device_is_named_in_the_error() {
    let sim = PtyPatternGen::spawn(Clocking::OnDemand).unwrap();
    let path = sim.path().to_string();
    let mut pg = driver(&sim);
    pg.timeout = std::time::Duration::from_millis(200);
    pg.retries = 0;
    drop(sim);
    let err = pg.identify().unwrap_err();
    assert!(err.to_string().contains(&path), "{err}");
}
