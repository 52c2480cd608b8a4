//! The TUI's state, apart from its drawing (ratatui's demo2 layout): what the run said
//! (ingested from [`LiveFrame`]s), the histories the charts draw, the alerts, and what the
//! user asked for with the keys. Everything here is plain data, so the panels are tested
//! on a `TestBackend` with a hand-made state.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use drivers::sim::ChannelModel;
use engine::clock::LockState;
use engine::Snapshot;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::frame::LiveFrame;
use super::theme::Level;
use crate::pipeline::Command;
use crate::recorder::RecorderStatus;

/// Points kept per history (charts and sparklines): 10 minutes of 1 s rate samples, or of
/// 100 ms windows a minute.
pub const HISTORY: usize = 600;
/// Alerts kept.
pub const ALERTS: usize = 200;

/// What the TUI knows about the run before it starts.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The command, e.g. `qkdbench live` or `qkdbench replay run.h5`.
    pub title: String,
    /// The device, e.g. `simulated bench (fast)`.
    pub device: String,
    /// Nominal pulse rate, Hz.
    pub pulse_rate_hz: f64,
    /// Mean photon number per intensity class as set (signal, decoy, vacuum).
    pub mu: Vec<f64>,
    /// The gate width at the start, ps.
    pub gate_width_ps: f64,
    /// The channel being flown, when it is a pass or an orbit (the pass panel).
    pub pass: Option<ChannelModel>,
    /// Whether `r` can record (a live run with a recorder; not a replay).
    pub can_record: bool,
    /// The file `r` records into first (`--record`), else a name with the time in it.
    pub record_path: Option<PathBuf>,
    /// Device time the run lasts, s, when bounded.
    pub duration_s: Option<f64>,
}

impl RunInfo {
    /// The pulse period, ps.
    pub fn period_ps(&self) -> f64 {
        1e12 / self.pulse_rate_hz
    }
}

/// One line of the alerts panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Device time, s.
    pub device_s: f64,
    /// Wall time since the start, s.
    pub wall_s: f64,
    /// How serious.
    pub level: Level,
    /// What happened.
    pub text: String,
}

/// The recording as the header shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordingView {
    /// The open file.
    pub file: Option<PathBuf>,
    /// Tags in it.
    pub tags: u64,
    /// Its size on disk, bytes.
    pub bytes: u64,
    /// Its growth, bytes per second of wall time.
    pub bytes_per_s: f64,
}

/// Everything the panels draw.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The latest snapshot.
    pub snapshot: Option<Snapshot>,
    /// The latest arrival-phase histogram (10 ps bins from -T/2, per detector).
    pub histogram: Vec<[u64; 4]>,
    /// Device time since the first tag, s.
    pub device_s: f64,
    /// Wall time since the start, s.
    pub wall_s: f64,
    /// Tags read from the device.
    pub tags_read: u64,
    /// Count rate per channel (H, V, D, A, sync, frame), Hz, over the last second or so.
    pub rates_hz: [f64; 6],
    /// Count-rate history per channel, Hz.
    pub rate_history: [VecDeque<u64>; 6],
    /// QBER per window: (device time s, Z, X) of the signal class.
    pub qber_history: VecDeque<(f64, Option<f64>, Option<f64>)>,
    /// Pulse-rate offset history: (device time s, ppm).
    pub offset_history: VecDeque<(f64, f64)>,
    /// Alerts, newest last.
    pub alerts: VecDeque<Alert>,
    /// The gate width in use, ps.
    pub gate_width_ps: f64,
    /// The recording.
    pub recording: RecordingView,
    /// How the run ended, when it has.
    pub finished: Option<(Level, String)>,
    rate_base: Option<(i64, [u64; 8])>,
    lock_events_seen: usize,
    losses: [u64; 3],
    recorder_closed_seen: usize,
    recorder_error: Option<String>,
    last_size: Option<(f64, u64)>,
}

/// Panels that take the focus (tab), in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Panel {
    /// Count rates.
    #[default]
    Rates,
    /// QBER.
    Qber,
    /// Sync.
    Sync,
    /// Decoy and key.
    Key,
    /// The pass.
    Pass,
    /// Alerts.
    Alerts,
}

