//! Golden model of the pattern generator's register side: the UART bridge at frame level
//! and the register file. The fast simulated bench answers the driver's frames with it, so
//! the driver code is the same as for the RTL and for a board.

use crate::frame::{crc8, encode_reply, Op, FRAME_LEN, REQUEST_SYNC};
use crate::model::pattern_gen::PatternSettings;
use crate::regmap::{self, pattern_gen as reg, status};

/// Register file of the pattern generator.
#[derive(Debug, Clone)]
pub struct PatternGenRegisters {
    values: [u32; 256],
    pulses: u64,
    pulse_hi_latch: u32,
    underflows: u32,
    /// A CLEAR was written since the last [`take_clear`](Self::take_clear).
    cleared: bool,
}

impl Default for PatternGenRegisters {
    fn default() -> Self {
        Self::new()
    }
}

impl PatternGenRegisters {
    /// Registers at their reset values.
    pub fn new() -> Self {
        let mut values = [0u32; 256];
        for r in reg::REGISTERS {
            values[usize::from(r.addr)] = r.reset as u32;
        }
        PatternGenRegisters { values, pulses: 0, pulse_hi_latch: 0, underflows: 0, cleared: false }
    }

    /// The generator settings the registers hold.
    pub fn settings(&self) -> PatternSettings {
        let v = |a: u8| self.values[usize::from(a)];
        PatternSettings {
            seed: (u64::from(v(reg::SEED_HI)) << 32) | u64::from(v(reg::SEED_LO)),
            class_thr: [v(reg::CLASS_THR0), v(reg::CLASS_THR1), v(reg::CLASS_THR2)],
            basis_thr: v(reg::BASIS_THR),
            dac_code: [
                v(reg::DAC_CODE0) as u16,
                v(reg::DAC_CODE1) as u16,
                v(reg::DAC_CODE2) as u16,
                v(reg::DAC_CODE3) as u16,
            ],
            pol_map: v(reg::POL_MAP) as u16,
            sync_period: v(reg::SYNC_PERIOD),
            frame_period: v(reg::FRAME_PERIOD),
        }
    }

    /// CTRL.RUN.
    pub fn running(&self) -> bool {
        self.values[usize::from(reg::CTRL)] & 1 != 0
    }

    /// Whether a CLEAR was written since the last call (the pulse index restarts at 0).
    pub fn take_clear(&mut self) -> bool {
        std::mem::take(&mut self.cleared)
    }

    /// Sets the pulse counter (the bench counts the pulses it emits).
    pub fn set_pulse_count(&mut self, pulses: u64) {
        self.pulses = pulses;
    }

    /// Handles one request frame and returns the reply, as the RTL bridge does.
    pub fn handle_request(&mut self, f: &[u8; FRAME_LEN]) -> [u8; FRAME_LEN] {
        let addr = f[2];
        if f[7] != crc8(&f[..7]) {
            return encode_reply(status::BAD_CRC, addr, 0);
        }
        let data = u32::from_le_bytes([f[3], f[4], f[5], f[6]]);
        match f[1] {
            x if x == Op::Write as u8 => {
                let st = regmap::write_status(reg::REGISTERS, addr, data);
                if st != status::OK {
                    return encode_reply(st, addr, 0);
                }
                if addr == reg::CTRL {
                    if data & 4 != 0 {
                        self.pulses = 0;
                        self.underflows = 0;
                        self.cleared = true;
                    }
                    self.values[usize::from(addr)] = data & 3;
                } else {
                    self.values[usize::from(addr)] = data;
                }
                encode_reply(status::OK, addr, data)
            }
            x if x == Op::Read as u8 => {
                if regmap::lookup(reg::REGISTERS, addr).is_none() {
                    return encode_reply(status::UNKNOWN_REG, addr, 0);
                }
                let value = match addr {
                    reg::STATUS => self.values[usize::from(reg::CTRL)] & 3 | u32::from(self.underflows > 0) << 2,
                    reg::PULSE_CNT_LO => {
                        self.pulse_hi_latch = (self.pulses >> 32) as u32;
                        self.pulses as u32
                    }
                    reg::PULSE_CNT_HI => self.pulse_hi_latch,
                    reg::EXT_UNDERFLOW_CNT => self.underflows,
                    a => self.values[usize::from(a)],
                };
                encode_reply(status::OK, addr, value)
            }
            _ => encode_reply(status::BAD_OP, addr, 0),
        }
    }
}

/// Splits a byte stream into request frames as the bridge does: bytes before a sync byte
/// are skipped, a frame is the sync byte and the seven after it.
#[derive(Debug, Default, Clone)]
pub struct RequestAssembler {
    buf: Vec<u8>,
}

impl RequestAssembler {
    /// Adds bytes; returns every complete frame.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<[u8; FRAME_LEN]> {
        self.buf.extend_from_slice(bytes);
        let mut frames = Vec::new();
        loop {
            let start = self.buf.iter().position(|&b| b == REQUEST_SYNC).unwrap_or(self.buf.len());
            self.buf.drain(..start);
            if self.buf.len() < FRAME_LEN {
                return frames;
            }
            let mut f = [0u8; FRAME_LEN];
            f.copy_from_slice(&self.buf[..FRAME_LEN]);
            self.buf.drain(..FRAME_LEN);
            frames.push(f);
        }
    }
}
