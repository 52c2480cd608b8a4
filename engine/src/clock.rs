//! Clock recovery from the sync channel: the period, phase and drift of the transmitter's
//! pulse train as seen by the tagger, a lock state machine with holdover, and absolute
//! pulse indices from the frame mark (QKD-REFERENCE.md section 5).
//!
//! The tracker is an alpha-beta filter on the sync arrival times. Missing syncs are
//! bridged (the gap is a whole number of sync periods), extra tags (far from a predicted
//! sync) are rejected and counted, and during a dropout the last period carries the
//! prediction (holdover) until syncs come back inside a gate that widens with time.

use serde::Serialize;

/// Rounds to the nearest integer (ties to even) without a libm call: adding and removing
/// 1.5 * 2^52 leaves the integer part in the mantissa. Exact for |x| < 2^51, which every
/// pulse or sync offset here is by many orders of magnitude.
#[inline(always)]
pub fn round_fast(x: f64) -> f64 {
    const M: f64 = 6_755_399_441_055_744.0;
    (x + M) - M
}

/// Lock state of the clock recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockState {
    /// Looking for a run of syncs with the nominal spacing.
    Searching,
    /// Tracking syncs.
    Locked,
    /// Syncs missing; predicting from the last period.
    Holdover,
    /// Holdover ran too long: the prediction can no longer be trusted.
    Lost,
}

/// Relative drift of the predicted sync times in holdover that a returning sync may show,
/// per second of holdover (1 ppm: see `ClockTracker::sync`).
const HOLDOVER_DRIFT: f64 = 1e-6;

/// Settings of the clock recovery.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockConfig {
    /// Nominal pulse period, ps (1e12 / the generator's pulse rate).
    pub pulse_period_ps: f64,
    /// Pulses per sync (the generator's SYNC_PERIOD).
    pub sync_period_pulses: u32,
    /// Syncs per frame mark (FRAME_PERIOD).
    pub frame_period_syncs: u32,
    /// Largest clock offset between transmitter and tagger, plus Doppler, ppm.
    pub max_offset_ppm: f64,
    /// Syncs with consistent spacing needed to lock.
    pub lock_after_syncs: u32,
    /// A sync further than this from its prediction while locked is rejected, ps.
    pub locked_gate_ps: f64,
    /// Holdover gives up (Lost) after this long without syncs, s.
    pub max_holdover_s: f64,
    /// Filter gains: phase (alpha) and period (beta).
    pub alpha: f64,
    /// See `alpha`.
    pub beta: f64,
    /// A frame mark's device time (ps) and absolute pulse index, for a stream that starts
    /// in the middle of a run (a recording opened with the live view's `r`): the first frame
    /// mark while locked is indexed from it instead of as pulse 0.
    pub index_reference: Option<(f64, i64)>,
}

impl ClockConfig {
    /// The tracker's defaults for pulses every `pulse_period_ps`, a sync every
    /// `sync_period_pulses` and a frame mark every `frame_period_syncs` syncs.
    pub fn new(pulse_period_ps: f64, sync_period_pulses: u32, frame_period_syncs: u32) -> Self {
        ClockConfig {
            pulse_period_ps,
            sync_period_pulses,
            frame_period_syncs,
            max_offset_ppm: 100.0,
            lock_after_syncs: 4,
            locked_gate_ps: 2_000.0,
            max_holdover_s: 30.0,
            alpha: 0.2,
            beta: 0.02,
            index_reference: None,
        }
    }
}

/// The clock fit while locked and indexed: pulse i arrives (offset 0) at
/// `t_ref_ps + (i - pulse_base) * pulse_period_ps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LockedFit {
    /// Time of the filtered reference sync, ps.
    pub t_ref_ps: f64,
    /// Absolute pulse index of the reference sync.
    pub pulse_base: i64,
    /// Pulse period, ps, and its inverse (kept with it: the same value on every path).
    pub pulse_period_ps: f64,
    /// 1 / pulse_period_ps.
    pub inv_pulse_period: f64,
    /// Time of the last accepted sync, ps (holdover starts 3.5 sync periods after it).
    pub last_sync_ps: f64,
    /// Sync period, ps.
    pub sync_period_ps: f64,
}

