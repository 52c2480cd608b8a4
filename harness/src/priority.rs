//! The engine's thread below the reader and the recorder during a live run.
//!
//! Why: on a live run the recording must never wait for analysis (the engine skips blocks
//! it cannot analyse in time instead). Bounded queues keep the engine from holding the
//! recording back through memory; this keeps it from doing so through the CPU. On a
//! 2-core machine at 9e7 tags/s, the recorder's compression and the kernel's page cache
//! need most of both cores, and an engine at equal priority takes its fair share of them
//! (`qkdbench bench capture`).

/// The calling thread at nice +10 (`engine::BACKGROUND_NICE`, as the engine's background
/// workers) while this lives; its priority as before afterwards where the system allows
/// (lowering a nice value needs privilege on Linux: an unprivileged process keeps +10 on
/// that thread).
#[derive(Debug)]
pub(crate) struct Background {
    before: Option<i32>,
}

impl Background {
    /// Lowers the calling thread's priority.
    pub(crate) fn enter() -> Self {
        Background { before: engine::set_thread_nice(engine::BACKGROUND_NICE) }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(n) = self.before {
            let _ = engine::set_thread_nice(n);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// This thread's nice value, as the kernel reports it (field 19 of its stat line).
    fn nice_now() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn the_thread_runs_at_nice_10_while_the_guard_lives() {
        // A thread of its own: the test harness's threads keep their priority.
        std::thread::spawn(|| {
            let before = nice_now();
            {
                let _g = Background::enter();
                assert_eq!(nice_now(), engine::BACKGROUND_NICE);
            }
            // Restored where allowed (root, or a nice limit that permits it).
            let after = nice_now();
            assert!(after == before || after == engine::BACKGROUND_NICE, "{before} -> {after}");
        })
        .join()
        .unwrap();
    }
}
