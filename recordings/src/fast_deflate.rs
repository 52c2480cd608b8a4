//! A zlib stream (RFC 1950/1951) for byte-shuffled tag times, made at memory speed.
//!
//! Why hand-written: a general deflate encoder (zlib, libdeflate) at its fastest level does
//! about 1.5e7 tags/s per core on shuffled 64-bit times, because it searches for matches in
//! the low byte planes, which are noise. The planes of a shuffled time column are of two
//! kinds: noisy low bytes, and high bytes that stay equal for long runs. This encoder writes
//! the first kind as stored blocks and the second as runs (a literal, then copies at
//! distance 1) in fixed-Huffman blocks. Every zlib decoder, HDF5's deflate filter included,
//! reads the result; it is larger than what a match search would find in the middle planes
//! (about 4.3 instead of 2.3 bytes per tag for 10 MHz tag rates) and 10-20 times faster.

/// Writes bits least significant first, as deflate packs them.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    #[inline(always)]
    fn put(&mut self, value: u64, bits: u32) {
        debug_assert!(bits <= 32 && value >> bits == 0);
        self.acc |= value << self.n;
        self.n += bits;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Pads to a byte boundary.
    fn align(&mut self) {
        while self.n > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        self.acc = 0;
    }
}

/// `bits` of `code`, reversed: deflate sends Huffman codes most significant bit first.
const fn reversed(code: u32, bits: u32) -> u32 {
    let mut r = 0;
    let mut i = 0;
    while i < bits {
        r |= ((code >> i) & 1) << (bits - 1 - i);
        i += 1;
    }
    r
}

/// Fixed-Huffman code of a literal byte: (bits as sent, length).
const fn literal(b: u32) -> (u32, u32) {
    if b < 144 {
        (reversed(0x30 + b, 8), 8)
    } else {
        (reversed(0x190 + b - 144, 9), 9)
    }
}

/// Fixed-Huffman code of length/literal symbol 256..=287: (bits as sent, length).
const fn length_symbol(sym: u32) -> (u32, u32) {
    if sym < 280 {
        (reversed(sym - 256, 7), 7)
    } else {
        (reversed(0xC0 + sym - 280, 8), 8)
    }
}

/// Base length and extra bits of the length symbols 257..=285 (RFC 1951, 3.2.5).
const LENGTH_BASE: [(u32, u32); 29] = [
    (3, 0),
    (4, 0),
    (5, 0),
    (6, 0),
    (7, 0),
    (8, 0),
    (9, 0),
    (10, 0),
    (11, 1),
    (13, 1),
    (15, 1),
    (17, 1),
    (19, 2),
    (23, 2),
    (27, 2),
    (31, 2),
    (35, 3),
    (43, 3),
    (51, 3),
    (59, 3),
    (67, 4),
    (83, 4),
    (99, 4),
    (115, 4),
    (131, 5),
    (163, 5),
    (195, 5),
    (227, 5),
    (258, 0),
];

/// A copy of `len` (3..=258) bytes at distance 1, as sent: (bits, count). The distance code
/// 0 (distance 1) is five zero bits after the length and its extra bits.
const fn copy(len: u32) -> (u64, u32) {
    let mut i = 28;
    while LENGTH_BASE[i].0 > len {
        i -= 1;
    }
    // 284 with all extra bits set would be 258 too; 258 has its own symbol (285).
    let (base, extra) = LENGTH_BASE[i];
    let (code, bits) = length_symbol(257 + i as u32);
    ((code as u64) | (((len - base) as u64) << bits), bits + extra + 5)
}

const LITERALS: [(u32, u32); 256] = {
    let mut t = [(0, 0); 256];
    let mut b = 0;
    while b < 256 {
        t[b] = literal(b as u32);
        b += 1;
    }
    t
};

const COPIES: [(u64, u32); 259] = {
    let mut t = [(0, 0); 259];
    let mut l = 3;
    while l <= 258 {
        t[l] = copy(l as u32);
        l += 1;
    }
    t
};

/// Positions in `plane` where the byte differs from the one before it.
fn changes(plane: &[u8]) -> usize {
    plane.iter().zip(plane.iter().skip(1)).map(|(a, b)| usize::from(a != b)).sum()
}

