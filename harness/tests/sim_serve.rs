//! `qkdbench sim serve` in one process, the real drivers in this one.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use drivers::pattern_gen::{PatternConfig, PatternGenerator, UartPatternGenerator};
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, StreamTimeTagger, TaggerConfig, TimeTagger};
use drivers::transport::serial::{SerialLink, PATTERN_GEN_BAUD};
use drivers::transport::unix::UnixStreamLink;

mod common;

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(args: &[&str]) -> (Child, std::collections::HashMap<String, String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
        .args(["sim", "serve"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start qkdbench sim serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut paths = std::collections::HashMap::new();
    for _ in 0..3 {
        let line = lines.next().expect("a line").expect("utf-8");
        let (k, v) = line.split_once('=').expect("key=value");
        paths.insert(k.to_string(), v.to_string());
    }
    (Child(child), paths)
}

#[test]
fn a_second_process_drives_the_served_bench_with_the_real_drivers() {
    // Paced to wall-clock time, like an instrument: 0.3 s of device time.
    let (_child, paths) = serve(&["--loss-db", "20", "--seconds", "0.3"]);
    let mut pg = UartPatternGenerator::new(SerialLink::open(&paths["pattern_gen_pty"], PATTERN_GEN_BAUD).unwrap());
    let link =
        UnixStreamLink::connect(paths["tag_stream_socket"].as_ref(), paths["tagger_control_socket"].as_ref()).unwrap();
    let mut tagger = StreamTimeTagger::new(link);
    assert_eq!(pg.identify().unwrap().id, 0x5150_4731);
    pg.configure(&PatternConfig { sync_period_pulses: 1000, ..Default::default() }).unwrap();
    tagger.configure(&TaggerConfig::default()).unwrap();
    pg.start().unwrap();
    tagger.start().unwrap();
    let mut tags = TagBatch::default();
    // The server's run ends after 0.3 s: the client sees its device go away.
    let end = loop {
        match tagger.read_batch(&mut tags, Duration::from_secs(10)) {
            Ok(ReadState::Streaming) => {}
            Ok(ReadState::Ended) => break None,
            Err(e) => break Some(e),
        }
    };
    assert!(matches!(end, Some(drivers::DriverError::Disconnected { .. })), "{end:?}");
    let per_channel: Vec<usize> = (0..6u8).map(|c| tags.channel.iter().filter(|&&x| x == c).count()).collect();
    // 100 kHz of syncs for most of the 0.3 s; clicks on all four detectors; frame marks.
    assert!((15_000..=30_001).contains(&per_channel[4]), "syncs per channel: {per_channel:?}");
    // None lost: every 10 us between the first and the last sync has its sync.
    let syncs: Vec<i64> = tags.time_ps.iter().zip(&tags.channel).filter(|(_, &c)| c == 4).map(|(&t, _)| t).collect();
    let span_periods = ((syncs[syncs.len() - 1] - syncs[0]) as f64 / 10_000_000.0).round() as usize;
    assert_eq!(syncs.len(), span_periods + 1, "syncs missing between {} and {} ps", syncs[0], syncs[syncs.len() - 1]);
    assert!(per_channel[..4].iter().all(|&n| n > 1000), "clicks per channel: {per_channel:?}");
    assert!(per_channel[5] > 150, "frame marks: {per_channel:?}");
    assert!(tags.events.is_empty(), "no loss or errors: {:?}", &tags.events[..tags.events.len().min(3)]);
}

#[test]
fn bad_flags_are_refused_with_the_flag_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
        .args(["sim", "serve", "--orbit-max-elevation-deg", "5"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--orbit-max-elevation-deg"), "{err}");
}

#[test]
fn record_takes_a_served_bench_through_the_real_drivers() {
    let (_child, paths) = serve(&["--loss-db", "20", "--seconds", "3"]);
    let dir = std::path::Path::new(&paths["tag_stream_socket"]).parent().unwrap().to_path_buf();
    let file = std::env::temp_dir().join(format!("qkdbench-served-{}.h5", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
        .args(["record", "--device", "served", "--duration", "300ms", "--pattern-gen-port"])
        .arg(&paths["pattern_gen_pty"])
        .arg("--tagger-socket-dir")
        .arg(&dir)
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let tags = common::record_summary(&stdout, "tags");
    assert!(tags > 1000, "{stdout}");
    let check = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import h5py; f = h5py.File({:?}, 'r'); t = f['tags/time_ps'][:]; \
             print(f.attrs['run_status'], f['config'].attrs['device'], len(t), int(t[-1] - t[0]))",
            file.to_str().unwrap()
        ))
        .output()
        .expect("python3");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let report = String::from_utf8(check.stdout).unwrap();
    let v: Vec<&str> = report.split_whitespace().collect();
    assert_eq!(&v[..3], &["complete", "served", &tags.to_string()], "{report}");
    let span_ps: i64 = v[3].parse().unwrap();
    assert!(span_ps < 300_000_000_000 && span_ps > 250_000_000_000, "300 ms of device time: {span_ps} ps");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn record_names_a_missing_board() {
    let file = std::env::temp_dir().join(format!("qkdbench-missing-{}.h5", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_qkdbench"))
        .args([
            "record",
            "--device",
            "hardware",
            "--duration",
            "1s",
            "--pattern-gen-port",
            "/dev/qkdbench-no-such-port",
        ])
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/dev/qkdbench-no-such-port"), "{err}");
    assert!(!file.exists(), "no file for a run that never started");
}

fn record_served(
    paths: &std::collections::HashMap<String, String>,
    file: &std::path::Path,
    duration: &str,
) -> std::process::Child {
    let dir = std::path::Path::new(&paths["tag_stream_socket"]).parent().unwrap().to_path_buf();
    Command::new(env!("CARGO_BIN_EXE_qkdbench"))
        .args(["record", "--device", "served", "--duration", duration, "--pattern-gen-port"])
        .arg(&paths["pattern_gen_pty"])
        .arg("--tagger-socket-dir")
        .arg(&dir)
        .arg("-o")
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Issue 15: a client killed with kill -9 must not lock out the next one (the serial port's
/// exclusive flag, a tagger left running), and a client that stops reading must not block
/// the server.
#[test]
fn a_killed_or_stalled_client_never_blocks_the_next_one() {
    let (_child, paths) = serve(&["--loss-db", "20"]);
    let dir = std::env::temp_dir().join(format!("qkdbench-served-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A client killed mid-run.
    let mut victim = record_served(&paths, &dir.join("victim.h5"), "60s");
    std::thread::sleep(Duration::from_millis(1500));
    victim.kill().unwrap();
    victim.wait().unwrap();
    // A client that configures and starts the tagger, then never reads.
    let mut pg = UartPatternGenerator::new(SerialLink::open(&paths["pattern_gen_pty"], PATTERN_GEN_BAUD).unwrap());
    pg.configure(&PatternConfig::default()).unwrap();
    let link =
        UnixStreamLink::connect(paths["tag_stream_socket"].as_ref(), paths["tagger_control_socket"].as_ref()).unwrap();
    let mut stalled = StreamTimeTagger::new(link);
    stalled.configure(&TaggerConfig::default()).unwrap();
    stalled.start().unwrap();
    pg.start().unwrap();
    drop(pg); // the serial port is free again; the tagger client stays, silent
    std::thread::sleep(Duration::from_secs(4));
    // The next client records normally.
    let out = record_served(&paths, &dir.join("next.h5"), "300ms").wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(common::record_summary(&stdout, "tags") > 1000, "{stdout}");
    drop(stalled);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_server_never_takes_over_the_first_ones_sockets() {
    let (_child, paths) = serve(&["--loss-db", "20"]);
    let dir = std::path::Path::new(&paths["tag_stream_socket"]).parent().unwrap().to_path_buf();
    let out = Command::new(env!("CARGO_BIN_EXE_qkdbench")).args(["sim", "serve", "--dir"]).arg(&dir).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another `qkdbench sim serve`"), "{err}");
    // The first one still serves.
    let out = record_served(&paths, &dir.join("still.h5"), "200ms").wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A served run cut short by the server going away ends `aborted`, exit 1 (it used to end
/// `complete` with exit 0: the closed socket read as the end of the stream).
#[test]
fn a_server_that_goes_away_cuts_the_run_short() {
    let (mut child, paths) = serve(&["--loss-db", "20"]);
    let file = std::env::temp_dir().join(format!("qkdbench-served-gone-{}.h5", std::process::id()));
    let rec = record_served(&paths, &file, "60s");
    std::thread::sleep(Duration::from_millis(1500));
    let _ = child.0.kill();
    let _ = child.0.wait();
    let out = rec.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let check = Command::new("python3")
        .arg("-c")
        .arg(format!("import h5py; print(h5py.File({:?}, 'r').attrs['run_status'])", file.to_str().unwrap()))
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&check.stdout);
    assert!(status.starts_with("aborted: ") && status.contains("socket closed"), "{status}");
    let _ = std::fs::remove_file(&file);
}

/// Ctrl-Z then fg (SIGSTOP, SIGCONT) during a served recording is no disconnection: the
/// interrupted read is retried (it ended the run as "Interrupted system call").
#[test]
fn a_stopped_and_continued_recording_goes_on() {
    let (_child, paths) = serve(&["--loss-db", "20"]);
    let file = std::env::temp_dir().join(format!("qkdbench-served-stop-{}.h5", std::process::id()));
    let rec = record_served(&paths, &file, "3s");
    std::thread::sleep(Duration::from_millis(1200));
    for sig in ["-STOP", "-CONT"] {
        assert!(Command::new("kill").arg(sig).arg(rec.id().to_string()).status().unwrap().success());
        std::thread::sleep(Duration::from_millis(300));
    }
    let out = rec.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_file(&file);
}
