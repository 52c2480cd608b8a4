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

fn base() -> KeyRateInput {
    serde_json::from_value(vectors()[0]["input"].clone()).unwrap()
}

/// Every validation rule, at its boundary where it has one: the bad field is named, and the
/// inputs just inside stay valid.
#[test]
fn every_bad_field_is_named_and_boundaries_hold() {
    let bad = |f: &dyn Fn(&mut KeyRateInput), field: &str, what: &str| {
        let mut i = base();
        f(&mut i);
        let e = i.validate().expect_err(what);
        assert_eq!(e.field, field, "{what}: {e}");
        assert!(e.to_string().starts_with(&format!("field \"{field}\": ")), "{what}: {e}");
        assert_eq!(i.evaluate().unwrap_err(), e, "{what}");
    };
    let good = |f: &dyn Fn(&mut KeyRateInput), what: &str| {
        let mut i = base();
        f(&mut i);
        i.validate().unwrap_or_else(|e| panic!("{what}: {e}"));
    };
    assert_eq!(base().validate(), Ok(()));
    bad(&|i| i.mu = [101.0, 0.1, 0.0], "mu", "mu above 100");
    bad(&|i| i.mu = [0.5, -0.1, 0.0], "mu", "a negative mu");
    bad(&|i| i.mu = [f64::NAN, 0.1, 0.0], "mu", "NaN mu");
    // mu1 > mu2 + mu3: equal is refused; 0.25 against 0.2 + 0.1 (which a - or * would pass).
    bad(&|i| i.mu = [0.3, 0.2, 0.1], "mu", "mu1 = mu2 + mu3");
    // Exactly equal in float64 (0.2 + 0.1 is not 0.3 there; 0.375 + 0.125 is 0.5).
    bad(&|i| i.mu = [0.5, 0.375, 0.125], "mu", "mu1 = mu2 + mu3 exactly");
    bad(&|i| i.mu = [0.25, 0.2, 0.1], "mu", "mu1 < mu2 + mu3");
    good(&|i| i.mu = [0.31, 0.2, 0.1], "mu1 just above mu2 + mu3");
    // mu2 > mu3: equal is refused.
    bad(&|i| i.mu = [0.5, 0.1, 0.1], "mu", "mu2 = mu3");
    good(&|i| i.mu = [100.0, 0.1, 0.0], "mu1 at 100");
    bad(&|i| i.p = [0.8, 0.2, 0.0], "p", "a zero probability");
    bad(&|i| i.p = [1.5, -0.25, -0.25], "p", "probabilities outside (0, 1]");
    bad(&|i| i.p = [0.5, 0.2, 0.2], "p", "probabilities summing to 0.9");
    bad(&|i| i.p = [0.7, 0.2, f64::NAN], "p", "a NaN probability");
    good(&|i| i.p = [1.0 - 2e-10, 1e-10, 1e-10], "p just above 0, summing to 1");
    for field in ["n_x", "n_z", "m_x", "m_z"] {
        let set = |i: &mut KeyRateInput, v: [f64; 3]| match field {
            "n_x" => i.n_x = v,
            "n_z" => i.n_z = v,
            "m_x" => i.m_x = v,
            _ => i.m_z = v,
        };
        bad(&|i| set(i, [-1.0, 0.0, 0.0]), field, "a negative count");
        bad(&|i| set(i, [1e31, 0.0, 0.0]), field, "a count above 1e30");
        bad(&|i| set(i, [f64::INFINITY, 0.0, 0.0]), field, "an infinite count");
    }
    // Errors may equal the events of their class (all wrong), never exceed them.
    good(&|i| i.m_x = i.n_x, "m_x = n_x");
    good(&|i| i.m_z = i.n_z, "m_z = n_z");
    bad(&|i| i.m_x[2] = i.n_x[2] + 1.0, "m_x", "more X errors than events");
    bad(&|i| i.m_z[1] = i.n_z[1] + 1.0, "m_z", "more Z errors than events");
    for e in [0.0, 1.0, f64::NAN, 1e-301] {
        bad(&|i| i.eps_sec = e, "eps_sec", "eps_sec out of [1e-300, 1)");
        bad(&|i| i.eps_cor = e, "eps_cor", "eps_cor out of [1e-300, 1)");
    }
    good(&|i| i.eps_sec = 1e-300, "eps_sec at 1e-300");
    for f in [0.99, 10.01, f64::INFINITY] {
        bad(&|i| i.f_ec = f, "f_ec", "f_ec out of 1..=10");
    }
    good(&|i| i.f_ec = 10.0, "f_ec at 10");
    bad(
        &|i| {
            i.n_x = [0.0; 3];
            i.m_x = [0.0; 3];
        },
        "n_x",
        "no events in X",
    );
    bad(
        &|i| {
            i.n_z = [0.0; 3];
            i.m_z = [0.0; 3];
        },
        "n_z",
        "no events in Z",
    );
}

/// The observed QBERs are the plain ratios of the input's counts; the key needs single-photon
/// events in both bases: with either bound at or below zero there is no key at all (phase
/// error 0.5), whatever the other basis has.
#[test]
fn qbers_are_the_count_ratios_and_a_key_needs_single_photons_in_both_bases() {
    let i = base();
    let out = i.evaluate().unwrap();
    // 35,087 + 2,049 + 27 errors among 1,396,840 + 80,056 + 128 Z events.
    assert_eq!(out.qber_z, 37_163.0 / 1_477_024.0);
    assert_eq!(out.qber_x, (561_397.0 + 32_783.0 + 431.0) / (22_349_442.0 + 1_280_895.0 + 2_048.0));
    assert!(out.s_x1 > 0.0 && out.s_z1 > 0.0 && out.key_length_raw_bits.is_some());
    for (what, shrink_x) in [("few X events", true), ("few Z events", false)] {
        let mut j = base();
        let tiny = [20.0, 2.0, 1.0];
        if shrink_x {
            (j.n_x, j.m_x) = (tiny, [0.0; 3]);
        } else {
            (j.n_z, j.m_z) = (tiny, [0.0; 3]);
        }
        let out = j.evaluate().unwrap();
        let (mine, other) = if shrink_x { (out.s_x1, out.s_z1) } else { (out.s_z1, out.s_x1) };
        assert!(mine <= 0.0 && other > 0.0, "{what}: {mine} {other}");
        assert_eq!((out.key_length_raw_bits, out.key_length_bits, out.phi_x), (None, 0, 0.5), "{what}");
    }
}

#[test]
fn binary_entropy_at_its_ends_and_middle() {
    use engine::finite_key::h2;
    assert_eq!((h2(0.0), h2(1.0), h2(-0.5), h2(1.5)), (0.0, 0.0, 0.0, 0.0));
    assert_eq!(h2(0.5), 1.0);
    // h(0.11) = 0.499915958164528 bits (mpmath, 30 digits), symmetric about 1/2 (to the
    // last bits: 0.89 is not exactly 1 - 0.11 in float64).
    assert!((h2(0.11) - 0.499_915_958_164_528).abs() < 1e-15, "{}", h2(0.11));
    assert!((h2(0.89) - h2(0.11)).abs() < 1e-15);
}
