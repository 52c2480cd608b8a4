//! The disk reserve a recording holds back for closing it on a full disk
//! (docs/recording-schema.md) goes with the writer however it ends: finished, or dropped
//! on an error path without finishing. Found by cargo-mutants: a `Drop` that did nothing
//! passed every other test.

use recordings::{Compression, RecordingWriter, RunMeta, RunStatus};

fn reserve_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".qkdbench-reserve"))
        .collect()
}

#[test]
fn the_disk_reserve_goes_with_the_writer_finished_or_dropped() {
    let dir = std::env::temp_dir().join(format!("qkdbench-reserve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let meta = RunMeta { source: "reserve test".into(), compression: Compression::None, ..RunMeta::default() };
    let w = RecordingWriter::create(&dir.join("finished.h5"), &meta).unwrap();
    assert_eq!(reserve_files(&dir), [".finished.h5.qkdbench-reserve"], "held while the file is open");
    w.finish(&RunStatus::Complete).unwrap();
    assert!(reserve_files(&dir).is_empty(), "{:?}", reserve_files(&dir));
    let w = RecordingWriter::create(&dir.join("dropped.h5"), &meta).unwrap();
    assert_eq!(reserve_files(&dir).len(), 1);
    drop(w);
    assert!(reserve_files(&dir).is_empty(), "{:?}", reserve_files(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
}
