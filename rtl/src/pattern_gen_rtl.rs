//! Safe wrapper of the Verilated pattern generator.

use std::ffi::CString;
use std::path::Path;
use std::ptr::NonNull;

use crate::error::RtlError;
use crate::ffi;
use crate::frame::{self, Op, FRAME_LEN};
use crate::regmap::status;

/// Cycles to wait for a reply: request and reply are 8 bytes of 10 bits each, plus slack.
fn reply_timeout_cycles() -> u64 {
    u64::from(crate::uart_clks_per_bit()) * 10 * (2 * FRAME_LEN as u64 + 8)
}

/// The pattern-generator RTL (`rtl/pattern_gen/`) under Verilator, one clock per pulse slot.
///
/// The UART pins are driven bit by bit by the shim, so register traffic goes through the
/// same UART PHY and bridge as on a board. Slots emitted while a convenience register access
/// steps the clock are kept and handed out by the next [`step`](Self::step): nothing is lost.
#[derive(Debug)]
pub struct PatternGenRtl {
    raw: NonNull<ffi::QkdPg>,
    backlog: Vec<u32>,
}

// SAFETY: the model has its own VerilatedContext and is only touched through &mut self.
unsafe impl Send for PatternGenRtl {}

impl Default for PatternGenRtl {
    fn default() -> Self {
        Self::new()
    }
}

impl PatternGenRtl {
    /// A model fresh out of reset (registers at their reset values, not running).
    pub fn new() -> Self {
        // SAFETY: qkd_pg_new returns a valid, owned object.
        let raw = unsafe { ffi::qkd_pg_new() };
        PatternGenRtl { raw: NonNull::new(raw).expect("qkd_pg_new returned null"), backlog: Vec::new() }
    }

    /// Clock cycles stepped since reset.
    pub fn cycle(&self) -> u64 {
        // SAFETY: raw is valid for the lifetime of self.
        unsafe { ffi::qkd_pg_cycle(self.raw.as_ptr()) }
    }

    /// Steps `cycles` clocks and appends each emitted slot's word (see [`crate::slot`]).
    pub fn step(&mut self, cycles: u64, slots: &mut Vec<u32>) {
        slots.append(&mut self.backlog);
        let start = slots.len();
        slots.reserve(cycles as usize);
        // SAFETY: the buffer has room for `cycles` words past `start`; null ext means none.
        let n = unsafe {
            ffi::qkd_pg_step(
                self.raw.as_ptr(),
                cycles,
                std::ptr::null(),
                std::ptr::null(),
                slots.as_mut_ptr().add(start),
            )
        };
        // SAFETY: the shim initialised exactly n words.
        unsafe { slots.set_len(start + n) };
    }

    /// Steps one clock per entry of `ext`, presenting that external random word (EXT_MODE)
    /// with its valid flag, and appends each emitted slot's word.
    pub fn step_ext(&mut self, ext: &[u64], ext_valid: &[bool], slots: &mut Vec<u32>) {
        assert_eq!(ext.len(), ext_valid.len(), "one valid flag per external word");
        slots.append(&mut self.backlog);
        let start = slots.len();
        slots.reserve(ext.len());
        let valid: Vec<u8> = ext_valid.iter().map(|&v| u8::from(v)).collect();
        // SAFETY: ext and valid have ext.len() entries; the buffer has room for as many words.
        let n = unsafe {
            ffi::qkd_pg_step(
                self.raw.as_ptr(),
                ext.len() as u64,
                ext.as_ptr(),
                valid.as_ptr(),
                slots.as_mut_ptr().add(start),
            )
        };
        // SAFETY: the shim initialised exactly n words.
        unsafe { slots.set_len(start + n) };
    }

    /// Queues bytes for the UART receive pin; they go out bit by bit as the clock steps.
    pub fn uart_write(&mut self, bytes: &[u8]) {
        // SAFETY: bytes is a valid slice.
        unsafe { ffi::qkd_pg_uart_push(self.raw.as_ptr(), bytes.as_ptr(), bytes.len()) }
    }

    /// Bytes queued for the receive pin that have not fully gone out yet.
    pub fn uart_pending(&self) -> usize {
        // SAFETY: raw is valid.
        unsafe { ffi::qkd_pg_uart_pending(self.raw.as_ptr()) }
    }

    /// Moves the bytes the design has sent on its UART transmit pin into `out`.
    pub fn uart_read(&mut self, out: &mut Vec<u8>) -> usize {
        let mut buf = [0u8; 256];
        let mut total = 0;
        loop {
            // SAFETY: buf has 256 bytes of room.
            let n = unsafe { ffi::qkd_pg_uart_pop(self.raw.as_ptr(), buf.as_mut_ptr(), buf.len()) };
            out.extend_from_slice(&buf[..n]);
            total += n;
            if n < buf.len() {
                return total;
            }
        }
    }

    /// Sends one raw request frame and steps the clock until an 8-byte reply arrived.
    /// Slots emitted meanwhile are kept for the next `step`.
    pub fn exchange(&mut self, request: &[u8]) -> Result<[u8; FRAME_LEN], RtlError> {
        self.uart_write(request);
        let mut got = Vec::with_capacity(FRAME_LEN);
        let limit = reply_timeout_cycles();
        let chunk = u64::from(crate::uart_clks_per_bit()) * 10;
        let mut waited = 0;
        let mut backlog = std::mem::take(&mut self.backlog);
        while got.len() < FRAME_LEN {
            if waited >= limit {
                self.backlog = backlog;
                return Err(RtlError::Timeout { cycles: waited });
            }
            self.step(chunk, &mut backlog);
            waited += chunk;
            self.uart_read(&mut got);
        }
        self.backlog = backlog;
        let mut f = [0u8; FRAME_LEN];
        f.copy_from_slice(&got[..FRAME_LEN]);
        Ok(f)
    }

    /// Writes a register through the UART bridge.
    pub fn write_reg(&mut self, addr: u8, value: u32) -> Result<(), RtlError> {
        let reply = frame::decode_reply(&self.exchange(&frame::encode_request(Op::Write, addr, value))?)?;
        match reply.status {
            status::OK => Ok(()),
            s => Err(RtlError::from_status(addr, s)),
        }
    }

    /// Reads a register through the UART bridge.
    pub fn read_reg(&mut self, addr: u8) -> Result<u32, RtlError> {
        let reply = frame::decode_reply(&self.exchange(&frame::encode_request(Op::Read, addr, 0))?)?;
        match reply.status {
            status::OK => Ok(reply.data),
            s => Err(RtlError::from_status(addr, s)),
        }
    }

    /// Starts writing an FST waveform of every signal to `path` (needs the `trace` feature).
    pub fn trace(&mut self, path: &Path) -> Result<(), RtlError> {
        let c = CString::new(path.to_string_lossy().as_bytes()).map_err(|_| RtlError::TraceUnavailable)?;
        // SAFETY: c is a valid NUL-terminated string that outlives the call (the shim copies it).
        match unsafe { ffi::qkd_pg_trace(self.raw.as_ptr(), c.as_ptr()) } {
            0 => Ok(()),
            _ => Err(RtlError::TraceUnavailable),
        }
    }
}

impl Drop for PatternGenRtl {
    fn drop(&mut self) {
        // SAFETY: raw was created by qkd_pg_new and is freed once.
        unsafe { ffi::qkd_pg_free(self.raw.as_ptr()) }
    }
}
