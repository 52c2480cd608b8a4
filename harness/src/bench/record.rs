//! `qkdbench bench record`: tags per second into HDF5, against plain write() of the same
//! bytes to the same disk in the same run.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use drivers::stream::TagBatch;
use recordings::{Compression, RecordingWriter, RunMeta, RunStatus};
use serde::Serialize;

/// Results of `qkdbench bench record`.
#[derive(Debug, Serialize)]
pub struct RecordBench {
    /// Tags per second written to HDF5 with the default compression (shuffle + gzip level
    /// 1, compressed by libdeflate on every core, written by direct chunk writes).
    pub tags_per_s: f64,
    /// Bytes per tag in that file.
    pub bytes_per_tag: f64,
    /// Tags per second with the fastest setting (no compression).
    pub uncompressed_tags_per_s: f64,
    /// Bytes per tag without compression.
    pub uncompressed_bytes_per_tag: f64,
    /// Baseline: the same 9 bytes per tag (8 time + 1 channel) with plain write() and one
    /// fsync at the end (as `RecordingWriter::finish` syncs the file).
    pub raw_write_tags_per_s: f64,
    /// tags_per_s / raw_write_tags_per_s.
    pub ratio_to_raw: f64,
    /// uncompressed_tags_per_s / raw_write_tags_per_s.
    pub uncompressed_ratio_to_raw: f64,
    /// Threads compressing (the machine's cores).
    pub compression_threads: usize,
    /// Tags written in each measurement.
    pub tags: u64,
}

/// A realistic batch sequence: 64k-tag batches of increasing times on six channels.
fn batches(total: usize) -> Vec<TagBatch> {
    let mut t = 0i64;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..total / 65_536)
        .map(|_| {
            let mut b = TagBatch::with_capacity(65_536);
            for _ in 0..65_536 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                t += (x % 20_000) as i64;
                b.push(t, (x >> 40) as u8 % 6);
            }
            b
        })
        .collect()
}

fn hdf5_rate(path: &Path, data: &[TagBatch], compression: Compression) -> (f64, f64) {
    let meta = RunMeta { source: "bench".into(), compression, time_base: (10_000, 1000), ..RunMeta::default() };
    let t0 = Instant::now();
    let mut w = RecordingWriter::create(path, &meta).expect("create the benchmark file");
    for b in data {
        w.append(b).expect("append");
    }
    let n = w.tags();
    w.finish(&RunStatus::Complete).expect("finish");
    let secs = t0.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    (n as f64 / secs, bytes as f64 / n as f64)
}

/// Runs the benchmark in `dir` (a folder on the disk to measure).
pub fn run(dir: &Path, tags: usize) -> RecordBench {
    let data = batches(tags);
    let n: usize = data.iter().map(TagBatch::len).sum();
    let file = dir.join(format!("qkdbench-bench-{}.h5", std::process::id()));
    let (tags_per_s, bytes_per_tag) = hdf5_rate(&file, &data, Compression::Gzip);
    let (uncompressed_tags_per_s, uncompressed_bytes_per_tag) = hdf5_rate(&file, &data, Compression::None);
    let _ = std::fs::remove_file(&file);
    let raw = dir.join(format!("qkdbench-bench-{}.raw", std::process::id()));
    let t0 = Instant::now();
    {
        let mut f = std::fs::File::create(&raw).expect("create the raw file");
        for b in data.iter() {
            let t: &[u8] = unsafe_bytes_i64(&b.time_ps);
            f.write_all(t).expect("write");
            f.write_all(&b.channel).expect("write");
        }
        f.sync_all().expect("sync");
    }
    let raw_write_tags_per_s = n as f64 / t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&raw);
    RecordBench {
        tags_per_s,
        bytes_per_tag,
        uncompressed_tags_per_s,
        uncompressed_bytes_per_tag,
        raw_write_tags_per_s,
        ratio_to_raw: tags_per_s / raw_write_tags_per_s,
        uncompressed_ratio_to_raw: uncompressed_tags_per_s / raw_write_tags_per_s,
        compression_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        tags: n as u64,
    }
}

/// The bytes of an i64 slice in memory (native little-endian), without copying.
fn unsafe_bytes_i64(v: &[i64]) -> &[u8] {
    // SAFETY: i64 has no padding and any byte pattern is a valid u8; the length is exact.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}
