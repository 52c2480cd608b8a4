//! The simulated bench seen through the transports: the same bytes a board would send.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtl::frame::FRAME_LEN;
use rtl::model::pattern_gen_regs::{PatternGenRegisters, RequestAssembler};
use rtl::regmap::time_tagger as tt_reg;

use super::bench::{Advance, SimBench, SLICE_PS};
use crate::error::DriverError;
use crate::transport::{ByteLink, StreamLink, StreamRead};

/// The fast bench's pattern generator: register frames in, replies out, answered by the
/// golden register model.
#[derive(Debug)]
pub struct SimPatternGenLink {
    regs: Arc<Mutex<PatternGenRegisters>>,
    assembler: RequestAssembler,
    replies: Vec<u8>,
}

impl SimPatternGenLink {
    /// A link to the register file of a fast bench.
    pub fn new(regs: Arc<Mutex<PatternGenRegisters>>) -> Self {
        SimPatternGenLink { regs, assembler: RequestAssembler::default(), replies: Vec::new() }
    }
}

impl ByteLink for SimPatternGenLink {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
        for f in self.assembler.push(bytes) {
            let reply: [u8; FRAME_LEN] = self.regs.lock().expect("register file lock").handle_request(&f);
            self.replies.extend_from_slice(&reply);
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, DriverError> {
        if self.replies.is_empty() {
            std::thread::sleep(timeout.min(Duration::from_millis(1)));
            return Ok(0);
        }
        let n = self.replies.len().min(buf.len());
        buf[..n].copy_from_slice(&self.replies[..n]);
        self.replies.drain(..n);
        Ok(n)
    }

    fn describe(&self) -> String {
        "simulated pattern generator (fast)".into()
    }
}

/// The bench's time tagger as a stream: each read advances device time by one slice.
#[derive(Debug)]
pub struct SimTaggerLink {
    bench: SimBench,
    words: Vec<u32>,
    /// Pace device time to wall-clock time (a live demo) instead of running flat out.
    pub realtime: bool,
    started: Option<Instant>,
}

impl SimTaggerLink {
    /// Wraps a bench.
    pub fn new(bench: SimBench) -> Self {
        SimTaggerLink { bench, words: Vec::new(), realtime: false, started: None }
    }

    /// The bench (truth, optics, pattern-generator access).
    pub fn bench(&self) -> &SimBench {
        &self.bench
    }

    /// The bench, mutably.
    pub fn bench_mut(&mut self) -> &mut SimBench {
        &mut self.bench
    }
}

fn rtl_error(e: rtl::RtlError, device: String) -> DriverError {
    match e {
        rtl::RtlError::Status { addr, status, what } => DriverError::Device { device, addr, status, what },
        other => DriverError::Protocol { device, reason: other.to_string() },
    }
}

impl StreamLink for SimTaggerLink {
    fn read_stream(&mut self, buf: &mut Vec<u8>, _timeout: Duration) -> Result<StreamRead, DriverError> {
        if self.realtime {
            let start = *self.started.get_or_insert_with(Instant::now);
            let ahead = self.bench.now_s() - start.elapsed().as_secs_f64();
            if ahead > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(ahead));
            }
        }
        self.words.clear();
        let state = self.bench.advance(SLICE_PS, &mut self.words)?;
        if self.words.is_empty() && state == Advance::Ended {
            return Ok(StreamRead::End);
        }
        buf.reserve(self.words.len() * 4);
        for w in &self.words {
            buf.extend_from_slice(&w.to_le_bytes());
        }
        Ok(StreamRead::Data(self.words.len() * 4))
    }

    fn write_register(&mut self, addr: u8, value: u32) -> Result<(), DriverError> {
        let device = self.describe();
        self.bench.tagger().write_reg(addr, value).map_err(|e| rtl_error(e, device))?;
        if addr == tt_reg::FINE_BINS {
            self.bench.set_fine_bins(value as u16);
        }
        Ok(())
    }

    fn read_register(&mut self, addr: u8) -> Result<u32, DriverError> {
        let device = self.describe();
        self.bench.tagger().read_reg(addr).map_err(|e| rtl_error(e, device))
    }

    fn describe(&self) -> String {
        format!("simulated time tagger ({})", self.bench.tagger_fidelity())
    }
}
