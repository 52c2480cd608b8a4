//! The engine on several threads equals the engine on one, bit for bit: the snapshot, every
//! metric window, the arrival histogram and the characterisation, on streams that take
//! every path of the threaded block pass (busy and noisy, a sync dropout and re-lock, a
//! pass with Doppler), cut into batches of several sizes.

#[path = "common/pieces.rs"]
mod pieces;

use std::time::Duration;

use drivers::pattern_gen::PatternConfig;
use drivers::sim::{self, BenchConfig, ChannelModel, Fault, Fidelity, OpticsConfig};
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, TaggerConfig, TimeTagger};
use engine::{Engine, EngineConfig};
use rtl::model::pattern_gen::PatternSettings;

/// The whole stream of a simulated run, as one batch.
fn stream(optics: OpticsConfig, pattern: &PatternConfig, seconds: f64) -> (TagBatch, PatternSettings) {
    let mut dev =
        sim::open(BenchConfig { fidelity: Fidelity::Fast, optics, keep_truth: false, duration_s: Some(seconds) })
            .unwrap();
    let settings = dev.pattern_gen.configure(pattern).unwrap();
    dev.tagger.configure(&TaggerConfig::default()).unwrap();
    dev.tagger.start().unwrap();
    dev.pattern_gen.start().unwrap();
    let mut whole = TagBatch::default();
    loop {
        let mut b = TagBatch::default();
        let st = dev.tagger.read_batch(&mut b, Duration::from_secs(1)).unwrap();
        whole.append(&mut b);
        if st == ReadState::Ended {
            break;
        }
    }
    (whole, settings)
}

/// Everything the engine reports, as text.
fn fingerprint(e: &Engine) -> String {
    let windows: Vec<_> = e.windows().collect();
    format!(
        "{}\n{}\n{:?}\n{}\n{}",
        serde_json::to_string(&e.snapshot()).unwrap(),
        serde_json::to_string(&windows).unwrap(),
        e.histogram(),
        serde_json::to_string(&e.characterise()).unwrap(),
        e.block_pass_tags(),
    )
}

/// Runs `whole` in batches of `chunk` tags on `threads` threads; the fingerprint and the
/// tags the threads took.
fn run(cfg: &EngineConfig, whole: &TagBatch, chunk: usize, threads: usize) -> (String, u64) {
    let mut e = Engine::new(cfg.clone());
    e.set_threads(threads).unwrap();
    assert_eq!(e.threads(), threads);
    for piece in pieces::in_pieces(whole, chunk) {
        e.process(&piece);
    }
    e.flush();
    (fingerprint(&e), e.threaded_tags())
}

/// For each batch size, 2 and 3 threads give one thread's fingerprint; the threads took
/// most of the block pass's tags. (Batch sizes are compared with themselves: a window's
/// `channel_tags` run to the end of the block that closes it, and batch edges cut blocks,
/// on one thread as on several.)
fn assert_threads_agree(cfg: &EngineConfig, whole: &TagBatch) {
    for (threads, chunk) in [(2, 1 << 20), (3, 1 << 20), (2, 5_000), (3, 65_536), (2, 1_500)] {
        let (reference, none) = run(cfg, whole, chunk, 1);
        assert_eq!(none, 0);
        let block_pass: u64 = reference.lines().last().unwrap().parse().unwrap();
        assert!(block_pass > whole.len() as u64 / 2, "block pass took {block_pass} of {} tags", whole.len());
        let (got, threaded) = run(cfg, whole, chunk, threads);
        assert!(threaded > block_pass / 2, "{threads} threads, batches of {chunk}: threads took {threaded} tags");
        if got != reference {
            let line = got.lines().zip(reference.lines()).position(|(a, b)| a != b);
            panic!("{threads} threads, batches of {chunk}: differs from one thread at line {line:?}");
        }
    }
}

#[test]
fn threads_equal_one_thread_on_a_busy_noisy_stream() {
    // 3 dB: many pulses click two detectors; dark counts, background, afterpulses and
    // misalignment; windows of 0.1 ms, so windows close inside blocks all the time.
    let optics = OpticsConfig { channel: ChannelModel::Constant { loss_db: 3.0, range_km: 0.0 }, ..Default::default() };
    let (whole, settings) = stream(optics, &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 0.1);
    let mut cfg = EngineConfig::new(settings, 100e6);
    cfg.window_pulses = 10_007;
    assert_threads_agree(&cfg, &whole);
    let e = {
        let mut e = Engine::new(cfg.clone());
        e.process(&whole);
        e.flush();
        e
    };
    let s = e.snapshot();
    assert!(s.counts.double_clicks > 100 && s.counts.cross_basis > 100, "{:?}", s.counts);
    assert!(e.windows().count() > 500);
}

