//! The pattern-generator RTL behind a pseudo-terminal, so drivers reach it through the real
//! `serialport` code exactly as they reach a board's USB-UART (serialport's TESTING.md idea).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::openpty;
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use rtl::model::pattern_gen_regs::{PatternGenRegisters, RequestAssembler};
use rtl::PatternGenRtl;

use crate::error::DriverError;

/// Clock cycles stepped per loop turn while the UART is busy (one byte time).
fn chunk_cycles() -> u64 {
    u64::from(rtl::uart_clks_per_bit()) * 10
}

/// A running pattern-generator RTL, reachable at [`PtyPatternGen::path`].
#[derive(Debug)]
pub struct PtyPatternGen {
    path: String,
    /// A second descriptor of the slave side, to clear a dead client's exclusive lock.
    slave_ctl: Option<OwnedFd>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How the hosted RTL is clocked.
#[derive(Debug)]
pub enum Clocking {
    /// Only while register traffic is in flight (and a while after, for the reply).
    OnDemand,
    /// Continuously, as fast as possible, handing every batch of slot words to `sink`
    /// (the RTL bench's optics). While more than a few batches wait in `in_flight` (the
    /// consumer decrements it), the clock pauses, except while register traffic is in
    /// flight: a driver waiting for a reply must never deadlock against a consumer that
    /// waits for that driver.
    FreeRun {
        /// Receives each batch as (clock cycles stepped, slot words emitted), in order.
        sink: Sender<(u64, Vec<u32>)>,
        /// Batches sent and not yet taken by the consumer.
        in_flight: Arc<AtomicUsize>,
    },
}

impl PtyPatternGen {
    /// Creates the pseudo-terminal and starts the RTL on its own thread.
    pub fn spawn(clocking: Clocking) -> Result<Self, DriverError> {
        Self::spawn_with("pattern-gen-rtl", move |master, slave, stop| serve(master, slave, clocking, stop))
    }

    /// Serves the golden register model (the fast bench's pattern generator) instead of
    /// the RTL: same frames, same replies, no clock.
    pub fn spawn_register_model(regs: Arc<Mutex<PatternGenRegisters>>) -> Result<Self, DriverError> {
        Self::spawn_with("pattern-gen-model", move |master, _slave, stop| serve_model(master, &regs, stop))
    }

    fn spawn_with(
        name: &str,
        body: impl FnOnce(OwnedFd, OwnedFd, &AtomicBool) + Send + 'static,
    ) -> Result<Self, DriverError> {
        let sim = |what: &str, e: nix::Error| DriverError::Simulation(format!("pseudo-terminal: {what}: {e}"));
        let pty = openpty(None, None).map_err(|e| sim("openpty", e))?;
        let mut t = tcgetattr(pty.slave.as_fd()).map_err(|e| sim("tcgetattr", e))?;
        cfmakeraw(&mut t);
        tcsetattr(pty.slave.as_fd(), SetArg::TCSANOW, &t).map_err(|e| sim("tcsetattr", e))?;
        let path = nix::unistd::ttyname(pty.slave.as_fd()).map_err(|e| sim("ttyname", e))?;
        let flags = fcntl(pty.master.as_fd(), FcntlArg::F_GETFL).map_err(|e| sim("fcntl", e))?;
        fcntl(pty.master.as_fd(), FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK))
            .map_err(|e| sim("fcntl", e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let slave_ctl = pty.slave.try_clone().ok();
        let (master, slave) = (pty.master, pty.slave);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(master, slave, &stop2))
            .map_err(|e| DriverError::Simulation(format!("spawning the {name} thread: {e}")))?;
        Ok(PtyPatternGen { path: path.to_string_lossy().into_owned(), slave_ctl, stop, thread: Some(thread) })
    }

    /// Path of the pseudo-terminal to open as a serial port (e.g. `/dev/pts/3`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Clears the exclusive-use flag a client's serial port set (serialport opens with
    /// TIOCEXCL). The flag outlives a client killed with kill -9, and would refuse every
    /// later client with "Unable to acquire exclusive lock".
    pub fn release_exclusive(&self) {
        if let Some(fd) = &self.slave_ctl {
            use std::os::fd::AsRawFd;
            // SAFETY: a valid descriptor of the slave tty while `self` lives; TIOCNXCL takes
            // no argument.
            unsafe {
                nix::libc::ioctl(fd.as_raw_fd(), nix::libc::TIOCNXCL);
            }
        }
    }
}

impl Drop for PtyPatternGen {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(master: OwnedFd, _slave: OwnedFd, clocking: Clocking, stop: &AtomicBool) {
    // `_slave` stays open so the master never reads EIO while no client is attached.
    let mut pg = PatternGenRtl::new();
    let reply_window = chunk_cycles() * 30;
    let mut last_rx_cycle = 0u64;
    let mut rx = [0u8; 4096];
    let mut tx = Vec::new();
    let mut slots = Vec::new();
    let (free_run, sink, in_flight) = match clocking {
        Clocking::OnDemand => (false, None, None),
        Clocking::FreeRun { sink, in_flight } => (true, Some(sink), Some(in_flight)),
    };
    while !stop.load(Ordering::Relaxed) {
        let busy = pg.uart_pending() > 0 || pg.cycle().saturating_sub(last_rx_cycle) < reply_window;
        let timeout = if busy || free_run { PollTimeout::ZERO } else { PollTimeout::from(5u8) };
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, timeout);
        match nix::unistd::read(master.as_fd(), &mut rx) {
            Ok(n) if n > 0 => {
                pg.uart_write(&rx[..n]);
                last_rx_cycle = pg.cycle();
            }
            _ => {}
        }
        let backlogged = in_flight.as_ref().is_some_and(|n| n.load(Ordering::Acquire) >= 8);
        if free_run && backlogged && !busy {
            std::thread::sleep(std::time::Duration::from_micros(200));
        } else if busy || free_run {
            slots.clear();
            let cycles = if free_run { 1 << 16 } else { chunk_cycles() };
            pg.step(cycles, &mut slots);
            if let (Some(s), Some(n)) = (&sink, &in_flight) {
                n.fetch_add(1, Ordering::AcqRel);
                if s.send((cycles, std::mem::take(&mut slots))).is_err() {
                    return; // the bench went away
                }
            }
        }
        tx.clear();
        pg.uart_read(&mut tx);
        write_master(&master, &tx, stop);
    }
}

/// Writes all of `bytes` to the non-blocking master, waiting while the pty buffer is full.
fn write_master(master: &OwnedFd, bytes: &[u8], stop: &AtomicBool) {
    let mut sent = 0;
    while sent < bytes.len() && !stop.load(Ordering::Relaxed) {
        match nix::unistd::write(master.as_fd(), &bytes[sent..]) {
            Ok(n) => sent += n,
            Err(nix::Error::EAGAIN) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(_) => break,
        }
    }
}

fn serve_model(master: OwnedFd, regs: &Mutex<PatternGenRegisters>, stop: &AtomicBool) {
    let mut assembler = RequestAssembler::default();
    let mut rx = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        let _ = poll(&mut fds, PollTimeout::from(5u8));
        if let Ok(n) = nix::unistd::read(master.as_fd(), &mut rx) {
            for f in assembler.push(&rx[..n]) {
                let reply = regs.lock().expect("register file lock").handle_request(&f);
                write_master(&master, &reply, stop);
            }
        }
    }
}
