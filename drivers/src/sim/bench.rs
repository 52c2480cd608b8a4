//! The simulated bench: pattern generator → optics → time tagger, advanced in slices of
//! device time, producing the tagger's word stream.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use rtl::model::pattern_gen::PatternSettings;
use rtl::model::pattern_gen_regs::PatternGenRegisters;
use rtl::model::time_tagger::{TaggerModel, COARSE_PERIOD_PS};
use rtl::{Hit, TimeTaggerCore, TimeTaggerRtl};

use super::config::{Fault, Fidelity, OpticsConfig};
use super::optics::{Cause, Event, Optics, WINDOW_PULSES};
use super::pty::{Clocking, PtyPatternGen};
use super::symbols::{ModelSymbols, SlotWindow};
use super::truth::{Truth, TruthRecord};
use crate::error::DriverError;

/// Device time one stream read advances the bench by, ps (1 ms).
pub const SLICE_PS: f64 = 1e9;

/// How to build a bench.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// RTL or golden models.
    pub fidelity: Fidelity,
    /// The physics.
    pub optics: OpticsConfig,
    /// Keep every event as a [`TruthRecord`] (memory: 24 bytes per event).
    pub keep_truth: bool,
    /// End the stream after this much device time, s (a pass ends by itself).
    pub duration_s: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Queued(Event);

impl PartialEq for Queued {
    fn eq(&self, o: &Self) -> bool {
        self.0.t_ps == o.0.t_ps
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Queued {
    // Reversed: BinaryHeap is a max-heap and the earliest event must come out first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.0.t_ps.total_cmp(&self.0.t_ps)
    }
}

/// A pulse train in progress: pulse `i` leaves at `t0_ps + i * period`.
#[derive(Debug, Clone, Copy)]
struct PulseRun {
    t0_ps: f64,
    next: u64,
    settings: PatternSettings,
}

enum PgSide {
    Fast(Arc<Mutex<PatternGenRegisters>>),
    Rtl { pty: PtyPatternGen, batches: Receiver<(u64, Vec<u32>)>, in_flight: Arc<AtomicUsize>, window: SlotWindow },
}

impl std::fmt::Debug for PgSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PgSide::Fast(_) => f.write_str("Fast"),
            PgSide::Rtl { pty, .. } => write!(f, "Rtl({})", pty.path()),
        }
    }
}

/// What one [`SimBench::advance`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance {
    /// More to come.
    Running,
    /// The run reached its end (pass over or duration reached); everything is flushed.
    Ended,
}

/// The bench.
pub struct SimBench {
    optics: Optics,
    tagger: Box<dyn TimeTaggerCore>,
    pg: PgSide,
    run: Option<PulseRun>,
    heap: BinaryHeap<Queued>,
    last_click_ps: [f64; 4],
    now_ps: f64,
    end_ps: f64,
    fine_bins: u16,
    ppm: f64,
    margin_ps: f64,
    truth: Truth,
    events: Vec<Event>,
    hits: Vec<Hit>,
    ended: bool,
}

impl std::fmt::Debug for SimBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimBench").field("pg", &self.pg).field("now_ps", &self.now_ps).finish_non_exhaustive()
    }
}

