//! The engine against the simulated bench's ground truth, through the real drivers.

#[path = "common/pieces.rs"]
mod pieces;

use std::collections::HashMap;
use std::time::Duration;

use drivers::pattern_gen::PatternConfig;
use drivers::sim::optics::Cause;
use drivers::sim::{self, BenchConfig, ChannelModel, Fault, Fidelity, OpticsConfig};
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, TaggerConfig, TimeTagger};
use engine::clock::LockState;
use engine::sift::SiftCounts;
use engine::{Engine, EngineConfig};
use rtl::model::pattern_gen::PatternSettings;

struct Run {
    batches: Vec<TagBatch>,
    truth: drivers::sim::truth::Truth,
    settings: PatternSettings,
}

fn bench(optics: OpticsConfig, pattern: &PatternConfig, seconds: f64) -> Run {
    let mut dev =
        sim::open(BenchConfig { fidelity: Fidelity::Fast, optics, keep_truth: true, duration_s: Some(seconds) })
            .unwrap();
    let settings = dev.pattern_gen.configure(pattern).unwrap();
    dev.tagger.configure(&TaggerConfig::default()).unwrap();
    dev.tagger.start().unwrap();
    dev.pattern_gen.start().unwrap();
    let mut batches = Vec::new();
    loop {
        let mut b = TagBatch::default();
        let st = dev.tagger.read_batch(&mut b, Duration::from_secs(1)).unwrap();
        batches.push(b);
        if st == ReadState::Ended {
            break;
        }
    }
    Run { batches, truth: dev.tagger.link().bench().truth().clone(), settings }
}

/// Asserts each basis's QBER is within `k` sigma of `e` (sigma from the sifted counts).
fn assert_qber_near(s: &engine::Snapshot, e: f64, k: f64) {
    for b in 0..2 {
        let n: u64 = (0..4).map(|c| s.counts.sifted[c][b]).sum();
        let q = s.qber[b].unwrap();
        let sigma = (e * (1.0 - e) / n as f64).sqrt();
        assert!(
            (q - e).abs() < k * sigma,
            "basis {b}: QBER {q:.5}, expected {e} +- {:.5} ({k} sigma of {n} sifted)",
            k * sigma
        );
    }
}

/// The sifting rule of QKD-REFERENCE.md section 1, written here from the document and not
/// from the engine (the engine's `sift_pulse` is what is under test): per pulse with clicks
/// on detectors `mask` (H V D A), the symbol from the generator's golden model.
#[derive(Debug, Default, PartialEq)]
struct Sifted {
    clicks: [[[[u64; 4]; 2]; 2]; 4],
    detected: [u64; 4],
    sifted: [[u64; 2]; 4],
    /// Errors among single clicks: exact. Double clicks in one analyser get a random bit.
    single_errors: [[u64; 2]; 4],
    /// Sifted double clicks (their errors are a coin flip each).
    double_sifted: [[u64; 2]; 4],
    double_clicks: u64,
    cross_basis: u64,
}

fn oracle(settings: &PatternSettings, pulses: impl IntoIterator<Item = (i64, u8)>) -> Sifted {
    let mut o = Sifted::default();
    for (p, mask) in pulses {
        let sym = rtl::model::pattern_gen::symbol(settings, p as u64);
        let (k, sb, sbit) =
            (usize::from(sym.class), usize::from(sym.basis != rtl::slot::Basis::Z), usize::from(sym.bit));
        o.detected[k] += 1;
        for d in 0..4 {
            if mask & (1 << d) != 0 {
                o.clicks[k][sb][sbit][d] += 1;
            }
        }
        let (z, x) = (mask & 3, mask >> 2 & 3);
        if z != 0 && x != 0 {
            o.cross_basis += 1;
            continue;
        }
        let (rb, pair) = if z != 0 { (0, z) } else { (1, x) };
        if pair == 3 {
            o.double_clicks += 1;
        }
        if rb != sb {
            continue;
        }
        o.sifted[k][rb] += 1;
        if pair == 3 {
            o.double_sifted[k][rb] += 1;
        } else if usize::from(pair == 2) != sbit {
            o.single_errors[k][rb] += 1;
        }
    }
    o
}

