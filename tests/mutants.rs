//! Damaged recordings (issue 15): a few hundred mutants of a real recording (truncated, bytes
//! flipped, datasets and attributes deleted or retyped) through `dump` and `replay`. Each
//! is read fully and correctly (the same rows as the original), or the command exits 2
//! naming the file. Never a panic or a crash, never exit 0 on a read error, never more than
//! 256 MB of memory.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_qkdbench")
}

fn python(script: &str) -> String {
    let out = Command::new("python3").arg("-c").arg(script).output().expect("python3");
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Peak RSS of the children waited for so far, MiB.
fn children_peak_rss_mib() -> f64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_or(0.0, |u| u.max_rss() as f64 / 1024.0)
}

#[test]
fn every_mutant_is_read_correctly_or_refused_with_exit_2() {
    let dir = std::env::temp_dir().join(format!("qkdbench-mutants-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let original = dir.join("original.h5");
    let out = Command::new(bin())
        .args(["record", "--duration", "300ms", "--loss-db", "12", "-o"])
        .arg(&original)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reference = Command::new(bin()).arg("dump").arg(&original).output().unwrap();
    assert!(reference.status.success());
    // The mutants, made by a seeded script (the same ones every run).
    let listing = python(&format!(
        r#"
import h5py, os, random, shutil, numpy as np
random.seed(15)
src, d = {src:?}, {dir:?}
data = open(src, "rb").read()
n = 0
def out(tag):
    global n
    n += 1
    return os.path.join(d, "m%03d-%s.h5" % (n, tag))
# Bytes flipped at random offsets (one to eight bytes each).
for i in range(220):
    b = bytearray(data)
    at = random.randrange(len(b))
    for j in range(random.randint(1, 8)):
        if at + j < len(b):
            b[at + j] ^= random.randint(1, 255)
    open(out("flip%d" % at), "wb").write(b)
# Truncated anywhere.
for i in range(50):
    cut = random.randrange(len(data))
    open(out("cut%d" % cut), "wb").write(data[:cut])
# Datasets and attributes deleted or retyped.
names = ["tags/time_ps", "tags/channel", "events/tag_index", "events/kind", "events/time_ps", "events/count", "events/channel"]
for name in names:
    p = out("del-" + name.replace("/", "_")); shutil.copy(src, p)
    with h5py.File(p, "r+") as f: del f[name]
    p = out("float-" + name.replace("/", "_")); shutil.copy(src, p)
    with h5py.File(p, "r+") as f:
        v = f[name][:]; del f[name]; f[name] = v.astype("float64")
    p = out("2d-" + name.replace("/", "_")); shutil.copy(src, p)
    with h5py.File(p, "r+") as f:
        v = f[name][:]; del f[name]; f.create_dataset(name, data=np.stack([v, v], axis=1))
    p = out("lzf-" + name.replace("/", "_")); shutil.copy(src, p)
    with h5py.File(p, "r+") as f:
        v = f[name][:]; del f[name]; f.create_dataset(name, data=v, compression="lzf", chunks=True)
for attr in ["format", "schema_version", "coarse_period_ps", "fine_bins", "run_status", "pulse_rate_hz"]:
    p = out("delattr-" + attr); shutil.copy(src, p)
    with h5py.File(p, "r+") as f: del f.attrs[attr]
    p = out("strattr-" + attr); shutil.copy(src, p)
    with h5py.File(p, "r+") as f:
        del f.attrs[attr]; f.attrs[attr] = "nonsense"
for group in ["pattern", "config"]:
    p = out("delgroup-" + group); shutil.copy(src, p)
    with h5py.File(p, "r+") as f: del f[group]
print(n)
"#,
        src = original.to_str().unwrap(),
        dir = dir.to_str().unwrap()
    ));
    let count: usize = listing.trim().parse().unwrap();
    assert!(count >= 300, "{count} mutants");
    let mut mutants: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| name(p).starts_with('m')).collect();
    mutants.sort();
    let (mut read_ok, mut refused) = (0, 0);
    for m in &mutants {
        let dump = Command::new(bin()).arg("dump").arg(m).output().unwrap();
        let err = String::from_utf8_lossy(&dump.stderr);
        assert!(!err.contains("panicked"), "{}: dump panicked: {err}", name(m));
        match dump.status.code() {
            Some(0) => {
                assert!(
                    dump.stdout == reference.stdout,
                    "{}: dump exited 0 with rows that are not the recording's",
                    name(m)
                );
                read_ok += 1;
            }
            Some(2) => {
                assert!(err.contains(&name(m)), "{}: the message names the file: {err}", name(m));
                refused += 1;
            }
            other => panic!("{}: dump exited {other:?} (a crash?): {err}", name(m)),
        }
        let replay = Command::new(bin()).arg("replay").arg(m).arg("--json").output().unwrap();
        let err = String::from_utf8_lossy(&replay.stderr);
        assert!(!err.contains("panicked"), "{}: replay panicked: {err}", name(m));
        match (dump.status.code(), replay.status.code()) {
            // A file whose tags read fully may still lack what replay needs (/pattern).
            (Some(0), Some(0 | 2)) | (Some(2), Some(2)) => {}
            (d, r) => panic!("{}: dump exited {d:?} but replay {r:?}: {err}", name(m)),
        }
    }
    let peak = children_peak_rss_mib();
    eprintln!(
        "{} mutants: {read_ok} read as the original, {refused} refused with exit 2; peak RSS {peak:.0} MiB",
        mutants.len()
    );
    assert!(peak <= 256.0, "a reader used {peak:.0} MiB");
    assert!(refused > 100, "most mutants are damaged enough to be refused");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}
