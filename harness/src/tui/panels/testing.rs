//! Snapshot tests of each panel (and the whole screen at 80x24 and larger) on ratatui's
//! `TestBackend`, from a hand-made state with known figures: a locked 100 MHz link at
//! 1 % QBER, a recording open, a pass half flown. `cargo insta review` shows a change.

use std::path::PathBuf;
use std::time::Duration;

use drivers::sim::ChannelModel;
use engine::clock::LockState;
use engine::LockEvent;
use engine::{Engine, EngineConfig};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::Terminal;
use rtl::model::pattern_gen::PatternSettings;

use super::super::app::{Action, App, Panel, RunInfo};
use super::super::frame::LiveFrame;
use crate::pipeline::Command;
use crate::settings::{ChannelKind, ChannelSettings};

fn orbit() -> ChannelModel {
    ChannelSettings { kind: ChannelKind::Orbit, ..Default::default() }.model().unwrap()
}

fn info(pass: bool) -> RunInfo {
    RunInfo {
        title: "live".into(),
        device: "sim bench (fast)".into(),
        pulse_rate_hz: 1e8,
        mu: vec![0.8, 0.1, 0.0],
        gate_width_ps: 1000.0,
        pass: pass.then(orbit),
        can_record: true,
        record_path: Some(PathBuf::from("run.h5")),
        duration_s: Some(60.0),
    }
}

/// A frame at `t_s` of a run with known counts: 1 % QBER in both bases of the signal
/// class, 2 % in the decoy's, 5 kHz per detector, 10 kHz syncs.
fn frame(t_s: f64) -> LiveFrame {
    let mut s = Engine::new(EngineConfig::new(PatternSettings::default(), 1e8)).snapshot();
    let n = (t_s * 1000.0) as u64;
    s.lock = LockState::Locked;
    s.lock_events = vec![LockEvent { time_ps: 100_000_000_000, state: LockState::Locked }];
    s.first_tag_ps = 0;
    s.last_tag_ps = (t_s * 1e12) as i64;
    s.channel_tags = [5 * n, 5 * n, 5 * n, 5 * n, 10 * n, n / 10, 0, 0];
    s.counts.sifted[0] = [4 * n, 4 * n];
    s.counts.errors[0] = [4 * n / 100, 4 * n / 100];
    s.counts.sifted[1] = [n / 2, n / 2];
    s.counts.errors[1] = [n / 100, n / 100];
    s.gain = [Some(4.0e-4), Some(5.1e-5), Some(1.0e-6), None];
    s.qber = [Some(0.0104), Some(0.0104)];
    s.clock_fit = Some((0.0, 100_000_000.0));
    s.rate_offset = 1.5e-8;
    s.residual_rms_ps = Some(55.0);
    s.detector_offset_ps = [Some(0.0); 4];
    s.key_length_bits = 1234 * n / 1000;
    let histogram = (0..1001)
        .map(|i| {
            let x = (i as f64 - 500.0) * 10.0 / 60.0;
            let c = (1000.0 * (-0.5 * x * x).exp()) as u64 + 1;
            [c; 4]
        })
        .collect();
    LiveFrame {
        snapshot: s,
        windows: Vec::new(),
        histogram,
        wall: Duration::from_secs_f64(t_s + 0.2),
        tags_read: 21 * n,
        last: false,
        notes: Vec::new(),
    }
}

fn app(pass: bool) -> App {
    let mut a = App::new(info(pass), None);
    for i in 1..=30 {
        a.ingest(frame(f64::from(i)));
    }
    a.state.recording.file = Some(PathBuf::from("run.h5"));
    a.state.recording.bytes = 12_300_000;
    a.state.recording.bytes_per_s = 410_000.0;
    a.state.recording.tags = 600_000;
    a
}

fn screen(a: &App, w: u16, h: u16, zoom: bool) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::draw(f, a, zoom)).unwrap();
    t.backend().to_string()
}

/// One panel alone in an area of its own.
fn panel(a: &App, which: Panel, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| super::panel(f, Rect::new(0, 0, w, h), a, which)).unwrap();
    t.backend().to_string()
}

#[test]
fn the_whole_screen_at_80x24() {
    insta::assert_snapshot!(screen(&app(false), 80, 24, false));
}

#[test]
fn the_whole_screen_with_a_pass_at_120x40() {
    insta::assert_snapshot!(screen(&app(true), 120, 40, false));
}

#[test]
fn each_panel() {
    let a = app(true);
    for (name, p) in [
        ("rates", Panel::Rates),
        ("qber", Panel::Qber),
        ("sync", Panel::Sync),
        ("key", Panel::Key),
        ("pass", Panel::Pass),
        ("alerts", Panel::Alerts),
    ] {
        insta::assert_snapshot!(format!("panel_{name}"), panel(&a, p, 60, 12));
    }
}

