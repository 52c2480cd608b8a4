//! `qkdbench selftest`: the simulated FPGAs at work, checked against their golden models.
//!
//! Until the simulated bench (drivers::sim) and the TUI exist, this shows the layer they
//! stand on: the pattern-generator RTL programmed over its UART, its sync and frame outputs
//! and a toy click model feeding the time-tagger RTL, and both outputs compared word for
//! word with the golden models the fast bench and the engine use.

use anyhow::{bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rtl::model::pattern_gen::{self as pg_model, PatternSettings};
use rtl::model::time_tagger::{TaggerModel, TaggerSettings};
use rtl::regmap::{pattern_gen as pg_reg, time_tagger as tt_reg};
use rtl::slot::SlotWord;
use rtl::wire::Record;
use rtl::{Hit, PatternGenRtl, TimeTaggerRtl};

/// Arguments of `qkdbench selftest`.
#[derive(Debug, Args)]
pub struct SelftestArgs {
    /// Pulse slots to run (one per 10 ns clock of the RTL: 100 MHz), at least 1000.
    #[arg(long, default_value_t = 5_000_000, value_parser = clap::value_parser!(u64).range(1000..))]
    slots: u64,
    /// Click probability per pulse slot of the toy optics model.
    #[arg(long, default_value_t = 1e-3)]
    click_probability: f64,
    /// Compare against a golden model with a wrong seed (hidden: the tests use it to prove
    /// that a mismatch fails the selftest).
    #[arg(long, hide = true)]
    inject_model_error: bool,
}

const BATCH: u64 = 1 << 16;
const SYNC_CHANNEL: u8 = 4;
const FRAME_CHANNEL: u8 = 5;

/// Runs `qkdbench selftest`.
pub fn run(args: SelftestArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&args.click_probability) {
        return Err(super::Exit::bad_input(format!(
            "--click-probability must be in 0..=1, got {}",
            args.click_probability
        )));
    }
    super::outln!("qkdbench selftest: the simulated FPGAs (Verilator RTL) against their golden models\n");
    let settings = PatternSettings { sync_period: 1000, frame_period: 100, ..Default::default() };
    let mut pg = PatternGenRtl::new();
    let id = pg.read_reg(pg_reg::ID).context("reading the pattern generator's ID over its UART")?;
    for (addr, v) in settings.register_writes() {
        pg.write_reg(addr, v).with_context(|| format!("writing pattern-generator register {addr:#04x}"))?;
    }
    let p = settings.class_probabilities();
    super::outln!(
        "pattern generator  ID {:?}, programmed over its UART ({} clocks per bit): seed {:#018x},\n                   \
         class p = {:.3} / {:.3} / {:.3} / {:.3}, P(Z) = {:.3}, sync every {} slots, frame every {} syncs",
        String::from_utf8_lossy(&id.to_be_bytes()),
        rtl::uart_clks_per_bit(),
        settings.seed,
        p[0],
        p[1],
        p[2],
        p[3],
        f64::from(settings.basis_thr) / 65536.0,
        settings.sync_period,
        settings.frame_period
    );

    let tt_settings = TaggerSettings { run: true, ..Default::default() };
    let mut tt = TimeTaggerRtl::new();
    let mut model = TaggerModel::new();
    for (addr, v) in tt_settings.register_writes() {
        tt.write_reg(addr, v).with_context(|| format!("writing tagger register {addr:#04x}"))?;
        model.write_reg(addr, v)?;
    }
    let tid = tt.read_reg(tt_reg::ID)?;
    model.read_reg(tt_reg::ID)?;
    super::outln!(
        "time tagger        ID {:?}: 8 channels, {} ps coarse clock, {} fine bins; detectors on 0-3, sync on {}, frame on {}\n",
        String::from_utf8_lossy(&tid.to_be_bytes()),
        tt.read_reg(tt_reg::COARSE_PERIOD_PS)?,
        tt.read_reg(tt_reg::FINE_BINS)?,
        SYNC_CHANNEL,
        FRAME_CHANNEL
    );
    model.read_reg(tt_reg::COARSE_PERIOD_PS)?;
    model.read_reg(tt_reg::FINE_BINS)?;

    pg.write_reg(pg_reg::CTRL, 1 | 4).context("starting the pattern generator")?;
    let bar = ProgressBar::new(args.slots);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {wide_bar} {pos}/{len} pulse slots  {per_sec}  eta {eta}")
            .expect("valid template"),
    );
    let threshold = (args.click_probability * 2f64.powi(32)) as u64;
    let (mut slots, mut hits, mut words_rtl, mut words_model) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut class_counts = [0u64; 4];
    let mut slot_mismatch = 0u64;
    let mut index = 0u64;
    while index < args.slots {
        slots.clear();
        pg.step(BATCH.min(args.slots - index), &mut slots);
        hits.clear();
        let first_cycle = tt.cycle();
        for (j, &w) in slots.iter().enumerate() {
            let i = index + j as u64;
            let reference = if args.inject_model_error {
                PatternSettings { seed: settings.seed ^ 1, ..settings }
            } else {
                settings
            };
            if w != pg_model::slot_word(&reference, i).0 {
                slot_mismatch += 1;
            }
            let w = SlotWord(w);
            class_counts[usize::from(w.class())] += 1;
            let c = first_cycle + j as u64;
            if w.sync() {
                hits.push(Hit::new(c, SYNC_CHANNEL, 250));
            }
            if w.frame() {
                hits.push(Hit::new(c, FRAME_CHANNEL, 250));
            }
            let r = pg_model::mix64(i ^ 0xC11C);
            if r & 0xFFFF_FFFF < threshold {
                // Toy optics: the detector of the sent state, 1% of the time its partner.
                let flip = u8::from((r >> 32).is_multiple_of(100));
                let det = (w.basis() as u8) * 2 + (w.bit() ^ flip);
                hits.push(Hit::new(c, det, ((r >> 40) % 1000) as u16));
            }
        }
        let n = slots.len() as u64;
        tt.step(n, &hits, true, &mut words_rtl);
        model.step(n, &hits, true, &mut words_model);
        index += n;
        bar.set_position(index);
    }
    bar.finish_and_clear();

    let mut per_channel = [0u64; 8];
    let mut wraps = 0;
    for w in &words_rtl {
        match Record::from_word(*w) {
            Record::Tag { channel, .. } => per_channel[usize::from(channel)] += 1,
            Record::Wrap { .. } => wraps += 1,
            _ => {}
        }
    }
    super::outln!("ran {} pulse slots = {:.1} ms at 100 MHz", args.slots, args.slots as f64 * 1e-5);
    super::outln!(
        "  slots by intensity class   {} / {} / {} / {}",
        class_counts[0],
        class_counts[1],
        class_counts[2],
        class_counts[3]
    );
    super::outln!(
        "  tags per channel 0..7      {}",
        per_channel.iter().map(u64::to_string).collect::<Vec<_>>().join(" / ")
    );
    super::outln!("  WRAP records               {wraps} (one per 2.62 ms epoch)");
    super::outln!("  tagger words               {} ({} bytes)", words_rtl.len(), 4 * words_rtl.len());
    let words_equal = words_rtl == words_model;
    super::outln!(
        "golden models: {} pattern-generator slot words differ, tagger streams {}",
        slot_mismatch,
        if words_equal { "identical" } else { "DIFFER" }
    );
    if slot_mismatch != 0 || !words_equal {
        bail!("the RTL and the golden models disagree: please report this with the command line you ran");
    }
    Ok(())
}
