//! Writeback from the start: a thread beside the writer hands the recording's new bytes to
//! the disk as they are written.
//!
//! Why: a capture writes about 300 MB/s for as long as the run lasts. Left to the kernel,
//! the disk sits idle until dirty pages pass its background threshold (10 % of memory:
//! 2.3 GB, 7 s of capture here), and the run must then write in what is left of it what the
//! disk had the whole run for; past the next threshold every writer is throttled in pauses
//! that outlast the tagger's FIFO (0.36 s at 9e7 tags/s), and tags are lost at the device.
//! Starting the writeback of each new step at once keeps the disk busy from the first
//! second and bounds what a power cut can take to about `STEP_BYTES * IN_FLIGHT` (256 MiB)
//! instead of the kernel's 2.3 GB. It runs on its own thread: `sync_file_range` does the
//! file system's block allocation in the caller, and the writer must never wait for it (an
//! earlier version that paced the writer itself lost more tags).
//!
//! Once a step is on the disk, its pages are dropped from the page cache. Why: a recording
//! is written once and read later, and keeping 18 GB of it cached would push out everything
//! else. And on a virtual machine, memory the guest has not used recently is backed by the
//! host only on first touch: on this project's 2-core VM, page cache grown into fresh memory
//! took 0.35 GB/s against 2.4 GB/s into reused pages, and `bench capture --rate 9e7` (305
//! MB/s of recording) lost 8-13 % of its tags at the device from about 18 s on, whatever the
//! disk (into tmpfs too, whose files are page cache and cannot be dropped). Dropping written
//! steps keeps the recording in the same few hundred MiB: no loss at 9e7 tags/s for 60 s.
//! (Linux's `sync_file_range` and `posix_fadvise`; elsewhere, and on file systems without
//! writeback such as tmpfs, this does nothing.)

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Bytes per step.
const STEP_BYTES: u64 = 32 << 20;
/// Steps in flight before the oldest is waited for: the disk's queue stays deep (a VM's
/// disk reaches its speed only with many requests in flight), the dirty set bounded at
/// `STEP_BYTES * IN_FLIGHT` (256 MiB).
const IN_FLIGHT: usize = 8;

/// Paces the writeback of one file.
#[derive(Debug)]
pub(crate) struct Pacer {
    file: File,
    /// Writeback started up to here.
    started: u64,
    /// The steps started and not yet waited for: (from, to).
    in_flight: std::collections::VecDeque<(u64, u64)>,
}

impl Pacer {
    /// A pacer for `path` (its own handle: the writer's is HDF5's).
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Pacer { file: File::open(path)?, started: 0, in_flight: Default::default() })
    }

    /// Starts the writeback of the bytes written since the last step, once there are a
    /// step's worth, and waits for the oldest step once `IN_FLIGHT` are (the disk sets the
    /// pace).
    pub(crate) fn pace(&mut self) -> std::io::Result<()> {
        let len = self.file.metadata()?.len();
        if len < self.started + STEP_BYTES {
            return Ok(());
        }
        sync_range(&self.file, self.started, len - self.started, Flags::Start)?;
        self.in_flight.push_back((self.started, len));
        self.started = len;
        while self.in_flight.len() > IN_FLIGHT {
            let (from, to) = self.in_flight.pop_front().expect("in flight");
            sync_range(&self.file, from, to - from, Flags::Wait)?;
            drop_cached(&self.file, from, to - from);
        }
        Ok(())
    }
}

/// How often the flusher looks at the file's length.
const POLL: Duration = Duration::from_millis(20);

/// The flusher thread of one recording; stopped when dropped.
#[derive(Debug)]
pub(crate) struct Flusher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Starts flushing `path` as it grows. Errors are not reported here: the writer's own
    /// writes and its final sync report them.
    pub(crate) fn start(path: &Path) -> std::io::Result<Self> {
        let mut pacer = Pacer::open(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new().name("writeback".into()).spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                if pacer.pace().is_err() {
                    return;
                }
                std::thread::sleep(POLL);
            }
        })?;
        Ok(Flusher { stop, thread: Some(thread) })
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A byte range as the system calls take it (`off_t`).
#[cfg(target_os = "linux")]
fn offsets(from: u64, bytes: u64) -> (i64, i64) {
    (i64::try_from(from).unwrap_or(i64::MAX), i64::try_from(bytes).unwrap_or(i64::MAX))
}

enum Flags {
    /// Start writing the range's dirty pages.
    Start,
    /// Wait for the range's pages in flight, write the rest and wait for them.
    Wait,
}