#[test]
fn a_small_terminal_gets_a_message_not_a_broken_layout() {
    let s = screen(&app(false), 60, 20, false);
    assert!(s.contains("This terminal is 60x20") && s.contains("80x24"), "{s}");
}

#[test]
fn help_and_zoom() {
    let mut a = app(false);
    a.focus = Panel::Qber;
    insta::assert_snapshot!("zoomed_qber", screen(&a, 80, 24, true));
    a.help = true;
    insta::assert_snapshot!("help", screen(&a, 80, 24, false));
}

#[test]
fn keys_ask_for_what_they_say() {
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    let mut a = app(false);
    // A recording keeps one gate: g/G are refused while it is open, with an alert.
    assert_eq!(a.on_key(key(KeyCode::Char('g'))), Action::None);
    assert!(a.state.alerts.back().unwrap().text.contains("the gate stays while recording"));
    // Recording open: r stops it; then r opens the next file (run.h5 was the first).
    assert_eq!(a.on_key(key(KeyCode::Char('r'))), Action::Run(Command::StopRecording));
    assert_eq!(a.on_key(key(KeyCode::Char('r'))), Action::Run(Command::StartRecording("run-2.h5".into())));
    assert_eq!(a.on_key(key(KeyCode::Char('r'))), Action::Run(Command::StopRecording), "r r r: start, stop");
    a.state.recording.file = None;
    // Keys faster than the engine's confirmations build on each other: 1000 -> 800 -> 640.
    assert_eq!(a.on_key(key(KeyCode::Char('g'))), Action::Run(Command::SetGateWidthPs(800.0)));
    assert_eq!(a.on_key(key(KeyCode::Char('g'))), Action::Run(Command::SetGateWidthPs(640.0)));
    assert_eq!(a.on_key(key(KeyCode::Char('G'))), Action::Run(Command::SetGateWidthPs(800.0)));
    // The gate never goes past the pulse period (10 ns at 100 MHz); at the limit, an alert.
    let mut f = frame(31.0);
    f.notes.push("gate width set to 800 ps".into()); // the engine confirms the last key
    f.notes.push("gate width set to 9000 ps".into());
    a.ingest(f);
    assert_eq!(a.on_key(key(KeyCode::Char('G'))), Action::Run(Command::SetGateWidthPs(10_000.0)));
    assert_eq!(a.on_key(key(KeyCode::Char('G'))), Action::None);
    assert!(a.state.alerts.back().unwrap().text.contains("at its limit, 10000 ps"));
    // Space freezes what is shown while the state goes on.
    a.on_key(key(KeyCode::Char(' ')));
    let shown = a.shown().device_s;
    a.ingest(frame(40.0));
    assert_eq!((a.shown().device_s, a.state.device_s), (shown, 40.0));
    a.on_key(key(KeyCode::Char(' ')));
    assert_eq!(a.shown().device_s, 40.0);
    // Tab walks the panels (no pass panel without a pass) and comes back.
    let start = a.focus;
    let walk: Vec<Panel> = (0..5)
        .map(|_| {
            a.on_key(key(KeyCode::Tab));
            a.focus
        })
        .collect();
    assert_eq!(walk, [Panel::Qber, Panel::Sync, Panel::Key, Panel::Alerts, Panel::Rates]);
    assert_eq!(a.focus, start);
    a.on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(a.focus, Panel::Alerts);
    // ? opens the help; any key closes it, q included; then q quits; Ctrl-C interrupts.
    a.on_key(key(KeyCode::Char('?')));
    assert!(a.help);
    assert_eq!(a.on_key(key(KeyCode::Char('q'))), Action::None);
    assert!(!a.help);
    assert_eq!(a.on_key(key(KeyCode::Char('q'))), Action::Quit);
    assert_eq!(a.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Action::Abort);
}

#[test]
fn loss_and_lock_changes_become_alerts_with_their_times() {
    let mut a = App::new(info(false), None);
    a.ingest(frame(1.0));
    let mut f = frame(2.0);
    f.snapshot.overflows = 2;
    f.snapshot.missed_tags = 1500;
    f.snapshot.lock_events.push(LockEvent { time_ps: 1_900_000_000_000, state: LockState::Holdover });
    f.notes.push("gate width set to 800 ps".into());
    a.ingest(f);
    let texts: Vec<(String, String)> =
        a.state.alerts.iter().map(|x| (format!("{:.1}", x.device_s), x.text.clone())).collect();
    assert_eq!(
        texts,
        [
            ("0.1".to_string(), "sync locked".to_string()),
            ("1.9".into(), "sync holdover".into()),
            ("2.0".into(), "2 FIFO overflow(s)".into()),
            ("2.0".into(), "1500 tag(s) lost in overflows".into()),
            ("2.0".into(), "gate width set to 800 ps".into()),
        ]
    );
    assert_eq!(a.state.gate_width_ps, 800.0);
}
