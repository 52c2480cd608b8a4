//! The pattern generator's UART register frames (docs/register-map.md, "UART frames").
//!
//! ```text
//! request  A5 op addr d0 d1 d2 d3 crc    op 01 write, 02 read; data little-endian
//! reply    5A st addr d0 d1 d2 d3 crc    st: status code (regmap::status)
//! ```
//! CRC-8/SMBUS (polynomial 0x07, init 0) over the seven bytes before it. The RTL bridge
//! (`rtl/pattern_gen/reg_bridge.v`) and this codec implement the same document.

use thiserror::Error;

use crate::regmap::status;

/// First byte of a request.
pub const REQUEST_SYNC: u8 = 0xA5;
/// First byte of a reply.
pub const REPLY_SYNC: u8 = 0x5A;
/// Bytes in a request and in a reply.
pub const FRAME_LEN: usize = 8;

/// Request opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// Write the data to the register.
    Write = 0x01,
    /// Read the register.
    Read = 0x02,
}

/// A reply that does not decode.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum FrameError {
    /// The first byte is not the reply sync byte.
    #[error("byte 0 is {0:#04x}, expected the reply sync byte 0x5a")]
    BadSync(u8),
    /// The CRC byte does not match the other seven.
    #[error("byte 7 (CRC) is {got:#04x}, expected {want:#04x}")]
    BadCrc {
        /// CRC in the frame.
        got: u8,
        /// CRC computed over bytes 0..7.
        want: u8,
    },
}

/// CRC-8/SMBUS: polynomial x^8 + x^2 + x + 1, initial value 0, no reflection.
pub fn crc8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |mut c, &b| {
        c ^= b;
        for _ in 0..8 {
            c = if c & 0x80 != 0 { (c << 1) ^ 0x07 } else { c << 1 };
        }
        c
    })
}

/// Encodes a request frame.
pub fn encode_request(op: Op, addr: u8, data: u32) -> [u8; FRAME_LEN] {
    let d = data.to_le_bytes();
    let mut f = [REQUEST_SYNC, op as u8, addr, d[0], d[1], d[2], d[3], 0];
    f[7] = crc8(&f[..7]);
    f
}

/// A decoded reply frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Status code (`regmap::status`).
    pub status: u8,
    /// Register address the reply is about (echoed from the request).
    pub addr: u8,
    /// Register value (read), the value written (write), or 0 on error.
    pub data: u32,
}

/// Decodes a reply frame.
pub fn decode_reply(f: &[u8; FRAME_LEN]) -> Result<Reply, FrameError> {
    if f[0] != REPLY_SYNC {
        return Err(FrameError::BadSync(f[0]));
    }
    let want = crc8(&f[..7]);
    if f[7] != want {
        return Err(FrameError::BadCrc { got: f[7], want });
    }
    Ok(Reply { status: f[1], addr: f[2], data: u32::from_le_bytes([f[3], f[4], f[5], f[6]]) })
}

/// Encodes a reply frame (what the bridge sends; used by tests and by simulated devices).
pub fn encode_reply(status: u8, addr: u8, data: u32) -> [u8; FRAME_LEN] {
    let d = data.to_le_bytes();
    let mut f = [REPLY_SYNC, status, addr, d[0], d[1], d[2], d[3], 0];
    f[7] = crc8(&f[..7]);
    f
}

/// Human-readable meaning of a status code.
pub fn status_name(code: u8) -> &'static str {
    match code {
        status::OK => "ok",
        status::BAD_CRC => "the device saw a bad CRC",
        status::UNKNOWN_REG => "unknown register",
        status::READ_ONLY => "read-only register",
        status::BAD_VALUE => "value out of the register's range",
        status::BAD_OP => "unknown opcode",
        _ => "undefined status code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc8_matches_the_smbus_check_value() {
        // The catalogue check value of CRC-8/SMBUS over "123456789".
        assert_eq!(crc8(b"123456789"), 0xF4);
    }

    #[test]
    fn reply_round_trips_and_rejects_damage() {
        let f = encode_reply(status::OK, 0x14, 0xDEAD_BEEF);
        assert_eq!(decode_reply(&f), Ok(Reply { status: 0, addr: 0x14, data: 0xDEAD_BEEF }));
        for i in 0..FRAME_LEN {
            let mut g = f;
            g[i] ^= 0x10;
            assert!(decode_reply(&g).is_err(), "flip in byte {i} went unnoticed");
        }
    }
}
