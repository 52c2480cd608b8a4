//! The recording reader on arbitrary files: opening and reading every batch must never
//! panic; it either reads or says why not. (The bytes are written to a temporary file: HDF5
//! reads files.)
#![no_main]

use drivers::stream::TagBatch;
use libfuzzer_sys::fuzz_target;
use recordings::Recording;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("qkdbench-fuzz-{}.h5", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(mut rec) = Recording::open(&path) {
        let mut batch = TagBatch::default();
        for _ in 0..1000 {
            batch.clear();
            match rec.read_batch(&mut batch, 1 << 16) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    let _ = std::fs::remove_file(&path);
});
