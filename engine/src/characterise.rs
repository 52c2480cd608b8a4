//! Optical-module characterisation from the engine's counts: what an engineer bench-testing
//! a transmitter or a receiver wants to know, estimated from click statistics alone.

use serde::Serialize;

use super::sift::SiftCounts;

/// Inter-click interval histogram bin, ps, and span.
pub const INTERVAL_BIN_PS: f64 = 1000.0;
/// Bins of the inter-click histogram (20 µs).
pub const INTERVAL_BINS: usize = 20_000;

/// Raw statistics the engine gathers for the characterisation.
#[derive(Debug, Clone)]
pub struct CharacterisationData {
    /// Per detector: histogram of intervals between consecutive clicks (all clicks).
    pub intervals: Vec<[u64; 4]>,
    /// Per detector: clicks, and time of the last (i64::MIN before the first).
    pub clicks: [u64; 4],
    last_click: [i64; 4],
    /// Detected pulses by [previous pulse's class][this pulse's class].
    pub after_class: [[u64; 4]; 4],
    /// Detections outside the gate, per detector.
    pub outside_gate: [u64; 4],
}

impl Default for CharacterisationData {
    fn default() -> Self {
        CharacterisationData {
            intervals: vec![[0; 4]; INTERVAL_BINS],
            clicks: [0; 4],
            last_click: [i64::MIN; 4],
            after_class: [[0; 4]; 4],
            outside_gate: [0; 4],
        }
    }
}

impl CharacterisationData {
    /// Forgets the last click of every detector: after a gap in the analysed stream, no
    /// interval spans it.
    pub fn break_intervals(&mut self) {
        self.last_click = [i64::MIN; 4];
    }

    /// A click of detector `d` at `t_ps` (every click, gated or not).
    #[inline]
    pub fn click(&mut self, d: usize, t_ps: i64) {
        let prev = self.last_click[d];
        self.last_click[d] = t_ps;
        self.clicks[d] += 1;
        if prev != i64::MIN {
            // Saturating: a damaged file's time can jump by anything.
            let bin = (t_ps.saturating_sub(prev) / INTERVAL_BIN_PS as i64).max(0) as usize;
            if let Some(h) = self.intervals.get_mut(bin) {
                h[d] += 1;
            }
        }
    }
}

/// The inter-click histogram's bin of the interval from `prev` to `t` (ps), as the block
/// pass counts it: a negative interval gives a bin beyond the histogram (not counted). One
/// definition for `RunClicks::count` and `stitch`, which must agree.
#[inline(always)]
fn interval_bin(t: i64, prev: i64) -> usize {
    ((t - prev) / INTERVAL_BIN_PS as i64) as usize
}

/// The clicks of a run (a block of the block pass), counted on their own: what joins them
/// to the clicks before is [`CharacterisationData::stitch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunClicks {
    /// Clicks per detector.
    pub clicks: [u64; 4],
    /// Time of each detector's first and last click (i64::MIN: none in the run).
    pub first: [i64; 4],
    pub last: [i64; 4],
}

impl RunClicks {
    /// Counts the clicks of detector `key & 3` of each key at `t_ps`, and adds the intervals
    /// between clicks of the run to `intervals` (the state in registers for the run). Raises
    /// `top` to above the highest bin it added to (a worker's table is merged up to there:
    /// the whole table is 640 KB, most intervals fall in its first few thousand bins).
    #[inline]
    pub(crate) fn count(keys: &[u8], t_ps: &[i64], intervals: &mut [[u64; 4]], top: &mut usize) -> Self {
        let (mut clicks, mut first, mut last) = ([0u64; 4], [i64::MIN; 4], [i64::MIN; 4]);
        let mut high = *top;
        for (&k, &t) in keys.iter().zip(t_ps) {
            let d = usize::from(k & 3);
            let prev = last[d];
            last[d] = t;
            clicks[d] += 1;
            if prev == i64::MIN {
                first[d] = t;
            } else {
                let bin = interval_bin(t, prev);
                if let Some(h) = intervals.get_mut(bin) {
                    h[d] += 1;
                    high = high.max(bin + 1);
                }
            }
        }
        *top = high;
        RunClicks { clicks, first, last }
    }
}

