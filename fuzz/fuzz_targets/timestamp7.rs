//! The timestamp7 reader on arbitrary bytes, detected and in each forced layout (a0, a1 in
//! both orders, a2): an error or events, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recordings::import::timestamp7::Layout;
use recordings::Format;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("qkdbench-fuzz-ts7-{}.ts", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let layouts = [
        None,
        Some(Layout::A0),
        Some(Layout::A1 { legacy: false }),
        Some(Layout::A1 { legacy: true }),
        Some(Layout::A2),
    ];
    for l in layouts {
        if let Ok(mut src) = recordings::open_as(&path, l.map(Format::Timestamp7)) {
            let mut v = Vec::new();
            while let Ok(n) = src.read_events(&mut v, 4096) {
                if n == 0 || v.len() > 1 << 20 {
                    break;
                }
            }
        }
    }
});
