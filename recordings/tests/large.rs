//! Recordings larger than 4 GiB: written, closed, and read back at their end, by qkdbench
//! and by h5py (offsets and row numbers beyond 32 bits).

use drivers::stream::TagBatch;
use recordings::{Compression, Recording, RecordingWriter, RunMeta, RunStatus};

/// Tag i: time 7 i ps + 3, channel i mod 6.
fn batch(start: u64, n: usize) -> TagBatch {
    let mut b = TagBatch::with_capacity(n);
    b.time_ps.extend((start..start + n as u64).map(|i| (7 * i + 3) as i64));
    b.channel.extend((start..start + n as u64).map(|i| (i % 6) as u8));
    b
}

#[test]
fn a_recording_over_4_gib_writes_and_reads_back_at_its_end() {
    let dir = std::env::temp_dir().join(format!("qkdbench-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("large.h5");
    // 9 bytes per tag uncompressed: 500e6 tags are 4.19 GiB of tag data.
    const TAGS: u64 = 500_000_000;
    const BATCH: usize = 1 << 22;
    let meta = RunMeta { source: "large-file test".into(), compression: Compression::None, ..RunMeta::default() };
    let mut w = RecordingWriter::create(&path, &meta).unwrap();
    let mut at = 0u64;
    while at < TAGS {
        let n = (TAGS - at).min(BATCH as u64) as usize;
        w.append(&batch(at, n)).unwrap();
        at += n as u64;
    }
    w.finish(&RunStatus::Complete).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 4 << 30, "{size} bytes");

    let mut r = Recording::open(&path).unwrap();
    assert_eq!(r.tags() as u64, TAGS);
    assert_eq!(r.run_status, "complete");
    // Skip to the last 1000 tags by reading and dropping (the reader streams).
    let mut b = TagBatch::default();
    let mut seen = 0u64;
    while seen < TAGS - 1000 {
        b.clear();
        seen += r.read_batch(&mut b, (TAGS - 1000 - seen).min(1 << 24) as usize).unwrap() as u64;
    }
    b.clear();
    assert_eq!(r.read_batch(&mut b, 5000).unwrap(), 1000);
    assert_eq!(b, batch(TAGS - 1000, 1000));

    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import h5py; f = h5py.File({:?}, 'r'); t = f['tags/time_ps']; c = f['tags/channel']; \
             print(len(t), int(t[-1]), int(c[-1]), int(t[2**32 // 9]))",
            path.to_str().unwrap()
        ))
        .output()
        .expect("python3");
    assert!(out.status.success(), "h5py: {}", String::from_utf8_lossy(&out.stderr));
    let i = (1u64 << 32) / 9;
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("{TAGS} {} {} {}", 7 * (TAGS - 1) + 3, (TAGS - 1) % 6, 7 * i + 3)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