impl CharacterisationData {
    /// A run's clicks (`RunClicks::count` counted the intervals inside it): its counts, and
    /// the interval from each detector's previous click to its first in the run.
    pub(crate) fn stitch(&mut self, run: &RunClicks) {
        for d in 0..4 {
            self.clicks[d] += run.clicks[d];
            if run.first[d] == i64::MIN {
                continue;
            }
            let prev = self.last_click[d];
            if prev != i64::MIN {
                if let Some(h) = self.intervals.get_mut(interval_bin(run.first[d], prev)) {
                    h[d] += 1;
                }
            }
            self.last_click[d] = run.last[d];
        }
    }
}

/// Estimates for one detector.
#[derive(Debug, Clone, Serialize)]
pub struct DetectorEstimate {
    /// Shortest interval between two clicks seen often enough to be real, ps.
    pub dead_time_ps: Option<f64>,
    /// Probability that a click is followed by an afterpulse: the excess of intervals over
    /// the exponential fitted to their tail (5..10 µs past the dead time). Needs afterpulse
    /// delays well under 5 µs and count rates that leave a tail (below ~200 kHz).
    pub afterpulse_probability: Option<f64>,
    /// FWHM of the arrival-phase histogram, ps (detector + sync + tagger jitter).
    pub arrival_fwhm_ps: Option<f64>,
    /// Efficiency relative to detector 0 (H), from clicks on matching states.
    pub relative_efficiency: Option<f64>,
}

/// The characterisation of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Characterisation {
    /// Intensity of each class relative to class 0, from the gains (mu_k / mu_0 =
    /// ln((1-Q_k)/(1-Y0)) / ln((1-Q_0)/(1-Y0)), with Y0 the yield of the vacuum class).
    pub intensity_ratio: [Option<f64>; 4],
    /// Yield of the lowest class above the noise measured outside the gate: leakage of a
    /// "vacuum" decoy, per pulse.
    pub vacuum_leakage_per_pulse: Option<f64>,
    /// Noise in the gate expected from the clicks outside it, per pulse (all detectors).
    pub noise_per_pulse: Option<f64>,
    /// Polarisation contrast per sent state (Z0, Z1, X0, X1): (right - wrong) / (right + wrong).
    pub contrast: [Option<f64>; 4],
    /// Gain of each class after a pulse of each class, relative to its mean gain:
    /// `[previous][this]`; 1.0 everywhere means no patterning effect.
    pub patterning: [[Option<f64>; 4]; 4],
    /// Per detector H, V, D, A.
    pub detectors: [DetectorEstimate; 4],
}

/// Inputs for the characterisation beyond the counts.
#[derive(Debug, Clone, Copy)]
pub struct RunFacts {
    /// Pulses sent (the highest pulse index + 1).
    pub pulses: f64,
    /// Probability of each class.
    pub class_p: [f64; 4],
    /// DAC code of each class (the vacuum class has the lowest).
    pub dac_code: [u16; 4],
    /// Pulse period, ps.
    pub pulse_period_ps: f64,
    /// Gate width, ps.
    pub gate_width_ps: f64,
    /// Run length, ps.
    pub duration_ps: f64,
}

fn fwhm(hist: &[[u64; 4]], d: usize, bin_ps: f64) -> Option<f64> {
    let (peak_i, peak) = hist.iter().enumerate().map(|(i, h)| (i, h[d])).max_by_key(|x| x.1)?;
    if peak < 20 {
        return None;
    }
    let half = peak as f64 / 2.0;
    // Linear interpolation of the half-maximum crossings either side of the peak.
    let mut lo = peak_i as f64;
    for i in (0..peak_i).rev() {
        let v = hist[i][d] as f64;
        if v < half {
            let v1 = hist[i + 1][d] as f64;
            lo = i as f64 + (half - v) / (v1 - v);
            break;
        }
    }
    let mut hi = peak_i as f64;
    for i in peak_i + 1..hist.len() {
        let v = hist[i][d] as f64;
        if v < half {
            let v0 = hist[i - 1][d] as f64;
            hi = (i - 1) as f64 + (v0 - half) / (v0 - v);
            break;
        }
    }
    Some((hi - lo) * bin_ps)
}

