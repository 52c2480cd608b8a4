//! `qkdbench sim serve`: the simulated bench as a virtual instrument for other processes.
//! The pattern generator is a pseudo-terminal; the tagger is a pair of Unix sockets
//! (stream and control, see [`crate::transport::unix`]).

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rtl::frame::encode_reply;
use rtl::model::pattern_gen_regs::RequestAssembler;
use rtl::regmap::{status, time_tagger as tt_reg};

use super::bench::{Advance, BenchConfig, SimBench, SLICE_PS};
use super::pty::PtyPatternGen;
use crate::error::DriverError;

/// Where a served bench can be reached.
#[derive(Debug, Clone)]
pub struct ServePaths {
    /// Pseudo-terminal of the pattern generator.
    pub pattern_gen: String,
    /// Unix socket of the tag stream.
    pub stream: PathBuf,
    /// Unix socket of the tagger's registers.
    pub control: PathBuf,
}

/// A bench being served.
pub struct Server {
    bench: SimBench,
    _pty: Option<PtyPatternGen>,
    paths: ServePaths,
    stream_listener: UnixListener,
    control_listener: UnixListener,
    tagger_running: bool,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("paths", &self.paths).finish_non_exhaustive()
    }
}

/// A stream client of a bench paced to wall-clock time that reads nothing for this long is
/// dropped, so that it never blocks the control socket, the next client or Ctrl-C. (A bench
/// run as fast as its client reads waits for a slow client instead, as long as it is
/// connected and nobody else is waiting.)
const STALLED_CLIENT: std::time::Duration = std::time::Duration::from_secs(2);
/// How long one write to the stream socket may block before the server looks around.
const WRITE_SLICE: std::time::Duration = std::time::Duration::from_millis(100);

/// The file in the socket folder that says how the bench is paced: `realtime` (a live
/// instrument: its client must keep up) or `as-fast-as-possible` (it waits for its client,
/// who may analyse everything at its own pace, like a replay). See docs/sim-serve.md.
pub const PACING_FILE: &str = "pacing";

/// Whether the peer of `s` has closed it (it never sends, so a ready read is end-of-file).
/// A peer that closed with tags still unread in its buffer (a client that stopped reading
/// mid-stream, e.g. a scenario phase that ended at lock) reads as an error, not as
/// end-of-file (Linux: ECONNRESET): closed too. Taken for alive, it got the next client
/// refused.
fn closed(s: &UnixStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut probe = [0u8; 1];
    // SAFETY: a valid socket while `s` lives; one byte of `probe` is writable; MSG_PEEK and
    // MSG_DONTWAIT neither consume data nor block, whatever the socket's mode.
    let n = unsafe {
        nix::libc::recv(s.as_raw_fd(), probe.as_mut_ptr().cast(), 1, nix::libc::MSG_PEEK | nix::libc::MSG_DONTWAIT)
    };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        return !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted);
    }
    n == 0
}