/// The clock recovery.
#[derive(Debug, Clone)]
pub struct ClockTracker {
    cfg: ClockConfig,
    state: LockState,
    /// Time of the reference sync (filtered), ps.
    t_ref: f64,
    /// Sync number of the reference sync, counted from the first lock.
    k_ref: i64,
    /// Sync period, ps.
    period: f64,
    /// Last accepted sync, ps.
    last_sync: f64,
    /// Candidate syncs while searching.
    search: Vec<f64>,
    /// Frame marks seen while searching (they index the syncs once the lock comes).
    search_frames: Vec<f64>,
    /// Sync number (in k_ref's count) that carries pulse index 0, once a frame mark fixed it.
    k_zero: Option<i64>,
    /// The latest frame mark's time and absolute pulse index (or the configured reference).
    frame_ref: Option<(f64, i64)>,
    /// The pulse index of the first frame mark indexed: where this stream's pulse count
    /// starts (0, unless the stream starts mid-run).
    origin: Option<i64>,
    /// 1 / pulses per sync, and 1 / the pulse period now (kept with `period`).
    inv_sync_pulses: f64,
    inv_pulse_period: f64,
    /// Counters.
    pub stats: ClockStats,
}

/// What the clock recovery has seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ClockStats {
    /// Syncs accepted.
    pub syncs_accepted: u64,
    /// Syncs rejected as far from any prediction (extra tags).
    pub syncs_rejected: u64,
    /// Syncs bridged over (missing in the stream).
    pub syncs_missing: u64,
    /// Frame marks consistent with the sync count.
    pub frames_ok: u64,
    /// Frame marks that disagreed with the sync count (re-indexed).
    pub frame_slips: u64,
    /// Times the lock was (re)acquired.
    pub locks: u64,
}

impl ClockTracker {
    /// A tracker, searching.
    pub fn new(cfg: ClockConfig) -> Self {
        let period = cfg.pulse_period_ps * f64::from(cfg.sync_period_pulses);
        ClockTracker {
            cfg,
            state: LockState::Searching,
            t_ref: 0.0,
            k_ref: 0,
            period,
            last_sync: f64::NEG_INFINITY,
            search: Vec::new(),
            search_frames: Vec::new(),
            k_zero: None,
            frame_ref: cfg.index_reference,
            origin: None,
            inv_sync_pulses: 1.0 / f64::from(cfg.sync_period_pulses.max(1)),
            inv_pulse_period: f64::from(cfg.sync_period_pulses.max(1)) / period,
            stats: ClockStats::default(),
        }
    }

    /// The lock state.
    pub fn state(&self) -> LockState {
        self.state
    }

    /// The sync period now, ps.
    pub fn sync_period_ps(&self) -> f64 {
        self.period
    }

    /// The pulse period now, ps (the transmitter's, as seen through Doppler and clock).
    pub fn pulse_period_ps(&self) -> f64 {
        self.period / f64::from(self.cfg.sync_period_pulses)
    }

    /// Relative frequency offset of the received pulse train from nominal (Doppler + clock).
    pub fn offset_ratio(&self) -> f64 {
        self.pulse_period_ps() / self.cfg.pulse_period_ps - 1.0
    }

    /// The fit now: (time of the filtered reference sync, sync period), ps; None before
    /// the first lock.
    pub fn fit(&self) -> Option<(f64, f64)> {
        (self.stats.locks > 0).then_some((self.t_ref, self.period))
    }

    /// Whether pulse indices are absolute (a frame mark was seen while locked).
    pub fn indexed(&self) -> bool {
        self.k_zero.is_some()
    }

    /// Called for the passage of time without syncs (any tag's time): moves to holdover or
    /// lost when syncs stop.
    pub fn tick(&mut self, t: f64) {
        if self.state == LockState::Locked && t - self.last_sync > 3.5 * self.period {
            self.state = LockState::Holdover;
        }
        // (Both steps at once: the first tag after a long silence must not be indexed by a
        // prediction older than the holdover limit.)
        if self.state == LockState::Holdover && (t - self.last_sync) * 1e-12 > self.cfg.max_holdover_s {
            self.state = LockState::Lost;
            self.k_zero = None;
        }
    }

