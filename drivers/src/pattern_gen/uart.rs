//! The pattern generator over its UART register bridge (real board or simulated RTL).

use std::time::{Duration, Instant};

use rtl::model::pattern_gen::PatternSettings;
use rtl::regmap::{pattern_gen as reg, status};

use super::{DeviceIdentity, PatternConfig, PatternGenerator, PatternStatus};
use crate::error::DriverError;
use crate::protocol::register::{encode_request, Op, ReplyParser};
use crate::transport::ByteLink;

const CTRL_RUN: u32 = 1;
const CTRL_CLEAR: u32 = 4;

/// Driver of the pattern generator over any [`ByteLink`].
#[derive(Debug)]
pub struct UartPatternGenerator<L: ByteLink> {
    link: L,
    parser: ReplyParser,
    /// Time allowed for one reply. At 115200 baud a request and its reply take 1.4 ms.
    pub timeout: Duration,
    /// Extra attempts after a CRC error (either direction) or a lost reply.
    pub retries: u32,
    retried: u64,
}

impl<L: ByteLink> UartPatternGenerator<L> {
    /// A driver on `link`, with a 250 ms reply timeout and 3 retries.
    pub fn new(link: L) -> Self {
        UartPatternGenerator {
            link,
            parser: ReplyParser::new(),
            timeout: Duration::from_millis(250),
            retries: 3,
            retried: 0,
        }
    }

    /// Attempts repeated so far because of CRC errors or lost replies.
    pub fn retried(&self) -> u64 {
        self.retried
    }

    /// Writes a register.
    pub fn write_register(&mut self, addr: u8, value: u32) -> Result<(), DriverError> {
        self.transact(Op::Write, addr, value).map(|_| ())
    }

    /// Reads a register.
    pub fn read_register(&mut self, addr: u8) -> Result<u32, DriverError> {
        self.transact(Op::Read, addr, 0)
    }

    fn transact(&mut self, op: Op, addr: u8, data: u32) -> Result<u32, DriverError> {
        let request = encode_request(op, addr, data);
        let mut buf = [0u8; 64];
        for attempt in 0..=self.retries {
            if attempt > 0 {
                self.retried += 1;
            }
            self.parser.reset();
            self.link.write_all(&request)?;
            let deadline = Instant::now() + self.timeout;
            'wait: loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break 'wait;
                }
                let n = self.link.read(&mut buf, left)?;
                let mut chunk = &buf[..n];
                while let Some(reply) = self.parser.push(chunk) {
                    chunk = &[];
                    match reply {
                        // A reply to an earlier, timed-out request: keep waiting.
                        Ok(r) if r.addr != addr => continue,
                        Ok(r) if r.status == status::OK => return Ok(r.data),
                        // The device saw our request damaged: send it again.
                        Ok(r) if r.status == status::BAD_CRC => break 'wait,
                        Ok(r) => {
                            return Err(DriverError::Device {
                                device: self.link.describe(),
                                addr,
                                status: r.status,
                                what: rtl::frame::status_name(r.status),
                            })
                        }
                        // We saw the reply damaged: ask again.
                        Err(_) => break 'wait,
                    }
                }
            }
        }
        Err(DriverError::Timeout {
            device: self.link.describe(),
            what: format!("{op:?} of register {addr:#04x}"),
            timeout: self.timeout,
            attempts: self.retries + 1,
        })
    }
}

impl<L: ByteLink> PatternGenerator for UartPatternGenerator<L> {
    fn identify(&mut self) -> Result<DeviceIdentity, DriverError> {
        let id = self.read_register(reg::ID)?;
        if id != rtl::regmap::lookup(reg::REGISTERS, reg::ID).map_or(0, |r| r.reset as u32) {
            return Err(DriverError::Protocol {
                device: self.link.describe(),
                reason: format!("ID register reads {id:#010x}: not a qkdbench pattern generator"),
            });
        }
        Ok(DeviceIdentity { id, version: self.read_register(reg::VERSION)? })
    }

    fn configure(&mut self, cfg: &PatternConfig) -> Result<PatternSettings, DriverError> {
        let settings = cfg.to_settings()?;
        self.write_register(reg::CTRL, 0)?;
        for (addr, value) in settings.register_writes() {
            if addr != reg::SCRATCH {
                self.write_register(addr, value)?;
            }
        }
        Ok(settings)
    }

    fn start(&mut self) -> Result<(), DriverError> {
        self.write_register(reg::CTRL, CTRL_RUN | CTRL_CLEAR)
    }

    fn stop(&mut self) -> Result<(), DriverError> {
        self.write_register(reg::CTRL, 0)
    }

