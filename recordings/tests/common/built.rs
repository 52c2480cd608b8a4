//! Helpers of the tests on files built byte by byte (ptu_built.rs, legacy_built.rs): write
//! the bytes to a scratch file, read every event back, or take the reader's refusal.

use recordings::import::ptu::PtuReader;
use recordings::{open, Event, EventKind, RecordingError};

use crate::common_scratch;

/// `bytes` in a scratch file of the test suite `suite`.
pub fn write(suite: &str, name: &str, bytes: &[u8]) -> common_scratch::Scratch {
    let p = common_scratch::scratch_file(suite, name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Every event of the file, read 3 records at a time (batch edges everywhere).
pub fn events(suite: &str, name: &str, bytes: &[u8]) -> Vec<(EventKind, u32, i64)> {
    let p = write(suite, name, bytes);
    let mut src = open(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut v: Vec<Event> = Vec::new();
    while src.read_events(&mut v, 3).unwrap() > 0 {}
    v.iter().map(|e| (e.kind, e.channel, e.time_ps)).collect()
}

/// The PicoQuant reader's refusal of the file.
pub fn open_err(suite: &str, name: &str, bytes: &[u8]) -> RecordingError {
    PtuReader::open(&write(suite, name, bytes)).expect_err(name)
}
