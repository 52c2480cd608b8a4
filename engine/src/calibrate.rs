//! Per-detector delay calibration: where each detector's clicks arrive relative to the
//! recovered clock. The fraction of a period comes from the arrival-phase peak; the whole
//! periods from the lowest QBER over a few candidates (a delay of whole pulses is invisible
//! in the phase, but the wrong pulse gives a QBER of 50%).

use rtl::model::pattern_gen::PatternSettings;

use super::sift::{sift_pulse, SiftCounts};

/// Detections used to calibrate each detector's arrival offset.
pub(crate) const CALIBRATION_DETECTIONS: usize = 4000;
/// Whole pulse periods searched either way when calibrating a detector's delay.
const OFFSET_SEARCH_PULSES: i64 = 8;

/// Moves an index and residual taken with offset 0 to offset `off` (period `tp`, ps).
#[inline]
pub(crate) fn shifted(p0: i64, r0: f64, off: f64, tp: f64) -> (i64, f64) {
    let shift = super::clock::round_fast((r0 - off) / tp);
    (p0 + shift as i64, r0 - off - shift * tp)
}

/// The arrival offset of each detector, ps, from detections `(time, detector, pulse index
/// and residual with offset 0)`; None for a detector with too few (20) or no sifted ones.
pub(crate) fn offsets(
    pending: &[(f64, u8, i64, f64)],
    pattern: &PatternSettings,
    tp: f64,
    gate_width_ps: f64,
) -> [Option<f64>; 4] {
    let mut out = [None; 4];
    for d in 0..4u8 {
        let phases: Vec<(i64, f64)> = pending.iter().filter(|x| x.1 == d).map(|&(_, _, p0, r0)| (p0, r0)).collect();
        if phases.len() < 20 {
            continue;
        }
        // Peak of a 100 ps histogram, then the mean within +-500 ps of it (circular).
        let nb = (tp / 100.0).ceil() as usize;
        let mut h = vec![0u32; nb];
        for (_, r) in &phases {
            h[(((r + tp / 2.0) / 100.0) as usize).min(nb - 1)] += 1;
        }
        let peak = h.iter().enumerate().max_by_key(|(_, c)| **c).map_or(0, |(i, _)| i);
        let centre = (peak as f64 + 0.5) * 100.0 - tp / 2.0;
        let near: Vec<f64> = phases
            .iter()
            .map(|(_, r)| {
                let x = r - centre;
                x - (x / tp).round() * tp
            })
            .filter(|x| x.abs() <= 500.0)
            .collect();
        let frac = centre + near.iter().sum::<f64>() / near.len().max(1) as f64;
        // Whole periods: the candidate with the lowest QBER among sifted detections.
        let mut best = (f64::INFINITY, 0i64);
        for j in -OFFSET_SEARCH_PULSES..=OFFSET_SEARCH_PULSES {
            let off = frac + j as f64 * tp;
            let mut c = SiftCounts::default();
            for &(p0, r0) in &phases {
                let (p, r) = shifted(p0, r0, off, tp);
                if r.abs() <= gate_width_ps / 2.0 && p >= 0 {
                    sift_pulse(pattern, p, 1 << d, &mut c);
                }
            }
            let b = usize::from(d / 2);
            if let Some(q) = c.qber(b, None) {
                if c.sifted.iter().map(|s| s[b]).sum::<u64>() >= 10 && q < best.0 {
                    best = (q, j);
                }
            }
        }
        if best.0.is_finite() {
            out[usize::from(d)] = Some(frac + best.1 as f64 * tp);
        }
    }
    out
}

/// How far (pulses) detections may arrive out of pulse order given the detector offsets:
/// their spread, plus one for the tagger's channel order within a cycle, plus one.
pub(crate) fn reorder_pulses(offsets: &[Option<f64>; 4], tp: f64) -> Option<i64> {
    let known: Vec<f64> = offsets.iter().flatten().copied().collect();
    let lo = known.iter().copied().reduce(f64::min)?;
    let hi = known.iter().copied().reduce(f64::max)?;
    Some(((hi - lo) / tp).ceil() as i64 + 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtl::model::pattern_gen::symbol;
    use rtl::slot::Basis;

    #[test]
    fn a_delay_of_whole_pulses_plus_a_fraction_is_found() {
        // Detector H (d = 0) clicks on the pulses that sent Z,0, delayed by 3 pulses and
        // 1234 ps; indexed with offset 0 they look 3 pulses late with a residual of 1234.
        let pattern = PatternSettings::default();
        let tp = 10_000.0;
        let delay = 3.0 * tp + 1234.0;
        let mut pending = Vec::new();
        for p in 100..200_000i64 {
            let s = symbol(&pattern, p as u64);
            if s.basis != Basis::Z || s.bit != 0 || p % 7 != 0 {
                continue;
            }
            let t = p as f64 * tp + delay;
            let (p0, r0) = (((t + tp / 2.0) / tp).floor() as i64, t - ((t + tp / 2.0) / tp).floor() * tp);
            pending.push((t, 0u8, p0, r0));
        }
        let found = offsets(&pending, &pattern, tp, 1000.0);
        let off = found[0].expect("detector H calibrated");
        assert!((off - delay).abs() < 1.0, "found {off} ps, delay {delay} ps");
        assert_eq!(found[1..], [None, None, None]);
        assert_eq!(reorder_pulses(&[Some(0.0), Some(25_000.0), None, None], tp), Some(5));
    }
}
