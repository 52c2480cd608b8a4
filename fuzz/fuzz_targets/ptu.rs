//! The PTU importer on arbitrary bytes: an error or events, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("qkdbench-fuzz-{}.ptu", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(mut src) = recordings::open(&path) {
        let mut v = Vec::new();
        while let Ok(n) = src.read_events(&mut v, 4096) {
            if n == 0 || v.len() > 1 << 20 {
                break;
            }
        }
    }
});