    /// A sync tag at `t` ps.
    pub fn sync(&mut self, t: f64) {
        self.tick(t);
        match self.state {
            LockState::Searching | LockState::Lost => self.search_with(t),
            LockState::Locked | LockState::Holdover => {
                let n = ((t - self.t_ref) / self.period).round();
                if n < 1.0 {
                    self.stats.syncs_rejected += 1;
                    return;
                }
                let predicted = self.t_ref + n * self.period;
                let r = t - predicted;
                let gate = if self.state == LockState::Locked {
                    self.cfg.locked_gate_ps
                } else {
                    // The prediction drifts in holdover: widen with the time since the
                    // last sync by HOLDOVER_DRIFT (the filtered period's own noise, a few
                    // 1e-9 with 30 ps sync jitter, plus Doppler's change over a LEO pass,
                    // a few 1e-7 per second), up to a quarter period (beyond that n is
                    // ambiguous). A bright sync cannot be confused with anything else, so
                    // a wide gate is safe; a narrow one never relocks (a 1 s dropout with
                    // 6e-9 of period error is 6 ns off).
                    let dt_s = (t - self.last_sync) * 1e-12;
                    (self.cfg.locked_gate_ps + dt_s * 1e12 * HOLDOVER_DRIFT).min(0.25 * self.period)
                };
                if r.abs() > gate {
                    self.stats.syncs_rejected += 1;
                    return;
                }
                let holdover = self.state == LockState::Holdover;
                let (alpha, beta) = if holdover { (1.0, 0.0) } else { (self.cfg.alpha, self.cfg.beta) };
                self.stats.syncs_missing += n as u64 - 1;
                self.t_ref = predicted + alpha * r;
                self.period += beta * r / n;
                self.inv_pulse_period = 1.0 / (self.period * self.inv_sync_pulses);
                self.k_ref += n as i64;
                self.last_sync = t;
                self.stats.syncs_accepted += 1;
                if holdover {
                    self.state = LockState::Locked;
                    self.stats.locks += 1;
                }
            }
        }
    }

    fn search_with(&mut self, t: f64) {
        let nominal = self.cfg.pulse_period_ps * f64::from(self.cfg.sync_period_pulses);
        let tol = nominal * self.cfg.max_offset_ppm * 1e-6 + self.cfg.locked_gate_ps;
        if let Some(&prev) = self.search.last() {
            if (t - prev - nominal).abs() > tol {
                self.search.clear();
                self.search_frames.retain(|&f| f >= t - tol);
            }
        }
        self.search.push(t);
        if self.search.len() as u32 >= self.cfg.lock_after_syncs.max(2) {
            let n = self.search.len();
            self.period = (self.search[n - 1] - self.search[0]) / (n - 1) as f64;
            self.inv_pulse_period = 1.0 / (self.period * self.inv_sync_pulses);
            self.t_ref = t;
            // A new count: sync numbers from before the loss are gone.
            self.k_ref = 0;
            self.k_zero = None;
            self.last_sync = t;
            self.state = LockState::Locked;
            self.stats.syncs_accepted += n as u64;
            self.stats.locks += 1;
            self.search.clear();
            for f in std::mem::take(&mut self.search_frames) {
                self.frame(f);
            }
        }
    }

    /// A frame-mark tag at `t`: the nearest sync carries a pulse index that is a multiple of
    /// sync_period x frame_period. The first one while locked fixes index 0 (the engine is
    /// started before the generator, whose first pulse carries the first frame mark).
    pub fn frame(&mut self, t: f64) {
        if matches!(self.state, LockState::Searching | LockState::Lost) {
            self.search_frames.push(t);
            return;
        }
        if self.state != LockState::Locked {
            return;
        }
        let k = self.k_ref + ((t - self.t_ref) / self.period).round() as i64;
        let m = i64::from(self.cfg.frame_period_syncs.max(1));
        let s = i64::from(self.cfg.sync_period_pulses.max(1));
        match self.k_zero {
            None => {
                let pulse = self.pulse_of_frame(t, m * s).unwrap_or(0);
                self.k_zero = Some(k - pulse / s);
                self.origin.get_or_insert(pulse);
            }
            Some(z) if (k - z).rem_euclid(m) == 0 => self.stats.frames_ok += 1,
            Some(z) => {
                // Re-index to the nearest frame boundary; count the slip.
                let frames = ((k - z) as f64 / m as f64).round() as i64;
                self.k_zero = Some(k - frames * m);
                self.stats.frame_slips += 1;
            }
        }
        if let Some(z) = self.k_zero {
            self.frame_ref = Some((t, (k - z) * s));
        }
    }