impl SimBench {
    /// Builds a bench. In RTL fidelity the pattern generator is hosted behind a
    /// pseudo-terminal ([`SimBench::pattern_gen_path`]); in fast fidelity its registers
    /// are reached through [`SimBench::pattern_gen_registers`].
    pub fn new(cfg: BenchConfig) -> Result<Self, DriverError> {
        cfg.optics.validate()?;
        let (tagger, pg): (Box<dyn TimeTaggerCore>, PgSide) = match cfg.fidelity {
            Fidelity::Fast => {
                (Box::new(TaggerModel::new()), PgSide::Fast(Arc::new(Mutex::new(PatternGenRegisters::new()))))
            }
            Fidelity::Rtl => {
                let (tx, rx) = std::sync::mpsc::channel();
                let in_flight = Arc::new(AtomicUsize::new(0));
                let pty = PtyPatternGen::spawn(Clocking::FreeRun { sink: tx, in_flight: in_flight.clone() })?;
                (
                    Box::new(TimeTaggerRtl::new()),
                    PgSide::Rtl { pty, batches: rx, in_flight, window: SlotWindow::default() },
                )
            }
        };
        let det_jitter = cfg.optics.detectors.iter().fold(0f64, |m, d| m.max(d.jitter_ps));
        let delays =
            cfg.optics.detectors.iter().map(|d| d.delay_ps.abs()).fold(cfg.optics.sync.delay_ps.abs(), f64::max);
        let margin_ps = 10.0 * det_jitter.max(cfg.optics.sync.jitter_ps) + delays + 1000.0;
        let end_s = match (cfg.duration_s, cfg.optics.channel.duration_s()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let ppm = cfg.optics.tagger_clock_ppm;
        Ok(SimBench {
            optics: Optics::new(cfg.optics),
            tagger,
            pg,
            run: None,
            heap: BinaryHeap::new(),
            last_click_ps: [f64::NEG_INFINITY; 4],
            now_ps: 0.0,
            end_ps: end_s.map_or(f64::INFINITY, |s| s * 1e12),
            fine_bins: 1000,
            ppm,
            margin_ps,
            truth: Truth { records: if cfg.keep_truth { Some(Vec::new()) } else { None }, ..Truth::default() },
            events: Vec::new(),
            hits: Vec::new(),
            ended: false,
        })
    }

    /// The pattern generator's register file (fast fidelity).
    pub fn pattern_gen_registers(&self) -> Option<Arc<Mutex<PatternGenRegisters>>> {
        match &self.pg {
            PgSide::Fast(r) => Some(r.clone()),
            PgSide::Rtl { .. } => None,
        }
    }

    /// The pseudo-terminal of the pattern-generator RTL (RTL fidelity).
    pub fn pattern_gen_path(&self) -> Option<&str> {
        match &self.pg {
            PgSide::Rtl { pty, .. } => Some(pty.path()),
            PgSide::Fast(_) => None,
        }
    }

    /// Clears a departed client's exclusive lock on the RTL's pseudo-terminal (RTL fidelity).
    pub fn release_pattern_gen_port(&self) {
        if let PgSide::Rtl { pty, .. } = &self.pg {
            pty.release_exclusive();
        }
    }

    /// The tagger core (model or RTL), for register access.
    pub fn tagger(&mut self) -> &mut dyn TimeTaggerCore {
        self.tagger.as_mut()
    }

    /// Called by the link when the tagger's FINE_BINS register is written.
    pub fn set_fine_bins(&mut self, bins: u16) {
        self.fine_bins = bins.max(1);
    }

    /// "rtl" or "model".
    pub fn tagger_fidelity(&self) -> &'static str {
        self.tagger.fidelity()
    }

    /// Ground truth so far.
    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    /// The optics model.
    pub fn optics(&self) -> &Optics {
        &self.optics
    }

    /// Device time simulated so far, s.
    pub fn now_s(&self) -> f64 {
        self.now_ps * 1e-12
    }

    fn fault_active(&self, t_ps: f64, pick: impl Fn(&Fault) -> Option<(f64, f64)>) -> Option<(f64, f64)> {
        let t = t_ps * 1e-12;
        self.optics.config().faults.iter().filter_map(pick).find(|(a, b)| t >= *a && t < *b)
    }

