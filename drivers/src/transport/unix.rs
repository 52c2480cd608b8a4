//! Unix sockets to `qkdbench sim serve`: a stream socket carrying the tagger's word stream
//! (as USB bulk IN would) and a control socket carrying register frames (as USB control
//! transfers would), in the UART frame format of docs/register-map.md.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use rtl::regmap::status;

use super::{StreamLink, StreamRead};
use crate::error::DriverError;
use crate::protocol::register::{encode_request, Op, ReplyParser};

/// A tagger served over Unix sockets.
#[derive(Debug)]
pub struct UnixStreamLink {
    stream: UnixStream,
    control: UnixStream,
    parser: ReplyParser,
    name: String,
    chunk: Vec<u8>,
}

impl UnixStreamLink {
    /// Connects to the stream and control sockets.
    pub fn connect(stream_path: &Path, control_path: &Path) -> Result<Self, DriverError> {
        let open = |p: &Path| {
            UnixStream::connect(p)
                .map_err(|e| DriverError::Open { device: p.display().to_string(), reason: e.to_string() })
        };
        let control = open(control_path)?;
        let stream = open(stream_path)?;
        Ok(UnixStreamLink {
            stream,
            control,
            parser: ReplyParser::new(),
            name: format!("simulated tagger at {}", stream_path.display()),
            chunk: vec![0; 1 << 20],
        })
    }

    fn io(&self, e: std::io::Error) -> DriverError {
        match e.kind() {
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof => {
                DriverError::Disconnected { device: self.name.clone(), reason: e.to_string() }
            }
            _ => DriverError::Io { device: self.name.clone(), source: e },
        }
    }

    fn transact(&mut self, op: Op, addr: u8, data: u32) -> Result<u32, DriverError> {
        self.parser.reset();
        self.control.write_all(&encode_request(op, addr, data)).map_err(|e| self.io(e))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 64];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DriverError::Timeout {
                    device: self.name.clone(),
                    what: format!("{op:?} of register {addr:#04x}"),
                    timeout: Duration::from_secs(5),
                    attempts: 1,
                });
            }
            self.control.set_read_timeout(Some(left)).map_err(|e| self.io(e))?;
            let n = match self.control.read(&mut buf) {
                Ok(0) => {
                    return Err(DriverError::Disconnected {
                        device: self.name.clone(),
                        reason: "control socket closed".into(),
                    })
                }
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                    continue
                }
                Err(e) => return Err(self.io(e)),
            };
            if let Some(r) = self.parser.push(&buf[..n]) {
                let r = r.map_err(|e| DriverError::Protocol { device: self.name.clone(), reason: e.to_string() })?;
                return match r.status {
                    status::OK => Ok(r.data),
                    s => Err(DriverError::Device {
                        device: self.name.clone(),
                        addr,
                        status: s,
                        what: rtl::frame::status_name(s),
                    }),
                };
            }
        }
    }
}

impl StreamLink for UnixStreamLink {
    fn read_stream(&mut self, buf: &mut Vec<u8>, timeout: Duration) -> Result<StreamRead, DriverError> {
        self.stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1)))).map_err(|e| self.io(e))?;
        match self.stream.read(&mut self.chunk) {
            // A device's stream does not end by itself: the server stopped or went away, and
            // a run reading it is cut short, not complete.
            Ok(0) => Err(DriverError::Disconnected {
                device: self.name.clone(),
                reason: "the stream socket closed (the server stopped, went away, or dropped this client: its stderr says why)".into(),
            }),
            Ok(n) => {
                buf.extend_from_slice(&self.chunk[..n]);
                Ok(StreamRead::Data(n))
            }
            // EINTR (the process stopped and continued: Ctrl-Z, fg) is no error of the link.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                Ok(StreamRead::Timeout)
            }
            Err(e) => Err(self.io(e)),
        }
    }

    fn write_register(&mut self, addr: u8, value: u32) -> Result<(), DriverError> {
        self.transact(Op::Write, addr, value).map(|_| ())
    }

    fn read_register(&mut self, addr: u8) -> Result<u32, DriverError> {
        self.transact(Op::Read, addr, 0)
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}
