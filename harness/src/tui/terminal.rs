//! The terminal loop: raw mode and the alternate screen, keys, and about ten draws a
//! second. The session runs on a worker thread; whatever ends the TUI (q, Ctrl-C, SIGTERM,
//! SIGHUP, a panic, a lost terminal) first stops the run and waits for it, so that the
//! recording is closed with its status, and the terminal is always restored.

use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::DefaultTerminal;

use super::app::{Action, App};
use super::frame::LiveFrame;
use super::panels;
use super::theme::Level;
use crate::pipeline::Command;
use crate::session::{Outcome, SessionError};

/// The running session, as the TUI holds it.
#[derive(Debug)]
pub struct LiveRun {
    /// Frames from the engine's thread.
    pub frames: Receiver<LiveFrame>,
    /// Commands to the engine's thread.
    pub commands: Sender<Command>,
    /// Set by `q`: the run ends as complete.
    pub quit: Arc<AtomicBool>,
    /// Set by Ctrl-C and the signal handler: the run ends as interrupted.
    pub stop: Arc<AtomicBool>,
    /// The session.
    pub worker: JoinHandle<Result<Outcome, SessionError>>,
    /// Set by the session thread when it has finished (its recording closed).
    pub done: Arc<AtomicBool>,
}

/// How the TUI ended.
#[derive(Debug)]
pub struct Ended {
    /// The session's result.
    pub result: Result<Outcome, SessionError>,
    /// The user left with `q` (rather than a signal or Ctrl-C).
    pub by_user: bool,
}

/// The time between draws (and the longest wait for a key).
const TICK: Duration = Duration::from_millis(100);

/// Shows the TUI until the user leaves and the run has ended.
pub fn run(mut app: App, live: LiveRun) -> io::Result<Ended> {
    let mut terminal = ratatui::try_init()?;
    let LiveRun { frames, commands, quit, stop, worker, done } = live;
    // A terminal that goes away (a closed ssh, a killed tmux) can leave the terminal
    // library spinning on an input at its end, never returning to this loop. The run is
    // stopped by the SIGHUP that comes with it and closes its recording; once it has, and the
    // loop has not come back within 3 s, the process ends here with exit 1.
    let left = Arc::new(AtomicBool::new(false));
    {
        let (stop, left) = (stop.clone(), left.clone());
        let finished = done.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            if left.load(Ordering::Relaxed) {
                return;
            }
            if stop.load(Ordering::Relaxed) && finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs(3));
                if !left.load(Ordering::Relaxed) {
                    let _ = ratatui::try_restore();
                    std::process::exit(1);
                }
            }
        });
    }
    let mut worker = Some(worker);
    let mut result = None;
    let looped = catch_unwind(AssertUnwindSafe(|| {
        event_loop(&mut terminal, &mut app, &frames, &commands, &quit, &stop, &mut worker, &mut result)
    }));
    // The run first: stop it (if it still runs) and wait, so the recording gets its status.
    if result.is_none() {
        stop.store(true, Ordering::Relaxed);
        if let Some(w) = worker.take() {
            result = Some(w.join().unwrap_or_else(|_| Err(SessionError::Internal("the run panicked".into()))));
        }
    }
    left.store(true, Ordering::Relaxed);
    let _ = ratatui::try_restore();
    let by_user = match looped {
        Ok(Ok(by_user)) => by_user,
        Ok(Err(e)) => return Err(e),
        Err(panic) => resume_unwind(panic),
    };
    let result = result.unwrap_or_else(|| Err(SessionError::Internal("the run did not finish".into())));
    Ok(Ended { result, by_user })
}

#[allow(clippy::too_many_arguments)]
fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    frames: &Receiver<LiveFrame>,
    commands: &Sender<Command>,
    quit: &AtomicBool,
    stop: &AtomicBool,
    worker: &mut Option<JoinHandle<Result<Outcome, SessionError>>>,
    result: &mut Option<Result<Outcome, SessionError>>,
) -> io::Result<bool> {
    let mut zoom = false;
    let mut leaving = false;
    loop {
        while let Ok(f) = frames.try_recv() {
            app.ingest(f);
        }
        if worker.as_ref().is_some_and(|w| w.is_finished()) {
            let r = worker.take().expect("checked").join();
            let r = r.unwrap_or_else(|_| Err(SessionError::Internal("the run panicked".into())));
            while let Ok(f) = frames.try_recv() {
                app.ingest(f);
            }
            match &r {
                Ok(o) if o.complete() => app.finish(Level::Good, o.status_text()),
                Ok(o) => app.finish(Level::Bad, o.status_text()),
                Err(e) => app.finish(Level::Bad, format!("failed: {e}")),
            }
            *result = Some(r);
        }
        let ended = result.is_some();
        // A signal or Ctrl-C ends the TUI as soon as the run is closed; `q` too.
        if ended && (leaving || stop.load(Ordering::Relaxed)) {
            return Ok(!stop.load(Ordering::Relaxed));
        }
        app.poll_recorder();
        terminal.draw(|f| panels::draw(f, app, zoom))?;
        if !event::poll(TICK)? {
            continue;
        }
        match event::read()? {
            Event::Key(k) if k.kind == KeyEventKind::Press => {
                if k.code == KeyCode::Enter && !app.help {
                    zoom = !zoom;
                    continue;
                }
                match app.on_key(k) {
                    Action::None => {}
                    Action::Quit => {
                        leaving = true;
                        quit.store(true, Ordering::Relaxed);
                    }
                    Action::Abort => stop.store(true, Ordering::Relaxed),
                    Action::Run(_) if result.is_some() => app.alert(Level::Warn, "the run is over: q leaves".into()),
                    Action::Run(c) => {
                        let _ = commands.send(c);
                    }
                }
            }
            _ => {}
        }
    }
}