#[test]
fn threads_equal_one_thread_through_a_sync_dropout() {
    let mut optics = OpticsConfig::noiseless(6.0);
    optics.tagger_clock_ppm = 5.0;
    optics.faults = vec![Fault::SyncDropout { from_s: 0.2, to_s: 0.5 }];
    let (whole, settings) = stream(optics, &PatternConfig::default(), 0.8);
    let cfg = EngineConfig::new(settings, 100e6);
    assert_threads_agree(&cfg, &whole);
    let mut e = Engine::new(cfg);
    e.set_threads(2).unwrap();
    e.process(&whole);
    e.flush();
    let states: Vec<_> = e.snapshot().lock_events.iter().map(|x| x.state).collect();
    assert!(states.contains(&engine::clock::LockState::Holdover), "{states:?}");
}

#[test]
fn threads_equal_one_thread_on_a_pass() {
    let orbit = sim::CircularOrbit {
        altitude_km: 500.0,
        max_elevation_deg: 70.0,
        min_elevation_deg: 10.0,
        loss_at_zenith_db: 0.0,
        atmosphere_db: 1.0,
    };
    let mut optics = OpticsConfig::noiseless(0.0);
    optics.channel = ChannelModel::Orbit(orbit);
    optics.tagger_clock_ppm = 3.0;
    let (whole, settings) = stream(optics, &PatternConfig::default(), 2.0);
    let cfg = EngineConfig::new(settings, 100e6);
    assert_threads_agree(&cfg, &whole);
}

/// Detectors delayed by a few pulses: the calibration (inside the first batch) raises the
/// reorder bound from 2 to 8 pulses, and blocks written down after it must be worked out with
/// the new bound (found by a review: a batch-wide bound split a pulse's two clicks and
/// counted them as two single clicks).
#[test]
fn threads_equal_one_thread_with_detectors_pulses_apart() {
    for seed in [3, 6, 7] {
        let mut optics = OpticsConfig::noiseless(6.0);
        optics.seed = seed;
        optics.detectors[1].delay_ps = 25_000.0;
        optics.detectors[2].delay_ps = 55_000.0;
        let (whole, settings) = stream(optics, &PatternConfig { sync_period_pulses: 300, ..Default::default() }, 0.05);
        let cfg = EngineConfig::new(settings, 100e6);
        for chunk in [65_536, 1 << 20] {
            let (reference, _) = run(&cfg, &whole, chunk, 1);
            for threads in [2, 3] {
                let (got, threaded) = run(&cfg, &whole, chunk, threads);
                assert!(threaded > 0);
                if got != reference {
                    let line = got.lines().zip(reference.lines()).position(|(a, b)| a != b);
                    panic!(
                        "seed {seed}, {threads} threads, batches of {chunk}: differs from one thread at line {line:?}"
                    );
                }
            }
        }
    }
}

/// The threads' sums stay with the engine they were counted for: a clone taken mid-run and
/// the engine it was taken from each end with one thread's result, and so does an engine
/// whose thread count changes mid-run (the sums are kept apart until read).
#[test]
fn clones_and_thread_changes_mid_run_keep_one_threads_result() {
    let optics = OpticsConfig { channel: ChannelModel::Constant { loss_db: 3.0, range_km: 0.0 }, ..Default::default() };
    let (whole, settings) = stream(optics, &PatternConfig { sync_period_pulses: 1000, ..Default::default() }, 0.05);
    let cfg = EngineConfig::new(settings, 100e6);
    let chunk = 65_536;
    let pieces: Vec<TagBatch> = pieces::in_pieces(&whole, chunk).collect();
    let (reference, _) = run(&cfg, &whole, chunk, 1);
    let half = pieces.len() / 2;
    assert!(half >= 2, "{} batches", pieces.len());

    let mut a = Engine::new(cfg.clone());
    a.set_threads(2).unwrap();
    for p in &pieces[..half] {
        a.process(p);
    }
    let mut b = a.clone();
    // The histogram read mid-run (as the live view does) changes nothing.
    assert!(b.histogram().iter().flatten().sum::<u64>() > 0);
    for e in [&mut a, &mut b] {
        for p in &pieces[half..] {
            e.process(p);
        }
        e.flush();
    }
    assert!(a.threaded_tags() > 0);
    assert!(fingerprint(&a) == reference, "the engine a clone was taken from differs from one thread");
    assert!(fingerprint(&b) == reference, "a clone taken mid-run differs from one thread");

    let mut c = Engine::new(cfg.clone());
    for (i, p) in pieces.iter().enumerate() {
        c.set_threads([2, 1, 3][i % 3]).unwrap();
        c.process(p);
    }
    c.flush();
    assert!(fingerprint(&c) == reference, "changing the threads mid-run differs from one thread");
}

#[test]
fn zero_threads_is_refused() {
    let mut e = Engine::new(EngineConfig::new(PatternSettings::default(), 100e6));
    let err = e.set_threads(0).unwrap_err();
    assert_eq!(err.field, "threads");
    assert_eq!(e.threads(), 1);
}
