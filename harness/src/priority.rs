//! The engine's thread below the reader and the recorder during a live run.
//!
//! Why: on a live run the recording must never wait for analysis (the engine skips blocks
//! it cannot analyse in time instead). Bounded queues keep the engine from holding the
//! recording back through memory; this keeps it from doing so through the CPU. On a
//! 2-core machine at 9e7 tags/s, the recorder's compression and the kernel's page cache
//! need most of both cores, and an engine at equal priority takes its fair share of them
//! (`qkdbench bench capture`).

/// Nice value of the engine's threads on a live run.
const BACKGROUND_NICE: i32 = 10;

/// The calling thread at nice +10 while this lives; its priority as before afterwards
/// where the system allows (lowering a nice value needs privilege on Linux: an unprivileged
/// process keeps +10 on that thread).
#[derive(Debug)]
pub(crate) struct Background {
    before: Option<i32>,
}

impl Background {
    /// Lowers the calling thread's priority.
    pub(crate) fn enter() -> Self {
        Background { before: set_nice(BACKGROUND_NICE) }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(n) = self.before {
            let _ = set_nice(n);
        }
    }
}

/// Sets the calling thread's nice value; the value before, when it was set.
#[cfg(target_os = "linux")]
fn set_nice(nice: i32) -> Option<i32> {
    // SAFETY: plain system calls on this thread's own id; no memory is passed.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let before = libc::getpriority(libc::PRIO_PROCESS, tid);
        if before == -1 && *libc::__errno_location() != 0 {
            return None;
        }
        (libc::setpriority(libc::PRIO_PROCESS, tid, nice) == 0).then_some(before)
    }
}

#[cfg(not(target_os = "linux"))]
fn set_nice(_: i32) -> Option<i32> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn nice_now() -> i32 {
        // SAFETY: as in set_nice.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[test]
    fn the_thread_runs_at_nice_10_while_the_guard_lives() {
        // A thread of its own: the test harness's threads keep their priority.
        std::thread::spawn(|| {
            let before = nice_now();
            {
                let _g = Background::enter();
                assert_eq!(nice_now(), BACKGROUND_NICE);
            }
            // Restored where allowed (root, or a nice limit that permits it).
            let after = nice_now();
            assert!(after == before || after == BACKGROUND_NICE, "{before} -> {after}");
        })
        .join()
        .unwrap();
    }
}