impl Panel {
    const ALL: [Panel; 6] = [Panel::Rates, Panel::Qber, Panel::Sync, Panel::Key, Panel::Pass, Panel::Alerts];

    fn step(self, by: isize, with_pass: bool) -> Panel {
        let list: Vec<Panel> = Panel::ALL.into_iter().filter(|p| with_pass || *p != Panel::Pass).collect();
        let i = list.iter().position(|p| *p == self).unwrap_or(0) as isize;
        list[(i + by).rem_euclid(list.len() as isize) as usize]
    }
}

/// What a key asks the run to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing beyond the display.
    None,
    /// End the run cleanly (`q`): the recording closes as complete.
    Quit,
    /// Stop the run as interrupted (Ctrl-C in the terminal, like SIGINT).
    Abort,
    /// A command for the engine's thread.
    Run(Command),
}

/// The whole TUI: the run's facts, the state, and the user's choices.
#[derive(Debug, Clone)]
pub struct App {
    /// Facts about the run.
    pub info: RunInfo,
    /// The live state.
    pub state: State,
    /// The state as it was when the display was frozen (space).
    pub frozen: Option<Box<State>>,
    /// The focused panel.
    pub focus: Panel,
    /// The help overlay is up.
    pub help: bool,
    /// Recordings started with `r` so far.
    pub recordings_started: u32,
    recorder: Option<Arc<Mutex<RecorderStatus>>>,
    /// The gate asked for and not yet confirmed (keys pressed faster than the engine's
    /// updates build on it).
    gate_target: Option<f64>,
    /// Recording asked for (true) or stopped (false), not yet confirmed by the recorder.
    rec_target: Option<bool>,
}

impl App {
    /// A TUI for a run described by `info`; `recorder` is where the recorder reports.
    pub fn new(info: RunInfo, recorder: Option<Arc<Mutex<RecorderStatus>>>) -> Self {
        let state = State { gate_width_ps: info.gate_width_ps, ..State::default() };
        // With `--record`, the run records into that file from the start: the first `r`
        // stops it, the next opens `<stem>-2.h5`.
        let recordings_started = u32::from(info.record_path.is_some());
        App {
            info,
            state,
            frozen: None,
            focus: Panel::default(),
            help: false,
            recordings_started,
            recorder,
            gate_target: None,
            rec_target: None,
        }
    }

    /// The state the panels draw: the frozen one while frozen.
    pub fn shown(&self) -> &State {
        self.frozen.as_deref().unwrap_or(&self.state)
    }

    /// Takes in one frame from the run.
    pub fn ingest(&mut self, f: LiveFrame) {
        let st = &mut self.state;
        let s = &f.snapshot;
        st.wall_s = f.wall.as_secs_f64();
        st.tags_read = f.tags_read;
        st.device_s = (s.last_tag_ps - s.first_tag_ps).max(0) as f64 * 1e-12;
        if !f.histogram.is_empty() {
            st.histogram = f.histogram;
        }
        // Count rates over at least a quarter second of device time.
        match st.rate_base {
            Some((t0, tags0)) if s.last_tag_ps - t0 >= 250_000_000_000 => {
                let dt = (s.last_tag_ps - t0) as f64 * 1e-12;
                for (c, (rate, history)) in st.rates_hz.iter_mut().zip(&mut st.rate_history).enumerate() {
                    *rate = s.channel_tags[c].saturating_sub(tags0[c]) as f64 / dt;
                    push(history, rate.round() as u64);
                }
                st.rate_base = Some((s.last_tag_ps, s.channel_tags));
            }
            Some(_) => {}
            None => st.rate_base = Some((s.last_tag_ps, s.channel_tags)),
        }
        for w in &f.windows {
            let t = (w.index + 1) as f64 * w.duration_s;
            push(&mut st.qber_history, (t, w.counts.qber(0, Some(0)), w.counts.qber(1, Some(0))));
        }
        if s.lock != LockState::Searching || s.clock_fit.is_some() {
            push(&mut st.offset_history, (st.device_s, s.rate_offset * 1e6));
        }
        // Alerts: lock changes, loss, command notes.
        let (dev, wall) = (st.device_s, st.wall_s);
        let mut alerts = Vec::new();
        for e in s.lock_events.iter().skip(st.lock_events_seen) {
            let level = match e.state {
                LockState::Locked => Level::Good,
                LockState::Holdover => Level::Warn,
                LockState::Searching | LockState::Lost => Level::Bad,
            };
            let t = (e.time_ps - s.first_tag_ps).max(0) as f64 * 1e-12;
            alerts.push(Alert { device_s: t, wall_s: wall, level, text: format!("sync {}", lock_word(e.state)) });
        }
        st.lock_events_seen = s.lock_events.len();
        let losses = [s.overflows, s.missed_tags, s.stream_errors];
        let what = ["FIFO overflow(s)", "tag(s) lost in overflows", "stream error(s)"];
        for i in 0..3 {
            if losses[i] > st.losses[i] {
                let text = format!("{} {}", losses[i] - st.losses[i], what[i]);
                alerts.push(Alert { device_s: dev, wall_s: wall, level: Level::Bad, text });
            }
        }
        st.losses = losses;
        for n in f.notes {
            if let Some(ps) = n.strip_prefix("gate width set to ").and_then(|r| r.strip_suffix(" ps")) {
                st.gate_width_ps = ps.parse().unwrap_or(st.gate_width_ps);
                if self.gate_target == Some(st.gate_width_ps) {
                    self.gate_target = None;
                }
            }
            if n.contains("refused") {
                self.gate_target = None;
            }
            let level = if n.contains("refused") { Level::Warn } else { Level::Good };
            alerts.push(Alert { device_s: dev, wall_s: wall, level, text: n });
        }
        for a in alerts {
            push_alert(&mut st.alerts, a);
        }
        st.snapshot = Some(f.snapshot);
    }

