//! The time tagger over any [`StreamLink`]: USB, the simulated bench, a socket.

use std::time::Duration;

use rtl::regmap::time_tagger as reg;

use super::{ReadState, TaggerConfig, TimeTagger};
use crate::error::DriverError;
use crate::protocol::tag_stream::{Decoder, TimeBase};
use crate::stream::TagBatch;
use crate::transport::{StreamLink, StreamRead};

/// Driver of the time tagger over a [`StreamLink`].
#[derive(Debug)]
pub struct StreamTimeTagger<L: StreamLink> {
    link: L,
    decoder: Decoder,
    time_base: TimeBase,
    buf: Vec<u8>,
}

impl<L: StreamLink> StreamTimeTagger<L> {
    /// A driver on `link`.
    pub fn new(link: L) -> Self {
        StreamTimeTagger {
            link,
            decoder: Decoder::new(TimeBase::default()),
            time_base: TimeBase::default(),
            buf: Vec::new(),
        }
    }

    /// The link (for the simulated bench: its truth).
    pub fn link(&self) -> &L {
        &self.link
    }

    /// The link, mutably.
    pub fn link_mut(&mut self) -> &mut L {
        &mut self.link
    }

    /// Bytes of stream decoded so far.
    pub fn bytes_read(&self) -> u64 {
        self.decoder.bytes_consumed()
    }
}

impl<L: StreamLink> TimeTagger for StreamTimeTagger<L> {
    fn configure(&mut self, cfg: &TaggerConfig) -> Result<TimeBase, DriverError> {
        let settings = cfg.to_settings()?;
        let id = self.link.read_register(reg::ID)?;
        if id != 0x5154_5431 {
            return Err(DriverError::Protocol {
                device: self.link.describe(),
                reason: format!("ID register reads {id:#010x}: not a qkdbench time tagger"),
            });
        }
        self.link.write_register(reg::CTRL, 0)?;
        for (addr, value) in settings.register_writes() {
            if addr != reg::CTRL {
                self.link.write_register(addr, value)?;
            }
        }
        self.time_base =
            TimeBase { coarse_period_ps: self.link.read_register(reg::COARSE_PERIOD_PS)?, fine_bins: cfg.fine_bins };
        Ok(self.time_base)
    }

    fn start(&mut self) -> Result<(), DriverError> {
        self.decoder = Decoder::new(self.time_base);
        self.link.write_register(reg::CTRL, 0b11)
    }

    fn stop(&mut self) -> Result<(), DriverError> {
        self.link.write_register(reg::CTRL, 0)
    }

    fn read_batch(&mut self, out: &mut TagBatch, timeout: Duration) -> Result<ReadState, DriverError> {
        self.buf.clear();
        match self.link.read_stream(&mut self.buf, timeout) {
            Ok(StreamRead::Data(_)) => {
                self.decoder.decode(&self.buf, out);
                Ok(ReadState::Streaming)
            }
            Ok(StreamRead::Timeout) => Ok(ReadState::Streaming),
            Ok(StreamRead::End) => {
                self.decoder.finish(out);
                Ok(ReadState::Ended)
            }
            Err(e) => {
                self.decoder.decode(&self.buf, out);
                self.decoder.finish(out);
                Err(e)
            }
        }
    }
}
