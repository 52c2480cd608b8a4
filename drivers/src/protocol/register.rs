//! Register frames of the pattern generator's UART (docs/register-map.md), on top of the
//! frame codec in `rtl::frame` (the format belongs to the RTL that defines it).
//!
//! [`ReplyParser`] assembles reply frames from bytes as they trickle in from a serial port:
//! it skips anything before a reply sync byte, so line noise or a half-read earlier reply
//! costs one frame, not the link.

pub use rtl::frame::{decode_reply, encode_request, FrameError, Op, Reply, FRAME_LEN, REPLY_SYNC};

/// Assembles reply frames from a byte stream.
#[derive(Debug, Default, Clone)]
pub struct ReplyParser {
    buf: Vec<u8>,
    skipped: u64,
}

impl ReplyParser {
    /// An empty parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops whatever was assembled (before a new request, so a stale reply cannot match).
    pub fn reset(&mut self) {
        self.buf.clear();
    }

    /// Bytes skipped while hunting for a sync byte, since creation.
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    /// Adds bytes; returns the first complete frame (decoded or not) if there is one.
    /// Bytes after that frame stay for the next call.
    pub fn push(&mut self, bytes: &[u8]) -> Option<Result<Reply, FrameError>> {
        self.buf.extend_from_slice(bytes);
        let start = self.buf.iter().position(|&b| b == REPLY_SYNC).unwrap_or(self.buf.len());
        self.skipped += start as u64;
        self.buf.drain(..start);
        if self.buf.len() < FRAME_LEN {
            return None;
        }
        let mut f = [0u8; FRAME_LEN];
        f.copy_from_slice(&self.buf[..FRAME_LEN]);
        let r = decode_reply(&f);
        // On a bad CRC the sync byte may have been a data byte: resume after it.
        let used = if r.is_ok() { FRAME_LEN } else { 1 };
        self.buf.drain(..used);
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtl::frame::encode_reply;

    #[test]
    fn frames_split_anywhere_and_junk_before_them_are_handled() {
        let mut bytes = vec![0x00, 0x13];
        bytes.extend_from_slice(&encode_reply(0, 0x14, 77));
        for split in 0..bytes.len() {
            let mut p = ReplyParser::new();
            let first = p.push(&bytes[..split]);
            let second = p.push(&bytes[split..]);
            let got = first.or(second).expect("a frame");
            assert_eq!(got, Ok(Reply { status: 0, addr: 0x14, data: 77 }), "split at {split}");
        }
    }

    #[test]
    fn a_corrupt_frame_is_an_error_and_the_next_one_still_parses() {
        let mut bytes = encode_reply(0, 1, 2).to_vec();
        bytes[4] ^= 0xFF;
        bytes.extend_from_slice(&encode_reply(0, 3, 4));
        let mut p = ReplyParser::new();
        assert!(matches!(p.push(&bytes), Some(Err(FrameError::BadCrc { .. }))));
        let mut last = None;
        while let Some(r) = p.push(&[]) {
            last = Some(r);
        }
        assert_eq!(last, Some(Ok(Reply { status: 0, addr: 3, data: 4 })));
    }
}
