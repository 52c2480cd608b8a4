//! `qkdbench bench tui`: what the live view costs. A real session (the simulated bench at
//! 30 dB, paced to the wall clock) feeds frames to the TUI's state, which is drawn at 10 Hz
//! into a pseudo-terminal drained by another thread (a fast terminal), as `live` does. The
//! figures are the CPU time of the drawing thread per second of wall time, against the
//! baseline of the same loop without drawing (taking in the frames only), in the same run,
//! and the engine thread's CPU for comparison.

use std::io::Read;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use serde::Serialize;

use crate::session::{self, RunPlan};
use crate::settings::Settings;
use crate::tui::{panels, App, Forward, RunInfo};

/// The figures.
#[derive(Debug, Serialize)]
pub struct TuiBench {
    /// Terminal size, columns x rows.
    pub terminal: String,
    /// Seconds of wall time per phase.
    pub seconds: f64,
    /// Draws per second achieved.
    pub draws_per_s: f64,
    /// CPU time of the TUI thread (take in frames and draw), % of one core.
    pub tui_cpu_pct_of_one_core: f64,
    /// Baseline: the same loop without drawing, % of one core.
    pub ingest_only_cpu_pct_of_one_core: f64,
    /// CPU time per draw, ms.
    pub ms_per_draw: f64,
    /// Bytes written to the terminal per second.
    pub terminal_bytes_per_s: f64,
    /// Frames taken in per second (the pipeline's update rate).
    pub frames_per_s: f64,
}

/// This thread's CPU time, s.
fn thread_cpu_s() -> f64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).expect("thread CPU clock");
    t.tv_sec() as f64 + t.tv_nsec() as f64 * 1e-9
}

/// Measures for `seconds` of wall time per phase at `cols` x `rows`.
pub fn run(seconds: f64, cols: u16, rows: u16) -> TuiBench {
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (w, master) = (written.clone(), std::fs::File::from(pty.master));
    std::thread::spawn(move || {
        let mut m = master;
        let mut buf = [0u8; 1 << 16];
        while let Ok(n) = m.read(&mut buf) {
            if n == 0 {
                break;
            }
            w.fetch_add(n as u64, Ordering::Relaxed);
        }
    });
    let slave = std::fs::File::from(pty.slave.as_fd().try_clone_to_owned().expect("the pty"));
    let backend = CrosstermBackend::new(slave);
    let viewport = Viewport::Fixed(Rect::new(0, 0, cols, rows));
    let mut terminal = Terminal::with_options(backend, TerminalOptions { viewport }).expect("a terminal");

    let settings = Settings::default();
    let info = RunInfo {
        title: "bench".into(),
        device: "sim bench (fast)".into(),
        pulse_rate_hz: settings.generator.pulse_rate_hz,
        mu: settings.generator.mu.clone(),
        gate_width_ps: settings.engine.gate_width_ps,
        pass: None,
        can_record: false,
        record_path: None,
        duration_s: None,
    };
    let (tx, frames) = crossbeam_channel::bounded(8);
    let stop = Arc::new(AtomicBool::new(false));
    let (st, quit) = (stop.clone(), Arc::new(AtomicBool::new(false)));
    let plan = RunPlan { realtime: true, ..RunPlan::new(settings, Some(2.0 * seconds + 2.0)) };
    let worker = std::thread::spawn(move || {
        let mut fwd = Forward::new(tx, quit);
        session::run(&plan, &mut fwd, st)
    });
    let mut app = App::new(info, None);
    let mut phase = |draw: bool| -> (f64, u64, u64) {
        let (c0, t0) = (thread_cpu_s(), Instant::now());
        let (mut draws, mut ingested) = (0u64, 0u64);
        while t0.elapsed().as_secs_f64() < seconds {
            while let Ok(f) = frames.try_recv() {
                app.ingest(f);
                ingested += 1;
            }
            if draw {
                terminal.draw(|f| panels::draw(f, &app, false)).expect("draw");
                draws += 1;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let wall = t0.elapsed().as_secs_f64();
        ((thread_cpu_s() - c0) / wall, draws, ingested)
    };
    // Warm up (first frames, the lock), then the baseline, then the TUI.
    std::thread::sleep(Duration::from_millis(500));
    let (base, _, _) = phase(false);
    let b0 = written.load(Ordering::Relaxed);
    let (cpu, draws, ingested) = phase(true);
    // The terminal's reader may lag on a loaded machine: wait until it has drained (no
    // growth for 100 ms, at most 3 s), so the bytes of the draws are all counted.
    let drained = std::time::Instant::now();
    let mut seen = written.load(Ordering::Relaxed);
    while drained.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(100));
        let now = written.load(Ordering::Relaxed);
        if now == seen && now > b0 {
            break;
        }
        seen = now;
    }
    let bytes = written.load(Ordering::Relaxed) - b0;
    stop.store(true, Ordering::Relaxed);
    let _ = worker.join();
    TuiBench {
        terminal: format!("{cols}x{rows}"),
        seconds,
        draws_per_s: draws as f64 / seconds,
        tui_cpu_pct_of_one_core: 100.0 * cpu,
        ingest_only_cpu_pct_of_one_core: 100.0 * base,
        ms_per_draw: 1e3 * (cpu - base) * seconds / draws.max(1) as f64,
        terminal_bytes_per_s: bytes as f64 / seconds,
        frames_per_s: ingested as f64 / seconds,
    }
}
