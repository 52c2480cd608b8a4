//! The independent 50-digit finite-key vectors (finite_key.py, mpmath) and the closeness
//! they are compared with; shared by the engine's test and the `keyrate` CLI test.
#![allow(dead_code)]

use serde_json::Value;

/// Every vector: name, input, expected outputs.
pub fn vectors() -> Vec<Value> {
    serde_json::from_str(include_str!("finite_key.json")).expect("vectors parse")
}

/// `got` equals `want` to 1e-9 relative (1e-9 absolute near zero).
pub fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-9 * want.abs().max(1.0);
    assert!((got - want).abs() <= tol, "{what}: got {got}, expected {want}");
}
