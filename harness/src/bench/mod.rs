//! Benchmarks that print figures with a baseline measured in the same run.
//!
//! Each returns a serialisable report; the CLI prints it as JSON or as a table. Timed
//! assertions do not belong in tests (a loaded CI machine would make them flaky); these
//! numbers go into the issue notes instead.

pub mod capture;
pub mod engine;
pub mod record;
pub mod rtl;
pub mod sim;
pub mod tui;

use std::time::Instant;

/// Runs `f` repeatedly until at least `min_s` seconds have passed; returns (calls, seconds).
pub fn time_at_least(min_s: f64, mut f: impl FnMut()) -> (u64, f64) {
    let t0 = Instant::now();
    let mut calls = 0;
    loop {
        f();
        calls += 1;
        let dt = t0.elapsed().as_secs_f64();
        if dt >= min_s {
            return (calls, dt);
        }
    }
}