/// Computes the characterisation.
pub fn characterise(
    c: &SiftCounts,
    data: &CharacterisationData,
    arrival: &[[u64; 4]],
    arrival_bin_ps: f64,
    f: &RunFacts,
) -> Characterisation {
    let gain = |k: usize| {
        (f.class_p[k] > 0.0 && f.pulses > 0.0).then(|| c.detected_pulses[k] as f64 / (f.pulses * f.class_p[k]))
    };
    let classes: Vec<usize> = (0..4).filter(|&k| f.class_p[k] > 0.0).collect();
    let vac = classes.iter().copied().min_by_key(|&k| f.dac_code[k]);
    let y0 = vac.filter(|&k| f.dac_code[k] == 0).and_then(gain).unwrap_or(0.0);
    let eta_mu = |k: usize| gain(k).map(|q| -((1.0 - q) / (1.0 - y0)).ln());
    let intensity_ratio: [Option<f64>; 4] = std::array::from_fn(|k| {
        let (a, b) = (eta_mu(k)?, eta_mu(0)?);
        (b > 0.0).then(|| a / b)
    });
    // Noise: clicks outside the gate spread over (period - gate) of each pulse slot.
    let outside: u64 = data.outside_gate.iter().sum();
    let noise_per_pulse = (f.pulses > 0.0 && f.pulse_period_ps > f.gate_width_ps)
        .then(|| outside as f64 / f.pulses * f.gate_width_ps / (f.pulse_period_ps - f.gate_width_ps));
    let vacuum_leakage_per_pulse = match (vac.filter(|&k| f.dac_code[k] == 0).and_then(gain), noise_per_pulse) {
        (Some(q), Some(n)) => Some(q - n),
        _ => None,
    };
    let contrast: [Option<f64>; 4] = std::array::from_fn(|s| {
        let (b, bit) = (s / 2, s % 2);
        let right: u64 = (0..4).map(|k| c.clicks[k][b][bit][2 * b + bit]).sum();
        let wrong: u64 = (0..4).map(|k| c.clicks[k][b][bit][2 * b + (1 - bit)]).sum();
        (right + wrong > 0).then(|| (right as f64 - wrong as f64) / (right + wrong) as f64)
    });
    let total_detected: u64 = c.detected_pulses.iter().sum();
    let patterning: [[Option<f64>; 4]; 4] = std::array::from_fn(|j| {
        std::array::from_fn(|k| {
            let mean = c.detected_pulses[k] as f64 / f.class_p[k].max(1e-300);
            let given = data.after_class[j][k] as f64 / (f.class_p[j] * f.class_p[k]).max(1e-300);
            (total_detected > 0 && f.class_p[j] > 0.0 && f.class_p[k] > 0.0 && data.after_class[j][k] > 0)
                .then(|| given / mean)
        })
    });
    // Efficiency: clicks on the matching detector for the states it should see.
    let matching = |d: usize| -> f64 {
        let (b, bit) = (d / 2, d % 2);
        (0..4).map(|k| c.clicks[k][b][bit][d] + c.clicks[k][b][1 - bit][d]).sum::<u64>() as f64
    };
    let detectors: [DetectorEstimate; 4] = std::array::from_fn(|d| {
        let total = data.clicks[d];
        let first = data.intervals.iter().position(|h| h[d] >= (total / 100_000).max(3));
        let dead = first.map(|i| i as f64 * INTERVAL_BIN_PS);
        // Afterpulses: fit the exponential tail of the intervals (5..10 µs after the dead
        // time, where afterpulses with a sub-µs delay no longer contribute), extrapolate it
        // back to the dead time, and count the intervals above it.
        let afterpulse = dead.and_then(|dead_ps| {
            let intervals: u64 = total.saturating_sub(1);
            if intervals < 1000 {
                return None;
            }
            let above = |x_ps: f64| -> f64 {
                let b = ((x_ps / INTERVAL_BIN_PS) as usize).min(INTERVAL_BINS);
                (intervals - data.intervals[..b].iter().map(|h| h[d]).sum::<u64>()) as f64
            };
            let (x1, x2) = (dead_ps + 5e6, dead_ps + 10e6);
            let (n1, n2) = (above(x1), above(x2));
            if n2 < 50.0 || n1 <= n2 {
                return None;
            }
            let rate = (n1 / n2).ln() / (x2 - x1);
            let poisson = n1 * (rate * (x1 - dead_ps)).exp();
            Some(((intervals as f64 - poisson) / intervals as f64).max(0.0))
        });
        DetectorEstimate {
            dead_time_ps: dead,
            afterpulse_probability: afterpulse,
            arrival_fwhm_ps: fwhm(arrival, d, arrival_bin_ps),
            // Includes the analyser's share of the light (the basis split).
            relative_efficiency: (matching(0) > 0.0).then(|| matching(d) / matching(0)),
        }
    });
    Characterisation { intensity_ratio, vacuum_leakage_per_pulse, noise_per_pulse, contrast, patterning, detectors }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(pulses: f64) -> RunFacts {
        RunFacts {
            pulses,
            class_p: [0.5, 0.3, 0.2, 0.0],
            dac_code: [3000, 1000, 0, 0],
            pulse_period_ps: 10_000.0,
            gate_width_ps: 1000.0,
            duration_ps: pulses * 10_000.0,
        }
    }

    #[test]
    fn dead_time_and_afterpulses_come_from_the_interval_histogram() {
        // Detector 0 at 100 kHz, 22 ns dead time, 4% afterpulses 50..250 ns after the
        // dead time.
        let mut x = 0x9E37_79B9u64;
        let mut uniform = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut data = CharacterisationData::default();
        let mut t = 0i64;
        for _ in 0..300_000 {
            let wait = if uniform() < 0.04 { 50e3 + 200e3 * uniform() } else { -10e6 * (1.0 - uniform()).ln() };
            t += 22_000 + wait as i64;
            data.click(0, t);
        }
        let ch = characterise(&SiftCounts::default(), &data, &[[0; 4]], 10.0, &facts(1e9));
        let d = &ch.detectors[0];
        assert_eq!(d.dead_time_ps, Some(22_000.0));
        let ap = d.afterpulse_probability.expect("afterpulse estimate");
        assert!((ap - 0.04).abs() < 0.005, "afterpulse probability {ap}");
        assert_eq!(ch.detectors[1].dead_time_ps, None, "no clicks on detector 1");
    }

    #[test]
    fn the_arrival_fwhm_of_a_gaussian_peak() {
        // 50 ps RMS in 10 ps bins: FWHM 2.3548 * 50 = 117.7 ps.
        let hist: Vec<[u64; 4]> = (0..1000)
            .map(|i| {
                let r = (i as f64 + 0.5) * 10.0 - 5000.0;
                let n = (1e5 * (-0.5 * (r / 50.0).powi(2)).exp()).round() as u64;
                [n, 0, n / 2, 0]
            })
            .collect();
        let ch = characterise(&SiftCounts::default(), &CharacterisationData::default(), &hist, 10.0, &facts(1e6));
        for d in [0, 2] {
            let w = ch.detectors[d].arrival_fwhm_ps.expect("fwhm");
            assert!((w - 117.7).abs() < 3.0, "detector {d}: {w} ps");
        }
        assert_eq!(ch.detectors[1].arrival_fwhm_ps, None);
    }

    #[test]
    fn intensity_ratios_contrast_and_leakage_from_the_counts() {
        // Gains 1 - exp(-eta mu) with eta mu = 0.1, 0.02 and a vacuum class with yield 1e-5.
        let pulses = 1e9;
        let f = facts(pulses);
        let mut c = SiftCounts::default();
        let y0 = 1e-5;
        for (k, eta_mu) in [(0usize, 0.1f64), (1, 0.02), (2, 0.0)] {
            let q = 1.0 - (1.0 - y0) * (-eta_mu).exp();
            c.detected_pulses[k] = (q * pulses * f.class_p[k]).round() as u64;
        }
        // Z0 sent: 990 right (H), 10 wrong (V): contrast 0.98.
        c.clicks[0][0][0][0] = 990;
        c.clicks[0][0][0][1] = 10;
        let mut data = CharacterisationData::default();
        // Outside-gate clicks: a noise of 2e-6 per pulse in the 1 ns gate (9 ns outside).
        data.outside_gate[0] = (2e-6 * 9.0 * pulses) as u64;
        let ch = characterise(&c, &data, &[[0; 4]], 10.0, &f);
        let ratio = ch.intensity_ratio[1].expect("ratio");
        assert!((ratio - 0.2).abs() < 1e-3, "mu1/mu0 {ratio}");
        assert!((ch.contrast[0].expect("contrast") - 0.98).abs() < 1e-12);
        assert_eq!(ch.contrast[3], None);
        let noise = ch.noise_per_pulse.expect("noise");
        assert!((noise - 2e-6).abs() < 1e-9, "{noise}");
        let leak = ch.vacuum_leakage_per_pulse.expect("leakage");
        assert!((leak - (1e-5 - 2e-6)).abs() < 1e-7, "{leak}");
    }

    #[test]
    fn a_runs_clicks_bin_each_detectors_intervals_by_hand() {
        let mut data = CharacterisationData::default();
        // Keys & 3 -> detectors 0, 0, 1, 0, 1. Detector 0 at 0, 1,500 and 5,000 ps:
        // intervals 1,500 (bin 1) and 3,500 (bin 3); detector 1 at 2,000 and 9,999 ps:
        // 7,999 (bin 7).
        let run = RunClicks::count(&[0, 4, 1, 8, 5], &[0, 1_500, 2_000, 5_000, 9_999], &mut data.intervals, &mut 0);
        assert_eq!(
            run,
            RunClicks {
                clicks: [3, 2, 0, 0],
                first: [0, 2_000, i64::MIN, i64::MIN],
                last: [5_000, 9_999, i64::MIN, i64::MIN]
            }
        );
        data.stitch(&run);
        assert_eq!(data.clicks, [3, 2, 0, 0]);
        let filled: Vec<(usize, [u64; 4])> =
            data.intervals.iter().enumerate().filter(|(_, h)| h.iter().any(|&n| n > 0)).map(|(i, h)| (i, *h)).collect();
        assert_eq!(filled, vec![(1, [1, 0, 0, 0]), (3, [1, 0, 0, 0]), (7, [0, 1, 0, 0])]);
        // The state carries on into single clicks: detector 0 again 1,000 ps later (bin 1).
        data.click(0, 6_000);
        assert_eq!((data.clicks[0], data.intervals[1][0]), (4, 2));
        // And into the next run: detector 1's first click, 2,001 ps after its last (bin 2);
        // detector 0's, 500 ps after 6,000 (bin 0).
        let run = RunClicks::count(&[1, 0], &[12_000, 6_500], &mut data.intervals, &mut 0);
        data.stitch(&run);
        assert_eq!((data.intervals[2][1], data.intervals[0][0], data.clicks), (1, 1, [5, 3, 0, 0]));
    }

    #[test]
    fn fwhm_interpolates_the_half_maximum_crossings_by_hand() {
        // Peak 40 in bin 2, half 20: below, 10 (bin 1) to 40 crosses at 1 + 10/30; above,
        // 20 (bin 3) to 0 (bin 4) crosses at 3 + 0/20. (3 - 1.3333) x 10 ps = 16.667 ps.
        let hist = |v: [u64; 5]| v.iter().map(|&n| [n, 0, 0, 0]).collect::<Vec<_>>();
        let w = fwhm(&hist([0, 10, 40, 20, 0]), 0, 10.0).expect("a peak");
        assert!((w - 50.0 / 3.0).abs() < 1e-9, "{w}");
        // A peak needs 20 counts.
        assert_eq!(fwhm(&hist([0, 5, 19, 5, 0]), 0, 10.0), None);
        assert!(fwhm(&hist([0, 5, 20, 5, 0]), 0, 10.0).is_some());
    }

    /// Counts built by hand: class probabilities 0.5, 0.3, 0.2 (class 3 unused), DAC codes
    /// with class 2 the vacuum (code 0).
    fn counts() -> SiftCounts {
        let mut c = SiftCounts { detected_pulses: [1000, 600, 400, 0], ..Default::default() };
        // Clicks [class][basis][bit][detector]: Z0 sent -> H 100 right, V 0 wrong; Z1 ->
        // V 240 right, H 20 wrong; X0 -> D 30, A 0; X1 -> A 40 right, D 60 wrong.
        c.clicks[0][0][0][0] = 100;
        c.clicks[0][0][1][1] = 240;
        c.clicks[1][0][1][0] = 20;
        c.clicks[0][1][0][2] = 30;
        c.clicks[1][1][1][3] = 40;
        c.clicks[2][1][1][2] = 60;
        c
    }

    #[test]
    fn contrast_patterning_and_relative_efficiency_by_hand() {
        let mut data = CharacterisationData::default();
        data.after_class[0][1] = 150;
        data.after_class[2][0] = 40;
        data.after_class[3][0] = 5;
        data.after_class[0][3] = 5;
        let ch = characterise(&counts(), &data, &[[0; 4]], 10.0, &facts(1e6));
        // (right - wrong) / (right + wrong) per sent state.
        assert_eq!(ch.contrast, [Some(1.0), Some(220.0 / 260.0), Some(1.0), Some(-20.0 / 100.0)]);
        // Mean gain per class: detected / p = 2000 for classes 0-2. After class 0, class 1:
        // 150 / (0.5 x 0.3) = 1000: half its mean. After class 2, class 0: 40 / 0.1 = 400.
        let p = ch.patterning;
        assert!((p[0][1].unwrap() - 0.5).abs() < 1e-12 && (p[2][0].unwrap() - 0.2).abs() < 1e-12, "{p:?}");
        // No pulses after that pair, or a class never sent: no figure.
        assert_eq!((p[1][1], p[3][0], p[0][3]), (None, None, None));
        // Matching clicks: H 100 + 20 = 120, V 240, D 30 + 60 = 90, A 40; relative to H.
        let eff: Vec<Option<f64>> = ch.detectors.iter().map(|d| d.relative_efficiency).collect();
        assert_eq!(eff, vec![Some(1.0), Some(2.0), Some(0.75), Some(40.0 / 120.0)]);
        // Nothing detected at all: no patterning, no efficiency.
        let none = characterise(&SiftCounts::default(), &data, &[[0; 4]], 10.0, &facts(1e6));
        assert!(none.patterning.iter().flatten().all(Option::is_none));
        assert!(none.detectors.iter().all(|d| d.relative_efficiency.is_none()));
        assert!(none.contrast.iter().all(Option::is_none));
    }

    #[test]
    fn intensity_ratios_take_out_the_vacuum_yield_and_need_counts() {
        // A large vacuum yield (1e-2) so that its correction shows: eta mu 0.1 and 0.02.
        let (pulses, y0) = (1e8, 1e-2);
        let f = facts(pulses);
        let mut c = SiftCounts::default();
        let mut gains = [0.0; 3];
        for (k, eta_mu) in [(0usize, 0.1f64), (1, 0.02), (2, 0.0)] {
            gains[k] = 1.0 - (1.0 - y0) * (-eta_mu).exp();
            c.detected_pulses[k] = (gains[k] * pulses * f.class_p[k]).round() as u64;
        }
        let ch = characterise(&c, &CharacterisationData::default(), &[[0; 4]], 10.0, &f);
        // From the rounded counts: within 1e-6 of 0.2 (0.33 without the correction).
        let r = ch.intensity_ratio[1].expect("ratio");
        assert!((r - 0.2).abs() < 1e-6, "{r}");
        assert_eq!(ch.intensity_ratio[0], Some(1.0));
        assert_eq!(ch.intensity_ratio[3], None, "class 3 is never sent");
        // The vacuum class is the one with DAC code 0; with none at 0 there is no vacuum
        // yield: the ratios are taken without it, and there is no leakage figure.
        let g = RunFacts { dac_code: [3000, 1000, 500, 0], ..f };
        let ch = characterise(&c, &CharacterisationData::default(), &[[0; 4]], 10.0, &g);
        let ln = |q: f64| -(1.0 - q).ln();
        let (q0, q1) = (c.detected_pulses[0] as f64 / (pulses * 0.5), c.detected_pulses[1] as f64 / (pulses * 0.3));
        assert!((ch.intensity_ratio[1].unwrap() - ln(q1) / ln(q0)).abs() < 1e-12);
        assert_eq!(ch.vacuum_leakage_per_pulse, None);
        // No detections of class 0: no ratio (its log is 0).
        let mut empty = c.clone();
        empty.detected_pulses = [0, 600, 0, 0];
        let ch = characterise(&empty, &CharacterisationData::default(), &[[0; 4]], 10.0, &f);
        assert_eq!(ch.intensity_ratio, [None; 4]);
        // No pulses: no gains, no noise.
        let ch = characterise(&c, &CharacterisationData::default(), &[[0; 4]], 10.0, &facts(0.0));
        assert_eq!((ch.intensity_ratio, ch.noise_per_pulse, ch.vacuum_leakage_per_pulse), ([None; 4], None, None));
        // A gate as wide as the period leaves no time outside it to measure the noise in.
        let wide = RunFacts { gate_width_ps: 10_000.0, ..f };
        assert_eq!(characterise(&c, &CharacterisationData::default(), &[[0; 4]], 10.0, &wide).noise_per_pulse, None);
    }

    /// An interval histogram built so that the estimator's steps come out in round numbers:
    /// the dead time at bin 20 (20 ns), `short` intervals there, then `mid` at 7 µs and
    /// `tail` at 15 µs past it.
    fn afterpulse_of(short: u64, mid: u64, tail: u64, extra_clicks: u64) -> Option<f64> {
        let mut data = CharacterisationData::default();
        data.intervals[20][0] = short;
        data.intervals[20 + 7_000][0] = mid;
        data.intervals[20 + 15_000][0] = tail;
        data.clicks[0] = short + mid + tail + 1 + extra_clicks;
        let ch = characterise(&SiftCounts::default(), &data, &[[0; 4]], 10.0, &facts(1e9));
        assert_eq!(ch.detectors[0].dead_time_ps, Some(20_000.0));
        ch.detectors[0].afterpulse_probability
    }

    #[test]
    fn afterpulse_probability_by_hand_and_its_limits() {
        // 10,000 intervals; 4,000 longer than dead + 5 us, 2,000 longer than dead + 10 us:
        // an exponential halving every 5 us, which extrapolated back to the dead time gives
        // 8,000 intervals. The other 2,000 are afterpulses: 0.2.
        let ap = afterpulse_of(6_000, 2_000, 2_000, 0).expect("an estimate");
        assert!((ap - 0.2).abs() < 1e-12, "{ap}");
        // At least 1,000 intervals: 600 + 200 + 200 is enough, one fewer is not.
        assert!((afterpulse_of(600, 200, 200, 0).unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(afterpulse_of(599, 200, 200, 0), None);
        // A tail of at least 50 intervals: 50 gives an estimate (the exponential then
        // explains more than all the intervals: 0, not negative), 49 does not.
        assert_eq!(afterpulse_of(600, 350, 50, 0), Some(0.0));
        assert_eq!(afterpulse_of(601, 350, 49, 0), None);
        // A tail that does not fall: no exponential to fit.
        assert_eq!(afterpulse_of(600, 0, 400, 0), None);
    }
}