    /// The absolute pulse index of the frame mark at `t` from the last known frame, when the
    /// time since it is short enough for the count of frames between to be certain: the
    /// worst rate error (`max_offset_ppm`) over the gap must stay under a quarter frame.
    /// Otherwise None (a new count starts at 0).
    fn pulse_of_frame(&self, t: f64, frame_pulses: i64) -> Option<i64> {
        let (t0, p0) = self.frame_ref?;
        let frame_ps = frame_pulses as f64 * self.pulse_period_ps();
        let worst_drift_ps = (t - t0).abs() * self.cfg.max_offset_ppm * 1e-6;
        if worst_drift_ps >= 0.25 * frame_ps || p0.rem_euclid(frame_pulses) != 0 {
            return None;
        }
        Some(p0 + ((t - t0) / frame_ps).round() as i64 * frame_pulses)
    }

    /// The pulse index where this stream's count of pulses starts: its first indexed frame
    /// mark (0 for a stream from the start of a run; later for one that starts mid-run).
    pub fn origin_pulse(&self) -> i64 {
        self.origin.unwrap_or(0)
    }

    /// The latest frame mark's device time (ps) and absolute pulse index, once indexed: what
    /// a stream that starts here needs ([`ClockConfig::index_reference`]).
    pub fn frame_reference(&self) -> Option<(f64, i64)> {
        self.k_zero.and(self.frame_ref)
    }

    /// What the block pass needs, when locked and indexed.
    pub fn locked_fit(&self) -> Option<LockedFit> {
        let zero = self.k_zero?;
        (self.state == LockState::Locked).then(|| LockedFit {
            t_ref_ps: self.t_ref,
            pulse_base: (self.k_ref - zero) * i64::from(self.cfg.sync_period_pulses),
            pulse_period_ps: self.period * self.inv_sync_pulses,
            inv_pulse_period: self.inv_pulse_period,
            last_sync_ps: self.last_sync,
            sync_period_ps: self.period,
        })
    }

