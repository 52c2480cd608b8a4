//! Where the optics model gets each pulse's symbol: the golden model (fast bench) or the
//! slot words the pattern-generator RTL emitted (RTL bench).

use rtl::model::pattern_gen::{self as model, PatternSettings};
use rtl::slot::SlotWord;

/// Symbols and sync marks of pulse slots.
pub trait SymbolSource {
    /// The slot word of pulse `i` (`fired()` false: no light in this slot).
    fn slot(&self, i: u64) -> SlotWord;
    /// Appends `(i, is_frame)` for every sync slot in `i0..i1`.
    fn syncs(&self, i0: u64, i1: u64, out: &mut Vec<(u64, bool)>);
}

/// Bench mode of the golden model: `symbol(i)` in O(1).
#[derive(Debug, Clone, Copy)]
pub struct ModelSymbols(pub PatternSettings);

impl SymbolSource for ModelSymbols {
    #[inline]
    fn slot(&self, i: u64) -> SlotWord {
        model::slot_word(&self.0, i)
    }

    fn syncs(&self, i0: u64, i1: u64, out: &mut Vec<(u64, bool)>) {
        let n = u64::from(self.0.sync_period.max(1));
        let mut i = i0.div_ceil(n) * n;
        while i < i1 {
            out.push((i, model::is_frame(&self.0, i)));
            i += n;
        }
    }
}

/// A run of slot words from the RTL, starting at pulse `base`.
#[derive(Debug, Clone, Default)]
pub struct SlotWindow {
    /// Pulse index of `words[0]`.
    pub base: u64,
    /// Slot words as the RTL emitted them.
    pub words: Vec<u32>,
}

impl SymbolSource for SlotWindow {
    #[inline]
    fn slot(&self, i: u64) -> SlotWord {
        SlotWord(self.words[(i - self.base) as usize])
    }

    fn syncs(&self, i0: u64, i1: u64, out: &mut Vec<(u64, bool)>) {
        for i in i0..i1 {
            let w = self.slot(i);
            if w.sync() {
                out.push((i, w.frame()));
            }
        }
    }
}
