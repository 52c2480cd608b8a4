//! Golden model of the time tagger, cycle-exact with `rtl/time_tagger/time_tagger_top.v`.
//!
//! It keeps the same state as the RTL, but visits only the cycles where something happens:
//! a hit, an epoch start (WRAP), the first running cycle, the end of an overflow. Between
//! them the FIFO just drains at one word per cycle, which is computed in one jump. Dead time
//! is kept as "first cycle free again" instead of a down-counter; the two are equal.
//! The words come out when the RTL would read them (one per ready cycle), so a step of the
//! model returns the same words as the same step of the RTL, not just the same stream.

use std::collections::VecDeque;

use crate::error::RtlError;
use crate::hit::{Hit, StepReport};
use crate::regmap::{self, status, time_tagger as reg};
use crate::wire;

/// FIFO depth in words (`DEPTH_LOG2` = 10 in the RTL).
pub const FIFO_DEPTH: usize = 1024;
/// Words kept free for control records: tags that would eat into them start an overflow.
pub const FIFO_RESERVE: usize = 16;
/// An overflow ends in the first cycle whose FIFO level is at or below this.
pub const FIFO_LOW_WATERMARK: usize = 256;
/// Coarse clock period.
pub const COARSE_PERIOD_PS: u64 = 10_000;
/// Cycles per wrap epoch.
pub const EPOCH_CYCLES: u64 = 1 << wire::COARSE_LO_BITS;
const COARSE_LO_MASK: u64 = EPOCH_CYCLES - 1;
const CHANNELS: usize = 8;

/// The tagger's settings registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaggerSettings {
    /// CTRL.RUN.
    pub run: bool,
    /// CH_ENABLE.
    pub ch_enable: u8,
    /// DET_MASK.
    pub det_mask: u8,
    /// FINE_BINS.
    pub fine_bins: u16,
    /// SYNC_CHANNEL.
    pub sync_channel: u8,
    /// SYNC_DIVIDER.
    pub sync_divider: u16,
    /// SYNC_COND_WINDOW_CYC (0: conditional filter off).
    pub cond_window_cyc: u32,
    /// DEAD_TIME_CYC0..7.
    pub dead_time_cyc: [u16; CHANNELS],
}

impl Default for TaggerSettings {
    /// The reset values of the registers.
    fn default() -> Self {
        let r = |addr| regmap::lookup(reg::REGISTERS, addr).expect("register in map").reset;
        TaggerSettings {
            run: false,
            ch_enable: r(reg::CH_ENABLE) as u8,
            det_mask: r(reg::DET_MASK) as u8,
            fine_bins: r(reg::FINE_BINS) as u16,
            sync_channel: r(reg::SYNC_CHANNEL) as u8,
            sync_divider: r(reg::SYNC_DIVIDER) as u16,
            cond_window_cyc: r(reg::SYNC_COND_WINDOW_CYC) as u32,
            dead_time_cyc: [r(reg::DEAD_TIME_CYC0) as u16; CHANNELS],
        }
    }
}

impl TaggerSettings {
    /// The register writes that program these settings (RUN last, in CTRL).
    pub fn register_writes(&self) -> Vec<(u8, u32)> {
        let mut w = vec![
            (reg::CH_ENABLE, u32::from(self.ch_enable)),
            (reg::DET_MASK, u32::from(self.det_mask)),
            (reg::FINE_BINS, u32::from(self.fine_bins)),
            (reg::SYNC_CHANNEL, u32::from(self.sync_channel)),
            (reg::SYNC_DIVIDER, u32::from(self.sync_divider)),
            (reg::SYNC_COND_WINDOW_CYC, self.cond_window_cyc),
        ];
        for (k, d) in self.dead_time_cyc.iter().enumerate() {
            w.push((reg::DEAD_TIME_CYC0 + k as u8, u32::from(*d)));
        }
        w.push((reg::CTRL, u32::from(self.run)));
        w
    }
}

/// The golden time tagger.
#[derive(Debug, Clone)]
pub struct TaggerModel {
    s: TaggerSettings,
    coarse: u64,
    fifo: VecDeque<u32>,
    was_running: bool,
    ovf: bool,
    dead_free_from: [u64; CHANNELS],
    missed: [u64; CHANNELS],
    div_cnt: u16,
    pend: Option<(u64, u16)>,
    max_level: usize,
    ovf_count: u32,
    missed_total: u32,
    tag_count: u64,
    tag_hi_latch: u32,
}