    fn status(&mut self) -> Result<PatternStatus, DriverError> {
        let st = self.read_register(reg::STATUS)?;
        let lo = self.read_register(reg::PULSE_CNT_LO)?;
        let hi = self.read_register(reg::PULSE_CNT_HI)?;
        Ok(PatternStatus {
            running: st & 1 != 0,
            external_mode: st & 2 != 0,
            pulses: (u64::from(hi) << 32) | u64::from(lo),
            underflows: self.read_register(reg::EXT_UNDERFLOW_CNT)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtl::frame::{encode_reply, FRAME_LEN};
    use std::collections::VecDeque;

    /// A scripted device: answers each request with the next canned reply bytes.
    struct Scripted {
        replies: VecDeque<Vec<u8>>,
        pending: Vec<u8>,
        requests: usize,
    }

    impl ByteLink for Scripted {
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
            assert_eq!(bytes.len(), FRAME_LEN);
            self.requests += 1;
            if let Some(r) = self.replies.pop_front() {
                self.pending.extend(r);
            }
            Ok(())
        }
        fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<usize, DriverError> {
            Ok(hand_over(&mut self.pending, buf))
        }
        fn describe(&self) -> String {
            "scripted".into()
        }
    }

    /// Moves what fits of a test device's pending reply bytes into `buf`.
    fn hand_over(pending: &mut Vec<u8>, buf: &mut [u8]) -> usize {
        let n = pending.len().min(buf.len());
        buf[..n].copy_from_slice(&pending[..n]);
        pending.drain(..n);
        n
    }

    fn driver(replies: Vec<Vec<u8>>) -> UartPatternGenerator<Scripted> {
        let mut d = UartPatternGenerator::new(Scripted { replies: replies.into(), pending: Vec::new(), requests: 0 });
        d.timeout = Duration::from_millis(20);
        d
    }

    #[test]
    fn crc_errors_either_way_are_retried() {
        let mut damaged = encode_reply(status::OK, reg::SCRATCH, 9).to_vec();
        damaged[3] ^= 1;
        let device_saw_bad_crc = encode_reply(status::BAD_CRC, reg::SCRATCH, 0).to_vec();
        let good = encode_reply(status::OK, reg::SCRATCH, 9).to_vec();
        let mut d = driver(vec![damaged, device_saw_bad_crc, good]);
        assert_eq!(d.read_register(reg::SCRATCH).unwrap(), 9);
        assert_eq!((d.link.requests, d.retried()), (3, 2));
    }

    #[test]
    fn silence_is_a_timeout_naming_the_device_and_register() {
        let mut d = driver(vec![]);
        d.retries = 1;
        let e = d.read_register(reg::STATUS).unwrap_err();
        assert!(matches!(e, DriverError::Timeout { attempts: 2, .. }));
        assert!(e.to_string().contains("scripted") && e.to_string().contains("0x03"), "{e}");
    }

    #[test]
    fn garbage_and_stale_replies_are_skipped() {
        let mut bytes = vec![0xFF, 0x00];
        bytes.extend(encode_reply(status::OK, reg::ID, 1)); // stale: another register
        bytes.extend(encode_reply(status::OK, reg::SCRATCH, 42));
        let mut d = driver(vec![bytes]);
        assert_eq!(d.read_register(reg::SCRATCH).unwrap(), 42);
    }

    /// A device answering through the golden register model, whose pulse counter can be set
    /// past 2^32 (the RTL would need 43 s of device time, 130 s of co-simulation, to get there).
    struct ModelDevice {
        regs: rtl::model::pattern_gen_regs::PatternGenRegisters,
        pending: Vec<u8>,
        /// The pulse count the device moves to after each reply: the counter runs between
        /// the driver's LO and HI reads.
        then: VecDeque<u64>,
    }

    impl ByteLink for ModelDevice {
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), DriverError> {
            let f: &[u8; FRAME_LEN] = bytes.try_into().expect("one frame");
            self.pending.extend(self.regs.handle_request(f));
            if let Some(n) = self.then.pop_front() {
                self.regs.set_pulse_count(n);
            }
            Ok(())
        }
        fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> Result<usize, DriverError> {
            Ok(hand_over(&mut self.pending, buf))
        }
        fn describe(&self) -> String {
            "model".into()
        }
    }

    /// PULSE_CNT_LO latches the high word, so a count read while the counter crosses a
    /// 2^32 boundary is the count at the LO read, never a mix of two counts (which would be
    /// off by 2^32). The driver must read LO first, then HI.
    #[test]
    fn the_pulse_count_is_read_whole_across_a_2_pow_32_boundary() {
        let mut regs = rtl::model::pattern_gen_regs::PatternGenRegisters::new();
        let before = (5u64 << 32) | 0xFFFF_FFF0;
        regs.set_pulse_count(before);
        // STATUS, then LO at `before`; the counter crosses into 6 << 32 before HI is read.
        let then = [before, (6 << 32) | 0x20, (6 << 32) | 0x40, (6 << 32) | 0x60].into();
        let mut d = UartPatternGenerator::new(ModelDevice { regs, pending: Vec::new(), then });
        assert_eq!(d.status().unwrap().pulses, before);
        // HI alone returns the latch of the last LO read, not the live counter.
        assert_eq!(d.read_register(reg::PULSE_CNT_HI).unwrap(), 5);
        assert_eq!(d.status().unwrap().pulses, (6 << 32) | 0x60);
    }
}