/// The engine's counts against the oracle: everything exact but the errors of double clicks,
/// which must be a fair coin (5 sigma).
fn assert_counts_match(c: &SiftCounts, o: &Sifted) {
    assert_eq!(c.clicks, o.clicks, "clicks");
    assert_eq!(c.detected_pulses, o.detected, "detected pulses");
    assert_eq!(c.sifted, o.sifted, "sifted");
    assert_eq!((c.double_clicks, c.cross_basis), (o.double_clicks, o.cross_basis), "double and cross-basis clicks");
    let (mut coin, mut flips) = (0i64, 0u64);
    for k in 0..4 {
        for b in 0..2 {
            assert!(
                c.errors[k][b] >= o.single_errors[k][b],
                "class {k} basis {b}: fewer errors than single clicks make"
            );
            let extra = c.errors[k][b] - o.single_errors[k][b];
            assert!(
                extra <= o.double_sifted[k][b],
                "class {k} basis {b}: {extra} errors among {} double clicks",
                o.double_sifted[k][b]
            );
            coin += extra as i64;
            flips += o.double_sifted[k][b];
        }
    }
    let sigma = (flips as f64 / 4.0).sqrt();
    assert!((coin as f64 - flips as f64 / 2.0).abs() <= 5.0 * sigma + 1.0, "{coin} errors in {flips} double clicks");
}

fn quiet(loss_db: f64) -> OpticsConfig {
    OpticsConfig::noiseless(loss_db)
}

fn engine(r: &Run, log: bool) -> Engine {
    let mut cfg = EngineConfig::new(r.settings, 100e6);
    cfg.log_assignments = log;
    let mut e = Engine::new(cfg);
    for b in &r.batches {
        e.process(b);
    }
    e.flush();
    e
}

