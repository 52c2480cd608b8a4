//! The scenario parser and checker on arbitrary text: it must never panic, and every error
//! must name the file; a scenario it accepts must survive a set of every sweep value.
#![no_main]

use std::path::Path;

use harness::scenario::Scenario;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Scenario::parse(Path::new("fuzz.toml"), text) {
        Ok(s) => {
            let settings = s.settings(Some(1));
            settings.validate().expect("an accepted scenario has valid settings");
        }
        Err(e) => assert!(e.to_string().starts_with("fuzz.toml"), "{e}"),
    }
});
