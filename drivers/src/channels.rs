//! Which tagger input carries what: the one place the channel assignment is written down.

use serde::{Deserialize, Serialize};

/// The pulse rate of the reference system (Micius, Liao et al. 2017: 100 MHz), Hz. Every
/// default that depends on the rate derives from this one figure.
pub const DEFAULT_PULSE_RATE_HZ: f64 = 100e6;

/// The tagger inputs of the four detectors, the sync and the frame mark.
///
/// The qkdbench tagger and the simulated bench use [`ChannelMap::BENCH`]; a lab that wired
/// its detectors differently says so once, here, and the engine and the bench follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelMap {
    /// Inputs of the detectors H, V, D, A.
    pub detectors_hvda: [u8; 4],
    /// Input of the sync.
    pub sync: u8,
    /// Input of the frame mark.
    pub frame: u8,
}

impl ChannelMap {
    /// The bench's wiring: detectors H V D A on inputs 0-3, sync on 4, frame mark on 5.
    pub const BENCH: ChannelMap = ChannelMap { detectors_hvda: [0, 1, 2, 3], sync: 4, frame: 5 };

    /// Checks that the six inputs are distinct tagger inputs (0-7); the message names the
    /// field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let all = [self.detectors_hvda[0], self.detectors_hvda[1], self.detectors_hvda[2], self.detectors_hvda[3]];
        if let Some(c) = all.iter().find(|&&c| c > 7) {
            return Err(("detectors_hvda", format!("input {c} is not a tagger input (0-7)")));
        }
        for (name, c) in [("sync", self.sync), ("frame", self.frame)] {
            if c > 7 {
                return Err((name, format!("input {c} is not a tagger input (0-7)")));
            }
        }
        let mut seen = [false; 8];
        for c in all.iter().chain([&self.sync, &self.frame]) {
            if std::mem::replace(&mut seen[usize::from(*c)], true) {
                return Err(("detectors_hvda", format!("input {c} is used twice ({self:?})")));
            }
        }
        Ok(())
    }
}

impl Default for ChannelMap {
    fn default() -> Self {
        ChannelMap::BENCH
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_map_is_valid_and_clashes_are_named() {
        assert!(ChannelMap::BENCH.validate().is_ok());
        let clash = ChannelMap { sync: 2, ..ChannelMap::BENCH };
        assert_eq!(clash.validate().unwrap_err().0, "detectors_hvda");
        let high = ChannelMap { frame: 9, ..ChannelMap::BENCH };
        assert_eq!(high.validate().unwrap_err().0, "frame");
    }
}
