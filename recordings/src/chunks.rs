//! The tag columns, written a whole chunk at a time with HDF5's direct chunk write, the
//! chunks compressed in parallel beforehand.
//!
//! Why not HDF5's own filter pipeline: it compresses on the writing thread, one chunk at a
//! time, with zlib (about 1e7 tags/s here), and copies every chunk through its cache. The
//! bytes written here are what the pipeline's filters decode (byte shuffle, then a zlib
//! stream, as the dataset's filter list says), so every HDF5 reader reads them as usual. The
//! zlib streams come from `fast_deflate` (written for these two columns), on all cores.
//!
//! Crash safety: `flush` also writes the partial last chunk (zero padded) and sets the
//! dataset's extent to the rows really taken; the next write of that chunk replaces it.

use std::path::{Path, PathBuf};

use hdf5::Dataset;

use crate::error::RecordingError;
use crate::table::h5;

/// Rows per chunk of the tag datasets.
pub const TAG_CHUNK: usize = 1 << 16;

/// A compression thread's memory, kept from chunk to chunk: fresh half-megabyte buffers
/// for every chunk would cost page faults and zeroing comparable to the compression.
#[derive(Debug, Default)]
struct Workspace {
    scratch: Vec<u8>,
    out: Vec<Vec<u8>>,
}

/// One chunk's bytes as the filter pipeline (shuffle, deflate) would store them, into `out`.
fn encode(raw: &[u8], elem: usize, scratch: &mut Vec<u8>, out: &mut Vec<u8>) {
    if elem > 1 {
        // HDF5's shuffle: byte j of element i goes to j * n + i.
        scratch.resize(raw.len(), 0);
        if elem == 8 {
            shuffle8(raw, scratch);
        } else {
            let n = raw.len() / elem;
            for (j, plane) in scratch.chunks_exact_mut(n).enumerate() {
                for (dst, e) in plane.iter_mut().zip(raw[j..].iter().step_by(elem)) {
                    *dst = *e;
                }
            }
        }
        // Time planes: noise below, long runs above.
        crate::fast_deflate::zlib_planes_into(scratch, elem, out);
    } else {
        // Channels: few distinct values.
        crate::fast_deflate::zlib_literals_into(raw, out);
    }
}

/// The shuffle of 8-byte elements, eight at a time: an 8x8 byte transpose in 64-bit
/// registers (three rounds of masked swaps), so each plane gets 8 bytes per store.
fn shuffle8(raw: &[u8], out: &mut [u8]) {
    let n = raw.len() / 8;
    let groups = n / 8;
    /// Swaps the `mask` bit groups of `x` shifted up by `shift` with those of `y`.
    #[inline(always)]
    fn swap(x: &mut u64, y: &mut u64, shift: u32, mask: u64) {
        let (a, b) = (*x, *y);
        *x = (a & mask) | ((b & mask) << shift);
        *y = ((a >> shift) & mask) | (b & !mask);
    }
    let (m32, m16, m8) = (0x0000_0000_FFFF_FFFFu64, 0x0000_FFFF_0000_FFFFu64, 0x00FF_00FF_00FF_00FFu64);
    let mut planes: Vec<&mut [u8]> = out.chunks_exact_mut(n.max(1)).collect();
    for (g, block) in raw.chunks_exact(64).take(groups).enumerate() {
        let w = |k: usize| u64::from_le_bytes(block[8 * k..8 * k + 8].try_into().expect("8 bytes"));
        let (mut r0, mut r1, mut r2, mut r3, mut r4, mut r5, mut r6, mut r7) =
            (w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7));
        swap(&mut r0, &mut r4, 32, m32);
        swap(&mut r1, &mut r5, 32, m32);
        swap(&mut r2, &mut r6, 32, m32);
        swap(&mut r3, &mut r7, 32, m32);
        swap(&mut r0, &mut r2, 16, m16);
        swap(&mut r1, &mut r3, 16, m16);
        swap(&mut r4, &mut r6, 16, m16);
        swap(&mut r5, &mut r7, 16, m16);
        swap(&mut r0, &mut r1, 8, m8);
        swap(&mut r2, &mut r3, 8, m8);
        swap(&mut r4, &mut r5, 8, m8);
        swap(&mut r6, &mut r7, 8, m8);
        for (plane, r) in planes.iter_mut().zip([r0, r1, r2, r3, r4, r5, r6, r7]) {
            plane[g * 8..g * 8 + 8].copy_from_slice(&r.to_le_bytes());
        }
    }
    for i in groups * 8..n {
        for (j, plane) in planes.iter_mut().enumerate() {
            plane[i] = raw[i * 8 + j];
        }
    }
}