impl Default for TaggerModel {
    fn default() -> Self {
        Self::new()
    }
}

impl TaggerModel {
    /// A tagger fresh out of reset, at cycle 0, not running.
    pub fn new() -> Self {
        TaggerModel {
            s: TaggerSettings::default(),
            coarse: 0,
            fifo: VecDeque::with_capacity(FIFO_DEPTH),
            was_running: false,
            ovf: false,
            dead_free_from: [0; CHANNELS],
            missed: [0; CHANNELS],
            div_cnt: 0,
            pend: None,
            max_level: 0,
            ovf_count: 0,
            missed_total: 0,
            tag_count: 0,
            tag_hi_latch: 0,
        }
    }

    /// The current coarse cycle.
    pub fn cycle(&self) -> u64 {
        self.coarse
    }

    /// The settings now in force.
    pub fn settings(&self) -> &TaggerSettings {
        &self.s
    }

    /// Words in the FIFO now.
    pub fn fifo_level(&self) -> usize {
        self.fifo.len()
    }

    /// Whether the tagger is in overflow.
    pub fn in_overflow(&self) -> bool {
        self.ovf
    }

    /// Writes a register (one cycle), as [`crate::TimeTaggerRtl::write_reg`].
    pub fn write_reg(&mut self, addr: u8, value: u32) -> Result<(), RtlError> {
        match self.reg_cycle(true, addr, value).0 {
            status::OK => Ok(()),
            s => Err(RtlError::from_status(addr, s)),
        }
    }

    /// Reads a register (one cycle), as [`crate::TimeTaggerRtl::read_reg`].
    pub fn read_reg(&mut self, addr: u8) -> Result<u32, RtlError> {
        match self.reg_cycle(false, addr, 0) {
            (status::OK, v) => Ok(v),
            (s, _) => Err(RtlError::from_status(addr, s)),
        }
    }

    /// Steps `cycles` clocks with `hits`, as [`crate::TimeTaggerRtl::step`].
    pub fn step(&mut self, cycles: u64, hits: &[Hit], out_ready: bool, out: &mut Vec<u32>) -> StepReport {
        let end = self.coarse + cycles;
        let (mut hi, mut late) = (0usize, 0usize);
        while self.coarse < end {
            while hi < hits.len() && hits[hi].cycle < self.coarse {
                late += 1;
                hi += 1;
            }
            let next_hit = if hi < hits.len() && hits[hi].cycle < end { hits[hi].cycle } else { end };
            if next_hit > self.coarse {
                self.idle_until(next_hit, out_ready, out);
                continue;
            }
            let mut h = [None; CHANNELS];
            while hi < hits.len() && hits[hi].cycle == self.coarse {
                let ch = usize::from(hits[hi].channel & 7);
                if h[ch].is_none() {
                    h[ch] = Some(hits[hi].fine);
                }
                hi += 1;
            }
            self.cycle_logic(&h, out_ready, out);
        }
        StepReport { consumed: hi, late }
    }

    /// Plain cycles up to `t` (exclusive) with no hits: visits only the ones that write.
    fn idle_until(&mut self, t: u64, ready: bool, out: &mut Vec<u32>) {
        while self.coarse < t {
            let c = self.coarse;
            let run = self.s.run;
            let wraps = run && !self.ovf && ((c & COARSE_LO_MASK) == 0 || !self.was_running);
            let exits = self.ovf && self.fifo.len() <= FIFO_LOW_WATERMARK;
            if wraps || exits {
                self.cycle_logic(&[None; CHANNELS], ready, out);
                continue;
            }
            let mut next = t;
            if run && !self.ovf {
                next = next.min((c | COARSE_LO_MASK) + 1);
            }
            if self.ovf && ready {
                next = next.min(c + (self.fifo.len() - FIFO_LOW_WATERMARK) as u64);
            }
            if ready {
                let pops = ((next - c) as usize).min(self.fifo.len());
                out.extend(self.fifo.drain(..pops));
            }
            self.was_running = run;
            self.coarse = next;
        }
    }

    #[inline]
    fn clamp_fine(&self, f: u16) -> u16 {
        let f = f & 0x3FF;
        if f >= self.s.fine_bins {
            self.s.fine_bins - 1
        } else {
            f
        }
    }

