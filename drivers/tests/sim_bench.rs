//! The simulated bench's optics statistics against their analytic expectations, through the
//! real drivers (pattern generator over register frames, tagger stream decoded).

use std::time::Duration;

use drivers::pattern_gen::PatternConfig;
use drivers::sim::{self, BenchConfig, ChannelModel, Fault, Fidelity, OpticsConfig};
use drivers::stream::{StreamEvent, TagBatch};
use drivers::time_tagger::{ReadState, TaggerConfig, TimeTagger};
use drivers::DriverError;
use rtl::model::pattern_gen::{self as model, PatternSettings};
use rtl::slot::Basis;

struct Run {
    tags: TagBatch,
    truth: drivers::sim::truth::Truth,
    settings: PatternSettings,
    error: Option<DriverError>,
}

/// No dark counts, no background, no dead time and no jitter: clicks are signal only.
fn quiet_optics(loss_db: f64) -> OpticsConfig {
    let mut o = OpticsConfig::noiseless(loss_db);
    for d in &mut o.detectors {
        d.dead_time_ps = 0.0;
        d.jitter_ps = 0.0;
    }
    o
}

fn run(fidelity: Fidelity, optics: OpticsConfig, pattern: &PatternConfig, tagger: &TaggerConfig, seconds: f64) -> Run {
    let cfg = BenchConfig { fidelity, optics, keep_truth: true, duration_s: Some(seconds) };
    let mut dev = sim::open(cfg).unwrap();
    let settings = dev.pattern_gen.configure(pattern).unwrap();
    dev.tagger.configure(tagger).unwrap();
    dev.tagger.start().unwrap();
    dev.pattern_gen.start().unwrap();
    let mut tags = TagBatch::default();
    let mut error = None;
    loop {
        match dev.tagger.read_batch(&mut tags, Duration::from_secs(1)) {
            Ok(ReadState::Streaming) => {}
            Ok(ReadState::Ended) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let truth = dev.tagger.link().bench().truth().clone();
    Run { tags, truth, settings, error }
}

fn count(tags: &TagBatch, ch: u8) -> u64 {
    tags.channel.iter().filter(|&&c| c == ch).count() as u64
}

/// Expected signal clicks on detector d: N * sum over classes and states of P * (1 - e^-lambda).
fn expected_clicks(s: &PatternSettings, optics: &OpticsConfig, cal_mu: &[f64], pulses: u64, d: usize) -> f64 {
    let p = s.class_probabilities();
    let pz = f64::from(s.basis_thr) / 65536.0;
    let eta =
        10f64.powf(-optics.channel.loss_db(0.0) / 10.0) * optics.receiver.efficiency * optics.detectors[d].efficiency;
    let split = if d < 2 { optics.receiver.z_split } else { 1.0 - optics.receiver.z_split };
    let mut sum = 0.0;
    for (k, mu) in cal_mu.iter().enumerate() {
        for (basis, pb) in [(0usize, pz), (1, 1.0 - pz)] {
            for bit in 0..2usize {
                let q = if basis == d / 2 {
                    let e = optics.receiver.misalignment[basis];
                    split * if d % 2 == bit { 1.0 - e } else { e }
                } else {
                    split * 0.5
                };
                sum += p[k] * pb * 0.5 * -(-(mu * eta * q)).exp_m1();
            }
        }
    }
    pulses as f64 * sum
}

fn within_3_sigma(got: u64, want: f64, what: &str) {
    let sigma = want.sqrt().max(1.0);
    assert!(
        (got as f64 - want).abs() <= 3.0 * sigma,
        "{what}: got {got}, expected {want:.1} +- {:.1} (3 sigma)",
        3.0 * sigma
    );
}

fn no_dead_time() -> TaggerConfig {
    TaggerConfig { dead_time_cycles: [0; 8], ..Default::default() }
}

#[test]
fn click_rate_follows_loss_mu_and_efficiency() {
    for (loss_db, mu, eff) in [(20.0, 0.5, 0.5), (30.0, 0.8, 0.25), (10.0, 0.1, 0.9)] {
        let mut optics = quiet_optics(loss_db);
        for d in &mut optics.detectors {
            d.efficiency = eff;
        }
        let pattern = PatternConfig { mu: vec![mu], class_probabilities: vec![1.0], ..Default::default() };
        let r = run(Fidelity::Fast, optics.clone(), &pattern, &no_dead_time(), 0.05);
        let cal_mu = [pattern.calibration.mu(r.settings.dac_code[0])];
        assert!(r.error.is_none());
        for d in 0..4u8 {
            let want = expected_clicks(&r.settings, &optics, &cal_mu, r.truth.pulses_emitted, usize::from(d));
            within_3_sigma(
                count(&r.tags, d),
                want,
                &format!("detector {d} at {loss_db} dB, mu {mu}, efficiency {eff}"),
            );
        }
    }
}

#[test]
fn decoy_classes_click_in_proportion_to_their_mu() {
    let optics = quiet_optics(15.0);
    let pattern = PatternConfig::default(); // 0.8 / 0.1 / 0 with 0.5 / 0.25 / 0.25
    let r = run(Fidelity::Fast, optics, &pattern, &no_dead_time(), 0.05);
    let mut by_class = [0u64; 4];
    for rec in r.truth.records.as_ref().unwrap() {
        if let sim::optics::Cause::Signal { pulse } = rec.cause {
            by_class[usize::from(model::symbol(&r.settings, pulse).class)] += 1;
        }
    }
    assert_eq!(by_class[2], 0, "vacuum pulses give no signal clicks");
    // Gains: Q_k = clicks_k / (N p_k); in the linear regime Q_2/Q_1 = mu_2/mu_1 = 0.125.
    let ratio = (by_class[1] as f64 / 0.25) / (by_class[0] as f64 / 0.5);
    let sigma = ratio * (1.0 / by_class[1] as f64 + 1.0 / by_class[0] as f64).sqrt();
    let eta = 10f64.powf(-1.5) * 0.5 * 0.5;
    let want = -(-0.1f64 * eta).exp_m1() / -(-0.8f64 * eta).exp_m1();
    assert!((ratio - want).abs() < 3.0 * sigma, "gain ratio {ratio:.5}, expected {want:.5} +- {:.5}", 3.0 * sigma);
}

#[test]
fn qber_follows_misalignment() {
    for e in [0.005, 0.02, 0.1] {
        let mut optics = quiet_optics(13.0);
        optics.receiver.misalignment = [e, e];
        let pattern = PatternConfig { mu: vec![0.5], class_probabilities: vec![1.0], ..Default::default() };
        let r = run(Fidelity::Fast, optics, &pattern, &no_dead_time(), 0.05);
        let (mut sifted, mut errors) = (0u64, 0u64);
        for rec in r.truth.records.as_ref().unwrap() {
            if let sim::optics::Cause::Signal { pulse } = rec.cause {
                let s = model::symbol(&r.settings, pulse);
                let det_basis = if rec.channel < 2 { Basis::Z } else { Basis::X };
                if det_basis == s.basis {
                    sifted += 1;
                    errors += u64::from(rec.channel % 2 != s.bit);
                }
            }
        }
        let q = errors as f64 / sifted as f64;
        let sigma = (e * (1.0 - e) / sifted as f64).sqrt();
        assert!(
            (q - e).abs() < 3.0 * sigma,
            "QBER {q:.5} for misalignment {e} (+- {:.5}, {sifted} sifted)",
            3.0 * sigma
        );
    }
}

#[test]
fn no_two_clicks_on_a_detector_within_its_dead_time() {
    let mut optics = quiet_optics(3.0);
    for d in &mut optics.detectors {
        d.dead_time_ps = 45_000.0;
        d.jitter_ps = 40.0;
        d.dark_rate_hz = 1e5;
    }
    let pattern = PatternConfig { mu: vec![0.5], class_probabilities: vec![1.0], ..Default::default() };
    let r = run(Fidelity::Fast, optics, &pattern, &no_dead_time(), 0.01);
    for d in 0..4u8 {
        let times: Vec<i64> =
            r.tags.time_ps.iter().zip(&r.tags.channel).filter(|(_, c)| **c == d).map(|(t, _)| *t).collect();
        assert!(times.len() > 10_000, "detector {d}: only {} clicks", times.len());
        let min_gap = times.windows(2).map(|w| w[1] - w[0]).min().unwrap();
        // The tagger quantises to 10 ps bins.
        assert!(min_gap >= 45_000 - 10, "detector {d}: clicks {min_gap} ps apart");
        assert!(r.truth.dead_time_losses[usize::from(d)] > 0, "the dead time did remove clicks");
    }
}

#[test]
fn host_stall_overflow_is_in_band_and_counted_exactly() {
    let mut optics = quiet_optics(0.0);
    optics.faults = vec![Fault::HostStall { from_s: 0.002, to_s: 0.003 }];
    for d in &mut optics.detectors {
        d.dead_time_ps = 20_000.0;
    }
    let pattern =
        PatternConfig { mu: vec![0.5], class_probabilities: vec![1.0], sync_period_pulses: 100, ..Default::default() };
    let r = run(Fidelity::Fast, optics, &pattern, &TaggerConfig::default(), 0.006);
    let begins = r.tags.events.iter().filter(|e| matches!(e.1, StreamEvent::OverflowBegin { .. })).count();
    let ends = r.tags.events.iter().filter(|e| matches!(e.1, StreamEvent::OverflowEnd { .. })).count();
    let missed: u64 =
        r.tags.events.iter().map(|e| if let StreamEvent::Missed { count, .. } = e.1 { count } else { 0 }).sum();
    assert!(begins >= 1 && begins == ends, "{begins} overflow begins, {ends} ends");
    let reached: u64 = r.truth.events.iter().flatten().sum();
    assert_eq!(r.truth.late_hits, 0);
    assert_eq!(r.tags.len() as u64 + missed, reached, "every event is a tag or a counted loss");
    assert!(missed > 1000);
}

#[test]
fn sync_dropout_removes_syncs_for_its_interval_only() {
    let mut optics = quiet_optics(20.0);
    optics.faults = vec![Fault::SyncDropout { from_s: 0.01, to_s: 0.02 }];
    let pattern = PatternConfig { sync_period_pulses: 1000, ..Default::default() };
    let r = run(Fidelity::Fast, optics, &pattern, &TaggerConfig::default(), 0.03);
    let syncs: Vec<i64> =
        r.tags.time_ps.iter().zip(&r.tags.channel).filter(|(_, c)| **c == 4).map(|(t, _)| *t).collect();
    assert!(syncs.iter().all(|t| *t < 10_000_000_000 || *t >= 20_000_000_000));
    // 100 kHz of syncs for 20 ms of the 30.
    assert!((1990..=2001).contains(&syncs.len()), "{} syncs", syncs.len());
}

#[test]
fn a_disconnect_ends_the_stream_with_an_error_naming_the_device() {
    let mut optics = quiet_optics(20.0);
    optics.faults = vec![Fault::Disconnect { at_s: 0.005 }];
    let r = run(Fidelity::Fast, optics, &PatternConfig::default(), &TaggerConfig::default(), 0.05);
    let e = r.error.expect("an error");
    assert!(matches!(e, DriverError::Disconnected { .. }));
    assert!(e.to_string().contains("simulated time tagger"), "{e}");
    assert!(!r.tags.is_empty(), "what came before the disconnect is kept");
}

#[test]
fn blinded_detector_goes_silent() {
    let mut optics = quiet_optics(10.0);
    optics.faults = vec![Fault::DetectorBlinded { detector: 1, from_s: 0.0, to_s: 1.0 }];
    let r = run(Fidelity::Fast, optics, &PatternConfig::default(), &TaggerConfig::default(), 0.01);
    assert_eq!(count(&r.tags, 1), 0);
    assert!(count(&r.tags, 0) > 1000 && r.truth.blinded_losses[1] > 1000);
}

/// Least-squares slope of t_k against k.
fn slope(t: &[i64]) -> f64 {
    let n = t.len() as f64;
    let t0 = t[0];
    let (mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0);
    for (k, &v) in t.iter().enumerate() {
        let (x, y) = (k as f64, (v - t0) as f64);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    (n * sxy - sx * sy) / (n * sxx - sx * sx)
}

/// The sync period the tagger sees, relative to nominal, against Doppler and clock offset.
fn check_doppler(channel: ChannelModel, ppm: f64, seconds: f64) {
    let mut optics = quiet_optics(0.0);
    optics.channel = channel.clone();
    optics.tagger_clock_ppm = ppm;
    let pattern = PatternConfig { sync_period_pulses: 1000, ..Default::default() };
    // Detectors off: only the syncs matter here.
    for d in &mut optics.detectors {
        d.efficiency = 0.0;
    }
    let r = run(Fidelity::Fast, optics, &pattern, &no_dead_time(), seconds);
    let syncs: Vec<i64> =
        r.tags.time_ps.iter().zip(&r.tags.channel).filter(|(_, c)| **c == 4).map(|(t, _)| *t).collect();
    assert!(syncs.len() as f64 > 0.99 * seconds * 1e5, "{} syncs", syncs.len());
    let measured = slope(&syncs) / (1000.0 * 10_000.0) - 1.0;
    // What a receiver must recover: the arrival times emission + range(emission)/c, seen
    // through the tagger's clock, fitted the same way.
    let t0 = syncs[0] as f64 - channel.range_km(0.0) / 299_792.458e-12 * (1.0 + ppm * 1e-6);
    let predicted: Vec<i64> = (0..syncs.len())
        .map(|k| {
            let t_tx = k as f64 * 1e7;
            (t0 + (t_tx + channel.range_km(t_tx * 1e-12) / 299_792.458e-12) * (1.0 + ppm * 1e-6)).round() as i64
        })
        .collect();
    let want = slope(&predicted) / (1000.0 * 10_000.0) - 1.0;
    assert!((measured - want).abs() < 1e-10, "recovered period ratio {measured:.6e}, expected {want:.6e}");
    // And that ratio is the Doppler factor (dr/dt)/c, with the clock offset on top.
    let span = seconds - 0.002;
    let doppler = (channel.range_km(span) - channel.range_km(0.0)) / span / 299_792.458;
    let secant = (1.0 + doppler) * (1.0 + ppm * 1e-6) - 1.0;
    assert!(
        (measured - secant).abs() < 0.01 * doppler.abs(),
        "recovered {measured:.4e}, (dr/dt)/c {doppler:.4e} with {ppm} ppm gives {secant:.4e}"
    );
    assert!(doppler.abs() > 1e-6, "the test needs a moving satellite");
}

#[test]
fn doppler_follows_the_orbit_range_rate() {
    let orbit = sim::CircularOrbit {
        altitude_km: 500.0,
        max_elevation_deg: 60.0,
        min_elevation_deg: 10.0,
        loss_at_zenith_db: 30.0,
        atmosphere_db: 1.0,
    };
    check_doppler(ChannelModel::Orbit(orbit), 2.5, 0.5);
}

#[test]
fn doppler_follows_the_micius_pass() {
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
    assert!((pass.duration_s() - 274.0).abs() < 0.2);
    assert!((pass.loss_db(137.0) - 29.8).abs() < 0.5, "loss near closest approach");
    check_doppler(ChannelModel::Pass(pass), -1.0, 0.5);
}

#[test]
fn a_malformed_pass_file_is_refused_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("qkdbench-pass-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("track.csv"), "time,distance\n0,1000\n0.1,abc\n").unwrap();
    std::fs::write(dir.join("link.csv"), "distance,loss\n600,30\n1200,40\n").unwrap();
    let e = sim::PassProfile::from_csv(&dir.join("track.csv"), &dir.join("link.csv")).unwrap_err().to_string();
    assert!(e.contains("track.csv:3") && e.contains("distance"), "{e}");
    std::fs::write(dir.join("track.csv"), "t,d\n0,1000\n").unwrap();
    let e = sim::PassProfile::from_csv(&dir.join("track.csv"), &dir.join("link.csv")).unwrap_err().to_string();
    assert!(e.contains("track.csv:1") && e.contains("header"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The RTL bench: pattern-generator RTL behind a pseudo-terminal (driven through serialport),
/// time-tagger RTL, the same optics and the same drivers.
#[test]
fn rtl_bench_runs_through_the_same_drivers_and_agrees_with_the_models() {
    let mut optics = quiet_optics(12.0);
    optics.receiver.misalignment = [0.02, 0.02];
    let pattern = PatternConfig { sync_period_pulses: 1000, ..Default::default() };
    // Device time includes the ~40 ms that configuring over a 115200-baud UART takes.
    let r = run(Fidelity::Rtl, optics, &pattern, &no_dead_time(), 0.07);
    assert!(r.error.is_none(), "{:?}", r.error);
    assert!(r.truth.pulses_emitted >= 200_000, "{} pulses", r.truth.pulses_emitted);
    let records = r.truth.records.as_ref().unwrap();
    let mut signal = 0;
    for rec in records {
        if let sim::optics::Cause::Signal { pulse } = rec.cause {
            signal += 1;
            // The RTL's symbols are the golden model's: vacuum never clicks, and a click on
            // the sender's basis mostly carries the sender's bit.
            let s = model::symbol(&r.settings, pulse);
            assert_ne!(s.class, 2, "a vacuum pulse clicked at pulse {pulse}");
        }
        if let sim::optics::Cause::Sync { pulse } = rec.cause {
            assert_eq!(pulse % 1000, 0);
        }
    }
    assert!(signal > 1000, "{signal} signal clicks");
    // Everything that reached the RTL tagger came out of the stream as a tag.
    let reached: u64 = r.truth.events.iter().flatten().sum();
    assert_eq!(r.tags.len() as u64, reached);
    assert_eq!(count(&r.tags, 4), r.truth.events[4][5]);
}
