//! The threaded pipeline gives the same answer as the engine alone, loses nothing to a slow
//! recorder, and ends cleanly with the reason when the device goes away.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use drivers::pattern_gen::PatternConfig;
use drivers::sim::{self, BenchConfig, ChannelModel, Fault, Fidelity, OpticsConfig};
use drivers::stream::TagBatch;
use drivers::time_tagger::{ReadState, TaggerConfig, TimeTagger};
use harness::engine::{Engine, EngineConfig};
use harness::pipeline::{self, EndReason, PipelineConfig, RecordItem};

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

#[test]
fn pipeline_matches_the_engine_alone_and_the_recorder_gets_every_tag() {
    // Reference: the same bench, read and processed on one thread.
    let (mut dev, cfg) = devices(vec![]);
    let mut direct = Engine::new(cfg.clone());
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
                RecordItem::Snapshot(_) | RecordItem::Windows(_) => {}
                RecordItem::End(e) => end = Some(e),
            }
        }
        (tags, end)
    });
    let (stx, _srx) = crossbeam_channel::bounded(1); // nobody reads snapshots: they are skipped, not queued
    let cfg = PipelineConfig { ring_batches: 4, snapshot_interval: Duration::from_millis(1), ..Default::default() };
    let report = pipeline::run(dev.tagger, &mut engine, &cfg, Some(rtx), Some(stx), Arc::new(AtomicBool::new(false)));
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
        None,
        Arc::new(AtomicBool::new(false)),
    );
    match report.end {
        EndReason::DeviceError(m) => assert!(m.contains("simulated time tagger"), "{m}"),
        other => panic!("expected a device error, got {other:?}"),
    }
    assert!(report.tags > 0, "what came before the loss was processed");
}