    /// One clock cycle, exactly as the RTL's always block.
    fn cycle_logic(&mut self, hits: &[Option<u16>; CHANNELS], ready: bool, out: &mut Vec<u32>) {
        let c = self.coarse;
        let s = self.s;
        let level = self.fifo.len();
        if ready && level > 0 {
            out.push(self.fifo.pop_front().expect("level > 0"));
        }
        let pushed_before = self.fifo.len();

        // 1. front end
        let mut acc = [None; CHANNELS];
        for k in 0..CHANNELS {
            if let Some(f) = hits[k] {
                if s.run && s.ch_enable & (1 << k) != 0 && c >= self.dead_free_from[k] {
                    acc[k] = Some(f);
                    self.dead_free_from[k] = c + u64::from(s.dead_time_cyc[k]) + 1;
                }
            }
        }
        // 2. sync reduction
        let sc = usize::from(s.sync_channel & 7);
        let cond_on = s.cond_window_cyc != 0;
        let mut sync_pass = None;
        if let Some(f) = acc[sc] {
            if self.div_cnt == 0 {
                sync_pass = Some(f);
            }
            self.div_cnt = if u32::from(self.div_cnt) + 1 >= u32::from(s.sync_divider) { 0 } else { self.div_cnt + 1 };
            if sync_pass.is_none() || cond_on {
                acc[sc] = None;
            }
        }
        // 3. release of a held sync
        let det_any = (0..CHANNELS).any(|k| k != sc && s.det_mask & (1 << k) != 0 && acc[k].is_some());
        let mut released = None;
        if cond_on && det_any {
            if let Some((pc, pf)) = self.pend {
                if c - pc <= u64::from(s.cond_window_cyc) && (pc >> 18) == (c >> 18) {
                    released = Some((pc, pf));
                    self.pend = None;
                }
            }
        }
        if cond_on {
            if let Some(f) = sync_pass {
                self.pend = Some((c, self.clamp_fine(f)));
            }
        }
        // 4. packer
        let run = s.run;
        let wrap_now = run && ((c & COARSE_LO_MASK) == 0 || !self.was_running);
        self.was_running = run;
        let ntag = usize::from(released.is_some()) + acc.iter().filter(|a| a.is_some()).count();
        let coarse_lo = (c & COARSE_LO_MASK) as u32;
        let epoch = c >> wire::COARSE_LO_BITS;
        if !self.ovf {
            if level + usize::from(wrap_now) + ntag > FIFO_DEPTH - FIFO_RESERVE {
                if wrap_now {
                    self.fifo.push_back(wire::wrap(epoch));
                }
                self.fifo.push_back(wire::overflow(wire::kind::OVF_BEGIN, coarse_lo));
                self.ovf = true;
                self.ovf_count = self.ovf_count.wrapping_add(1);
                self.count_missed(&acc, released.is_some(), sc, ntag);
            } else {
                if wrap_now {
                    self.fifo.push_back(wire::wrap(epoch));
                }
                if let Some((pc, pf)) = released {
                    self.fifo.push_back(wire::tag(sc as u8, (pc & COARSE_LO_MASK) as u32, pf));
                }
                for (k, a) in acc.iter().enumerate() {
                    if let Some(f) = a {
                        let f = self.clamp_fine(*f);
                        self.fifo.push_back(wire::tag(k as u8, coarse_lo, f));
                    }
                }
                self.tag_count += ntag as u64;
            }
        } else {
            self.count_missed(&acc, released.is_some(), sc, ntag);
            if level <= FIFO_LOW_WATERMARK {
                self.fifo.push_back(wire::wrap(epoch));
                self.fifo.push_back(wire::overflow(wire::kind::OVF_END, coarse_lo));
                for k in 0..CHANNELS {
                    let m = self.missed[k];
                    if m != 0 {
                        if m >> wire::MISSED_BITS != 0 {
                            self.fifo.push_back(wire::missed(wire::kind::MISSED_HI, k as u8, m >> wire::MISSED_BITS));
                        }
                        self.fifo.push_back(wire::missed(wire::kind::MISSED, k as u8, m));
                        self.missed[k] = 0;
                    }
                }
                self.ovf = false;
            }
        }
        let level_next = self.fifo.len();
        debug_assert!(level_next >= pushed_before);
        self.max_level = self.max_level.max(level_next);
        self.coarse += 1;
    }

