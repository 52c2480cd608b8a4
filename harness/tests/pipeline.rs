//! The threaded pipeline gives the same answer as the engine alone, loses nothing to a slow
//! recorder, and ends cleanly with the reason when the device goes away.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use drivers::pattern_gen::PatternConfig;
use drivers::protocol::tag_stream::TimeBase;
use drivers::sim::{self, BenchConfig, ChannelModel, Fault, Fidelity, OpticsConfig};
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, TaggerConfig, TimeTagger};
use drivers::DriverError;
use engine::{Engine, EngineConfig};
use harness::pipeline::{self, EndReason, Flow, NoObserver, Observer, PipelineConfig, RecordItem, Update};

fn devices(faults: Vec<Fault>) -> (sim::SimDevices, EngineConfig) {
    let optics =
        OpticsConfig { channel: ChannelModel::Constant { loss_db: 12.0, range_km: 0.0 }, faults, ..Default::default() };
    let mut dev =
        sim::open(BenchConfig { fidelity: Fidelity::Fast, optics, keep_truth: false, duration_s: Some(0.3) }).unwrap();
    let settings =
        dev.pattern_gen.configure(&PatternConfig { sync_period_pulses: 1000, ..Default::default() }).unwrap();
    dev.tagger.configure(&TaggerConfig::default()).unwrap();
    dev.tagger.start().unwrap();
    dev.pattern_gen.start().unwrap();
    (dev, EngineConfig::new(settings, 100e6))
}

/// Reference: the same bench, read and processed on one thread; and the tags it gave.
fn reference() -> (Engine, u64) {
    let (mut dev, cfg) = devices(vec![]);
    let mut direct = Engine::new(cfg);
    let mut total = 0u64;
    loop {
        let mut b = TagBatch::default();
        let st = dev.tagger.read_batch(&mut b, Duration::from_secs(1)).unwrap();
        total += b.len() as u64;
        direct.process(&b);
        if st == ReadState::Ended {
            break;
        }
    }
    direct.flush();
    (direct, total)
}

#[test]
fn pipeline_matches_the_engine_alone_and_the_recorder_gets_every_tag() {
    let (direct, total) = reference();

    let (dev, cfg) = devices(vec![]);
    let mut engine = Engine::new(cfg);
    // A slow recorder: a tiny channel and a consumer that sleeps on every batch.
    let (rtx, rrx) = crossbeam_channel::bounded(2);
    let recorder = std::thread::spawn(move || {
        let (mut tags, mut end) = (0u64, None);
        for item in rrx {
            match item {
                RecordItem::Batch(b) => {
                    tags += b.len() as u64;
                    std::thread::sleep(Duration::from_millis(3));
                }
                RecordItem::Snapshot(..) | RecordItem::Windows(_) | RecordItem::Start(..) | RecordItem::Stop => {}
                RecordItem::End(e) => end = Some(e),
            }
        }
        (tags, end)
    });
    let cfg = PipelineConfig { ring_batches: 4, update_interval: Duration::from_millis(1), ..Default::default() };
    let report =
        pipeline::run(dev.tagger, &mut engine, &cfg, Some(rtx), &mut NoObserver, Arc::new(AtomicBool::new(false)));
    let (recorded, end) = recorder.join().unwrap();
    assert_eq!(report.end, EndReason::Complete);
    assert_eq!(end, Some(EndReason::Complete));
    assert_eq!(report.tags, total);
    assert_eq!(recorded, total, "the recorder got every tag");
    assert_eq!(serde_json::to_string(&report.last).unwrap(), serde_json::to_string(&direct.snapshot()).unwrap());
    assert!(report.reader_waits > 0, "a slow recorder must push back on the reader");
}

