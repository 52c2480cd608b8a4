//! `qkdbench bench ...`

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::Serialize;

/// Arguments of `qkdbench bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
    /// Print one JSON object instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum BenchWhat {
    /// Verilated pattern generator + time tagger, and the golden symbol(i) function.
    ///
    /// Prints rtl_slots_per_s (both designs stepped together, one clock each per pulse
    /// slot), model_symbols_per_s (symbol(i) at random i) and baseline (the same loop
    /// without symbol(i)).
    Rtl {
        /// Pulse slots per RTL measurement.
        #[arg(long, default_value_t = 20_000_000)]
        slots: u64,
    },
    /// The streaming engine: decode, clock recovery, gate and sift, on one thread and on
    /// --threads.
    ///
    /// Prints tags_per_s (on --threads threads; threads says how many) over an in-memory
    /// stream recorded from the simulated bench (3 dB, 100 MHz), one_thread_tags_per_s and
    /// scaling (their ratio), independent_engines_scaling (the machine's ceiling for it:
    /// --threads one-thread engines on their own copies at once), memcpy_tags_per_s and decode_only_tags_per_s for the same bytes
    /// in the same run (ratio_to_memcpy, ratio_to_decode), peak_rss_mib, and
    /// tags_per_s_by_simd: one thread with each build of the block pass this CPU runs (plain,
    /// avx2, avx512); simd (the build behind the figures), block_pass_fraction (tags through
    /// the block pass, the rest went tag by tag), gated_fraction (detections inside the gate
    /// / tags), stream_tags (tags in the stream), rounds. Eleven rounds, each timing every figure back to back: the figures are
    /// medians, the ratios medians of the rounds' ratios, tags_per_s_min/max the slowest and
    /// fastest round (on a shared machine they show how much the figures move).
    Engine {
        /// Seconds of device time to record.
        #[arg(long, default_value_t = 0.3)]
        seconds: f64,
        /// Threads of the engine's block pass for tags_per_s (one_thread_tags_per_s is
        /// measured in the same rounds); default: every core.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: Option<u16>,
    },
    /// Recording speed: tags per second into HDF5 (gzip and uncompressed), bytes per tag,
    /// and plain write() of the same bytes to the same disk as the baseline.
    ///
    /// A burst: the default 2e7 tags (70-180 MB) take well under a second and land mostly in
    /// the page cache, so this is the writer's own speed, not what a disk sustains. For the
    /// rate a capture holds for minutes, with the reader, the engine and the disk in the
    /// loop, use `bench capture`.
    Record {
        /// Folder on the disk to measure.
        #[arg(long, default_value = ".")]
        dir: std::path::PathBuf,
        /// Tags per measurement.
        #[arg(long, default_value_t = 20_000_000)]
        tags: usize,
    },
    /// The simulated bench and the tag-stream path.
    ///
    /// Prints fast_pass_wall_s (a whole satellite pass at 100 MHz through the fast bench and
    /// the real drivers), decode_tags_per_s with memcpy_tags_per_s as its baseline,
    /// sim_stream_tags_per_s (the sim serve socket transport into the decoder) and
    /// sim_generate_tags_per_s (the bench generating a saturating load).
    Sim {
        /// The shared/ folder holding data/passes (the real Micius pass); without it a
        /// circular orbit is simulated instead.
        #[arg(long, default_value = "../shared")]
        shared: std::path::PathBuf,
    },
    /// The whole capture path at a tag rate: a synthetic tagger paced to RATE tags/s
    /// through the real reader, ring, engine and recorder (HDF5 into DIR).
    ///
    /// Prints, per run:
    ///  rate_tags_per_s (asked for), offered_tags_per_s and offered_tags (what the source
    ///  offered while it ran), recorded_tags, lost_tags (offered minus recorded) split into
    ///  device_loss_in_band_tags (the tagger's 32 Mi-tag FIFO overflowed and said so in
    ///  band) and silent_loss_tags (must be 0);
    ///  analysed_fraction (tags the engine analysed / tags read: it skips blocks it cannot
    ///  analyse in time), gated_fraction (gated detections / tags analysed),
    ///  engine_lag_s_max (most the engine was behind the reader, s of offered stream),
    ///  engine_threads, engine_lock_at_end and engine_locks_and_frame_slips (locks, frame
    ///  slips of the clock: the analysis was real);
    ///  peak_rss_mib (the process's peak resident memory, MiB, source pool included) and
    ///  source_pool_mib (the pool's share); cpu_pct_by_thread (% of one core per thread
    ///  name: the engine's thread is the program's name, engine-worker-N its workers,
    ///  recorder, tag-reader, writeback; "(process)" all together);
    ///  compression, file_bytes_per_tag (bytes of the recording per tag), status (how the
    ///  run ended), seconds (wall time).
    /// The baseline is source_only_tags_per_s, the synthetic source drained alone in the
    /// same run. The recording is removed afterwards.
    Capture {
        /// Tags per second offered.
        #[arg(long, default_value_t = 9e7)]
        rate: f64,
        /// Wall-clock seconds.
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        /// Folder to record into (default: a new temporary folder, removed afterwards). Put
        /// it on the disk a real capture would write to: a RAM-backed /tmp measures memory,
        /// not the disk. The run is refused if the folder's file system has no room for it
        /// (about 3.4 bytes a tag with gzip, 9 with none: 18 GB for 60 s at 9e7 tags/s).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// Compression of the recording.
        #[arg(long, value_enum, default_value = "gzip")]
        compression: super::compression::Compress,
        /// Threads of the engine's block pass (default: every core).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: Option<u16>,
    },
    /// What the live view costs: the TUI thread's CPU (% of one core) drawing at 10 Hz
    /// into a pseudo-terminal from a real paced session, against the same loop without
    /// drawing as the baseline, and ms per draw.
    Tui {
        /// Wall-clock seconds per phase (baseline, then drawing).
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Terminal columns.
        #[arg(long, default_value_t = 80)]
        cols: u16,
        /// Terminal rows.
        #[arg(long, default_value_t = 24)]
        rows: u16,
    },
}

