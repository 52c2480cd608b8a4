//! The register-frame parsers on arbitrary bytes: the host's reply parser and the device
//! model's request assembler must never panic, and every frame they yield must be whole.
#![no_main]

use drivers::protocol::register::ReplyParser;
use libfuzzer_sys::fuzz_target;
use rtl::model::pattern_gen_regs::{PatternGenRegisters, RequestAssembler};

fuzz_target!(|data: &[u8]| {
    let mut p = ReplyParser::new();
    let mut rest = data;
    while !rest.is_empty() {
        // At least one byte a step: a step of 0 would never end (the fuzzer found it).
        let n = (usize::from(rest[0]) % 11).max(1).min(rest.len());
        let _ = p.push(&rest[..n]);
        rest = &rest[n..];
    }
    while p.push(&[]).is_some() {}
    let mut a = RequestAssembler::default();
    let mut regs = PatternGenRegisters::new();
    for f in a.push(data) {
        let reply = regs.handle_request(&f);
        assert_eq!(reply[0], 0x5A);
        assert_eq!(reply[7], rtl::frame::crc8(&reply[..7]));
    }
});