    /// Reads the recorder's status and the file's size: once per draw (the terminal loop
    /// calls it), not per frame.
    pub fn poll_recorder(&mut self) {
        let Some(rec) = &self.recorder else { return };
        let r = rec.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let st = &mut self.state;
        let (dev, wall) = (st.device_s, st.wall_s);
        for (path, tags, status) in r.closed.iter().skip(st.recorder_closed_seen) {
            let level = if status == "complete" { Level::Good } else { Level::Bad };
            let text = format!("recording {} closed: {status}, {tags} tags", path.display());
            push_alert(&mut st.alerts, Alert { device_s: dev, wall_s: wall, level, text });
        }
        st.recorder_closed_seen = r.closed.len();
        if r.error.is_some() && r.error != st.recorder_error {
            let text = format!("recording: {}", r.error.clone().unwrap_or_default());
            push_alert(&mut st.alerts, Alert { device_s: dev, wall_s: wall, level: Level::Bad, text });
        }
        st.recorder_error = r.error;
        let bytes = r.file.as_ref().and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len());
        if r.file != st.recording.file {
            st.last_size = None;
            st.recording.bytes_per_s = 0.0;
        }
        // Growth averaged since the file opened: the file grows by whole chunks, so a
        // short window would flicker between 0 and twice the rate.
        match st.last_size {
            Some((t0, b0)) if wall - t0 >= 2.0 => {
                st.recording.bytes_per_s = bytes.saturating_sub(b0) as f64 / (wall - t0)
            }
            Some(_) => {}
            None if r.file.is_some() => st.last_size = Some((wall, bytes)),
            None => {}
        }
        if self.rec_target == Some(r.file.is_some()) {
            self.rec_target = None;
        }
        st.recording.file = r.file;
        st.recording.tags = r.tags;
        st.recording.bytes = bytes;
    }

    /// The run ended: `status` as the recording says it, or the error.
    pub fn finish(&mut self, level: Level, text: String) {
        // A run shorter than one rate interval (a short replay): the rates over all of it.
        let st = &mut self.state;
        if st.rate_history[0].is_empty() && st.device_s > 0.0 {
            if let Some(s) = &st.snapshot {
                for (c, (rate, history)) in st.rates_hz.iter_mut().zip(&mut st.rate_history).enumerate() {
                    *rate = s.channel_tags[c] as f64 / st.device_s;
                    push(history, rate.round() as u64);
                }
            }
        }
        let (dev, wall) = (self.state.device_s, self.state.wall_s);
        push_alert(&mut self.state.alerts, Alert { device_s: dev, wall_s: wall, level, text: format!("run {text}") });
        self.state.finished = Some((level, text));
        self.poll_recorder();
    }

    /// Adds an alert at the current times.
    pub fn alert(&mut self, level: Level, text: String) {
        let (dev, wall) = (self.state.device_s, self.state.wall_s);
        push_alert(&mut self.state.alerts, Alert { device_s: dev, wall_s: wall, level, text });
    }

    /// Whether a recording is open (or asked for and not yet confirmed).
    pub fn recording(&self) -> bool {
        self.rec_target.unwrap_or(self.state.recording.file.is_some())
    }

    /// Handles a key press.
    pub fn on_key(&mut self, k: KeyEvent) -> Action {
        if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
            return Action::Abort;
        }
        if self.help {
            // Any key closes the help.
            self.help = false;
            return Action::None;
        }
        let with_pass = self.info.pass.is_some();
        match k.code {
            KeyCode::Char('q') | KeyCode::Esc => Action::Quit,
            KeyCode::Char('?') | KeyCode::Char('h') => {
                self.help = true;
                Action::None
            }
            KeyCode::Char(' ') => {
                self.frozen = match self.frozen {
                    Some(_) => None,
                    None => Some(Box::new(self.state.clone())),
                };
                Action::None
            }
            KeyCode::Tab => {
                self.focus = self.focus.step(1, with_pass);
                Action::None
            }
            KeyCode::BackTab => {
                self.focus = self.focus.step(-1, with_pass);
                Action::None
            }
            KeyCode::Char('g') => self.gate(0.8),
            KeyCode::Char('G') => self.gate(1.25),
            KeyCode::Char('r') => self.toggle_recording(),
            _ => Action::None,
        }
    }

    /// Narrows (`g`, x0.8) or widens (`G`, x1.25) the gate, within 10 ps and the period.
    /// Not while recording: a recording keeps one gate (its `/config` says which, and a
    /// replay uses it).
    fn gate(&mut self, factor: f64) -> Action {
        if self.recording() {
            self.alert(Level::Warn, "the gate stays while recording (a file keeps one gate): r stops it".into());
            return Action::None;
        }
        let from = self.gate_target.unwrap_or(self.state.gate_width_ps);
        let ps = (from * factor).round().clamp(10.0, self.info.period_ps());
        if ps == from {
            self.alert(Level::Warn, format!("the gate is at its limit, {ps:.0} ps"));
            return Action::None;
        }
        self.gate_target = Some(ps);
        Action::Run(Command::SetGateWidthPs(ps))
    }

    fn toggle_recording(&mut self) -> Action {
        if !self.info.can_record {
            self.alert(Level::Warn, "this run does not record (`qkdbench live` does)".into());
            return Action::None;
        }
        if self.recording() {
            self.rec_target = Some(false);
            return Action::Run(Command::StopRecording);
        }
        // Never over an existing file: the next free name.
        let path = loop {
            self.recordings_started += 1;
            let p = self.record_path(self.recordings_started);
            if !p.exists() {
                break p;
            }
        };
        self.rec_target = Some(true);
        Action::Run(Command::StartRecording(path))
    }

    /// The file the `n`th recording of the run goes into (counting from 1).
    pub fn record_path(&self, n: u32) -> PathBuf {
        match (&self.info.record_path, n) {
            (Some(p), 1) => p.clone(),
            (Some(p), n) => {
                let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                p.with_file_name(format!("{stem}-{n}.h5"))
            }
            (None, n) => {
                let secs =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                PathBuf::from(format!("qkdbench-live-{secs}-{n}.h5"))
            }
        }
    }
}

fn push<T>(v: &mut VecDeque<T>, x: T) {
    if v.len() == HISTORY {
        v.pop_front();
    }
    v.push_back(x);
}

fn push_alert(v: &mut VecDeque<Alert>, a: Alert) {
    if v.len() == ALERTS {
        v.pop_front();
    }
    v.push_back(a);
}

/// The lock state as a word.
pub fn lock_word(s: LockState) -> &'static str {
    match s {
        LockState::Searching => "searching",
        LockState::Locked => "locked",
        LockState::Holdover => "holdover",
        LockState::Lost => "lost",
    }
}