#[test]
fn a_vanished_device_ends_the_run_with_its_name() {
    let (dev, cfg) = devices(vec![Fault::Disconnect { at_s: 0.1 }]);
    let mut engine = Engine::new(cfg);
    let report = pipeline::run(
        dev.tagger,
        &mut engine,
        &PipelineConfig::default(),
        None,
        &mut NoObserver,
        Arc::new(AtomicBool::new(false)),
    );
    match report.end {
        EndReason::DeviceError(m) => assert!(m.contains("simulated time tagger"), "{m}"),
        other => panic!("expected a device error, got {other:?}"),
    }
    assert!(report.tags > 0, "what came before the loss was processed");
}

/// A tagger that delivers its batches, then nothing for `silence` (a sync and signal
/// dropout, or a stalled link), then ends. A fake of one layer: it tests the pipeline's timer.
struct SilentTagger {
    batches: Vec<TagBatch>,
    silence: Duration,
    quiet_since: Option<std::time::Instant>,
}

impl TimeTagger for SilentTagger {
    fn configure(&mut self, _: &TaggerConfig) -> Result<TimeBase, DriverError> {
        Ok(TimeBase { coarse_period_ps: 10_000, fine_bins: 1000 })
    }
    fn start(&mut self) -> Result<(), DriverError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), DriverError> {
        Ok(())
    }
    fn read_batch(&mut self, out: &mut TagBatch, timeout: Duration) -> Result<ReadState, DriverError> {
        if let Some(mut b) = self.batches.pop() {
            out.append(&mut b);
            return Ok(ReadState::Streaming);
        }
        let since = *self.quiet_since.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() >= self.silence {
            return Ok(ReadState::Ended);
        }
        std::thread::sleep(timeout.min(Duration::from_millis(5)));
        Ok(ReadState::Streaming)
    }
}

#[derive(Default)]
struct Counting {
    updates: Vec<(Duration, bool)>,
    windows: usize,
    histograms: usize,
}

impl Observer for Counting {
    fn update(&mut self, u: &Update<'_>) -> Flow {
        self.updates.push((u.wall, u.last));
        self.windows += u.windows.len();
        self.histograms += usize::from(u.histogram.is_some());
        Flow::Continue
    }
    fn wants_histogram(&self) -> bool {
        true
    }
}

#[test]
fn updates_keep_coming_on_the_timer_while_no_batch_arrives() {
    let (mut dev, cfg) = devices(vec![]);
    let mut batches = Vec::new();
    loop {
        let mut b = TagBatch::default();
        let st = dev.tagger.read_batch(&mut b, Duration::from_secs(1)).unwrap();
        batches.push(b);
        if st == ReadState::Ended {
            break;
        }
    }
    batches.reverse();
    let tagger = SilentTagger { batches, silence: Duration::from_millis(600), quiet_since: None };
    let mut engine = Engine::new(cfg);
    let mut obs = Counting::default();
    let pcfg = PipelineConfig { update_interval: Duration::from_millis(20), ..Default::default() };
    let report = pipeline::run(tagger, &mut engine, &pcfg, None, &mut obs, Arc::new(AtomicBool::new(false)));
    assert_eq!(report.end, EndReason::Complete);
    // 600 ms of silence at 20 ms: about 30 updates with no batch at all (at least 15 on a
    // loaded machine), then exactly one last update.
    let timer_updates = obs.updates.iter().filter(|(_, last)| !last).count();
    assert!(timer_updates >= 15, "only {timer_updates} updates during 600 ms of silence");
    assert_eq!(obs.updates.iter().filter(|(_, last)| *last).count(), 1);
    assert!(obs.updates.last().unwrap().1, "the last update comes last");
    assert_eq!(obs.windows as u64, engine.snapshot().windows_closed, "every closed window reached the observer once");
    assert_eq!(obs.histograms, obs.updates.len(), "the histogram came with every update it was asked for");
}

struct StopWhenLocked;