/// Whether a client waits to be accepted on `l`.
fn pending(l: &UnixListener) -> bool {
    use std::os::fd::AsRawFd;
    let mut p = nix::libc::pollfd { fd: l.as_raw_fd(), events: nix::libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd for the length given; a zero timeout never blocks.
    let n = unsafe { nix::libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & nix::libc::POLLIN != 0
}

fn io_err(what: &Path, e: std::io::Error) -> DriverError {
    DriverError::Simulation(format!("{}: {e}", what.display()))
}

/// Writes `bytes` to the stream client. A client that stops reading is waited for: for at
/// most `STALLED_CLIENT` when `realtime`, else until `others_wait` names why the server is
/// needed elsewhere. The error says why the client is dropped (None: it is gone).
fn send(
    s: &mut UnixStream,
    bytes: &[u8],
    realtime: bool,
    others_wait: impl Fn() -> Option<&'static str>,
) -> Result<(), Option<String>> {
    let (mut off, started) = (0, std::time::Instant::now());
    while off < bytes.len() {
        match s.write(&bytes[off..]) {
            Ok(0) => return Err(None),
            Ok(n) => off += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                let stalled = started.elapsed();
                if realtime && stalled >= STALLED_CLIENT {
                    return Err(Some(format!(
                        "it read nothing from the stream socket for {} s",
                        STALLED_CLIENT.as_secs()
                    )));
                }
                if let Some(need) = others_wait() {
                    return Err(Some(format!(
                        "it read nothing from the stream socket for {:.1} s, and {need}",
                        stalled.as_secs_f64()
                    )));
                }
            }
            Err(_) => return Err(None),
        }
    }
    Ok(())
}

impl Server {
    /// Builds the bench and opens its endpoints in `dir` (created if missing).
    pub fn bind(cfg: BenchConfig, dir: &Path) -> Result<Self, DriverError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let bench = SimBench::new(cfg)?;
        let (pty, pattern_gen) = match (bench.pattern_gen_path(), bench.pattern_gen_registers()) {
            (Some(p), _) => (None, p.to_string()),
            (None, Some(regs)) => {
                let pty = PtyPatternGen::spawn_register_model(regs)?;
                let p = pty.path().to_string();
                (Some(pty), p)
            }
            (None, None) => return Err(DriverError::Simulation("bench has no pattern generator".into())),
        };
        let stream = dir.join("tagger.sock");
        let control = dir.join("tagger-ctl.sock");
        for p in [&stream, &control] {
            // A socket someone answers on belongs to a running instance: never taken over.
            if UnixStream::connect(p).is_ok() {
                return Err(DriverError::Simulation(format!(
                    "{}: another `qkdbench sim serve` is serving here; stop it or choose another --dir",
                    p.display()
                )));
            }
            let _ = std::fs::remove_file(p);
        }
        let stream_listener = UnixListener::bind(&stream).map_err(|e| io_err(&stream, e))?;
        let control_listener = UnixListener::bind(&control).map_err(|e| io_err(&control, e))?;
        for l in [&stream_listener, &control_listener] {
            l.set_nonblocking(true).map_err(|e| io_err(dir, e))?;
        }
        Ok(Server {
            bench,
            _pty: pty,
            paths: ServePaths { pattern_gen, stream, control },
            stream_listener,
            control_listener,
            tagger_running: false,
        })
    }

    /// The endpoints.
    pub fn paths(&self) -> &ServePaths {
        &self.paths
    }

    /// Serves until the run ends or `stop` is set. The bench advances only while a stream
    /// client is connected and the tagger runs (CTRL.RUN), as fast as the client reads: a
    /// slow reader slows the bench, and a client still configuring misses nothing.
    ///
    /// With `realtime`, device time is paced to wall-clock time (an instrument on a bench);
    /// without, the bench runs as fast as the client reads.
    pub fn run(mut self, stop: &AtomicBool, realtime: bool) -> Result<(), DriverError> {
        if let Some(dir) = self.paths.stream.parent() {
            let pacing = dir.join(PACING_FILE);
            std::fs::write(&pacing, if realtime { "realtime\n" } else { "as-fast-as-possible\n" })
                .map_err(|e| io_err(&pacing, e))?;
        }
        // Realtime pacing from (wall clock, device time) at the moment the tagger started:
        // a bench that sat idle between clients must not race ahead to catch up.
        let mut paced_from: Option<(std::time::Instant, f64)> = None;
        let mut control: Option<(UnixStream, RequestAssembler)> = None;
        let mut stream: Option<UnixStream> = None;
        let mut words = Vec::new();
        let mut bytes = Vec::new();
        let mut buf = [0u8; 256];
        while !stop.load(Ordering::Relaxed) {
            // One client at a time; a second one is closed at once (it sees a disconnect),
            // and told so on stderr.
            if let Ok((s, _)) = self.control_listener.accept() {
                if control.as_ref().is_some_and(|(c, _)| closed(c)) {
                    control = None;
                    self.client_left();
                }
                if control.is_none() {
                    s.set_nonblocking(true).map_err(|e| io_err(&self.paths.control, e))?;
                    control = Some((s, RequestAssembler::default()));
                } else {
                    eprintln!("qkdbench sim serve: refused a second control client (one client at a time)");
                }
            }
            if let Ok((s, _)) = self.stream_listener.accept() {
                // The current stream client may be gone unnoticed (nothing is written while
                // the tagger is stopped): a closed socket reads end-of-file at once.
                if stream.as_ref().is_some_and(closed) {
                    stream = None;
                }
                if stream.is_none() {
                    s.set_nonblocking(false).map_err(|e| io_err(&self.paths.stream, e))?;
                    // A client that stops reading is dropped after this long, so it never
                    // blocks the control socket or Ctrl-C.
                    s.set_write_timeout(Some(WRITE_SLICE)).map_err(|e| io_err(&self.paths.stream, e))?;
                    stream = Some(s);
                } else {
                    eprintln!("qkdbench sim serve: refused a second stream client (one client at a time)");
                }
            }
            let mut drop_control = false;
            if let Some((s, asm)) = &mut control {
                match s.read(&mut buf) {
                    Ok(0) => drop_control = true,
                    Ok(n) => {
                        for f in asm.push(&buf[..n]) {
                            let reply = self.register_frame(&f);
                            if s.write_all(&reply).is_err() {
                                drop_control = true;
                            }
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => drop_control = true,
                }
            }
            if drop_control {
                // The stream belongs to the same client.
                control = None;
                stream = None;
                self.client_left();
            }
            match &mut stream {
                Some(s) if self.tagger_running => {
                    if realtime {
                        let now_s = self.bench.now_s();
                        let (t0, s0) = *paced_from.get_or_insert_with(|| (std::time::Instant::now(), now_s));
                        let ahead = (now_s - s0) - t0.elapsed().as_secs_f64();
                        if ahead > 0.0 {
                            std::thread::sleep(std::time::Duration::from_secs_f64(ahead.min(0.01)));
                            continue;
                        }
                    }
                    words.clear();
                    let state = match self.bench.advance(SLICE_PS, &mut words) {
                        Ok(st) => st,
                        // A disconnect fault: the device vanishes, the socket closes.
                        Err(DriverError::Disconnected { .. }) => return Ok(()),
                        Err(e) => return Err(e),
                    };
                    bytes.clear();
                    for w in &words {
                        bytes.extend_from_slice(&w.to_le_bytes());
                    }
                    let others_wait = || {
                        if stop.load(Ordering::Relaxed) {
                            Some("Ctrl-C")
                        } else if pending(&self.stream_listener) || pending(&self.control_listener) {
                            Some("a new client is connecting")
                        } else if control.as_ref().is_none_or(|(c, _)| closed(c)) {
                            Some("its control socket closed")
                        } else {
                            None
                        }
                    };
                    if let Err(why) = send(s, &bytes, realtime, others_wait) {
                        // Gone, or stalled: the whole client goes.
                        if let Some(why) = why {
                            eprintln!("qkdbench sim serve: dropped the client: {why}");
                        }
                        stream = None;
                        control = None;
                        self.client_left();
                    }
                    if state == Advance::Ended {
                        return Ok(());
                    }
                }
                _ => {
                    paced_from = None;
                    std::thread::sleep(std::time::Duration::from_millis(1))
                }
            }
        }
        Ok(())
    }

    /// A client went away (closed, killed or stalled): the tagger stops, as if it had
    /// stopped it, and its exclusive lock on the generator's port is cleared, so the next
    /// client starts clean.
    fn client_left(&mut self) {
        self.tagger_running = false;
        let _ = self.bench.tagger().write_reg(tt_reg::CTRL, 0);
        if let Some(p) = &self._pty {
            p.release_exclusive();
        }
        self.bench.release_pattern_gen_port();
    }

    fn register_frame(&mut self, f: &[u8; 8]) -> [u8; 8] {
        let addr = f[2];
        if f[7] != rtl::frame::crc8(&f[..7]) {
            return encode_reply(status::BAD_CRC, addr, 0);
        }
        let data = u32::from_le_bytes([f[3], f[4], f[5], f[6]]);
        let result = match f[1] {
            0x01 => self.bench.tagger().write_reg(addr, data).map(|_| data),
            0x02 => self.bench.tagger().read_reg(addr),
            _ => return encode_reply(status::BAD_OP, addr, 0),
        };
        match result {
            Ok(v) => {
                if f[1] == 0x01 && addr == tt_reg::FINE_BINS {
                    self.bench.set_fine_bins(data as u16);
                }
                if f[1] == 0x01 && addr == tt_reg::CTRL {
                    self.tagger_running = data & 1 != 0;
                }
                encode_reply(status::OK, addr, v)
            }
            Err(rtl::RtlError::Status { status, .. }) => encode_reply(status, addr, 0),
            Err(_) => encode_reply(status::BAD_OP, addr, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_gone_is_closed_whether_or_not_it_read_everything() {
        // Alive: nothing to read, no end-of-file.
        let (server, client) = UnixStream::pair().unwrap();
        assert!(!closed(&server));
        // Gone after reading everything: end-of-file.
        drop(client);
        assert!(closed(&server));
        // Gone with tags unread in its buffer (a client that stopped reading mid-stream):
        // an error, not end-of-file, but gone all the same.
        let (mut server, client) = UnixStream::pair().unwrap();
        server.write_all(&[7u8; 4096]).unwrap();
        drop(client);
        assert!(closed(&server));
    }
}