/// Runs `qkdbench bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    match args.what {
        BenchWhat::Rtl { slots } => {
            super::errln!("bench rtl: stepping {slots} pulse slots through the Verilated designs (4 runs) ...");
            print(&harness::bench::rtl::run(slots), args.json)
        }
        BenchWhat::Engine { seconds, threads } => {
            let threads = threads.map_or_else(harness::engine_threads_default, usize::from);
            super::errln!(
                "bench engine: recording {seconds} s of a 3 dB stream, then timing the engine on it (1 and {threads} threads) ..."
            );
            print(&harness::bench::engine::run(seconds, threads), args.json)
        }
        BenchWhat::Record { dir, tags } => {
            super::errln!(
                "bench record: {tags} tags into HDF5 (gzip, then uncompressed) and with write() in {} ...",
                dir.display()
            );
            print(&harness::bench::record::run(&dir, tags), args.json)
        }
        BenchWhat::Tui { seconds, cols, rows } => {
            for (bad, what) in [
                (!(1.0..=3600.0).contains(&seconds), format!("--seconds {seconds}: must be 1 to 3600")),
                (cols < 20, format!("--cols {cols}: must be at least 20")),
                (rows < 10, format!("--rows {rows}: must be at least 10")),
            ] {
                if bad {
                    return Err(super::Exit::bad_input(format!("bench tui: {what}")));
                }
            }
            super::errln!(
                "bench tui: {seconds} s without drawing, then {seconds} s drawing at 10 Hz ({cols}x{rows}) ..."
            );
            print(&harness::bench::tui::run(seconds, cols, rows), args.json)
        }
        BenchWhat::Capture { rate, seconds, dir, compression, threads } => {
            let threads = threads.map_or_else(harness::engine_threads_default, usize::from);
            for (bad, what) in [
                (
                    !(rate.is_finite() && (1e3..=1e10).contains(&rate)),
                    format!("--rate {rate}: must be 1e3 to 1e10 tags/s"),
                ),
                (!(1.0..=3600.0).contains(&seconds), format!("--seconds {seconds}: must be 1 to 3600")),
            ] {
                if bad {
                    return Err(super::Exit::bad_input(format!("bench capture: {what}")));
                }
            }
            let dir =
                dir.unwrap_or_else(|| std::env::temp_dir().join(format!("qkdbench-capture-{}", std::process::id())));
            super::errln!(
                "bench capture: {rate:e} tags/s for {seconds} s through reader, engine ({threads} threads) and recorder ({compression:?}) into {} ...",
                dir.display()
            );
            // Ctrl-C, SIGTERM, SIGHUP: the run ends early, its recording is removed.
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let s = stop.clone();
            ctrlc::set_handler(move || s.store(true, std::sync::atomic::Ordering::Relaxed))
                .map_err(|e| super::Exit::cut_short(format!("bench capture: installing the signal handler: {e}")))?;
            let r = harness::bench::capture::run(rate, seconds, &dir, compression.into(), threads, stop)
                .map_err(|e| super::Exit::cut_short(format!("bench capture: {e}")))?;
            print(&r, args.json)
        }
        BenchWhat::Sim { shared } => {
            super::errln!("bench sim: a whole pass, the decoder and the sim transport ...");
            print(&harness::bench::sim::run(&shared), args.json)
        }
    }
}

fn print<T: Serialize>(report: &T, json: bool) -> Result<()> {
    let value = serde_json::to_value(report)?;
    if json {
        super::outln!("{}", serde_json::to_string_pretty(&value)?);
    } else if let Some(map) = value.as_object() {
        let width = map.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in map {
            match v.as_f64() {
                Some(x) if x >= 1e4 => super::outln!("{k:width$}  {x:.4e}"),
                Some(x) => super::outln!("{k:width$}  {x}"),
                None => super::outln!("{k:width$}  {v}"),
            }
        }
    }
    Ok(())
}