    /// Absolute pulse index and residual (ps) of an arrival at `t` with detector offset
    /// `offset_ps` (arrival relative to the sync of the same pulse), if indexed and tracking.
    #[inline]
    pub fn pulse_of(&self, t: f64, offset_ps: f64) -> Option<(i64, f64)> {
        let zero = self.k_zero?;
        if !matches!(self.state, LockState::Locked | LockState::Holdover) {
            return None;
        }
        let tp = self.period * self.inv_sync_pulses;
        let x = (t - self.t_ref - offset_ps) * self.inv_pulse_period;
        let j = round_fast(x);
        let i = (self.k_ref - zero) * i64::from(self.cfg.sync_period_pulses) + j as i64;
        Some((i, (x - j) * tp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 MHz pulses, a sync every 1000 pulses (10 µs), a frame mark every 10 syncs.
    fn cfg() -> ClockConfig {
        ClockConfig::new(10_000.0, 1000, 10)
    }

    const SYNC_PS: f64 = 10_000.0 * 1000.0;

    /// Feeds syncs k0..k1 of a clock with relative rate offset `ppm`, starting at `t0`.
    fn syncs(c: &mut ClockTracker, t0: f64, ppm: f64, ks: impl IntoIterator<Item = i64>) {
        for k in ks {
            c.sync(t0 + k as f64 * SYNC_PS * (1.0 + ppm * 1e-6));
        }
    }

    #[test]
    fn round_fast_rounds_half_to_even_like_the_standard_library() {
        for x in [0.0, 0.4, 0.5, 1.5, 2.5, -0.5, -1.5, 123_456.49, -7.6, 4.0e12 + 0.75] {
            assert_eq!(round_fast(x), x.round_ties_even(), "{x}");
        }
    }

    #[test]
    fn the_fit_the_period_and_the_index_are_reported_only_once_known() {
        // Found loose by cargo-mutants: fit(), sync_period_ps() and indexed() had no test.
        let mut c = ClockTracker::new(cfg());
        assert_eq!(c.fit(), None, "no fit before the first lock");
        assert!(!c.indexed());
        syncs(&mut c, 5e6, 10.0, 0..100);
        let (t_ref, period) = c.fit().expect("a fit once locked");
        let want = SYNC_PS * (1.0 + 10e-6);
        assert!((period - want).abs() < 1e-3, "fit period {period}, want {want}");
        assert!((c.sync_period_ps() - want).abs() < 1e-3, "{}", c.sync_period_ps());
        assert!((t_ref - (5e6 + 99.0 * want)).abs() < 10.0, "the reference is the latest sync: {t_ref}");
        assert!(!c.indexed(), "no frame mark yet: no absolute index");
        c.frame(5e6 + 100.0 * want);
        assert!(c.indexed());
    }

    #[test]
    fn locks_after_consistent_syncs_and_measures_the_period() {
        let mut c = ClockTracker::new(cfg());
        syncs(&mut c, 5e6, 20.0, 0..3);
        assert_eq!(c.state(), LockState::Searching, "three syncs are not enough");
        syncs(&mut c, 5e6, 20.0, 3..200);
        assert_eq!(c.state(), LockState::Locked);
        assert_eq!(c.stats.locks, 1);
        assert!((c.offset_ratio() - 20e-6).abs() < 1e-9, "rate offset {}", c.offset_ratio());
        assert!((c.pulse_period_ps() - 10_000.2).abs() < 1e-5);
    }

    #[test]
    fn after_a_one_second_dropout_the_clock_relocks_despite_the_drift_of_its_prediction() {
        // Found by the sync-dropout scenario: the filtered period carries ~6e-9 of noise
        // (30 ps sync jitter), so after 1 s without syncs the prediction is ~6 ns off. The
        // returning syncs must be taken (a bright sync has no look-alike), not rejected
        // until the holdover runs out.
        let mut c = ClockTracker::new(cfg());
        syncs(&mut c, 0.0, 0.0, 0..100);
        assert_eq!(c.state(), LockState::Locked);
        let back = 100 + 100_000; // 1 s of 10 µs syncs later
        c.tick(back as f64 * SYNC_PS);
        assert_eq!(c.state(), LockState::Holdover);
        // The true clock drifted 6 ns from the prediction over that second.
        syncs(&mut c, 6_000.0, 0.0, back..back + 10);
        assert_eq!(c.state(), LockState::Locked, "relocked on the returning syncs");
        assert_eq!(c.stats.locks, 2);
        assert_eq!(c.stats.syncs_rejected, 0);
        // A tag a third of a period off is still no sync.
        c.sync((back + 10) as f64 * SYNC_PS + 6_000.0 + SYNC_PS / 3.0);
        assert_eq!(c.stats.syncs_rejected, 1);
    }

    #[test]
    fn missing_syncs_are_bridged_and_extra_tags_rejected() {
        let mut c = ClockTracker::new(cfg());
        syncs(&mut c, 0.0, 0.0, 0..10);
        // Syncs 10..13 lost; a stray tag half-way between two syncs.
        syncs(&mut c, 0.0, 0.0, 13..21);
        c.sync(20.5 * SYNC_PS);
        syncs(&mut c, 0.0, 0.0, 21..30);
        assert_eq!(c.state(), LockState::Locked);
        assert_eq!(c.stats.syncs_missing, 3);
        assert_eq!(c.stats.syncs_rejected, 1);
        assert_eq!(c.stats.syncs_accepted, 27);
    }

    #[test]
    fn holds_over_through_a_dropout_relocks_and_loses_lock_after_the_limit() {
        let mut c = ClockTracker::new(ClockConfig { max_holdover_s: 1.0, ..cfg() });
        syncs(&mut c, 0.0, 0.0, 0..50);
        c.frame(0.0);
        assert!(c.indexed());
        // The last sync was number 49: 3.4 sync periods later still locked, 3.6 holdover,
        // with indices still valid.
        c.tick(52.4 * SYNC_PS);
        assert_eq!(c.state(), LockState::Locked);
        c.tick(52.6 * SYNC_PS);
        assert_eq!(c.state(), LockState::Holdover);
        assert_eq!(c.pulse_of(60.0 * SYNC_PS + 30_000.0, 0.0).map(|p| p.0), Some(60_003));
        assert!(c.locked_fit().is_none(), "the block pass needs the lock itself");
        // Syncs come back 0.5 s later: locked again, same count.
        syncs(&mut c, 0.0, 0.0, 50_049..50_060);
        assert_eq!(c.state(), LockState::Locked);
        assert_eq!(c.pulse_of(50_059.0 * SYNC_PS, 0.0).map(|p| p.0), Some(50_059_000));
        // A dropout longer than max_holdover_s: lost, and the index is gone with it.
        c.tick(50_059.0 * SYNC_PS + 1.1e12);
        assert_eq!(c.state(), LockState::Lost);
        assert!(c.pulse_of(50_059.0 * SYNC_PS + 1.1e12, 0.0).is_none());
    }

    #[test]
    fn a_stream_that_starts_mid_run_is_indexed_from_its_frame_reference() {
        // The live engine's view: frame marks every 10 syncs; its frame at 1000 syncs in
        // (pulse 1,000,000) is the reference handed to a recording opened there.
        let frame_pulses = 10 * 1000;
        let reference = (1000.0 * SYNC_PS, 100 * frame_pulses);
        // The recording's engine sees its first syncs 3.3 frames later, and a frame mark
        // 2 frames after that: it must carry pulse 1,000,000 + 5 frames, not 0.
        let mut c = ClockTracker::new(ClockConfig { index_reference: Some(reference), ..cfg() });
        syncs(&mut c, 0.0, 0.0, 1033..1045);
        c.frame(1050.0 * SYNC_PS);
        let (t, pulse) = c.frame_reference().unwrap();
        assert_eq!((t, pulse), (1050.0 * SYNC_PS, reference.1 + 5 * frame_pulses));
        // The stream's pulses count from that frame (gains divide by pulses sent).
        assert_eq!(c.origin_pulse(), reference.1 + 5 * frame_pulses);
        // The same stream with a rate 80 ppm off (Doppler): the frame count is still right.
        let mut c = ClockTracker::new(ClockConfig { index_reference: Some(reference), ..cfg() });
        let stretch = 1.0 + 80e-6;
        for k in 1033..1045 {
            c.sync(f64::from(k) * SYNC_PS * stretch);
        }
        c.frame(1050.0 * SYNC_PS * stretch);
        assert_eq!(c.frame_reference().unwrap().1, reference.1 + 5 * frame_pulses);
        // Without a reference the first frame is pulse 0, as before.
        let mut c = ClockTracker::new(cfg());
        syncs(&mut c, 0.0, 0.0, 1033..1045);
        c.frame(1050.0 * SYNC_PS);
        assert_eq!(c.frame_reference().unwrap().1, 0);
        // A reference too old for the frame count to be certain (100 ppm over the gap is more
        // than a quarter frame) is not used.
        let old = (-1e6 * SYNC_PS, 0);
        let mut c = ClockTracker::new(ClockConfig { index_reference: Some(old), ..cfg() });
        syncs(&mut c, 0.0, 0.0, 1033..1045);
        c.frame(1050.0 * SYNC_PS);
        assert_eq!(c.frame_reference().unwrap().1, 0);
    }

    #[test]
    fn frame_marks_fix_index_zero_and_slips_are_reindexed() {
        let mut c = ClockTracker::new(cfg());
        // A frame mark while searching is kept for the lock.
        c.frame(0.0);
        syncs(&mut c, 0.0, 0.0, 0..30);
        assert!(c.indexed());
        assert_eq!(c.locked_fit().map(|f| f.pulse_base), Some(29_000));
        c.frame(10.0 * SYNC_PS);
        c.frame(20.0 * SYNC_PS);
        assert_eq!(c.stats.frames_ok, 2);
        // A mark one sync late: the count slipped; re-indexed to the nearest frame boundary.
        c.frame(31.0 * SYNC_PS);
        assert_eq!(c.stats.frame_slips, 1);
        assert_eq!(c.locked_fit().map(|f| f.pulse_base), Some(28_000));
    }

    #[test]
    fn pulse_indices_and_residuals_follow_the_fit() {
        let mut c = ClockTracker::new(cfg());
        c.frame(1e6);
        syncs(&mut c, 1e6, -10.0, 0..100);
        let tp = c.pulse_period_ps();
        for (pulse, r) in [(99_000i64, 0.0), (99_123, 250.0), (99_999, -499.0), (100_500, 12.5)] {
            let t = 1e6 + pulse as f64 * tp + r;
            let (p, res) = c.pulse_of(t + 777.0, 777.0).expect("indexed");
            assert_eq!(p, pulse);
            assert!((res - r).abs() < 1.0, "residual {res} for {r}");
        }
    }
}