    fn count_missed(&mut self, acc: &[Option<u16>; CHANNELS], released: bool, sc: usize, ntag: usize) {
        if released {
            self.missed[sc] += 1;
        }
        for (k, a) in acc.iter().enumerate() {
            if a.is_some() {
                self.missed[k] += 1;
            }
        }
        self.missed_total = self.missed_total.wrapping_add(ntag as u32);
    }

    /// One register-access cycle: returns (status, read data).
    fn reg_cycle(&mut self, write: bool, addr: u8, wdata: u32) -> (u8, u32) {
        let st = if write {
            regmap::write_status(reg::REGISTERS, addr, wdata)
        } else if regmap::lookup(reg::REGISTERS, addr).is_some() {
            status::OK
        } else {
            status::UNKNOWN_REG
        };
        let rdata = self.read_value(addr);
        if write && st == status::OK && addr == reg::CTRL && wdata & 2 != 0 {
            self.clear(wdata & 1 != 0);
            return (st, rdata);
        }
        let mut sink = Vec::new();
        self.cycle_logic(&[None; CHANNELS], false, &mut sink);
        if !write && addr == reg::TAG_COUNT_LO {
            self.tag_hi_latch = (self.tag_count >> 32) as u32;
        }
        if write && st == status::OK {
            let s = &mut self.s;
            match addr {
                reg::CTRL => s.run = wdata & 1 != 0,
                reg::CH_ENABLE => s.ch_enable = wdata as u8,
                reg::FINE_BINS => s.fine_bins = wdata as u16,
                reg::SYNC_CHANNEL => s.sync_channel = wdata as u8,
                reg::SYNC_DIVIDER => s.sync_divider = wdata as u16,
                reg::SYNC_COND_WINDOW_CYC => s.cond_window_cyc = wdata,
                reg::DET_MASK => s.det_mask = wdata as u8,
                a if (reg::DEAD_TIME_CYC0..=reg::DEAD_TIME_CYC7).contains(&a) => {
                    s.dead_time_cyc[usize::from(a - reg::DEAD_TIME_CYC0)] = wdata as u16
                }
                _ => {}
            }
        }
        (st, rdata)
    }

    /// CLEAR: the FIFO, overflow, counters and per-channel state go; time goes on.
    fn clear(&mut self, run: bool) {
        self.coarse += 1;
        self.fifo.clear();
        self.was_running = false;
        self.ovf = false;
        self.div_cnt = 0;
        self.pend = None;
        self.max_level = 0;
        self.ovf_count = 0;
        self.missed_total = 0;
        self.tag_count = 0;
        self.tag_hi_latch = 0;
        self.dead_free_from = [0; CHANNELS];
        self.missed = [0; CHANNELS];
        self.s.run = run;
    }

    fn read_value(&self, addr: u8) -> u32 {
        let s = &self.s;
        let reset = |a| regmap::lookup(reg::REGISTERS, a).map_or(0, |r| r.reset as u32);
        match addr {
            reg::ID | reg::VERSION | reg::COARSE_PERIOD_PS => reset(addr),
            reg::CTRL => u32::from(s.run),
            reg::STATUS => u32::from(s.run) | u32::from(self.ovf) << 1,
            reg::CH_ENABLE => u32::from(s.ch_enable),
            reg::FINE_BINS => u32::from(s.fine_bins),
            reg::SYNC_CHANNEL => u32::from(s.sync_channel),
            reg::SYNC_DIVIDER => u32::from(s.sync_divider),
            reg::SYNC_COND_WINDOW_CYC => s.cond_window_cyc,
            reg::DET_MASK => u32::from(s.det_mask),
            reg::FIFO_DEPTH => FIFO_DEPTH as u32,
            reg::FIFO_LEVEL => self.fifo.len() as u32,
            reg::FIFO_MAX_LEVEL => self.max_level as u32,
            reg::OVERFLOW_COUNT => self.ovf_count,
            reg::TAG_COUNT_LO => self.tag_count as u32,
            reg::TAG_COUNT_HI => self.tag_hi_latch,
            reg::MISSED_COUNT => self.missed_total,
            a if (reg::DEAD_TIME_CYC0..=reg::DEAD_TIME_CYC7).contains(&a) => {
                u32::from(s.dead_time_cyc[usize::from(a - reg::DEAD_TIME_CYC0)])
            }
            _ => 0,
        }
    }
}
