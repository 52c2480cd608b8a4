//! Opening the simulated bench as a pair of devices, through the same drivers as boards.

use crate::error::DriverError;
use crate::pattern_gen::{PatternGenerator, UartPatternGenerator};
use crate::time_tagger::StreamTimeTagger;
use crate::transport::serial::{SerialLink, PATTERN_GEN_BAUD};

use super::bench::{BenchConfig, SimBench};
use super::links::{SimPatternGenLink, SimTaggerLink};

/// The two devices of a simulated bench.
pub struct SimDevices {
    /// The pattern generator: over a pseudo-terminal and serialport (RTL), or over the
    /// register model (fast); the driver is the same.
    pub pattern_gen: Box<dyn PatternGenerator + Send>,
    /// The time tagger, whose link owns the bench.
    pub tagger: StreamTimeTagger<SimTaggerLink>,
}

impl std::fmt::Debug for SimDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimDevices").field("tagger", &self.tagger).finish_non_exhaustive()
    }
}

/// Builds a bench and opens both of its devices.
pub fn open(cfg: BenchConfig) -> Result<SimDevices, DriverError> {
    let bench = SimBench::new(cfg)?;
    let pattern_gen: Box<dyn PatternGenerator + Send> = match (bench.pattern_gen_path(), bench.pattern_gen_registers())
    {
        (Some(path), _) => {
            let mut d = UartPatternGenerator::new(SerialLink::open(path, PATTERN_GEN_BAUD)?);
            // The RTL runs slower than real time: a 1.4 ms exchange can take tens of ms.
            d.timeout = std::time::Duration::from_secs(5);
            Box::new(d)
        }
        (None, Some(regs)) => Box::new(UartPatternGenerator::new(SimPatternGenLink::new(regs))),
        (None, None) => return Err(DriverError::Simulation("bench has no pattern generator".into())),
    };
    Ok(SimDevices { pattern_gen, tagger: StreamTimeTagger::new(SimTaggerLink::new(bench)) })
}
