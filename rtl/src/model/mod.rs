//! Golden models of both designs, bit-exact with the RTL.
//!
//! `pattern_gen` is a pure function of (settings, pulse index): the host computes any
//! symbol in O(1). `time_tagger` is event-driven: it visits only cycles where something
//! happens (a hit, an epoch start, the end of an overflow), so a whole satellite pass costs
//! time in proportion to its detections, not its 2.7e10 clock cycles.
pub mod pattern_gen;
pub mod pattern_gen_regs;
pub mod time_tagger;

pub use pattern_gen::{PatternSettings, Symbol};
pub use time_tagger::{TaggerModel, TaggerSettings};