/// The end of the run of `b` that starts at `i`: eight bytes at a time.
#[inline(always)]
fn run_end(plane: &[u8], mut j: usize, b: u8) -> usize {
    let pattern = u64::from_ne_bytes([b; 8]);
    while j + 8 <= plane.len() {
        let word = u64::from_le_bytes(plane[j..j + 8].try_into().expect("8 bytes"));
        let diff = word ^ pattern;
        if diff != 0 {
            return j + (diff.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    while j < plane.len() && plane[j] == b {
        j += 1;
    }
    j
}

/// One plane as runs in a fixed-Huffman block.
fn runs_block(w: &mut Bits, plane: &[u8], last: bool) {
    w.put(u64::from(last) | 1 << 1, 3);
    let mut i = 0;
    while i < plane.len() {
        let b = plane[i];
        let j = run_end(plane, i + 1, b);
        let (code, bits) = LITERALS[usize::from(b)];
        w.put(u64::from(code), bits);
        let mut rest = j - i - 1;
        while rest >= 3 {
            let l = rest.min(258);
            // Leave at least 3 for the next copy, or none.
            let l = if rest - l > 0 && rest - l < 3 { l - 3 } else { l };
            let (code, bits) = COPIES[l];
            w.put(code, bits);
            rest -= l;
        }
        for _ in 0..rest {
            w.put(u64::from(code), bits);
        }
        i = j;
    }
    let (eob, bits) = length_symbol(256);
    w.put(u64::from(eob), bits);
}

/// One plane as stored blocks (65,535 bytes at most each).
fn stored_blocks(w: &mut Bits, plane: &[u8], last: bool) {
    let pieces: Vec<&[u8]> = if plane.is_empty() { vec![plane] } else { plane.chunks(65_535).collect() };
    let count = pieces.len();
    for (k, piece) in pieces.into_iter().enumerate() {
        w.put(u64::from(last && k + 1 == count), 3);
        w.align();
        let len = piece.len() as u16;
        w.out.extend_from_slice(&len.to_le_bytes());
        w.out.extend_from_slice(&(!len).to_le_bytes());
        w.out.extend_from_slice(piece);
    }
}

/// The zlib stream of `data`, cut into `planes` equal planes that are each coded as runs or
/// stored, whichever is smaller by a quick estimate.
#[cfg(test)]
pub fn zlib_planes(data: &[u8], planes: usize) -> Vec<u8> {
    let mut out = Vec::new();
    zlib_planes_into(data, planes, &mut out);
    out
}

/// `zlib_planes` into `out` (cleared first; its allocation is reused).
pub fn zlib_planes_into(data: &[u8], planes: usize, out: &mut Vec<u8>) {
    out.clear();
    let mut w = Bits { out: std::mem::take(out), acc: 0, n: 0 };
    // CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (fastest; 0x7801 is a multiple of 31).
    w.out.extend_from_slice(&[0x78, 0x01]);
    let n = data.len() / planes.max(1);
    let mut parts: Vec<&[u8]> = data.chunks(n.max(1)).collect();
    if parts.is_empty() {
        parts.push(&[]);
    }
    let count = parts.len();
    for (p, plane) in parts.into_iter().enumerate() {
        let last = p + 1 == count;
        // A run costs at most ~25 bits (literal, copy, distance); stored costs 8 per byte.
        // Judged on the plane's first 8 KiB: the choice only sets the size, never the content.
        let probe = &plane[..plane.len().min(8192)];
        if changes(probe) * 25 < probe.len() * 8 {
            runs_block(&mut w, plane, last);
        } else {
            stored_blocks(&mut w, plane, last);
        }
    }
    w.align();
    w.out.extend_from_slice(&libdeflater::adler32(data).to_be_bytes());
    *out = w.out;
}

/// Code lengths of a complete prefix code over `symbols` (in the order given: earlier
/// ones get the shorter codes) with lengths as equal as possible: k symbols, L = ceil(log2 k),
/// the first 2^L - k of length L - 1 and the rest of length L (Kraft sum exactly 1).
fn flat_lengths(symbols: &[usize], lengths: &mut [u8]) {
    let k = symbols.len();
    debug_assert!(k >= 2);
    let l = usize::BITS - (k - 1).leading_zeros();
    let short = (1usize << l) - k;
    for (i, &s) in symbols.iter().enumerate() {
        lengths[s] = if i < short { (l - 1) as u8 } else { l as u8 };
    }
}

/// Canonical codes (RFC 1951, 3.2.2) of `lengths`, bit-reversed for sending.
fn canonical(lengths: &[u8]) -> Vec<u32> {
    let mut count = [0u32; 16];
    for &l in lengths {
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut next = [0u32; 16];
    let mut code = 0;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    lengths
        .iter()
        .map(|&l| {
            if l == 0 {
                return 0;
            }
            let c = next[usize::from(l)];
            next[usize::from(l)] += 1;
            reversed(c, u32::from(l))
        })
        .collect()
}

/// Order of the code-length code lengths in a dynamic block header.
const CL_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// The zlib stream of `data` as literals only, in one dynamic-Huffman block whose code
/// gives each byte value present a code of about log2(values present) bits. For columns of
/// few distinct values (tagger channels: 2.6 to 3 bits per tag), at memory speed.
#[cfg(test)]
pub fn zlib_literals(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    zlib_literals_into(data, &mut out);
    out
}

/// `zlib_literals` into `out` (cleared first; its allocation is reused).
pub fn zlib_literals_into(data: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut freq = [0u32; 256];
    for &b in data {
        freq[usize::from(b)] += 1;
    }
    // Literal/length alphabet: the bytes present, most frequent first, then end-of-block.
    let mut symbols: Vec<usize> = (0..256).filter(|&b| freq[b] > 0).collect();
    symbols.sort_by_key(|&b| std::cmp::Reverse(freq[b]));
    symbols.push(256);
    if symbols.len() < 2 {
        symbols.insert(0, 0); // a complete code needs two symbols
    }
    let mut lit_len = [0u8; 258]; // 257 literal/length codes, then the one distance code (0 bits)
    flat_lengths(&symbols, &mut lit_len[..257]);
    let lit_codes = canonical(&lit_len[..257]);

    // The 258 code lengths as code-length symbols: lengths, and runs of zeros (17, 18).
    let mut cl_syms: Vec<(u8, u32, u32)> = Vec::new(); // (symbol, extra value, extra bits)
    let mut i = 0;
    while i < lit_len.len() {
        let l = lit_len[i];
        let mut j = i + 1;
        while j < lit_len.len() && lit_len[j] == l {
            j += 1;
        }
        let mut run = j - i;
        if l == 0 {
            while run >= 11 {
                let r = run.min(138);
                cl_syms.push((18, (r - 11) as u32, 7));
                run -= r;
            }
            if run >= 3 {
                cl_syms.push((17, (run - 3) as u32, 3));
                run = 0;
            }
        }
        for _ in 0..run {
            cl_syms.push((l, 0, 0));
        }
        i = j;
    }
    let mut cl_used: Vec<usize> = Vec::new();
    for &(s, _, _) in &cl_syms {
        if !cl_used.contains(&usize::from(s)) {
            cl_used.push(usize::from(s));
        }
    }
    if cl_used.len() < 2 {
        cl_used.push(if cl_used[0] == 0 { 1 } else { 0 });
    }
    let mut cl_len = [0u8; 19];
    flat_lengths(&cl_used, &mut cl_len);
    let cl_codes = canonical(&cl_len);
    let hclen = CL_ORDER.iter().rposition(|&s| cl_len[s] != 0).map_or(4, |p| (p + 1).max(4));

    let mut w = Bits { out: std::mem::take(out), acc: 0, n: 0 };
    w.out.extend_from_slice(&[0x78, 0x01]);
    w.put(1 | 2 << 1, 3); // last block, dynamic Huffman
    w.put(0, 5); // HLIT: 257 codes
    w.put(0, 5); // HDIST: 1 code
    w.put((hclen - 4) as u64, 4);
    for &s in &CL_ORDER[..hclen] {
        w.put(u64::from(cl_len[s]), 3);
    }
    for &(s, extra, extra_bits) in &cl_syms {
        let s = usize::from(s);
        w.put(u64::from(cl_codes[s]), u32::from(cl_len[s]));
        if extra_bits > 0 {
            w.put(u64::from(extra), extra_bits);
        }
    }
    for &b in data {
        w.put(u64::from(lit_codes[usize::from(b)]), u32::from(lit_len[usize::from(b)]));
    }
    w.put(u64::from(lit_codes[256]), u32::from(lit_len[256]));
    w.align();
    w.out.extend_from_slice(&libdeflater::adler32(data).to_be_bytes());
    *out = w.out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inflate(z: &[u8]) -> Vec<u8> {
        let mut d = libdeflater::Decompressor::new();
        let mut out = vec![0u8; 1 << 22];
        let n = d.zlib_decompress(z, &mut out).expect("a valid zlib stream");
        out.truncate(n);
        out
    }

    #[test]
    fn shuffled_times_round_trip_and_shrink() {
        let n = 1 << 16;
        let mut t = 5_000_000_000_000i64;
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut raw = vec![0u8; n * 8];
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += (x % 200_000) as i64;
            for (j, b) in t.to_le_bytes().iter().enumerate() {
                raw[j * n + i] = *b;
            }
        }
        let z = zlib_planes(&raw, 8);
        assert_eq!(inflate(&z), raw);
        assert!(z.len() < raw.len() * 6 / 10, "{} of {}", z.len(), raw.len());
    }

    #[test]
    fn edge_cases_round_trip() {
        for data in [vec![], vec![7u8], vec![0u8; 70_000], (0..=255u8).cycle().take(200_000).collect::<Vec<_>>()] {
            for planes in [1, 2, 8] {
                assert_eq!(inflate(&zlib_planes(&data, planes)), data, "{} bytes, {planes} planes", data.len());
            }
        }
    }

    #[test]
    fn literal_streams_round_trip_for_any_alphabet() {
        let mut x = 1u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for distinct in [1u64, 2, 3, 6, 7, 8, 9, 17, 100, 256] {
            let data: Vec<u8> = (0..70_000).map(|_| (next() % distinct) as u8).collect();
            let z = zlib_literals(&data);
            assert_eq!(inflate(&z), data, "{distinct} values");
            if distinct == 6 {
                assert!(z.len() * 8 < data.len() * 3 + 2000, "{} bytes", z.len());
            }
        }
        assert_eq!(inflate(&zlib_literals(&[])), Vec::<u8>::new());
        assert_eq!(inflate(&zlib_literals(&[9; 5])), vec![9; 5]);
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(runs in prop::collection::vec((any::<u8>(), 1usize..600), 0..200), planes in 1usize..9) {
            let data: Vec<u8> = runs.iter().flat_map(|&(b, l)| std::iter::repeat_n(b, l)).collect();
            prop_assert_eq!(inflate(&zlib_planes(&data, planes)), data);
        }
    }
}