fn bytes_of(v: &[i64]) -> &[u8] {
    // SAFETY: i64 has no padding and any byte pattern is a valid u8; the length is exact.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// The time and channel columns of `/tags`.
#[derive(Debug)]
pub struct TagColumns {
    path: PathBuf,
    time_ps: Dataset,
    channel: Dataset,
    gzip: bool,
    /// Rows in complete chunks in the file.
    full_rows: usize,
    /// Rows whose data is in the file (complete chunks and a flushed partial one): the
    /// extent goes back to this when a write fails, so no row reads back as zeros.
    written: usize,
    /// Rows after them, buffered (and, after a flush, also in the file's partial chunk).
    buf_time: Vec<i64>,
    buf_channel: Vec<u8>,
    /// Chunks gathered before compressing them in parallel.
    batch_chunks: usize,
    workers: usize,
    spaces: Vec<Workspace>,
}

impl TagColumns {
    /// Columns over the (empty, chunked by TAG_CHUNK) datasets; `gzip` must match their filters.
    pub fn new(path: &Path, time_ps: Dataset, channel: Dataset, gzip: bool) -> Self {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
        TagColumns {
            path: path.into(),
            time_ps,
            channel,
            gzip,
            full_rows: 0,
            written: 0,
            buf_time: Vec::with_capacity(TAG_CHUNK * workers),
            buf_channel: Vec::with_capacity(TAG_CHUNK * workers),
            batch_chunks: if gzip { 4 * workers } else { 1 },
            workers,
            spaces: (0..workers).map(|_| Workspace::default()).collect(),
        }
    }

    /// Rows taken (written or buffered).
    pub fn rows(&self) -> usize {
        self.full_rows + self.buf_time.len()
    }

    /// Rows whose data is in the file.
    pub fn written_rows(&self) -> usize {
        self.written
    }

    /// After a write error: the rows of `written` whose chunks are really on the disk, both
    /// columns (HDF5 can report a chunk write as done whose chunk never reached the index
    /// when the disk is full).
    pub fn verified_rows(&self) -> usize {
        let mut rows = self.written;
        while rows > 0 {
            let start = (rows - 1) / TAG_CHUNK * TAG_CHUNK;
            if chunk_intact(&self.time_ps, start, TAG_CHUNK, 8) && chunk_intact(&self.channel, start, TAG_CHUNK, 1) {
                break;
            }
            rows = start;
        }
        rows
    }

    /// Gives up the buffered rows and sets the extent to the rows really written and found
    /// on the disk (after a failed write); those rows.
    pub fn truncate_to_written(&mut self) -> usize {
        self.buf_time.clear();
        self.buf_channel.clear();
        let rows = self.verified_rows();
        self.written = rows;
        let _ = self.resize(rows);
        rows
    }

    /// After a failed write: the extent back to the rows really written, and the error.
    fn undo(&self, e: RecordingError) -> RecordingError {
        let _ = self.resize(self.written);
        e
    }

    /// Appends tags; writes complete chunks once enough are gathered.
    pub fn append(&mut self, mut time_ps: &[i64], mut channel: &[u8]) -> Result<(), RecordingError> {
        // Whole chunks of a batch that starts on a chunk boundary go straight to the file.
        if self.buf_time.is_empty() && time_ps.len() >= self.batch_chunks * TAG_CHUNK {
            let rows = time_ps.len() / TAG_CHUNK * TAG_CHUNK;
            self.write_chunks(&time_ps[..rows], &channel[..rows])?;
            (time_ps, channel) = (&time_ps[rows..], &channel[rows..]);
        }
        self.buf_time.extend_from_slice(time_ps);
        self.buf_channel.extend_from_slice(channel);
        if self.buf_time.len() >= self.batch_chunks * TAG_CHUNK {
            self.write_full_chunks()?;
        }
        Ok(())
    }

    /// Writes every complete chunk, and the partial one (padded), and sets the extent.
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        self.write_full_chunks()?;
        let rest = self.buf_time.len();
        if rest > 0 {
            let mut t = self.buf_time.clone();
            let mut c = self.buf_channel.clone();
            t.resize(TAG_CHUNK, 0);
            c.resize(TAG_CHUNK, 0);
            let per = self.encode_all(&[(bytes_of(&t), 8), (&c, 1)]);
            self.resize(self.full_rows + rest).map_err(|e| self.undo(e))?;
            let (time, chan) = (self.encoded(0, per), self.encoded(1, per));
            self.put(&self.time_ps, self.full_rows, time, "tags/time_ps").map_err(|e| self.undo(e))?;
            self.put(&self.channel, self.full_rows, chan, "tags/channel").map_err(|e| self.undo(e))?;
            self.written = self.full_rows + rest;
        }
        Ok(())
    }

    fn write_full_chunks(&mut self) -> Result<(), RecordingError> {
        let rows = self.buf_time.len() / TAG_CHUNK * TAG_CHUNK;
        if rows == 0 {
            return Ok(());
        }
        let (t, c) = (std::mem::take(&mut self.buf_time), std::mem::take(&mut self.buf_channel));
        let r = self.write_chunks(&t[..rows], &c[..rows]);
        (self.buf_time, self.buf_channel) = (t, c);
        self.buf_time.drain(..rows);
        self.buf_channel.drain(..rows);
        r
    }

    /// Writes whole chunks (`time_ps.len()` a multiple of TAG_CHUNK) after the full rows.
    fn write_chunks(&mut self, time_ps: &[i64], channel: &[u8]) -> Result<(), RecordingError> {
        let rows = time_ps.len();
        let times = bytes_of(time_ps);
        // HDF5's direct chunk write needs the extent first; a failed write takes it back.
        self.resize(self.full_rows + rows).map_err(|e| self.undo(e))?;
        if self.gzip {
            // Time and channel chunk of each row range next to each other: the workers get
            // equal shares.
            let pieces: Vec<(&[u8], usize)> = times
                .chunks(TAG_CHUNK * 8)
                .zip(channel.chunks(TAG_CHUNK))
                .flat_map(|(t, c)| [(t, 8), (c, 1)])
                .collect();
            let per = self.encode_all(&pieces);
            for i in 0..pieces.len() / 2 {
                let at = self.full_rows + i * TAG_CHUNK;
                self.put(&self.time_ps, at, self.encoded(2 * i, per), "tags/time_ps").map_err(|e| self.undo(e))?;
                self.put(&self.channel, at, self.encoded(2 * i + 1, per), "tags/channel").map_err(|e| self.undo(e))?;
                // Chunk by chunk: a later failure keeps what is already written.
                self.written = self.written.max(at + TAG_CHUNK);
            }
        } else {
            // Raw chunks go straight from memory.
            for (i, (t, c)) in times.chunks(TAG_CHUNK * 8).zip(channel.chunks(TAG_CHUNK)).enumerate() {
                let at = self.full_rows + i * TAG_CHUNK;
                self.put(&self.time_ps, at, t, "tags/time_ps").map_err(|e| self.undo(e))?;
                self.put(&self.channel, at, c, "tags/channel").map_err(|e| self.undo(e))?;
                self.written = self.written.max(at + TAG_CHUNK);
            }
        }
        self.full_rows += rows;
        self.written = self.written.max(self.full_rows);
        Ok(())
    }

    /// Encodes pieces (bytes, element size) on up to `workers` threads, `per` pieces each
    /// in order (returned); piece p's bytes are then `encoded(p, per)`. Raw (no compression)
    /// pieces are copied.
    fn encode_all(&mut self, pieces: &[(&[u8], usize)]) -> usize {
        let gzip = self.gzip;
        let work = |part: &[(&[u8], usize)], ws: &mut Workspace| {
            ws.out.resize_with(part.len(), Vec::new);
            for ((raw, elem), out) in part.iter().zip(&mut ws.out) {
                if gzip {
                    encode(raw, *elem, &mut ws.scratch, out);
                } else {
                    out.clear();
                    out.extend_from_slice(raw);
                }
            }
        };
        let per = pieces.len().div_ceil(self.workers).next_multiple_of(2).max(1);
        let mut parts = pieces.chunks(per).zip(self.spaces.iter_mut());
        let Some((first, first_ws)) = parts.next() else { return per };
        std::thread::scope(|s| {
            let handles: Vec<_> = parts.map(|(part, ws)| s.spawn(move || work(part, ws))).collect();
            // This thread takes the first share itself.
            work(first, first_ws);
            for h in handles {
                h.join().expect("a compression thread panicked");
            }
        });
        per
    }

    /// The encoded bytes of piece `p` of the last `encode_all` (`per` pieces per worker).
    fn encoded(&self, p: usize, per: usize) -> &[u8] {
        &self.spaces[p / per].out[p % per]
    }

    fn resize(&self, rows: usize) -> Result<(), RecordingError> {
        self.time_ps.resize(rows).map_err(|e| h5(&self.path, "tags/time_ps: resize", e))?;
        self.channel.resize(rows).map_err(|e| h5(&self.path, "tags/channel: resize", e))
    }

    fn put(&self, ds: &Dataset, row: usize, bytes: &[u8], what: &str) -> Result<(), RecordingError> {
        let offset = [row as hdf5_sys::h5::hsize_t];
        // SAFETY: the dataset id is valid while `ds` lives; offset has the dataset's rank (1)
        // and is a multiple of its chunk size; `bytes` is one whole chunk through the
        // dataset's filters (or raw, without filters) and outlives the call.
        let r = unsafe {
            hdf5_sys::h5d::H5Dwrite_chunk(
                ds.id(),
                hdf5_sys::h5p::H5P_DEFAULT,
                0,
                offset.as_ptr(),
                bytes.len(),
                bytes.as_ptr().cast(),
            )
        };
        if r < 0 {
            // HDF5's own message does not carry the OS error; errno, read right after the
            // failed call, does ("No space left on device").
            let os = std::io::Error::last_os_error();
            let why = if os.raw_os_error().is_some_and(|c| c != 0) { format!(": {os}") } else { String::new() };
            return Err(RecordingError::Hdf5 {
                path: self.path.clone(),
                reason: format!("HDF5: {what}: direct chunk write at row {row} failed{why}"),
            });
        }
        Ok(())
    }
}