#[cfg(target_os = "linux")]
fn sync_range(f: &File, from: u64, bytes: u64, flags: Flags) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let flags = match flags {
        Flags::Start => libc::SYNC_FILE_RANGE_WRITE,
        Flags::Wait => {
            libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER
        }
    };
    let (from, bytes) = offsets(from, bytes);
    // SAFETY: the descriptor is `f`'s, open for the whole call; the call reads no memory.
    let r = unsafe { libc::sync_file_range(f.as_raw_fd(), from, bytes, flags) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Drops the range's pages from the page cache once they are on the disk (dirty pages, e.g.
/// HDF5 metadata rewritten in place since, stay: the kernel never drops those).
#[cfg(target_os = "linux")]
fn drop_cached(f: &File, from: u64, bytes: u64) {
    use std::os::fd::AsRawFd;
    let (from, bytes) = offsets(from, bytes);
    // SAFETY: the descriptor is `f`'s, open for the whole call; the call reads no memory.
    // Advice only: a failure leaves the pages cached, which is what happens without it.
    let _ = unsafe { libc::posix_fadvise(f.as_raw_fd(), from, bytes, libc::POSIX_FADV_DONTNEED) };
}

#[cfg(not(target_os = "linux"))]
fn drop_cached(_: &File, _: u64, _: u64) {}

#[cfg(not(target_os = "linux"))]
fn sync_range(_: &File, _: u64, _: u64, _: Flags) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn steps_follow_the_file_as_it_grows() {
        let dir = std::env::temp_dir().join(format!("qkdbench-pacer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        let mut w = File::create(&path).unwrap();
        let mut p = Pacer::open(&path).unwrap();
        let mib = vec![7u8; 1 << 20];
        let step_mib = STEP_BYTES >> 20;
        for _ in 0..step_mib - 1 {
            w.write_all(&mib).unwrap();
        }
        p.pace().unwrap();
        assert_eq!((p.started, p.in_flight.len()), (0, 0), "less than a step: nothing yet");
        w.write_all(&mib).unwrap();
        p.pace().unwrap();
        assert_eq!(p.started, STEP_BYTES);
        assert_eq!(p.in_flight.iter().copied().collect::<Vec<_>>(), [(0, STEP_BYTES)]);
        // A step and 3 MiB more: one step from where the last ended.
        for _ in 0..step_mib + 3 {
            w.write_all(&mib).unwrap();
        }
        p.pace().unwrap();
        assert_eq!(p.in_flight.back(), Some(&(STEP_BYTES, 2 * STEP_BYTES + (3 << 20))));
        // Never more than IN_FLIGHT steps: the oldest are waited for, in order.
        for _ in 0..IN_FLIGHT + 2 {
            for _ in 0..step_mib {
                w.write_all(&mib).unwrap();
            }
            p.pace().unwrap();
        }
        assert_eq!(p.in_flight.len(), IN_FLIGHT);
        let steps: Vec<_> = p.in_flight.iter().copied().collect();
        assert!(steps.windows(2).all(|w| w[0].1 == w[1].0), "{steps:?}");
        assert_eq!(steps.last().unwrap().1, p.started);
        // The steps waited for left the page cache; the ones in flight may still be there.
        let waited = steps[0].0;
        if on_tmpfs(&path) {
            eprintln!("skipping the page-cache check: {} is on tmpfs (its pages are the file)", dir.display());
        } else {
            let resident = resident_pages(&path, 0, waited);
            assert_eq!(resident, 0, "{resident} pages of the first {waited} bytes still cached");
            assert!(resident_pages(&path, p.started - (1 << 20), 1 << 20) > 0, "the last MiB written is cached");
        }
        drop(w);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn on_tmpfs(path: &Path) -> bool {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path and a statfs the call fills.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::statfs(c.as_ptr(), &mut st) };
        r == 0 && st.f_type == libc::TMPFS_MAGIC
    }

    /// Pages of `path` in `[from, from + bytes)` in the page cache (mincore on a mapping).
    fn resident_pages(path: &Path, from: u64, bytes: u64) -> usize {
        use std::os::fd::AsRawFd;
        let f = File::open(path).unwrap();
        let page = 4096u64;
        assert_eq!(from % page, 0);
        let len = bytes as usize;
        // SAFETY: a read-only shared mapping of an open file, unmapped below; mincore writes
        // one byte per page into a vector of that many.
        unsafe {
            let at =
                libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, f.as_raw_fd(), from as i64);
            assert_ne!(at, libc::MAP_FAILED);
            let mut vec = vec![0u8; len.div_ceil(page as usize)];
            assert_eq!(libc::mincore(at, len, vec.as_mut_ptr()), 0);
            libc::munmap(at, len);
            vec.iter().filter(|b| *b & 1 == 1).count()
        }
    }
}
