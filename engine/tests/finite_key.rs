//! The finite-key evaluation against an independent, 50-digit evaluation of the published
//! equations (vectors/finite_key.py, mpmath). Here, in the engine's own tests, so that
//! cargo-mutants runs it when it mutates engine/src/finite_key.rs.

use engine::finite_key::KeyRateInput;

#[path = "vectors/mod.rs"]
mod vectors;
use vectors::{close, vectors};

#[test]
fn key_length_matches_independent_evaluation() {
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        let input: KeyRateInput = serde_json::from_value(v["input"].clone()).unwrap();
        let out = input.evaluate().unwrap();
        let e = &v["expected"];
        for (field, got) in [
            ("s_x0", out.s_x0),
            ("s_x1", out.s_x1),
            ("s_z0", out.s_z0),
            ("s_z1", out.s_z1),
            ("v_z1", out.v_z1),
            ("phi_x", out.phi_x),
            ("lambda_ec", out.lambda_ec),
            ("qber_x", out.qber_x),
        ] {
            close(got, e[field].as_f64().unwrap(), &format!("{name}: {field}"));
        }
        match e["key_length_raw_bits"].as_f64() {
            Some(want) => {
                close(out.key_length_raw_bits.unwrap(), want, &format!("{name}: raw key length"));
                assert_eq!(out.key_length_bits, if want > 0.0 { want.floor() as u64 } else { 0 }, "{name}");
            }
            None => assert_eq!((out.key_length_raw_bits, out.key_length_bits), (None, 0), "{name}"),
        }
    }
}