    /// Advances device time by `dt_ps` and appends the tagger's output words to `words`.
    pub fn advance(&mut self, dt_ps: f64, words: &mut Vec<u32>) -> Result<Advance, DriverError> {
        if self.ended {
            return Ok(Advance::Ended);
        }
        let disconnect = self.optics.config().faults.iter().find_map(|f| match f {
            Fault::Disconnect { at_s } => Some(*at_s),
            _ => None,
        });
        if let Some(at_s) = disconnect {
            if self.now_ps * 1e-12 >= at_s {
                return Err(DriverError::Disconnected {
                    device: format!("simulated time tagger ({})", self.tagger.fidelity()),
                    reason: format!("disconnect fault at {at_s} s"),
                });
            }
        }
        // Register accesses take tagger cycles too; device time never runs behind them.
        let tagger_now_ps = self.tagger.cycle() as f64 * COARSE_PERIOD_PS as f64 / (1.0 + self.ppm * 1e-6);
        self.now_ps = self.now_ps.max(tagger_now_ps);
        let mut t_end = self.now_ps + dt_ps;
        let last = t_end >= self.end_ps;
        if last {
            t_end = self.end_ps;
        }
        let period = self.optics.period_ps();
        match &mut self.pg {
            PgSide::Fast(regs) => {
                let mut regs = regs.lock().expect("register file lock");
                let cleared = regs.take_clear();
                if !regs.running() {
                    self.run = None;
                } else if cleared || self.run.is_none() {
                    // The first pulse leaves one jitter margin after now, so that no event
                    // of it can land before the tagger's present cycle.
                    self.run =
                        Some(PulseRun { t0_ps: self.now_ps + self.margin_ps, next: 0, settings: regs.settings() });
                    self.truth.pulses_emitted = 0;
                }
                if let Some(run) = &mut self.run {
                    let i_end = ((t_end - run.t0_ps) / period).ceil().max(0.0) as u64;
                    let src = ModelSymbols(run.settings);
                    while run.next < i_end {
                        let i1 = (run.next + WINDOW_PULSES).min(i_end);
                        self.optics.window(&src, run.next, i1, run.t0_ps, &mut self.events);
                        run.next = i1;
                    }
                    self.truth.pulses_emitted = run.next;
                    regs.set_pulse_count(run.next);
                }
            }
            PgSide::Rtl { batches, in_flight, window, .. } => {
                // The RTL runs on its own clock: take batches until they cover this slice.
                let mut covered = self.now_ps;
                while covered < t_end {
                    let (cycles, slots) = match batches.recv_timeout(std::time::Duration::from_secs(5)) {
                        Ok(b) => {
                            in_flight.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
                            b
                        }
                        Err(_) => {
                            return Err(DriverError::Simulation("the pattern-generator RTL thread stopped".into()))
                        }
                    };
                    let batch_start = covered;
                    covered += cycles as f64 * period;
                    if slots.is_empty() {
                        self.run = None;
                        continue;
                    }
                    if self.run.is_none() {
                        let t0 = batch_start + (cycles as f64 - slots.len() as f64) * period;
                        self.run = Some(PulseRun { t0_ps: t0, next: 0, settings: PatternSettings::default() });
                        window.base = 0;
                        window.words.clear();
                        self.truth.pulses_emitted = 0;
                    }
                    let run = self.run.as_mut().expect("run started above");
                    // Keep the previous slot for the patterning effect.
                    let keep_from = run.next.saturating_sub(1).max(window.base);
                    window.words.drain(..(keep_from - window.base) as usize);
                    window.base = keep_from;
                    window.words.extend_from_slice(&slots);
                    let i_end = window.base + window.words.len() as u64;
                    while run.next < i_end {
                        let i1 = (run.next + WINDOW_PULSES).min(i_end);
                        self.optics.window(window, run.next, i1, run.t0_ps, &mut self.events);
                        run.next = i1;
                    }
                    self.truth.pulses_emitted = run.next;
                }
                t_end = t_end.max(covered);
            }
        }
        self.optics.noise(t_end, &mut self.events);
        self.heap.extend(self.events.drain(..).map(Queued));
        let horizon = if last { f64::INFINITY } else { t_end - self.margin_ps };
        self.release(horizon);
        let target = if last {
            self.hits.last().map_or(0, |h| h.cycle + 1).max(self.tagger_cycle(t_end))
        } else {
            self.tagger_cycle(horizon.max(0.0))
        };
        self.step_tagger(target, words);
        self.now_ps = t_end;
        if last {
            // Drain the FIFO: a few thousand cycles at one word per cycle.
            let drain = self.tagger.cycle() + 4096;
            self.step_tagger(drain, words);
            self.ended = true;
            return Ok(Advance::Ended);
        }
        Ok(Advance::Running)
    }