impl Observer for StopWhenLocked {
    fn update(&mut self, u: &Update<'_>) -> Flow {
        if u.snapshot.lock == engine::clock::LockState::Locked {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

#[test]
fn an_observer_can_end_the_run_as_complete_without_touching_the_callers_stop() {
    let optics =
        OpticsConfig { channel: ChannelModel::Constant { loss_db: 12.0, range_km: 0.0 }, ..Default::default() };
    let mut dev =
        sim::open(BenchConfig { fidelity: Fidelity::Fast, optics, keep_truth: false, duration_s: None }).unwrap();
    let settings =
        dev.pattern_gen.configure(&PatternConfig { sync_period_pulses: 1000, ..Default::default() }).unwrap();
    dev.tagger.configure(&TaggerConfig::default()).unwrap();
    dev.tagger.link_mut().realtime = true;
    dev.tagger.start().unwrap();
    dev.pattern_gen.start().unwrap();
    let mut engine = Engine::new(EngineConfig::new(settings, 100e6));
    let stop = Arc::new(AtomicBool::new(false));
    let pcfg = PipelineConfig { update_interval: Duration::from_millis(10), ..Default::default() };
    let report = pipeline::run(dev.tagger, &mut engine, &pcfg, None, &mut StopWhenLocked, stop.clone());
    assert_eq!(report.end, EndReason::Complete);
    assert_eq!(report.last.lock, engine::clock::LockState::Locked);
    assert!(!stop.load(std::sync::atomic::Ordering::Relaxed), "the caller's stop flag is the caller's");
}

/// An observer that makes the engine's thread slow: it sleeps at every update.
struct Slow(Duration);

impl Observer for Slow {
    fn update(&mut self, _u: &Update<'_>) -> Flow {
        std::thread::sleep(self.0);
        Flow::Continue
    }
}

/// The recording never waits on analysis (issue 13): with a deliberately slowed engine on a
/// live pipeline (`keep_up`), the recorder still gets every tag; the engine skips blocks,
/// says which fraction it analysed (below 1), keeps its lock (the skipped blocks' syncs go
/// through), and its gain of the analysed part agrees with the full analysis's within 5
/// sigma of the counts. Offline (`keep_up` false), nothing is skipped.
#[test]
fn a_slow_engine_skips_blocks_but_the_recording_gets_every_tag() {
    let (direct, total) = reference();
    let full = direct.snapshot();
    for keep_up in [true, false] {
        let (dev, cfg) = devices(vec![]);
        let mut engine = Engine::new(cfg);
        let (rtx, rrx) = crossbeam_channel::bounded(1024);
        let recorder = std::thread::spawn(move || {
            let mut tags = 0u64;
            for item in rrx {
                if let RecordItem::Batch(b) = item {
                    tags += b.len() as u64;
                }
            }
            tags
        });
        let cfg = PipelineConfig {
            ring_batches: 4,
            update_interval: Duration::from_millis(1),
            keep_up,
            ..Default::default()
        };
        let report = pipeline::run(
            dev.tagger,
            &mut engine,
            &cfg,
            Some(rtx),
            &mut Slow(Duration::from_millis(3)),
            Arc::new(AtomicBool::new(false)),
        );
        let recorded = recorder.join().unwrap();
        assert_eq!(report.end, EndReason::Complete);
        assert_eq!(recorded, total, "keep_up {keep_up}: the recorder got every tag");
        let s = &report.last;
        if !keep_up {
            assert_eq!((report.skipped_tags, s.skipped_tags, s.analysed_fraction), (0, 0, 1.0));
            assert_eq!(serde_json::to_string(s).unwrap(), serde_json::to_string(&full).unwrap());
            continue;
        }
        assert!(report.skipped_tags > 0 && s.skipped_tags == report.skipped_tags, "{}", report.skipped_tags);
        // Count rates include the skipped detections: the channels count every tag read.
        assert_eq!(s.channel_tags.iter().sum::<u64>(), total, "every tag read is counted");
        assert_eq!(s.channel_tags, full.channel_tags);
        assert!(s.analysed_fraction < 0.95 && s.analysed_fraction > 0.0, "{}", s.analysed_fraction);
        assert!((s.analysed_fraction - (total - s.skipped_tags) as f64 / total as f64).abs() < 1e-12);
        // Each window's detections are its analysed fraction of the full analysis's in the
        // same window (5 sigma, Poisson): the skipped pulses went to the windows they fall
        // in, so a window's gain over its analysed pulses is unbiased.
        let full_windows: std::collections::HashMap<i64, u64> =
            direct.windows().map(|w| (w.index, w.counts.detected_pulses[0])).collect();
        let mut checked = 0;
        for w in engine.windows() {
            let Some(&all) = full_windows.get(&w.index) else { continue };
            let expected = all as f64 * w.analysed_fraction;
            if expected < 100.0 {
                continue;
            }
            let n = w.counts.detected_pulses[0] as f64;
            assert!(
                (n - expected).abs() < 5.0 * expected.sqrt(),
                "window {}: {n} detections, expected {expected} ({all} x analysed {})",
                w.index,
                w.analysed_fraction
            );
            checked += 1;
        }
        assert!(checked > 0, "no window to check");
        assert_eq!(s.clock.frame_slips, 0, "the syncs of skipped blocks keep the clock");
        // The signal gain of the analysed part against the full analysis: 5 sigma of the
        // analysed counts (Poisson on the detected pulses).
        let (g, g_full) = (s.gain[0].unwrap(), full.gain[0].unwrap());
        let sigma = g / (s.counts.detected_pulses[0] as f64).sqrt();
        assert!((g - g_full).abs() < 5.0 * sigma, "gain {g} vs {g_full} (sigma {sigma})");
        // QBER of the analysed part, 5 sigma of its sifted counts.
        let (q, q_full) = (s.qber[0].unwrap(), full.qber[0].unwrap());
        let n: u64 = s.counts.sifted.iter().map(|x| x[0]).sum();
        let sigma = (q_full * (1.0 - q_full) / n as f64).sqrt();
        assert!((q - q_full).abs() < 5.0 * sigma, "QBER {q} vs {q_full} (sigma {sigma}, {n} sifted)");
    }
}

/// The nice value of each of this process's threads named `name` (field 19 of their stat
/// lines), read now.
#[cfg(target_os = "linux")]
fn nices_of(name: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        found.push(after_name.split(' ').nth(16).unwrap().parse().unwrap());
    }
    found
}

/// Notes the threads' nice values at the first update.
#[cfg(target_os = "linux")]
#[derive(Default)]
struct Nices(Option<(Vec<i32>, Vec<i32>)>);

#[cfg(target_os = "linux")]
impl Observer for Nices {
    fn update(&mut self, _u: &Update<'_>) -> Flow {
        if self.0.is_none() {
            self.0 = Some((nices_of("tag-reader"), nices_of("engine-worker-0")));
        }
        Flow::Continue
    }
}

/// On a live run the engine (its thread and its workers) runs below the reader: the reader
/// must not inherit the engine thread's nice +10 (found by review: it was spawned after the
/// engine's thread had lowered itself).
#[cfg(target_os = "linux")]
#[test]
fn a_live_runs_reader_keeps_its_priority_and_the_engine_runs_below_it() {
    // A thread of its own: the engine's thread keeps +10 where the system does not allow
    // raising it again.
    std::thread::spawn(|| {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let before: i32 = stat[stat.rfind(')').unwrap() + 2..].split(' ').nth(16).unwrap().parse().unwrap();
        let (dev, cfg) = devices(vec![]);
        let mut engine = Engine::new(cfg);
        engine.set_threads_with(2, engine::WorkerPriority::Background).unwrap();
        let cfg = PipelineConfig { update_interval: Duration::from_millis(1), keep_up: true, ..Default::default() };
        let mut nices = Nices::default();
        let report = pipeline::run(dev.tagger, &mut engine, &cfg, None, &mut nices, Arc::new(AtomicBool::new(false)));
        assert_eq!(report.end, EndReason::Complete);
        let (reader, workers) = nices.0.expect("an update");
        assert_eq!(reader, vec![before], "the reader's nice value");
        assert_eq!(workers, vec![before.max(engine::BACKGROUND_NICE)], "the engine worker's nice value");
    })
    .join()
    .unwrap();
}
