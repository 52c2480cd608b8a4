//! `qkdbench record` writes HDF5 that h5py opens — also after `kill -9`.
//! h5py comes from PyPI through scripts/setup.sh (the README's test command runs it).

use std::process::{Command, Stdio};

mod common;
use std::time::Duration;

fn h5py(script: &str) -> String {
    let out = Command::new("python3").arg("-c").arg(script).output().expect("python3");
    assert!(
        out.status.success(),
        "h5py check failed (is h5py installed? ./scripts/setup.sh installs it):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[path = "../../tests/common/scratch.rs"]
mod common_scratch;

fn scratch(name: &str) -> common_scratch::Scratch {
    common_scratch::scratch_file("record", name)
}

#[test]
fn a_recording_opens_in_h5py_with_names_dtypes_units_and_counts() {
    let file = scratch("run.h5");
    let out = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
        .args(["record", "--duration", "1s", "--loss-db", "15", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (tags, events) = (common::record_summary(&stdout, "tags"), common::record_summary(&stdout, "events"));
    assert!(tags > 100_000);
    let report = h5py(&format!(
        r#"
import h5py
f = h5py.File({path:?}, "r")
assert f.attrs["schema_version"] == 1, f.attrs["schema_version"]
assert f.attrs["run_status"] == "complete", f.attrs["run_status"]
assert f.attrs["coarse_period_ps"] == 10000 and f.attrs["fine_bins"] == 1000
t, c = f["tags/time_ps"], f["tags/channel"]
assert t.dtype == "int64" and c.dtype == "uint8", (t.dtype, c.dtype)
assert t.attrs["unit"] == "ps" and t.compression == "gzip"
for name in ["tag_index", "kind", "time_ps", "channel", "count"]:
    assert "unit" in f["events/" + name].attrs, name
assert f["events/time_ps"].attrs["unit"] == "ps"
times = t[:]
assert (times[1:] >= times[:-1] - 10000).all(), "tags in stream order"
m = f["metrics"]
assert len(m["time_ps"]) >= 2 and m["time_ps"].attrs["unit"] == "ps"
assert m["lock_state"][-1] == 1, "locked at the end"
assert (m["gated"][1:] >= m["gated"][:-1]).all(), "cumulative"
assert m["sync_period_ps"].attrs["unit"] == "ps" and abs(m["sync_period_ps"][-1] / 1e8 - 1) < 1e-6, "clock fit"
assert m["key_length_bits"].attrs["unit"] == "bit"
w = f["windows"]
assert w["duration_s"].attrs["unit"] == "s" and len(w["index"]) >= 5
assert int(w["sifted_z"][:].sum() + w["sifted_x"][:].sum()) == int(m["sifted_z"][-1] + m["sifted_x"][-1]), "windows add up to the run"
assert int(w["errors_z"][:].sum()) == int(m["errors_z"][-1])
lc = f["lock_changes"]
assert lc["state"][0] == 1 and lc["time_ps"].attrs["unit"] == "ps", "the first lock is recorded"
assert f.attrs["scenario"] == "" and f.attrs["verdict"] == ""
cfg = f["config"].attrs
assert cfg["bench.channel.loss_db"] == 15.0 and cfg["generator.pulse_rate_hz"] == 1e8 and cfg["duration_s"] == 1.0 and cfg["engine.gate_width_ps"] == 1000.0, dict(cfg)
assert f.attrs["pulse_rate_hz"] == 1e8
p = f["pattern"].attrs
assert list(p["mu"]) == [0.8, 0.1, 0.0] and p["mu_full_scale"] == 1.0, dict(p)
print(len(t), len(c), len(f["events/kind"]), int(f.attrs["tag_count"]), sorted(set(c[:].tolist())), "sifted", int(m["sifted_z"][-1] + m["sifted_x"][-1]))
"#,
        path = file.to_str().unwrap()
    ));
    let rows: Vec<u64> = report.split_whitespace().take(4).map(|x| x.parse().unwrap()).collect();
    assert_eq!(rows, vec![tags, tags, events, tags], "rows of time_ps, channel, events/kind, tag_count: {report}");
    assert!(report.contains("[0, 1, 2, 3, 4, 5]"), "detector, sync and frame channels: {report}");
    let sifted = common::record_summary(&stdout, "sifted");
    assert!(
        report.trim_end().ends_with(&format!("sifted {sifted}")),
        "the last metrics row is the run's final count: {report}"
    );
}

#[test]
fn after_kill_9_the_file_opens_and_holds_the_data_older_than_a_second() {
    // 30 dB: light enough that even a debug build on a loaded machine keeps real time; the
    // last chunk then fills over seconds and is rewritten at every flush. 10 dB: chunks fill
    // within a flush; before the file stopped reusing freed space, 3 of 6 kills here left a
    // last chunk h5py read as garbage.
    for (loss_db, after_ms, check_age) in [("30", 4000, true), ("10", 2300, false), ("10", 3100, false)] {
        let file = scratch(&format!("killed-{loss_db}-{after_ms}.h5"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
            .args(["record", "--duration", "60s", "--realtime", "--loss-db", loss_db, "-o"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(after_ms));
        // SIGKILL: no handler runs, nothing is closed.
        child.kill().unwrap();
        child.wait().unwrap();
        // h5py reads both columns whole, and every value is one a tagger gives: times within
        // the run, in order (10 ns of tagger reordering aside), channels that exist.
        let report = h5py(&format!(
            r#"
import h5py, numpy as np
f = h5py.File({path:?}, "r")
t = f["tags/time_ps"][:]
c = f["tags/channel"][:]
assert len(t) == len(c) and len(t) > 0, (len(t), len(c))
assert t.min() >= 0 and t.max() < 70e12, ("times outside the run", t.min(), t.max())
assert (np.diff(t) > -10000).all(), "times out of order"
assert c.max() < 8, ("channels that do not exist", c.max())
print(f.attrs["run_status"], len(t), t.max() / 1e12)
"#,
            path = file.to_str().unwrap()
        ));
        let v: Vec<&str> = report.split_whitespace().collect();
        assert_eq!(v[0], "running", "the status shows the run never finished: {report}");
        let last_s: f64 = v[2].parse().unwrap();
        // ~4 s of device time had passed (paced to the wall clock, minus start-up);
        // everything older than the last second must be there.
        if check_age {
            assert!(last_s >= 2.0, "data only up to {last_s} s in the file: {report}");
        }
        // The readers take what the crash left whole, and replay all of it.
        for cmd in ["replay", "dump"] {
            let out = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
                .arg(cmd)
                .arg(&file)
                .stdout(Stdio::null())
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{cmd} of a killed recording: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // kill -9 leaves the writer's full-disk reserve behind, as docs/recording-schema.md
        // says.
        let name = file.file_name().unwrap().to_str().unwrap().to_string();
        let reserve = file.parent().unwrap().join(format!(".{name}.qkdbench-reserve"));
        assert!(reserve.exists(), "the documented leftover of kill -9");
        std::fs::remove_file(reserve).unwrap();
    }
}

fn summary(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let s = String::from_utf8(out.stdout.clone()).unwrap();
    s.lines().find(|l| l.starts_with("tags=")).expect("summary line").to_string()
}

#[test]
fn replaying_a_recording_gives_the_same_counts_as_the_live_run() {
    let file = scratch("roundtrip.h5");
    let bin = env!("CARGO_BIN_EXE_qkdbench");
    let live = summary(
        &Command::new(bin).args(["record", "--duration", "1s", "--loss-db", "12", "-o"]).arg(&file).output().unwrap(),
    );
    let replay_out = Command::new(bin).arg("replay").arg(&file).output().unwrap();
    let replay = summary(&replay_out);
    // "tags=N events=M gated=..." against "tags=N gated=...": compare all but events.
    let strip = |s: &str| s.split(' ').filter(|f| !f.starts_with("events=")).collect::<Vec<_>>().join(" ");
    assert_eq!(strip(&live), strip(&replay));
    // The run report: text with units, and the same as JSON.
    let text = String::from_utf8(replay_out.stdout).unwrap();
    for line in
        ["finite key ", "rate offset ", " ppm", "residual RMS ", "arrival FWHM ", "gain ", "/pulse", "contrast "]
    {
        assert!(text.contains(line), "no {line:?} in the report:\n{text}");
    }
    let out = Command::new(bin).arg("replay").arg(&file).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("replay --json prints one JSON object");
    assert_eq!(json["snapshot"]["gated"].as_u64(), Some(common::record_summary(&text, "gated")));
    let key = json["key"]["key_length_bits"].as_u64().expect("a finite-key result");
    assert!(text.contains(&format!("finite key    {key} bits")), "{text}");
    let fwhm = json["characterisation"]["detectors"][0]["arrival_fwhm_ps"].as_f64().expect("an arrival FWHM");
    assert!((20.0..500.0).contains(&fwhm), "arrival FWHM {fwhm} ps");
    let rate = json["channel_rate_hz"][4].as_f64().unwrap();
    assert!((rate - 1e4).abs() < 10.0, "sync rate {rate} Hz");
    assert_eq!(json["sync"], "channel");
    // Qubit-based sync on the same recording: no sync channel used, the same link seen.
    let out = Command::new(bin).arg("replay").arg(&file).args(["--sync", "qubit", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let qubit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((qubit["sync"].as_str(), qubit["snapshot"]["lock"].as_str()), (Some("qubit"), Some("locked")));
    let gated = |j: &serde_json::Value| j["snapshot"]["gated"].as_f64().unwrap();
    assert!((gated(&qubit) / gated(&json) - 1.0).abs() < 0.05, "{} vs {} gated", gated(&qubit), gated(&json));
    // A reader that goes away early (`| head`) ends the output quietly.
    let mut child =
        Command::new(bin).arg("replay").arg(&file).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));
    // dump reads our own files too.
    let out = Command::new(bin).arg("dump").arg(&file).args(["--limit", "5"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 6);
}

#[test]
fn foreign_and_newer_hdf5_files_are_refused_by_name() {
    let foreign = scratch("foreign.h5");
    let newer = scratch("newer.h5");
    h5py(&format!(
        r#"
import h5py
with h5py.File({f:?}, "w") as f:
    f["x"] = [1, 2, 3]
with h5py.File({n:?}, "w") as f:
    f.attrs["format"] = "qkdbench recording"
    f.attrs["schema_version"] = 99
"#,
        f = foreign.to_str().unwrap(),
        n = newer.to_str().unwrap()
    ));
    let bin = env!("CARGO_BIN_EXE_qkdbench");
    for (file, says) in [(&foreign, "format"), (&newer, "newer")] {
        let out = Command::new(bin).arg("dump").arg(file).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(file.file_name().unwrap().to_str().unwrap()) && err.contains(says), "{err}");
        let out = Command::new(bin).arg("replay").arg(file).output().unwrap();
        assert!(!out.status.success());
    }
}

#[test]
fn engine_flags_out_of_range_exit_2_naming_the_flag() {
    let bin = env!("CARGO_BIN_EXE_qkdbench");
    for (cmd, flag, value) in
        [("replay", "--eps-sec", "2"), ("record", "--f-ec", "0.5"), ("replay", "--gate-width-ps", "0")]
    {
        let mut c = Command::new(bin);
        c.arg(cmd);
        if cmd == "record" {
            c.args(["--duration", "1s", "-o", "/nonexistent/x.h5"]);
        } else {
            c.arg("/nonexistent/x.h5");
        }
        let out = c.args([flag, value]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd} {flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{err}");
    }
}

#[test]
fn replay_analyses_a_recording_with_the_settings_it_was_recorded_with() {
    let file = scratch("settings.h5");
    let bin = env!("CARGO_BIN_EXE_qkdbench");
    // Non-default engine settings and intensities: a replay without flags must reproduce
    // the live counts exactly, and the key must use the recorded intensities.
    let live = Command::new(bin)
        .args(["record", "--duration", "1s", "--loss-db", "14", "--gate-width-ps", "400", "--window-ms", "50"])
        .args(["--mu", "0.6,0.15,0", "--key-basis", "z", "--bound", "hoeffding", "--json", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(live.status.success(), "{}", String::from_utf8_lossy(&live.stderr));
    let live: serde_json::Value = serde_json::from_slice(&live.stdout).expect("record --json prints one object");
    assert_eq!(live["status"], "complete");
    let replay = Command::new(bin).arg("replay").arg(&file).arg("--json").output().unwrap();
    assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
    assert!(replay.stderr.is_empty() || !String::from_utf8_lossy(&replay.stderr).contains("from the flag"));
    let replay: serde_json::Value = serde_json::from_slice(&replay.stdout).unwrap();
    for field in ["gated", "outside_gate", "windows_closed", "key_length_bits"] {
        assert_eq!(live["report"]["snapshot"][field], replay["snapshot"][field], "{field}");
    }
    assert_eq!(live["report"]["snapshot"]["counts"], replay["snapshot"]["counts"]);
    assert_eq!(live["report"]["key"], replay["key"], "the same key from the same intensities and bound");
    assert_eq!(replay["key_mu"], serde_json::json!([0.6, 0.15, 0.0]));
    assert_eq!(live["report"]["key_mu"], serde_json::json!([0.6, 0.15, 0.0]));
    // 50 ms windows over 1 s: about 20 (the live run's own count, exactly).
    let windows = replay["snapshot"]["windows_closed"].as_u64().unwrap();
    assert!((19..=21).contains(&windows), "{windows} windows of 50 ms in 1 s");
    // A flag overrides one recorded setting, and says so.
    let wide = Command::new(bin).arg("replay").arg(&file).args(["--gate-width-ps", "1000", "--json"]).output().unwrap();
    assert!(wide.status.success(), "{}", String::from_utf8_lossy(&wide.stderr));
    let err = String::from_utf8_lossy(&wide.stderr);
    assert!(err.contains("gate_width_ps") && err.contains("400"), "the override is reported: {err}");
    let wide: serde_json::Value = serde_json::from_slice(&wide.stdout).unwrap();
    assert!(
        wide["snapshot"]["gated"].as_u64() > live["report"]["snapshot"]["gated"].as_u64(),
        "a wider gate keeps more detections"
    );
    assert_eq!(wide["notes"].as_array().map(Vec::len), Some(1));
}

/// A full disk during a recording (issue 15): the run ends with exit 1 naming the OS error,
/// and the file says `aborted: <reason>` with a tag count that matches the tags really in it
/// (no rows that read back as zeros), or no file is made when there is no room to start.
#[test]
fn a_full_disk_ends_the_run_and_the_file_says_aborted_with_only_real_tags() {
    let mnt = std::env::temp_dir().join(format!("qkdbench-full-{}", std::process::id()));
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"]).arg(&mnt).status();
    if !mounted.is_ok_and(|s| s.success()) {
        eprintln!("skipping the full-disk test: cannot mount a 2 MB tmpfs here (needs root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let _guard = Unmount(mnt.clone());
    for (compression, filler_kib) in
        [("gzip", 1200), ("gzip", 1400), ("gzip", 1500), ("none", 1200), ("none", 1500), ("gzip", 1700), ("none", 1900)]
    {
        for e in std::fs::read_dir(&mnt).unwrap() {
            let _ = std::fs::remove_file(e.unwrap().path());
        }
        std::fs::write(mnt.join("filler"), vec![0u8; filler_kib * 1024]).unwrap();
        let file = mnt.join("r.h5");
        let out = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
            .args(["record", "--duration", "2s", "--loss-db", "10", "--compression", compression, "-o"])
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{compression} {filler_kib}: {err}");
        assert!(err.contains("No space left on device"), "the OS error is named: {err}");
        if !file.exists() {
            continue; // no room even to start: refused up front
        }
        let report = h5py(&format!(
            r#"
import h5py
f = h5py.File({p:?}, "r")
n = int(f.attrs["tag_count"])
t = f["tags/time_ps"][:n]
c = f["tags/channel"][:n]
assert str(f.attrs["run_status"]).startswith("aborted: "), f.attrs["run_status"]
assert "No space left on device" in f.attrs["run_status"] or "write" in f.attrs["run_status"]
assert "an earlier write failed" not in f.attrs["run_status"], ("the first error is kept", f.attrs["run_status"])
assert len(t) == n and len(c) == n
assert n == 0 or (t[1:] >= t[:-1] - 10000).all(), "real, ordered tags only"
assert n == 0 or (t[1:] != 0).all(), "no rows that read back as zeros"
print(n)
"#,
            p = file.to_str().unwrap()
        ));
        let n: u64 = report.trim().parse().unwrap();
        let replay = Command::new(env!("CARGO_BIN_EXE_qkdbench")).arg("replay").arg(&file).output().unwrap();
        let stdout = String::from_utf8_lossy(&replay.stdout);
        if n > 0 {
            assert!(replay.status.success(), "{}", String::from_utf8_lossy(&replay.stderr));
            assert_eq!(common::record_summary(&stdout, "tags"), n, "replay counts the tags in the file, no more");
        }
    }
}

/// SIGTERM and SIGHUP end a recording like Ctrl-C: exit 1, the file closed as aborted.
#[test]
fn sigterm_and_sighup_close_the_recording_as_aborted() {
    for signal in ["-TERM", "-HUP", "-INT"] {
        let file = scratch(&format!("signal{signal}.h5"));
        let child = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
            .args(["record", "--duration", "60s", "--realtime", "--loss-db", "30", "-o"])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        assert!(Command::new("kill").arg(signal).arg(child.id().to_string()).status().unwrap().success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{signal}: {}", String::from_utf8_lossy(&out.stderr));
        let report = h5py(&format!(
            "import h5py\nf = h5py.File({p:?}, 'r')\nprint(f.attrs['run_status'], int(f.attrs['tag_count']) == len(f['tags/time_ps']))",
            p = file.to_str().unwrap()
        ));
        assert!(report.starts_with("aborted: interrupted") && report.trim().ends_with("True"), "{signal}: {report}");
    }
}

/// A live view's commands, through a real session on the simulated bench (paced): a gate
/// width set and one refused (both reported in the updates' notes), and a recording opened
/// and closed mid-run (`r` in the TUI). The file opens in h5py as `complete` with the tags
/// of its interval only, and the run's own output path is never created.
#[test]
fn a_live_view_sets_the_gate_and_records_a_slice_of_the_run() {
    use harness::pipeline::{Command as Cmd, Flow, Observer, Update};
    use harness::recorder::RecorderStatus;
    use harness::session::{self, OutputPlan, RunPlan};
    use harness::settings::Settings;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Mutex};

    struct Keys {
        tx: crossbeam_channel::Sender<Cmd>,
        n: u32,
        slice: std::path::PathBuf,
        notes: Vec<String>,
    }
    impl Observer for Keys {
        fn update(&mut self, u: &Update<'_>) -> Flow {
            self.notes.extend(u.notes.iter().cloned());
            self.n += 1;
            match self.n {
                3 => {
                    self.tx.send(Cmd::SetGateWidthPs(400.0)).unwrap();
                    self.tx.send(Cmd::SetGateWidthPs(1e9)).unwrap();
                    self.tx.send(Cmd::StartRecording(self.slice.clone())).unwrap();
                }
                8 => self.tx.send(Cmd::StopRecording).unwrap(),
                _ => {}
            }
            Flow::Continue
        }
    }
    let unused = scratch("never.h5");
    let slice = scratch("slice.h5");
    let (tx, rx) = crossbeam_channel::unbounded();
    let status = Arc::new(Mutex::new(RecorderStatus::default()));
    let mut settings = Settings::default();
    settings.bench.channel.loss_db = 20.0;
    let mut plan = RunPlan {
        realtime: true,
        output: Some(OutputPlan {
            path: unused.to_path_buf(),
            compression: recordings::Compression::Gzip,
            config_text: "test".into(),
            scenario_text: None,
            start_now: false,
            status: Some(status.clone()),
        }),
        ..RunPlan::new(settings, Some(1.5))
    };
    plan.pipeline.commands = Some(rx);
    let mut keys = Keys { tx, n: 0, slice: slice.to_path_buf(), notes: Vec::new() };
    let outcome = session::run(&plan, &mut keys, Arc::new(AtomicBool::new(false))).unwrap();
    assert!(outcome.complete());
    assert_eq!(outcome.engine.config().gate_width_ps, 400.0);
    assert!(keys.notes.iter().any(|n| n == "gate width set to 400 ps"), "{:?}", keys.notes);
    assert!(keys.notes.iter().any(|n| n.starts_with("gate width 1000000000 ps refused")), "{:?}", keys.notes);
    assert!(!unused.exists(), "the run's own path is opened only when asked");
    assert!(outcome.recorded.is_none());
    let st = status.lock().unwrap().clone();
    assert_eq!(st.file, None);
    assert_eq!(st.closed.len(), 1, "{st:?}");
    let (path, tags, how) = &st.closed[0];
    assert_eq!((path, how.as_str()), (&slice.to_path_buf(), "complete"));
    let report = h5py(&format!(
        r#"
import h5py
f = h5py.File({p:?}, "r")
t = f["tags/time_ps"][:]
print(f.attrs["run_status"], f.attrs["tag_count"], len(t), (t[-1] - t[0]) / 1e12, t[0] / 1e12)
"#,
        p = slice.to_str().unwrap()
    ));
    let v: Vec<&str> = report.split_whitespace().collect();
    assert_eq!(v[0], "complete", "{report}");
    assert_eq!(v[1].parse::<u64>().unwrap(), *tags, "{report}");
    assert_eq!(v[2].parse::<u64>().unwrap(), *tags, "{report}");
    // Five updates of 100 ms apart (paced): about half a second of the 1.5 s run, from
    // about 0.3 s on.
    let (span, start) = (v[3].parse::<f64>().unwrap(), v[4].parse::<f64>().unwrap());
    assert!((0.2..0.9).contains(&span) && (0.1..1.0).contains(&start), "{report}");
    // The slice starts mid-run, yet its replay indexes the pulses: it carries the pulse
    // index of a frame mark. Without it the first frame would be pulse 0 and the QBER 50 %.
    let replayed = session::replay(
        &session::ReplayPlan::new(&slice),
        &mut harness::pipeline::NoObserver,
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let s = replayed.engine.snapshot();
    let (n, e): (u64, u64) = (s.counts.sifted.iter().flatten().sum(), s.counts.errors.iter().flatten().sum());
    // The bench's misalignment is 1 %; dark counts add a little. 5 sigma from the counts.
    let q = e as f64 / n as f64;
    assert!(n > 1000 && q < 0.01 + 0.01 + 5.0 * (0.02 / n as f64).sqrt(), "QBER {q} over {n} sifted");
    // Gains count the slice's own pulses, not those since pulse 0 of the run: the live
    // engine's signal gain, within 5 sigma of the slice's detections.
    let (live, slice) = (outcome.engine.snapshot().gain[0].unwrap(), s.gain[0].unwrap());
    let det = s.counts.detected_pulses[0] as f64;
    assert!((slice - live).abs() < 5.0 * live / det.sqrt(), "signal gain {slice} in the slice, {live} live");
}

/// `/metrics` on device time (issue 13): a fast run and a run paced to the wall clock, with
/// the same seed, write the same rows, value for value: one at each 100 ms of device time
/// and one at the last tag, whatever the batches the tagger delivered.
#[test]
fn metrics_rows_of_a_fast_run_equal_those_of_a_paced_run() {
    let bin = env!("CARGO_BIN_EXE_qkdbench");
    let (fast, paced) = (scratch("metrics-fast.h5"), scratch("metrics-paced.h5"));
    for (file, extra) in [(&fast, None), (&paced, Some("--realtime"))] {
        let mut cmd = Command::new(bin);
        cmd.args(["record", "--duration", "1s", "--loss-db", "20", "-o"]).arg(file);
        cmd.args(extra);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let report = h5py(&format!(
        r#"
import h5py, numpy as np
a, b = h5py.File({fast:?}, "r")["metrics"], h5py.File({paced:?}, "r")["metrics"]
assert sorted(a.keys()) == sorted(b.keys())
for k in a.keys():
    assert np.array_equal(a[k][:], b[k][:], equal_nan=True), k
t = a["time_ps"][:]
# Every 100 ms of device time from the first tag on, then the last tag.
tags = h5py.File({fast:?}, "r")["tags/time_ps"][:]
first, last = int(tags[0]), int(tags.max())
grid = list(range((first // 100_000_000_000 + 1) * 100_000_000_000, last + 1, 100_000_000_000))
assert list(t) == grid + ([last] if last > grid[-1] else []), (t, grid, last)
assert len(t) >= 10 and a["gated"][-1] > a["gated"][0] > 0
print("same")
"#,
        fast = fast.to_str().unwrap(),
        paced = paced.to_str().unwrap()
    ));
    assert_eq!(report.trim(), "same");
}