/// Truth: signal detections keyed by (detector, tagger time in 10 ps bins).
fn truth_pulses(r: &Run) -> HashMap<(u8, i64), u64> {
    r.truth
        .records
        .as_ref()
        .unwrap()
        .iter()
        .filter_map(|rec| match rec.cause {
            Cause::Signal { pulse } if rec.channel < 4 => {
                Some(((rec.channel, rec.tagger_time_ps.div_euclid(10)), pulse))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn pulse_indices_are_exact_and_sifted_counts_equal_the_truth() {
    let pattern = PatternConfig { sync_period_pulses: 1000, frame_period_syncs: 100, ..Default::default() };
    let r = bench(quiet(15.0), &pattern, 0.2);
    let e = engine(&r, true);
    let s = e.snapshot();
    assert_eq!(s.lock, LockState::Locked);
    let truth = truth_pulses(&r);
    assert!(e.assignments.len() > 50_000, "{} gated detections", e.assignments.len());
    let mut checked = 0;
    for &(t, d, p) in &e.assignments {
        // The tagger's 10 ps bin floors; the truth rounds: look in both neighbouring bins.
        let key = [(d, t.div_euclid(10)), (d, t.div_euclid(10) + 1), (d, t.div_euclid(10) - 1)];
        let want =
            key.iter().find_map(|k| truth.get(k)).unwrap_or_else(|| panic!("detection at {t} ps on {d} has no truth"));
        assert_eq!(p as u64, *want, "detection at {t} ps on detector {d}");
        checked += 1;
    }
    // Every signal detection after indexing was gated (no noise here, 1 ns gate, 50 ps jitter).
    assert_eq!(s.outside_gate, 0);
    // Sifted counts from the truth, sifted with the same rule, equal the engine's.
    let mut by_pulse: std::collections::BTreeMap<u64, u8> = Default::default();
    let first = e.assignments.first().map(|a| a.2).unwrap() as u64;
    for ((d, _), p) in &truth {
        if *p >= first {
            *by_pulse.entry(*p).or_default() |= 1 << d;
        }
    }
    // ...counted by the rule of the document, not by the engine's sifting code.
    assert_counts_match(&s.counts, &oracle(&r.settings, by_pulse.into_iter().map(|(p, m)| (p as i64, m))));
    assert!(checked as u64 == s.gated);
    // Per-channel tag counts cover the stream: every tag on its channel.
    let mut per_channel = [0u64; 8];
    for b in &r.batches {
        for &c in &b.channel {
            per_channel[usize::from(c & 7)] += 1;
        }
    }
    assert_eq!(s.channel_tags, per_channel);
    assert_eq!(
        (s.first_tag_ps, s.last_tag_ps),
        (r.batches[0].time_ps[0], *r.batches.iter().rev().find_map(|b| b.time_ps.last()).unwrap())
    );
    // A 100 kHz sync on channel 4: 0.2 s of it.
    let sync_hz = s.channel_tags[4] as f64 / ((s.last_tag_ps - s.first_tag_ps) as f64 * 1e-12);
    assert!((sync_hz - 1e5).abs() < 100.0, "sync rate {sync_hz} Hz");
}

#[test]
fn qber_matches_the_misalignment() {
    let mut optics = quiet(12.0);
    optics.receiver.misalignment = [0.03, 0.015];
    let r = bench(optics, &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 0.2);
    let s = engine(&r, false).snapshot();
    for (b, e) in [(0usize, 0.03), (1, 0.015)] {
        let n: u64 = (0..4).map(|k| s.counts.sifted[k][b]).sum();
        let q = s.qber[b].unwrap();
        let sigma = (e * (1.0 - e) / n as f64).sqrt();
        assert!(
            (q - e).abs() < 3.0 * sigma,
            "basis {b}: QBER {q:.5}, misalignment {e} (+- {:.5}, {n} sifted)",
            3.0 * sigma
        );
    }
    // Gains: Q_k = 1 - exp(-mu_k eta) (QKD-REFERENCE.md section 2), eta = 10^-1.2 x 0.5; the
    // ratio within 5 sigma of the counts of detected pulses.
    let eta = 10f64.powf(-1.2) * 0.5;
    let want = (1.0 - (-0.1 * eta).exp()) / (1.0 - (-0.8 * eta).exp());
    let ratio = s.gain[1].unwrap() / s.gain[0].unwrap();
    let (nd, ns) = (s.counts.detected_pulses[1] as f64, s.counts.detected_pulses[0] as f64);
    let sigma = want * (1.0 / nd + 1.0 / ns).sqrt();
    assert!((ratio - want).abs() < 5.0 * sigma, "gain ratio {ratio}, model {want} +- {:.5} (5 sigma)", 5.0 * sigma);
    assert_eq!(s.gain[2], Some(0.0), "vacuum: no clicks without dark counts");
}

#[test]
fn detector_delays_are_calibrated_including_whole_pulses() {
    let mut optics = quiet(12.0);
    optics.detectors[1].delay_ps = 23_456.0; // 2.3 pulse periods late
    optics.detectors[3].delay_ps = -4_321.0;
    let r = bench(optics, &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 0.2);
    let s = engine(&r, false).snapshot();
    let off = s.detector_offset_ps;
    assert!((off[1].unwrap() - 23_456.0).abs() < 10.0, "{off:?}");
    assert!((off[3].unwrap() + 4_321.0).abs() < 10.0, "{off:?}");
    assert_qber_near(&s, 0.01, 5.0);
}

#[test]
fn clicks_of_one_pulse_are_grouped_whatever_the_detector_delays() {
    // 3 dB: many pulses click two detectors; delays of -4.3 to +23.5 ns put a pulse's
    // clicks up to three pulses apart in the stream.
    let mut optics = quiet(3.0);
    optics.detectors[1].delay_ps = 23_456.0;
    optics.detectors[3].delay_ps = -4_321.0;
    let r = bench(optics, &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 0.02);
    let logged = engine(&r, true);
    let s = logged.snapshot();
    // The grouping from the truth (which pulse each signal click belongs to), not from the
    // engine's own assignments; sifted by the document's rule.
    let truth = truth_pulses(&r);
    let mut by_pulse: std::collections::BTreeMap<i64, u8> = Default::default();
    let first = logged.assignments.first().map(|a| a.2).unwrap();
    for ((d, _), p) in &truth {
        if *p as i64 >= first {
            *by_pulse.entry(*p as i64).or_default() |= 1 << d;
        }
    }
    let o = oracle(&r.settings, by_pulse);
    assert!(o.double_clicks > 500 && o.cross_basis > 500, "{o:?}");
    assert_counts_match(&s.counts, &o);
    let want = s.counts.clone();
    let fast = engine(&r, false);
    assert!(fast.block_pass_tags() > 0);
    assert_eq!(fast.snapshot().counts, want);
}

#[test]
fn tracks_a_doppler_sweep_with_small_residuals() {
    let orbit = sim::CircularOrbit {
        altitude_km: 500.0,
        max_elevation_deg: 70.0,
        min_elevation_deg: 10.0,
        loss_at_zenith_db: 5.0,
        atmosphere_db: 1.0,
    };
    let mut optics = quiet(0.0);
    optics.channel = ChannelModel::Orbit(orbit);
    optics.tagger_clock_ppm = 3.0;
    // 20 s near the horizon: the steepest Doppler and its fastest change.
    let r = bench(optics, &PatternConfig::default(), 20.0);
    let e = engine(&r, false);
    let s = e.snapshot();
    assert_eq!(s.lock, LockState::Locked);
    assert!(s.rate_offset.abs() > 1e-5, "Doppler {:.3e}", s.rate_offset);
    let rms = s.residual_rms_ps.unwrap();
    assert!(rms <= 100.0, "residual RMS {rms:.1} ps");
    assert_eq!(s.clock.frame_slips, 0);
    // A noiseless bench: the QBER is the 1% misalignment, within 5 sigma of the counts.
    assert_qber_near(&s, 0.01, 5.0);
}

#[test]
fn relocks_within_a_second_after_a_five_second_sync_dropout() {
    let mut optics = quiet(10.0);
    optics.tagger_clock_ppm = 5.0;
    optics.faults = vec![Fault::SyncDropout { from_s: 2.0, to_s: 7.0 }];
    let r = bench(optics, &PatternConfig::default(), 9.0);
    let e = engine(&r, true);
    let s = e.snapshot();
    let ev = &s.lock_events;
    let holdover = ev.iter().find(|x| x.state == LockState::Holdover).expect("holdover during the dropout");
    assert!((holdover.time_ps as f64 * 1e-12 - 2.0).abs() < 0.01, "{ev:?}");
    let relock = ev.iter().rev().find(|x| x.state == LockState::Locked).unwrap();
    let after = relock.time_ps as f64 * 1e-12 - 7.0;
    assert!((0.0..1.0).contains(&after), "re-locked {after:.3} s after the dropout: {ev:?}");
    // Pulse indices after the dropout are still right.
    let truth = truth_pulses(&r);
    let late: Vec<_> = e.assignments.iter().filter(|a| a.0 as f64 * 1e-12 > 7.5).collect();
    assert!(late.len() > 1000);
    for &&(t, d, p) in late.iter().take(5000) {
        let want = [0, 1, -1].iter().find_map(|o| truth.get(&(d, t.div_euclid(10) + o))).expect("truth");
        assert_eq!(p as u64, *want);
    }
}

#[test]
fn any_chunking_of_the_stream_gives_identical_counts() {
    let r = bench(quiet(15.0), &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 0.05);
    let mut whole = TagBatch::default();
    for b in &r.batches {
        whole.append(&mut b.clone());
    }
    let reference = {
        let mut e = Engine::new(EngineConfig::new(r.settings, 100e6));
        e.process(&whole);
        e.flush();
        serde_json::to_string(&e.snapshot()).unwrap()
    };
    for chunk in [1usize, 7, 1000, 65_536] {
        let mut e = Engine::new(EngineConfig::new(r.settings, 100e6));
        for piece in pieces::in_pieces(&whole, chunk) {
            e.process(&piece);
        }
        e.flush();
        assert_eq!(serde_json::to_string(&e.snapshot()).unwrap(), reference, "chunk {chunk}");
    }
}

#[test]
fn the_block_pass_and_the_per_tag_path_give_identical_results() {
    // A busy, noisy stream (3 dB: many multi-click pulses; dark counts, background,
    // afterpulses, misalignment) through the block pass and, with the assignment log on,
    // tag by tag.
    let optics = OpticsConfig { channel: ChannelModel::Constant { loss_db: 3.0, range_km: 0.0 }, ..Default::default() };
    let r = bench(optics, &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 0.05);
    let fast = engine(&r, false);
    let slow = engine(&r, true);
    assert!(fast.block_pass_tags() > 9 * r.batches.iter().map(TagBatch::len).sum::<usize>() as u64 / 10);
    assert_eq!(slow.block_pass_tags(), 0);
    let s = fast.snapshot();
    assert!(s.counts.double_clicks > 100 && s.counts.cross_basis > 100, "{:?}", s.counts);
    assert_eq!(serde_json::to_string(&s).unwrap(), serde_json::to_string(&slow.snapshot()).unwrap());
    assert_eq!(fast.histogram(), slow.histogram());
    assert_eq!(
        serde_json::to_string(&fast.characterise()).unwrap(),
        serde_json::to_string(&slow.characterise()).unwrap()
    );
    assert_eq!(fast.windows().count(), slow.windows().count());
}

#[test]
fn windows_hold_the_same_pulses_through_the_block_pass_and_tag_by_tag() {
    // Windows of 0.1 ms on a busy stream: windows close inside blocks all the time, where
    // the block pass may not count a block's middle in bulk. (The windows' `channel_tags`
    // run to the end of the block, or of the tag, that closes them: they differ by path.)
    let optics = OpticsConfig { channel: ChannelModel::Constant { loss_db: 3.0, range_km: 0.0 }, ..Default::default() };
    let r = bench(optics, &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 0.05);
    let run = |log: bool| {
        let mut cfg = EngineConfig::new(r.settings, 100e6);
        cfg.log_assignments = log;
        cfg.window_pulses = 10_007;
        let mut e = Engine::new(cfg);
        for b in &r.batches {
            e.process(b);
        }
        e.flush();
        e
    };
    let (fast, slow) = (run(false), run(true));
    assert!(fast.block_pass_tags() > 0 && slow.block_pass_tags() == 0);
    assert!(fast.windows().count() > 400);
    for (a, b) in fast.windows().zip(slow.windows()) {
        assert_eq!(a.index, b.index);
        assert_eq!(
            serde_json::to_string(&a.counts).unwrap(),
            serde_json::to_string(&b.counts).unwrap(),
            "window {}",
            a.index
        );
        assert_eq!(a.key_length_bits, b.key_length_bits);
    }
    assert_eq!(fast.windows().count(), slow.windows().count());
}

#[test]
fn characterisation_recovers_the_module_settings() {
    let mut optics = quiet(18.0);
    optics.source.class_mu_factor = [1.0, 1.2, 1.0, 1.0]; // the decoy runs 20% hot
    optics.source.patterning[0][1] = 1.3; // a decoy after a signal pulse is brighter
    optics.receiver.misalignment = [0.02, 0.04];
    optics.background_rate_hz = 2_000.0;
    for d in &mut optics.detectors {
        d.dead_time_ps = 45_000.0;
        d.afterpulse_probability = 0.05;
        d.afterpulse_delay_ps = 500_000.0;
        d.jitter_ps = 100.0;
    }
    let r = bench(optics, &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 2.0);
    let e = engine(&r, false);
    let ch = e.characterise();
    let ratio = ch.intensity_ratio[1].unwrap();
    // Set 0.1 / 0.8 = 0.125, 20% hot, and the patterning raises the decoy's mean by
    // 0.5 * 0.3 = 15%: 0.125 * 1.2 * 1.15 = 0.1725.
    assert!((ratio - 0.1725).abs() < 0.008, "intensity ratio {ratio}");
    let after_signal = ch.patterning[0][1].unwrap();
    assert!((after_signal - 1.3 / 1.15).abs() < 0.03, "patterning {after_signal}");
    let clicks = e.snapshot().counts.clicks;
    for (st, e_mis) in [(0usize, 0.02), (1, 0.02), (2, 0.04), (3, 0.04)] {
        // Background and afterpulses in the gate pull the contrast down: 2000 Hz of
        // background in a 1 ns gate against ~3.4e-3 clicks per pulse is 0.25% of the clicks,
        // afterpulses (5%, spread over microseconds, 10% of them in a gate) 0.5%; each is a
        // random bit: at most -0.015 together. Statistics: sigma^2 = 4 e (1 - e) / N.
        let (b, bit) = (st / 2, st % 2);
        let n: u64 = (0..4).map(|k| clicks[k][b][bit][2 * b] + clicks[k][b][bit][2 * b + 1]).sum();
        let c = ch.contrast[st].unwrap();
        let want = 1.0 - 2.0 * e_mis;
        let sigma = (4.0 * e_mis * (1.0 - e_mis) / n as f64).sqrt();
        assert!(
            c < want + 5.0 * sigma && c > want - 0.015 - 5.0 * sigma,
            "state {st}: contrast {c}, set {want} ({n} clicks)"
        );
    }
    for (d, det) in ch.detectors.iter().enumerate() {
        let dead = det.dead_time_ps.unwrap();
        assert!((dead - 45_000.0).abs() <= 1_000.0, "detector {d}: dead time {dead}");
        let ap = det.afterpulse_probability.unwrap();
        assert!((ap - 0.05).abs() < 0.01, "detector {d}: afterpulse probability {ap}");
        // 100 ps detector jitter (FWHM 235 ps) with the sync's, filtered, and 10 ps bins.
        let fwhm = det.arrival_fwhm_ps.unwrap();
        assert!((220.0..280.0).contains(&fwhm), "detector {d}: FWHM {fwhm}");
    }
    let leak = ch.vacuum_leakage_per_pulse.unwrap();
    let noise = ch.noise_per_pulse.unwrap();
    assert!(noise > 0.0 && leak.abs() < 3.0 * noise.max(1e-7), "vacuum leakage {leak:.2e} vs noise {noise:.2e}");
}

#[test]
fn windows_partition_the_run_and_the_run_key_uses_all_counts() {
    let r = bench(quiet(10.0), &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 0.55);
    let e = engine(&r, false);
    let windows: Vec<_> = e.windows().cloned().collect();
    // 100 ms windows over ~0.55 s: 5 full ones and the partial last one.
    assert!((5..=7).contains(&windows.len()), "{} windows", windows.len());
    assert!(windows.windows(2).all(|w| w[1].index > w[0].index));
    let mut sum = SiftCounts::default();
    for w in &windows {
        sum.add(&w.counts);
        // 5 sigma of this window's own sifted Z events around the 1% misalignment.
        let n: u64 = (0..4).map(|c| w.counts.sifted[c][0]).sum();
        let sigma = (0.01 * 0.99 / n as f64).sqrt();
        assert!((w.qber[0].unwrap() - 0.01).abs() < 5.0 * sigma, "window {}: {:?} ({n} sifted)", w.index, w.qber);
    }
    assert_eq!(sum, e.snapshot().counts, "the windows add up to the run");
    // Sync at 100 kHz: 10,000 per 100 ms window (the windows are cut by pulse index, so
    // each full window holds 10,000 +- 1 syncs).
    for w in &windows[1..windows.len() - 1] {
        assert!((9_999..=10_001).contains(&w.channel_tags[4]), "window {}: {} syncs", w.index, w.channel_tags[4]);
        assert!((w.duration_s - 0.1).abs() < 1e-12);
    }
    let k = e.run_key().expect("a key evaluation");
    assert!(k.key_length_bits > 0, "{k:?}");
    assert!(k.key_length_bits > windows.iter().map(|w| w.key_length_bits).max().unwrap(), "one block beats any window");
}

#[test]
fn qubit_based_sync_locks_within_two_seconds_at_35_db_without_a_sync_channel() {
    use engine::qubit_sync::QubitSyncConfig;
    use engine::SyncMode;
    let mut optics = quiet(35.0);
    optics.tagger_clock_ppm = -7.0;
    optics.background_rate_hz = 200.0;
    for d in &mut optics.detectors {
        d.dark_rate_hz = 100.0;
    }
    let r = bench(optics, &PatternConfig::default(), 4.0);
    let mut cfg = EngineConfig::new(r.settings, 100e6);
    cfg.sync = SyncMode::Qubit(QubitSyncConfig::new(cfg.clock.pulse_period_ps));
    cfg.log_assignments = true;
    // Hide the sync and frame channels from the engine: it must do without them.
    cfg.channels.sync = 6;
    cfg.channels.frame = 7;
    let mut e = Engine::new(cfg);
    for b in &r.batches {
        e.process(b);
    }
    e.flush();
    let s = e.snapshot();
    let lock = s.lock_events.iter().find(|x| x.state == LockState::Locked).expect("locked");
    let t_lock = lock.time_ps as f64 * 1e-12;
    assert!(t_lock < 2.0, "locked after {t_lock:.2} s");
    assert!((s.rate_offset + 7e-6).abs() < 1e-8, "rate offset {:.4e}", s.rate_offset);
    // Indices agree with the truth for the signal clicks.
    let truth = truth_pulses(&r);
    let (mut ok, mut checked) = (0, 0);
    for &(t, d, p) in &e.assignments {
        if let Some(want) = [0, 1, -1].iter().find_map(|o| truth.get(&(d, t.div_euclid(10) + o))) {
            checked += 1;
            ok += usize::from(p as u64 == *want);
        }
    }
    assert!(checked > 5000 && ok == checked, "{ok} of {checked} signal detections indexed right");
    assert!(s.qber[0].unwrap() < 0.03, "{:?}", s.qber);
}

#[test]
fn tracks_the_whole_micius_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/passes");
    if !dir.exists() {
        assert!(
            std::env::var_os("QKDBENCH_REQUIRE_DATA").is_none(),
            "../shared/data is missing and QKDBENCH_REQUIRE_DATA is set"
        );
        eprintln!("skipped: {} is absent (the real Micius pass lives in ../shared/data)", dir.display());
        return;
    }
    let pass = sim::PassProfile::micius_2017(&dir).unwrap();
    let optics = OpticsConfig { channel: ChannelModel::Pass(pass), tagger_clock_ppm: 2.0, ..Default::default() };
    let mut dev =
        sim::open(BenchConfig { fidelity: Fidelity::Fast, optics, keep_truth: false, duration_s: None }).unwrap();
    let settings = dev.pattern_gen.configure(&PatternConfig::default()).unwrap();
    dev.tagger.configure(&TaggerConfig::default()).unwrap();
    dev.tagger.start().unwrap();
    dev.pattern_gen.start().unwrap();
    let mut e = Engine::new(EngineConfig::new(settings, 100e6));
    let (mut min_rate, mut max_rate) = (f64::MAX, f64::MIN);
    loop {
        let mut b = TagBatch::default();
        let st = dev.tagger.read_batch(&mut b, Duration::from_secs(1)).unwrap();
        e.process(&b);
        let s = e.snapshot();
        if s.lock == LockState::Locked {
            min_rate = min_rate.min(s.rate_offset);
            max_rate = max_rate.max(s.rate_offset);
        }
        if st == ReadState::Ended {
            break;
        }
    }
    e.flush();
    let s = e.snapshot();
    // Locked from start to end, through the whole Doppler sweep.
    assert_eq!(s.lock_events.iter().filter(|x| x.state != LockState::Locked).count(), 0, "{:?}", s.lock_events);
    assert!(min_rate < -1.5e-5 && max_rate > 1.5e-5, "Doppler sweep {min_rate:.2e} .. {max_rate:.2e}");
    let rms = s.residual_rms_ps.unwrap();
    assert!(rms <= 100.0, "timing residual RMS {rms:.1} ps");
    assert_eq!(s.clock.frame_slips, 0);
    assert!(s.qber[0].unwrap() < 0.02 && s.qber[1].unwrap() < 0.02, "{:?}", s.qber);
}