    fn tagger_cycle(&self, t_ps: f64) -> u64 {
        (t_ps * (1.0 + self.ppm * 1e-6) / COARSE_PERIOD_PS as f64).floor().max(0.0) as u64
    }

    /// Pops events before `horizon` in time order through the detectors' dead time,
    /// afterpulsing and faults, and turns them into tagger hits.
    fn release(&mut self, horizon: f64) {
        while let Some(Queued(e)) = self.heap.peek().copied() {
            if e.t_ps >= horizon {
                break;
            }
            self.heap.pop();
            if e.channel < 4 {
                let d = usize::from(e.channel);
                if self.optics.blinded(e.channel, e.t_ps) {
                    self.truth.blinded_losses[d] += 1;
                    continue;
                }
                if e.t_ps < self.last_click_ps[d] + self.optics.config().detectors[d].dead_time_ps {
                    self.truth.dead_time_losses[d] += 1;
                    continue;
                }
                self.last_click_ps[d] = e.t_ps;
                if let Some(delay) = self.optics.afterpulse(e.channel) {
                    self.heap.push(Queued(Event {
                        t_ps: e.t_ps + delay,
                        channel: e.channel,
                        cause: Cause::Afterpulse,
                    }));
                }
            }
            let tt = e.t_ps * (1.0 + self.ppm * 1e-6);
            if tt < 0.0 {
                continue;
            }
            let period = COARSE_PERIOD_PS as f64;
            let cycle = (tt / period).floor();
            let fine = (((tt - cycle * period) / period) * f64::from(self.fine_bins)).floor() as u16;
            self.hits.push(Hit::new(cycle as u64, e.channel, fine.min(self.fine_bins - 1)));
            self.truth.events[usize::from(e.channel)][Truth::cause_index(e.cause)] += 1;
            if let Some(r) = &mut self.truth.records {
                r.push(TruthRecord { tagger_time_ps: tt.round() as i64, channel: e.channel, cause: e.cause });
            }
        }
    }

    /// Steps the tagger to cycle `target`, host reading except during host-stall faults.
    fn step_tagger(&mut self, target: u64, words: &mut Vec<u32>) {
        // Hits must be sorted by cycle; events came out in time order, so they are, except
        // across channels within a cycle, which the tagger does not care about.
        let mut used = 0;
        while self.tagger.cycle() < target {
            let now = self.tagger.cycle();
            let t_ps = now as f64 * COARSE_PERIOD_PS as f64 / (1.0 + self.ppm * 1e-6);
            let stall = self.fault_active(t_ps, |f| match f {
                Fault::HostStall { from_s, to_s } => Some((*from_s, *to_s)),
                _ => None,
            });
            let stall_edges = self.optics.config().faults.iter().filter_map(|f| match f {
                Fault::HostStall { from_s, to_s } => Some([*from_s, *to_s]),
                _ => None,
            });
            // Step to the next stall boundary or the target.
            let mut seg_end = target;
            for edge in stall_edges.flatten() {
                let c = self.tagger_cycle(edge * 1e12);
                if c > now && c < seg_end {
                    seg_end = c;
                }
            }
            let r = self.tagger.step(seg_end - now, &self.hits[used..], stall.is_none(), words);
            used += r.consumed;
            self.truth.late_hits += r.late as u64;
        }
        self.hits.drain(..used);
    }
}
