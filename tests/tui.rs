//! The live TUI as a user sees it: `qkdbench live` on the simulated bench inside tmux, read
//! back with `capture-pane` (docs/tui.md). tmux comes from scripts/setup.sh.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "common/scratch.rs"]
mod common_scratch;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_qkdbench")
}

/// A tmux session running one command; killed when dropped.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(tag: &str, w: u16, h: u16, cmd: &str) -> Tmux {
        let have = Command::new("tmux").arg("-V").output().map(|o| o.status.success()).unwrap_or(false);
        assert!(have, "tmux is missing: scripts/setup.sh installs it (the TUI's end-to-end tests need it)");
        let name = format!("qkdbench-{tag}-{}", std::process::id());
        let _ = Command::new("tmux").args(["kill-session", "-t", &name]).output();
        let st = Command::new("tmux")
            .args(["new-session", "-d", "-s", &name, "-x", &w.to_string(), "-y", &h.to_string()])
            .arg(format!("{cmd}; sleep 600"))
            .env("TERM", "xterm-256color")
            .status()
            .unwrap();
        assert!(st.success());
        Tmux { name }
    }

    fn screen(&self) -> String {
        let o = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.name]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn keys(&self, k: &str) {
        Command::new("tmux").args(["send-keys", "-t", &self.name, k]).status().unwrap();
    }

    /// Waits until the screen holds `what` (at most `secs`).
    fn wait_for(&self, what: &str, secs: u64) -> String {
        let t = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(t.elapsed().as_secs() < secs, "{what:?} never appeared; the screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.name]).output();
    }
}