/// Whether the chunk at row `start` of `ds` (`chunk` rows of `elem` bytes) is whole: raw, it
/// has its full size; compressed (deflate after shuffle), its zlib stream inflates to it.
pub(crate) fn chunk_intact(ds: &Dataset, start: usize, chunk: usize, elem: usize) -> bool {
    let offset = [start as hdf5_sys::h5::hsize_t];
    let (mut mask, mut addr, mut size) = (0u32, 0 as hdf5_sys::h5::haddr_t, 0 as hdf5_sys::h5::hsize_t);
    // SAFETY: a valid dataset id while `ds` lives; `offset` has the dataset's rank (1); the
    // out-parameters outlive the call.
    let r =
        unsafe { hdf5_sys::h5d::H5Dget_chunk_info_by_coord(ds.id(), offset.as_ptr(), &mut mask, &mut addr, &mut size) };
    let expected = chunk * elem;
    if r < 0 || size == 0 || size as usize > 4 * expected + 1024 {
        return false;
    }
    let mut raw = vec![0u8; size as usize];
    let mut filters = 0u32;
    // SAFETY: as above; `raw` holds the chunk's stored size, which H5Dread_chunk writes.
    let r = unsafe {
        hdf5_sys::h5d::H5Dread_chunk(
            ds.id(),
            hdf5_sys::h5p::H5P_DEFAULT,
            offset.as_ptr(),
            &mut filters,
            raw.as_mut_ptr().cast(),
        )
    };
    if r < 0 {
        return false;
    }
    if ds.filters().is_empty() {
        return raw.len() == expected;
    }
    let mut out = vec![0u8; expected];
    matches!(libdeflater::Decompressor::new().zlib_decompress(&raw, &mut out), Ok(n) if n == expected)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shuffle8_is_hdf5s_shuffle() {
        for n in [0usize, 1, 7, 8, 9, 64, 1000] {
            let raw: Vec<u8> = (0..n * 8).map(|i| (i * 37 % 251) as u8).collect();
            let mut out = vec![0u8; raw.len()];
            super::shuffle8(&raw, &mut out);
            for i in 0..n {
                for j in 0..8 {
                    assert_eq!(out[j * n + i], raw[i * 8 + j], "n {n}, element {i}, byte {j}");
                }
            }
        }
    }
}
