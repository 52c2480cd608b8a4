//! The command line's contract through the binary: exit codes 0 / 1 / 2 per command (one
//! table), bad flag values named, closed pipes, and the repros of issue 15 (corrupt and
//! inconsistent recordings, impossible rates and durations).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_qkdbench")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

#[path = "common/scratch.rs"]
mod common_scratch;
use common_scratch::Scratch;

fn scratch(name: &str) -> Scratch {
    common_scratch::scratch_dir("cli", name)
}

fn q(args: &[&str]) -> Output {
    Command::new(bin()).current_dir(root()).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn python(script: &str) {
    let out = Command::new("python3").arg("-c").arg(script).output().expect("python3");
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A 1 s recording at 15 dB, made once per test that needs one.
fn recording(dir: &Path) -> PathBuf {
    let f = dir.join("run.h5");
    let out =
        Command::new(bin()).args(["record", "--duration", "1s", "--loss-db", "15", "-o"]).arg(&f).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    f
}

#[test]
fn replay_reports_the_same_whatever_the_engine_threads() {
    // A busy stream (3 dB), so the block pass runs in large batches on the workers.
    let dir = scratch("threads");
    let f = dir.join("busy.h5");
    let out = Command::new(bin())
        .args(["record", "--duration", "300ms", "--loss-db", "3", "--threads", "2", "-o"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let f = f.to_str().unwrap();
    let one = q(&["replay", f, "--json", "--threads", "1", "--window-ms", "10"]);
    assert!(one.status.success(), "{}", stderr(&one));
    assert!(one.stdout.len() > 1000);
    for n in ["2", "3"] {
        let many = q(&["replay", f, "--json", "--threads", n, "--window-ms", "10"]);
        assert!(many.status.success(), "{}", stderr(&many));
        assert!(one.stdout == many.stdout, "--threads {n} differs from --threads 1");
    }
}

#[test]
fn exit_codes_per_command() {
    let dir = scratch("codes");
    let rec = recording(&dir);
    let r = rec.to_str().unwrap();
    let out = dir.join("o.h5");
    let o = out.to_str().unwrap();
    let keyrate = dir.join("k.json");
    std::fs::write(
        &keyrate,
        r#"{"mu":[0.8,0.1,0.0],"p":[0.5,0.25,0.25],"n_x":[1e7,1e6,1e5],"n_z":[1e7,1e6,1e5],"m_x":[1e5,1e4,5e4],"m_z":[1e5,1e4,5e4],"eps_sec":1e-10,"eps_cor":1e-15,"f_ec":1.16,"bound":"chernoff"}"#,
    )
    .unwrap();
    let k = keyrate.to_str().unwrap();
    // (arguments, exit code, a word the message must hold)
    let table: &[(&[&str], i32, &str)] = &[
        (&["--help"], 0, ""),
        (&["no-such-command"], 2, "no-such-command"),
        (&["keyrate", "--input", k], 0, ""),
        (&["keyrate", "--input", "/nonexistent.json"], 2, "nonexistent"),
        (&["dump", r, "--limit", "3"], 0, ""),
        (&["dump", "/nonexistent.h5"], 2, "nonexistent"),
        (&["replay", r], 0, ""),
        (&["replay", "/nonexistent.h5"], 2, "nonexistent"),
        (&["replay", r, "--pulse-rate-hz", "1"], 2, "--pulse-rate-hz"),
        (&["replay", r, "--pulse-rate-hz", "NaN"], 2, "--pulse-rate-hz"),
        (&["replay", r, "--eps-sec", "1e-320"], 2, "--eps-sec"),
        (&["replay", r, "--gate-width-ps", "20000"], 2, "--gate-width-ps"),
        (&["replay", r, "--window-ms", "0.00001"], 2, "--window-ms"),
        (&["replay", r, "--threads", "0"], 2, "--threads"),
        (&["replay", r, "--threads", "3"], 0, ""),
        (&["record", "--duration", "100000000000000000000s", "-o", o], 2, "--duration"),
        (&["record", "--duration", "1s", "-o", o, "--gate-width-ps", "20000"], 2, "--gate-width-ps"),
        (&["record", "--duration", "1s", "-o", o, "--loss-db", "NaN"], 2, "--loss-db"),
        (&["record", "--duration", "1s", "-o", o, "--loss-db", "-30"], 2, "--loss-db"),
        (&["record", "--duration", "1s", "-o", o, "--loss-db", "inf"], 2, "--loss-db"),
        (&["record", "--duration", "1s", "-o", o, "--misalignment", "1.5"], 2, "--misalignment"),
        (&["record", "--duration", "1s", "-o", o, "--pulse-rate-hz", "0"], 2, "--pulse-rate-hz"),
        (&["record", "--duration", "1s", "-o", o, "--mu", "0.8,0.1"], 2, "mu"),
        (&["record", "--duration", "1s", "-o", o, "--device", "served"], 2, "--pattern-gen-port"),
        (
            &[
                "record",
                "--duration",
                "1s",
                "-o",
                o,
                "--device",
                "hardware",
                "--pattern-gen-port",
                "/dev/nonexistent-tty",
            ],
            2,
            "nonexistent-tty",
        ),
        (&["live", "--duration", "1s", "--fast"], 0, ""),
        (&["live", "--duration", "1s", "--loss-db", "NaN"], 2, "--loss-db"),
        (&["live", "--duration", "1s", "--gate-width-ps", "20000"], 2, "--gate-width-ps"),
        (&["live", "--duration", "0s"], 2, "--duration"),
        (
            &[
                "live",
                "--device",
                "served",
                "--pattern-gen-port",
                "/dev/nonexistent-tty",
                "--tagger-socket-dir",
                "/tmp",
            ],
            2,
            "nonexistent-tty",
        ),
        (&["replay", "/nonexistent.h5", "--tui"], 2, "nonexistent"),
        (&["replay", r, "--tui", "--json"], 2, "--json"),
        (&["demo", "--every-s", "0"], 2, "--every-s"),
        (&["selftest", "--slots", "0"], 2, "--slots"),
        (&["selftest", "--slots", "20000"], 0, "identical"),
        // The comparison can fail: against a model with a wrong seed, exit 1 naming it.
        (&["selftest", "--slots", "20000", "--inject-model-error"], 1, "disagree"),
        (&["sim", "serve", "--seconds", "NaN"], 2, "--seconds"),
        (&["sim", "serve", "--seconds", "-1"], 2, "--seconds"),
        (&["run", "scenarios/smoke.toml"], 0, ""),
        (&["run", "scenarios/misaligned_receiver.toml"], 1, "FAIL"),
        (&["run", "/nonexistent.toml"], 2, "nonexistent"),
        (&["report", "/nonexistent.h5"], 2, "nonexistent"),
    ];
    for (args, code, word) in table {
        let out = q(args);
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(out.status.code(), Some(*code), "qkdbench {}: {all}", args.join(" "));
        assert!(all.contains(word), "qkdbench {}: {word:?} not in {all}", args.join(" "));
        assert!(!all.contains("panicked"), "qkdbench {}: {all}", args.join(" "));
    }
    // Bad values are refused before the output file is touched.
    assert!(!out.exists(), "a refused record made {}", out.display());
}

#[test]
fn a_closed_stdout_ends_each_command_quietly() {
    let dir = scratch("pipe");
    let rec = recording(&dir);
    let k = dir.join("k.json");
    std::fs::write(
        &k,
        r#"{"mu":[0.8,0.1,0.0],"p":[0.5,0.25,0.25],"n_x":[1e7,1e6,1e5],"n_z":[1e7,1e6,1e5],"m_x":[1e5,1e4,5e4],"m_z":[1e5,1e4,5e4],"eps_sec":1e-10,"eps_cor":1e-15,"f_ec":1.16,"bound":"chernoff"}"#,
    )
    .unwrap();
    let runs: &[&[&str]] = &[
        &["selftest", "--slots", "2000"],
        &["devices"],
        &["demo", "--every-s", "50"],
        &["replay", rec.to_str().unwrap()],
        &["dump", rec.to_str().unwrap()],
        &["run", "scenarios/smoke.toml"],
        &["keyrate", "--input", k.to_str().unwrap()],
    ];
    for args in runs {
        let mut child = Command::new(bin())
            .current_dir(root())
            .args(*args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away at once
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

#[test]
fn damaged_recordings_make_replay_exit_2_naming_what_is_wrong() {
    let dir = scratch("damaged");
    let rec = recording(&dir);
    // Bytes flipped inside the second chunk of /tags/time_ps.
    let flipped = dir.join("flipped.h5");
    std::fs::copy(&rec, &flipped).unwrap();
    python(&format!(
        r#"
import h5py
with h5py.File({p:?}, "r") as f:
    info = f["tags/time_ps"].id.get_chunk_info(1)
with open({p:?}, "r+b") as f:
    f.seek(info.byte_offset + info.size // 2)
    b = bytearray(f.read(4))
    f.seek(info.byte_offset + info.size // 2)
    f.write(bytes(x ^ 0xFF for x in b))
"#,
        p = flipped.to_str().unwrap()
    ));
    let out = q(&["replay", flipped.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("flipped.h5"), "{}", stderr(&out));
    // Events out of stream order (a panic before).
    let unsorted = dir.join("unsorted.h5");
    std::fs::copy(&rec, &unsorted).unwrap();
    python(&format!(
        r#"
import h5py, numpy as np
with h5py.File({p:?}, "r+") as f:
    g = f["events"]
    for name, v in [("tag_index", [500, 100]), ("kind", [3, 3]), ("time_ps", [-1, -1]), ("channel", [0, 1]), ("count", [1, 1])]:
        d = g[name]
        d.resize((2,))
        d[:] = np.array(v, dtype=d.dtype)
"#,
        p = unsorted.to_str().unwrap()
    ));
    for cmd in ["replay", "dump"] {
        let out = q(&[cmd, unsorted.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", stderr(&out));
        assert!(stderr(&out).contains("/events/tag_index"), "{cmd}: {}", stderr(&out));
    }
    // Events datasets that declare 150 million rows they never wrote (it used to allocate
    // gigabytes): refused from the chunks actually present, at once.
    let declared = dir.join("declared.h5");
    std::fs::copy(&rec, &declared).unwrap();
    python(&format!(
        r#"
import h5py
with h5py.File({p:?}, "r+") as f:
    for name in ["tag_index", "kind", "time_ps", "channel", "count"]:
        f["events/" + name].resize((150_000_000,))
"#,
        p = declared.to_str().unwrap()
    ));
    for cmd in ["replay", "dump"] {
        let t = std::time::Instant::now();
        let out = q(&[cmd, declared.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {}", stderr(&out));
        assert!(stderr(&out).contains("declares 150000000 rows"), "{cmd}: {}", stderr(&out));
        assert!(t.elapsed().as_secs() < 10, "{cmd} took {:?}", t.elapsed());
    }
    // A damaged /config: an unknown bound is the file's error (it used to fall back to a
    // default silently), and a time of -9.2e18 ps no longer panics the engine.
    let config = dir.join("config.h5");
    std::fs::copy(&rec, &config).unwrap();
    python(&format!(
        "import h5py\nwith h5py.File({p:?}, 'r+') as f:\n    del f['config'].attrs['engine.key.bound']\n    f['config'].attrs['engine.key.bound'] = 'zzz'\n",
        p = config.to_str().unwrap()
    ));
    let out = q(&["replay", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("config.h5") && stderr(&out).contains("engine.key.bound"), "{}", stderr(&out));
    let far = dir.join("far.h5");
    std::fs::copy(&rec, &far).unwrap();
    python(&format!(
        "import h5py\nwith h5py.File({p:?}, 'r+') as f:\n    t = f['tags/time_ps']\n    t[5000] = -9_200_000_000_000_000_000\n",
        p = far.to_str().unwrap()
    ));
    let out = q(&["replay", far.to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(0 | 2)) && !stderr(&out).contains("panicked"), "{}", stderr(&out));
    // A recorded pulse rate of 1 Hz (it used to allocate terabytes).
    let slow = dir.join("slow.h5");
    std::fs::copy(&rec, &slow).unwrap();
    python(&format!(
        r#"
import h5py
with h5py.File({p:?}, "r+") as f:
    f.attrs["pulse_rate_hz"] = 1.0
"#,
        p = slow.to_str().unwrap()
    ));
    let out = q(&["replay", slow.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("pulse_rate_hz"), "{}", stderr(&out));
}

#[test]
fn convert_never_writes_over_what_it_must_not_and_carries_the_run_status() {
    let dir = scratch("convert");
    let rec = recording(&dir);
    let r = rec.to_str().unwrap();
    std::fs::create_dir_all(dir.join("folder")).unwrap();
    let folder = dir.join("folder");
    let same_other_name = format!("{}/./{}", dir.display(), rec.file_name().unwrap().to_str().unwrap());
    for (out, word) in [
        ("/dev/null", "not a regular file"),
        (folder.to_str().unwrap(), "not a regular file"),
        (r, "is the input"),
        (same_other_name.as_str(), "is the input"),
    ] {
        let o = q(&["convert", r, out]);
        assert_eq!(o.status.code(), Some(2), "{out}: {}", stderr(&o));
        assert!(stderr(&o).contains(word), "{out}: {}", stderr(&o));
    }
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device_like(), "/dev/null is intact");
    assert!(folder.is_dir() && !dir.join("folder.partial").exists());
    // A crashed recording (status `running`) converts into a copy that does not say complete,
    // with the source's settings.
    let crashed = dir.join("crashed.h5");
    std::fs::copy(&rec, &crashed).unwrap();
    python(&format!(
        r#"
import h5py
with h5py.File({p:?}, "r+") as f:
    f.attrs["run_status"] = "running"
"#,
        p = crashed.to_str().unwrap()
    ));
    let copy = dir.join("copy.h5");
    let o = q(&["convert", crashed.to_str().unwrap(), copy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    python(&format!(
        r#"
import h5py
f = h5py.File({p:?}, "r")
s = f.attrs["run_status"]
assert s.startswith("aborted: ") and "running" in s, s
assert f["config"].attrs["engine.gate_width_ps"] == 1000.0
"#,
        p = copy.to_str().unwrap()
    ));
}

trait CharDevice {
    fn is_char_device_like(&self) -> bool;
}

impl CharDevice for std::fs::FileType {
    fn is_char_device_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_char_device()
    }
}

/// Issue 15: a PTU whose header has 20,000 extra tags converts in seconds (it was quadratic),
/// and junk after the NUL of a tag name is padding, not part of the name.
#[test]
fn large_and_dirty_ptu_headers_convert_quickly() {
    let src = root().parent().unwrap().join("shared/data/ptu/picoharp300_t2.ptu");
    if !src.exists() {
        assert!(std::env::var_os("QKDBENCH_REQUIRE_DATA").is_none(), "../shared/data is missing");
        eprintln!("skipping: {} is absent", src.display());
        return;
    }
    let dir = scratch("ptu-header");
    let big = dir.join("big.ptu");
    python(&format!(
        r#"
import struct
data = open({src:?}, "rb").read()
# Header_End is a 48-byte tag record: name (32 bytes), index, type, value.
end = data.index(b"Header_End")
extra = bytearray()
for i in range(20000):
    extra += (b"Extra_%d" % i).ljust(32, b"\0") + struct.pack("<iIq", -1, 0x10000008, i)
extra += b"Dirty\0junk!!".ljust(32, b"\0") + struct.pack("<iIq", -1, 0x10000008, 7)
open({out:?}, "wb").write(data[:end] + bytes(extra) + data[end:])
"#,
        src = src.to_str().unwrap(),
        out = big.to_str().unwrap()
    ));
    let out_file = dir.join("big.h5");
    let t = std::time::Instant::now();
    let o = q(&["convert", big.to_str().unwrap(), out_file.to_str().unwrap()]);
    let took = t.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(took.as_secs() < 20, "converting took {took:?}");
    python(&format!(
        r#"
import h5py
f = h5py.File({p:?}, "r")
a = f["source_header"].attrs
assert a["Dirty"] == 7 and a["Extra_19999"] == 19999, list(a.keys())[:5]
"#,
        p = out_file.to_str().unwrap()
    ));
}

/// Issue 15's low findings: FIFOs and devices, impossible PTU header values, schema versions,
/// keyrate's messages and extremes, a forward jump under --realtime, long numbers.
#[test]
fn impossible_inputs_are_refused_quickly_and_clearly() {
    let dir = scratch("low");
    // A FIFO with no writer (it used to hang) and /dev/zero named like a timestamp7 file.
    let fifo = dir.join("pipe.ts");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let zero = dir.join("zero.ts");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for f in [&fifo, &zero] {
        for cmd in ["dump", "replay"] {
            let t = std::time::Instant::now();
            let o = q(&[cmd, f.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(2), "{cmd} {}: {}", f.display(), stderr(&o));
            assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
            assert!(t.elapsed().as_secs() < 10);
        }
    }
    let o = q(&["convert", zero.to_str().unwrap(), dir.join("z.h5").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.join("z.h5").exists());
    // Schema versions that are none.
    let rec = recording(&dir);
    for (i, v) in ["-1", "0", "1.5"].iter().enumerate() {
        let f = dir.join(format!("schema{i}.h5"));
        std::fs::copy(&rec, &f).unwrap();
        python(&format!(
            "import h5py\nwith h5py.File({p:?}, 'r+') as f:\n    del f.attrs['schema_version']\n    f.attrs['schema_version'] = {v}\n",
            p = f.to_str().unwrap()
        ));
        let o = q(&["dump", f.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "schema_version {v}: {}", stderr(&o));
        assert!(stderr(&o).contains("schema_version") && !stderr(&o).contains("byte 0"), "{}", stderr(&o));
    }
    // A tag time pushed 1e18 ps (11 days) ahead: --realtime does not wait it out.
    let jump = dir.join("jump.h5");
    std::fs::copy(&rec, &jump).unwrap();
    python(&format!(
        "import h5py\nwith h5py.File({p:?}, 'r+') as f:\n    t = f['tags/time_ps']\n    n = t.shape[0] // 2\n    t[n:] = t[n:] + 10**18\n",
        p = jump.to_str().unwrap()
    ));
    let t = std::time::Instant::now();
    let o = q(&["replay", jump.to_str().unwrap(), "--realtime"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.elapsed().as_secs() < 20, "replay --realtime took {:?}", t.elapsed());
    // keyrate: the field of a type error, and extremes that made NaN.
    let k = |text: &str| {
        let f = dir.join("k.json");
        std::fs::write(&f, text).unwrap();
        q(&["keyrate", "--input", f.to_str().unwrap()])
    };
    let base = r#"{"mu":[0.8,0.1,0.0],"p":[0.5,0.25,0.25],"n_x":[1e7,1e6,1e5],"n_z":[1e7,1e6,1e5],"m_x":[1e5,1e4,5e4],"m_z":[1e5,1e4,5e4],"eps_sec":1e-10,"eps_cor":1e-15,"f_ec":1.16,"bound":"chernoff"}"#;
    let o = k(&base.replace("[1e7,1e6,1e5],\"n_z\"", "[1e7,\"x\",1e5],\"n_z\""));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("field n_x"), "{}", stderr(&o));
    for (from, to, field) in [
        ("0.8,0.1", "800,0.1", "mu"),
        ("1e-10", "1e-320", "eps_sec"),
        ("1.16", "1e308", "f_ec"),
        ("[1e7,1e6,1e5],\"n_z\"", "[1e308,1e6,1e5],\"n_z\"", "n_x"),
    ] {
        let o = k(&base.replacen(from, to, 1));
        assert_eq!(o.status.code(), Some(2), "{field}: {}", String::from_utf8_lossy(&o.stdout));
        assert!(stderr(&o).contains(field), "{field}: {}", stderr(&o));
        assert!(!String::from_utf8_lossy(&o.stdout).contains("null"));
    }
    // Long numbers in messages.
    let o = q(&["record", "--duration", "1s", "-o", dir.join("x.h5").to_str().unwrap(), "--loss-db", "1e308"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("1e308") && stderr(&o).len() < 300, "{}", stderr(&o));
}

/// PTU header values that are no instrument's: a time unit of 1 s or 1e300 s saturated every
/// time, a negative record count read nothing; both exit 0 before.
#[test]
fn impossible_ptu_header_values_are_refused_naming_the_tag() {
    let src = root().parent().unwrap().join("shared/data/ptu/picoharp300_t2.ptu");
    if !src.exists() {
        assert!(std::env::var_os("QKDBENCH_REQUIRE_DATA").is_none(), "../shared/data is missing");
        eprintln!("skipping: {} is absent", src.display());
        return;
    }
    let dir = scratch("ptu-values");
    for (tag, value, fmt) in [
        ("MeasDesc_GlobalResolution", "1.0", "d"),
        ("MeasDesc_GlobalResolution", "1e300", "d"),
        ("TTResult_NumberOfRecords", "-5", "q"),
    ] {
        let out = dir.join(format!("{tag}-{value}.ptu"));
        python(&format!(
            r#"
import struct
data = bytearray(open({src:?}, "rb").read())
i = data.index({tag:?}.encode())
# name (32) index (4) type (4) value (8)
data[i + 40:i + 48] = struct.pack("<{fmt}", {value})
open({out:?}, "wb").write(data)
"#,
            src = src.to_str().unwrap(),
            out = out.to_str().unwrap()
        ));
        let o = q(&["dump", out.to_str().unwrap(), "--limit", "3"]);
        assert_eq!(o.status.code(), Some(2), "{tag} = {value}: {}", stderr(&o));
        assert!(stderr(&o).contains(tag), "{}", stderr(&o));
    }
}

/// A PicoHarp T2 file of `copies` times the real one's records (an overflow record between
/// copies keeps time running forward), with the record count and the acquisition's
/// duration patched to match.
fn big_ptu(dir: &Path, copies: usize) -> Option<PathBuf> {
    let src = root().join("../shared/data/ptu/picoharp300_t2.ptu");
    let Ok(real) = std::fs::read(&src) else {
        assert!(std::env::var_os("QKDBENCH_REQUIRE_DATA").is_none(), "../shared/data is missing");
        eprintln!("skipped: {} is absent", src.display());
        return None;
    };
    let tag = real.windows(24).position(|w| w == b"TTResult_NumberOfRecords").expect("record count tag");
    let n = i64::from_le_bytes(real[tag + 40..tag + 48].try_into().unwrap()) as usize;
    let body_at = real.len() - 4 * n;
    let mut big = real[..body_at].to_vec();
    for i in 0..copies {
        if i > 0 {
            big.extend(0xF000_0000u32.to_le_bytes()); // PicoHarp T2 overflow
        }
        big.extend(&real[body_at..]);
    }
    let total = (copies * n + copies - 1) as i64;
    big[tag + 40..tag + 48].copy_from_slice(&total.to_le_bytes());
    // The acquisition lasts `copies` times as long (events after the declared end are an
    // error).
    for name in [&b"MeasDesc_AcquisitionTime"[..], b"TTResult_StopAfter"] {
        if let Some(at) = big.windows(name.len()).position(|w| w == name) {
            let ms = i64::from_le_bytes(big[at + 40..at + 48].try_into().unwrap());
            big[at + 40..at + 48].copy_from_slice(&(ms * copies as i64).to_le_bytes());
        }
    }
    let path = dir.join("big.ptu");
    std::fs::write(&path, big).unwrap();
    Some(path)
}

/// Ctrl-C or SIGTERM during `convert` removes `OUT.partial` and exits 1. The signal is sent
/// once `OUT.partial` exists, to an input that takes seconds to convert, so the test always
/// interrupts a conversion in progress (it fails if the conversion had finished).
#[test]
fn an_interrupted_convert_leaves_nothing_and_sim_serve_survives_a_closed_stdout() {
    let dir = scratch("convert-signal");
    if let Some(big) = big_ptu(&dir, 12) {
        for signal in ["-INT", "-TERM", "-HUP"] {
            let target = dir.join(format!("copy{signal}.h5"));
            let partial = dir.join(format!("copy{signal}.h5.partial"));
            let mut child = Command::new(bin())
                .arg("convert")
                .arg(&big)
                .arg(&target)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let t0 = std::time::Instant::now();
            while !partial.exists() && t0.elapsed().as_secs() < 30 && child.try_wait().unwrap().is_none() {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            let _ = Command::new("kill").arg(signal).arg(child.id().to_string()).status();
            let out = child.wait_with_output().unwrap();
            // Stopped by the user: a run cut short, exit 1 (docs/exit-codes.md).
            assert_eq!(out.status.code(), Some(1), "{signal} (sent {:?} after start): {}", t0.elapsed(), stderr(&out));
            assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
            assert!(!partial.exists() && !target.exists(), "{signal}: nothing left behind");
        }
    }
    // sim serve with its stdout closed after the three lines.
    let sock = dir.join("sockets");
    let mut child = Command::new(bin())
        .args(["sim", "serve", "--dir"])
        .arg(&sock)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 32];
    let _ = std::io::Read::read(&mut stdout, &mut first);
    drop(stdout);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "sim serve kept serving");
    assert!(sock.join("tagger.sock").exists());
    let _ = Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(!sock.join("tagger.sock").exists(), "its sockets removed when it stopped");
}

/// Ctrl-C, SIGTERM or SIGHUP during `bench capture` ends it as cut short (exit 1) and
/// removes its recording and the folder it made (it left GBs behind before, and died with
/// the signal's code). Each signal is sent once the recording exists.
#[test]
fn an_interrupted_bench_capture_removes_its_recording() {
    let dir = scratch("capture-signal");
    for signal in ["-INT", "-TERM", "-HUP"] {
        let cap = dir.join(format!("cap{signal}")).join("deeper");
        let mut child = Command::new(bin())
            .args(["bench", "capture", "--rate", "1e7", "--seconds", "60", "--dir"])
            .arg(&cap)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let t0 = std::time::Instant::now();
        let recording = || std::fs::read_dir(&cap).map(|d| d.count() > 0).unwrap_or(false);
        while !recording() && t0.elapsed().as_secs() < 30 && child.try_wait().unwrap().is_none() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(recording(), "{signal}: the capture started recording into {}", cap.display());
        std::thread::sleep(std::time::Duration::from_millis(300));
        let _ = Command::new("kill").arg(signal).arg(child.id().to_string()).status();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{signal}: {}", stderr(&out));
        assert!(stderr(&out).contains("interrupted") && stderr(&out).contains("removed"), "{}", stderr(&out));
        assert!(!dir.join(format!("cap{signal}")).exists(), "{signal}: nothing left behind");
    }
}

/// A closed stderr (`2>&1 | head -1`) loses messages, never the exit code (it was 101).
#[test]
fn a_closed_stderr_keeps_the_exit_code() {
    for (args, code) in [
        (&["run", "scenarios/misaligned_receiver.toml"][..], 1),
        (&["replay", "/nonexistent.h5"][..], 2),
        (&["record", "--duration", "1s", "-o", "/nonexistent/x.h5", "--loss-db", "NaN"][..], 2),
    ] {
        let mut child = Command::new(bin())
            .current_dir(root())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stderr.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
}

/// The benchmark commands print one JSON object with their figures and a baseline from the
/// same run (README: "with a baseline measured in the same run").
#[test]
fn bench_json_prints_figures_with_their_baseline() {
    let dir = scratch("bench");
    for (args, keys) in [
        (
            vec!["bench", "rtl", "--json", "--slots", "100000"],
            vec!["baseline", "model_symbols_per_s", "rtl_slots_per_s", "rtl_time_tagger_cycles_per_s"],
        ),
        (
            vec!["bench", "record", "--json", "--tags", "2000000", "--dir", dir.to_str().unwrap()],
            vec!["tags_per_s", "raw_write_tags_per_s", "bytes_per_tag", "ratio_to_raw"],
        ),
    ] {
        let out = q(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        for k in keys {
            let x = v[k].as_f64().unwrap_or_else(|| panic!("{args:?}: no number {k} in {v}"));
            assert!(x.is_finite() && x > 0.0, "{args:?}: {k} = {x}");
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(leftovers.is_empty(), "bench record removes its files: {leftovers:?}");

    // bench engine: the figure on 2 threads and on one, the machine's ceiling, its
    // decode-only and memcpy baselines, and the plain build measured on every CPU beside the
    // one in use.
    let out = q(&["bench", "engine", "--json", "--seconds", "0.05", "--threads", "2"]);
    assert!(out.status.success(), "bench engine: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let num = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("bench engine: no number {k} in {v}"));
    let tags = num("tags_per_s");
    assert!(tags > 0.0 && num("decode_only_tags_per_s") > tags && num("memcpy_tags_per_s") > tags, "{v}");
    assert!(num("tags_per_s_min") <= tags && tags <= num("tags_per_s_max"), "{v}");
    assert!(num("stream_tags") > 1e5 && num("peak_rss_mib") > 0.0, "{v}");
    let simd = v["simd"].as_str().expect("simd");
    assert!(v["tags_per_s_by_simd"]["plain"].as_f64().is_some_and(|x| x > 0.0), "{v}");
    let one = num("one_thread_tags_per_s");
    assert_eq!(v["tags_per_s_by_simd"][simd].as_f64(), Some(one), "one thread's figure is the build in use: {v}");
    assert_eq!(v["threads"].as_u64(), Some(2), "{v}");
    // Ratios of figures measured in the same rounds (medians of per-round ratios): near
    // the ratio of the medians, and positive; their size depends on the machine's load.
    for (ratio, num_, den) in [("scaling", tags, one), ("ratio_to_decode", tags, num("decode_only_tags_per_s"))] {
        let r = num(ratio);
        assert!(r > 0.0 && (r / (num_ / den)).ln().abs() < 1.0, "{ratio} {r} against {}: {v}", num_ / den);
    }
    assert!(num("independent_engines_scaling") > 0.0, "{v}");

    // bench tui: the drawing thread's CPU against the same loop without drawing.
    let out = q(&["bench", "tui", "--json", "--seconds", "1"]);
    assert!(out.status.success(), "bench tui: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let num = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("bench tui: no number {k} in {v}"));
    assert!(num("tui_cpu_pct_of_one_core") > num("ingest_only_cpu_pct_of_one_core"), "{v}");
    assert!(num("draws_per_s") > 1.0 && num("terminal_bytes_per_s") > 0.0 && num("frames_per_s") > 1.0, "{v}");
    assert_eq!(v["terminal"], "80x24");
    // bench capture: a slow rate for a second: everything offered is recorded and analysed,
    // nothing lost silently, the engine locked, the file removed from the folder given.
    let cap = dir.join("capture");
    let out = q(&["bench", "capture", "--json", "--rate", "2e6", "--seconds", "1", "--dir", cap.to_str().unwrap()]);
    assert!(out.status.success(), "bench capture: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let num = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("bench capture: no number {k} in {v}"));
    assert!(num("offered_tags") > 1e6 && num("recorded_tags") == num("offered_tags"), "{v}");
    assert_eq!((num("lost_tags"), num("silent_loss_tags"), num("analysed_fraction")), (0.0, 0.0, 1.0), "{v}");
    assert!(num("source_only_tags_per_s") > num("offered_tags_per_s") && num("peak_rss_mib") > 0.0, "{v}");
    assert_eq!((v["engine_lock_at_end"].as_str(), v["status"].as_str()), (Some("locked"), Some("complete")));
    assert!(v["cpu_pct_by_thread"]["recorder"].as_f64().is_some(), "{v}");
    assert_eq!(std::fs::read_dir(&cap).map(|d| d.count()).unwrap_or(0), 0, "bench capture removes its file");
    // A capture the folder's disk cannot hold (2.9 TB) is refused before it starts, saying how much
    // it needs and has; the folder it would have made is not left behind.
    let big = dir.join("capture-big");
    let out = q(&[
        "bench",
        "capture",
        "--rate",
        "9e7",
        "--seconds",
        "3600",
        "--compression",
        "none",
        "--dir",
        big.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("needs up to about") && stderr(&out).contains("GB free"), "{}", stderr(&out));
    assert!(!big.exists(), "bench capture removes the folder it made");
    let out = q(&["bench", "capture", "--rate", "5"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--rate 5"), "{}", stderr(&out));
}

/// `bench sim` flies the whole pass, then pushes a stream through the real socket link; it
/// panicked on the closed socket once a closed socket became a disconnection (found by
/// this test). The pass's pulse count follows from its length and the set rate.
#[test]
fn bench_sim_flies_the_pass_and_measures_the_transport() {
    let out = q(&["bench", "sim", "--json"]);
    assert!(out.status.success(), "bench sim: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let num = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("bench sim: no number {k} in {v}"));
    for k in ["decode_tags_per_s", "memcpy_tags_per_s", "sim_stream_tags_per_s", "sim_generate_tags_per_s"] {
        assert!(num(k) > 0.0, "{k}: {v}");
    }
    // 100 MHz for the pass's device time; the satellite's Doppler and the clocks move the
    // count by at most 1e-4 of it.
    let want = num("pass_device_s") * 1e8;
    assert!((num("pass_pulses") - want).abs() <= 1e-4 * want, "{v}");
    assert!(num("pass_tags") > 0.0 && num("fast_pass_wall_s") > 0.0, "{v}");
}

/// `demo` (line output when not on a terminal): a status line per `--every-s` of device
/// time, the last at the end of the pass, and final figures that follow from the pass and
/// the protocol rather than from the code: pulses = pass length x 100 MHz (Doppler and
/// clocks move it by < 1e-4), half of the gated detections sifted (a fair basis choice,
/// 5 sigma), QBER Z and X equal within 5 sigma (the bench's misalignment is the same in both
/// bases), and a positive key.
#[test]
fn demo_prints_lines_on_device_time_and_final_figures_that_follow_from_the_pass() {
    let pass = root().join("../shared/data/passes");
    if !pass.join("micius2017_track.csv").exists() {
        assert!(std::env::var_os("QKDBENCH_REQUIRE_DATA").is_none(), "../shared/data is missing");
        eprintln!("skipped: {} is absent", pass.display());
        return;
    }
    let out = q(&["demo", "--every-s", "100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let times: Vec<&str> =
        text.lines().filter(|l| l.starts_with("t ")).map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    assert_eq!(times, ["100.0", "200.0", "274.0"], "{text}");
    assert!(text.lines().filter(|l| l.starts_with("t ")).all(|l| l.contains("locked")), "{text}");
    let last = text.lines().find(|l| l.starts_with("pass over")).unwrap_or_else(|| panic!("{text}"));
    let field = |before: &str| -> f64 {
        let words: Vec<&str> = last.split([' ', ',', ':']).filter(|w| !w.is_empty()).collect();
        let i = words.iter().position(|w| *w == before).unwrap_or_else(|| panic!("{before} in {last}"));
        words[i - 1].trim_end_matches('%').parse().unwrap()
    };
    let (pulses, gated, sifted) = (field("pulses"), field("gated"), field("sifted"));
    assert!((pulses - 274.0 * 1e8).abs() < 1e-4 * 274.0 * 1e8, "{last}");
    let sigma = (gated * 0.25).sqrt();
    assert!((sifted - gated / 2.0).abs() < 5.0 * sigma, "sifted {sifted} of {gated} gated: {last}");
    let words: Vec<&str> = last.split_whitespace().collect();
    let pct = |name: &str| -> f64 {
        let i = words.iter().position(|w| *w == name).unwrap();
        words[i + 1].trim_end_matches([',', '%']).parse::<f64>().unwrap() / 100.0
    };
    let (qz, qx) = (pct("Z"), pct("X"));
    let sigma = (qz * (1.0 - qz) / (sifted / 2.0) * 2.0).sqrt();
    assert!((qz - qx).abs() < 5.0 * sigma && qz > 0.0, "QBER Z {qz} X {qx}: {last}");
    let key = text.lines().find(|l| l.starts_with("finite-key")).unwrap_or_else(|| panic!("{text}"));
    let bits: u64 = key.split(": ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().parse().unwrap();
    assert!(bits > 0, "{key}");
}

/// `devices` lists the three kinds of device README promises, each with how it connects; a
/// machine without a USB bus (this one, CI) says so under its heading and still exits 0.
#[test]
fn devices_lists_serial_ports_usb_taggers_and_the_simulated_bench() {
    let out = q(&["devices"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in ["serial ports", "115200 baud 8N1", "USB time taggers (1209:7154)", "simulated bench", "sim serve"] {
        assert!(text.contains(want), "devices output lacks {want:?}:\n{text}");
    }
    let usb = text.split("USB time taggers").nth(1).unwrap().lines().nth(1).unwrap_or("");
    assert!(!usb.trim().is_empty(), "the USB section says what it found or why it found nothing:\n{text}");
}

/// `--pulse-rate-hz` reaches the generator and the file: a 1 s run at 50 MHz holds that
/// rate in `/config` and the root, its replay counts 5e7 pulses (Doppler-free bench:
/// within 1e-4) and one sync per `sync_period_pulses` of them (the generator's own period,
/// read back from `/config`). `replay --realtime` takes the recorded time (within 10 %) and
/// gives the same counts as the replay at full speed.
#[test]
fn the_pulse_rate_reaches_the_file_and_replay_realtime_keeps_the_recorded_pace() {
    let dir = scratch("rate");
    let f = dir.join("r.h5");
    let out = Command::new(bin())
        .args(["record", "--duration", "1s", "--loss-db", "15", "--pulse-rate-hz", "5e7", "-o"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let script = format!(
        r#"
import h5py
f = h5py.File({path:?}, "r")
c = f["config"].attrs
t = f["tags/time_ps"]
print(f.attrs["pulse_rate_hz"], c["generator.pulse_rate_hz"], c["generator.sync_period_pulses"], (t[-1] - t[0]) / 1e12)
"#,
        path = f.to_str().unwrap()
    );
    let o = Command::new("python3").arg("-c").arg(&script).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Vec<f64> = String::from_utf8(o.stdout).unwrap().split_whitespace().map(|x| x.parse().unwrap()).collect();
    assert_eq!((v[0], v[1]), (5e7, 5e7), "the rate in the root and /config");
    let (sync_period, span_s) = (v[2], v[3]);
    let replay = |extra: &[&str]| {
        let t = std::time::Instant::now();
        let out = Command::new(bin()).arg("replay").arg(&f).arg("--json").args(extra).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v, t.elapsed().as_secs_f64())
    };
    let (fast, _) = replay(&[]);
    let s = &fast["snapshot"];
    let pulses = s["last_pulse"].as_f64().unwrap() + 1.0;
    assert!((pulses - 5e7).abs() < 1e-4 * 5e7, "{pulses} pulses in 1 s at 50 MHz");
    let syncs = s["clock"]["syncs_accepted"].as_f64().unwrap();
    // The last detected pulse ends the count; a sync at either end may or may not fall in.
    assert!((syncs - pulses / sync_period).abs() <= 2.0, "{syncs} syncs for {pulses} pulses");
    let (paced, wall_s) = replay(&["--realtime"]);
    assert!((wall_s - span_s).abs() < 0.1 * span_s, "--realtime took {wall_s:.3} s for {span_s:.3} s of tags");
    assert_eq!(paced["snapshot"]["counts"], s["counts"], "the paced replay counts the same");
}