fn h5_status(f: &Path) -> String {
    let o = Command::new("python3")
        .arg("-c")
        .arg(format!("import h5py; f = h5py.File({:?}, 'r'); print(f.attrs['run_status'], f.attrs['tag_count'])", f))
        .output()
        .unwrap();
    assert!(o.status.success(), "h5py: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// The number before `unit` on the line that starts (inside its panel) with `label`.
fn figure(screen: &str, label: &str, unit: &str) -> f64 {
    let line = screen.lines().find(|l| l.contains(label)).unwrap_or_else(|| panic!("no {label:?} in\n{screen}"));
    let after = &line[line.find(label).unwrap() + label.len()..];
    let words: Vec<&str> = after.split_whitespace().collect();
    let i = words.iter().position(|w| *w == unit).unwrap_or_else(|| panic!("no {unit:?} after {label:?}: {line}"));
    let x: f64 = words[i - 1].parse().unwrap_or_else(|_| panic!("{line}"));
    x
}

fn exit_code(file: &Path, secs: u64) -> i32 {
    let t = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(file) {
            if let Ok(c) = s.trim().parse() {
                return c;
            }
        }
        assert!(t.elapsed().as_secs() < secs, "the program did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `live` at 80x24: lock, count rates and QBER near the bench's 1 % misalignment (5 sigma
/// from the sifted counts the panel shows), a recording in the header; `q` ends the run as
/// complete (exit 0) and the file opens in h5py; then `replay --tui` of that file shows the
/// totals `replay` prints.
#[test]
fn live_shows_lock_rates_and_qber_and_q_closes_the_recording() {
    let dir = common_scratch::scratch_dir("tui", "live");
    let rec = dir.join("live.h5");
    let code = dir.join("code");
    let t = Tmux::start(
        "live",
        80,
        24,
        &format!("{} live --record {} --loss-db 25; echo $? > {}", bin(), rec.display(), code.display()),
    );
    t.wait_for("LOCKED", 20);
    // Let a few seconds of counts gather.
    std::thread::sleep(Duration::from_secs(4));
    let s = t.screen();
    for ch in ["H ", "V ", "D ", "A "] {
        let line = s.lines().find(|l| l.contains(&format!("│{ch}"))).unwrap_or_else(|| panic!("{ch}\n{s}"));
        assert!(line.contains("kHz ✓"), "detector {ch} has light: {line}\n{s}");
    }
    assert!(s.contains("● REC") && s.contains("live.h5"), "{s}");
    for basis in ["Z signal", "X signal"] {
        let q = figure(&s, basis, "%") / 100.0;
        // The panel's own 1-sigma, from its counts: "1.02 % ±0.05".
        let line = s.lines().find(|l| l.contains(basis)).unwrap();
        let sigma: f64 = line.split('±').nth(1).and_then(|r| r.split_whitespace().next()).unwrap().parse().unwrap();
        // The bench's misalignment is 1 %; at 25 dB the dark and background clicks in the
        // gate (1200 /s against ~2e5 /s of signal) add less than 0.1 %. 5 sigma.
        assert!(sigma > 0.0 && (q - 0.01).abs() < 0.001 + 5.0 * sigma / 100.0, "{basis} QBER {q} ±{sigma} %\n{s}");
    }
    t.keys("q");
    assert_eq!(exit_code(&code, 20), 0, "q ends the run as complete");
    assert!(h5_status(&rec).starts_with("complete"), "{}", h5_status(&rec));

    // replay --tui: the same totals as replay.
    let j = Command::new(bin()).args(["replay", "--json"]).arg(&rec).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    let sifted = |b: usize| -> u64 {
        v["snapshot"]["counts"]["sifted"].as_array().unwrap().iter().map(|c| c[b].as_u64().unwrap()).sum()
    };
    let key = v["snapshot"]["key_length_bits"].as_u64().unwrap();
    let code2 = dir.join("code2");
    let r = Tmux::start(
        "replay",
        80,
        24,
        &format!("{} replay --tui {}; echo $? > {}", bin(), rec.display(), code2.display()),
    );
    let s = r.wait_for("RUN COMPLETE", 30);
    let want = format!("sifted  Z {}  X {}", sifted(0), sifted(1));
    assert!(s.contains(&want), "{want}\n{s}");
    assert!(s.contains(&format!("key     {key} bit")), "key {key}\n{s}");
    r.keys("q");
    assert_eq!(exit_code(&code2, 20), 0);
}

/// SIGTERM while the TUI is up: the terminal is restored (the shell's screen is back, with
/// the message), the recording is closed as aborted, exit 1. A terminal too small for the
/// layout gets a message instead.
#[test]
fn a_signal_restores_the_terminal_and_closes_the_recording_as_aborted() {
    let dir = common_scratch::scratch_dir("tui", "signal");
    let rec = dir.join("sig.h5");
    let code = dir.join("code");
    let t = Tmux::start(
        "signal",
        60,
        20,
        &format!("{} live --record {}; echo $? > {}", bin(), rec.display(), code.display()),
    );
    t.wait_for("This terminal is 60x20", 20);
    let pid = pid_of(&rec);
    Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
    assert_eq!(exit_code(&code, 20), 1, "a signal cuts the run short");
    let s = t.wait_for("cut short", 10);
    assert!(!s.contains("This terminal is"), "the alternate screen is gone:\n{s}");
    assert!(h5_status(&rec).starts_with("aborted: interrupted"), "{}", h5_status(&rec));
}

/// The pid of the qkdbench process writing `rec`.
fn pid_of(rec: &Path) -> u32 {
    let t = Instant::now();
    loop {
        let o = Command::new("pgrep").arg("-f").arg(format!("live --record {}", rec.display())).output().unwrap();
        let pids: Vec<u32> =
            String::from_utf8_lossy(&o.stdout).split_whitespace().filter_map(|p| p.parse().ok()).collect();
        // The shell that runs it matches too; the program is the newest.
        let me: Vec<u32> = pids
            .into_iter()
            .filter(|p| std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e == Path::new(bin())))
            .collect();
        if let Some(p) = me.first() {
            return *p;
        }
        assert!(t.elapsed().as_secs() < 10, "no qkdbench process");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Without a terminal: one plain status line per second of device time, exit 0 at
/// `--duration`; a closed pipe ends it quietly.
#[test]
fn without_a_terminal_live_prints_a_line_per_second() {
    let o = Command::new(bin()).args(["live", "--duration", "3s", "--fast", "--loss-db", "20"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "t = 1 s, 2 s, and the end at 3 s:\n{text}");
    for (i, l) in lines.iter().enumerate() {
        assert!(l.starts_with(&format!("t {:7.1} s  locked", (i + 1) as f64)), "{l}");
        for w in ["rate H", "QBER Z", "sifted", "loss 0 overflows 0 missed 0 errors"] {
            assert!(l.contains(w), "{w}: {l}");
        }
        // Each line covers its own second: 10 kHz of syncs, to the count.
        assert!(l.contains("sync 1.000e4 Hz") || l.contains("sync 9.999e3 Hz"), "{l}");
    }
    assert!(lines[2].ends_with("(end)"), "{}", lines[2]);
    // | head -1
    let mut child =
        Command::new(bin()).args(["live", "--loss-db", "20"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(child.stdout.take().unwrap());
        r.read_line(&mut first).unwrap();
    }
    let t = Instant::now();
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(t.elapsed().as_secs() < 10, "live kept running after its reader went away");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(first.starts_with("t ") && st.success(), "{first} {st:?}");
}
