//! Finite-key secure key length for decoy-state BB84 with three intensities.
//!
//! Lim, Curty, Walenta, Xu, Zbinden, "Concise security bounds for practical decoy-state
//! quantum key distribution", Phys. Rev. A 89, 022307 (2014), Sec. III, with Hoeffding's
//! bound for the decoy estimates; or the Chernoff bounds of Yin et al., Sci. Rep. 10, 14312
//! (2020) (as used for satellite passes by SatQuMA). The key is taken from basis X, the
//! phase error estimated from basis Z. Class 0 is the signal (mu1), 1 the decoy (mu2),
//! 2 the vacuum or weak decoy (mu3): mu1 > mu2 + mu3, mu2 > mu3 >= 0.

use serde::{Deserialize, Serialize};

/// Which concentration bound turns observed counts into bounds on expectations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bound {
    /// Hoeffding (Lim et al. 2014, Eq. 2).
    Hoeffding,
    /// Chernoff (Yin et al. 2020; SatQuMA).
    Chernoff,
}

/// The inputs, as `qkdbench keyrate --input` reads them (counts per intensity class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRateInput {
    /// Mean photon numbers [mu1, mu2, mu3].
    pub mu: [f64; 3],
    /// Probabilities of the three classes.
    pub p: [f64; 3],
    /// Sifted events in basis X per class.
    pub n_x: [f64; 3],
    /// Sifted events in basis Z per class.
    pub n_z: [f64; 3],
    /// Bit errors in basis X per class.
    pub m_x: [f64; 3],
    /// Bit errors in basis Z per class.
    pub m_z: [f64; 3],
    /// Secrecy parameter.
    pub eps_sec: f64,
    /// Correctness parameter.
    pub eps_cor: f64,
    /// Error-correction efficiency (leak = f_ec * n_X * h(QBER_X)).
    pub f_ec: f64,
    /// Concentration bound.
    pub bound: Bound,
}

/// The result and every intermediate bound (so a user can see why a key is zero).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyRateOutput {
    /// Secure key length, bits (0 when the bound is negative).
    pub key_length_bits: u64,
    /// The bound before clipping at 0, bits; None when no single-photon events can be
    /// certified in one of the bases (then there is no key at all).
    pub key_length_raw_bits: Option<f64>,
    /// Lower bound on vacuum events in X.
    pub s_x0: f64,
    /// Lower bound on single-photon events in X.
    pub s_x1: f64,
    /// Lower bound on vacuum events in Z.
    pub s_z0: f64,
    /// Lower bound on single-photon events in Z.
    pub s_z1: f64,
    /// Upper bound on single-photon bit errors in Z.
    pub v_z1: f64,
    /// Upper bound on the single-photon phase error rate in X.
    pub phi_x: f64,
    /// Bits leaked in error correction.
    pub lambda_ec: f64,
    /// Observed QBER in X.
    pub qber_x: f64,
    /// Observed QBER in Z.
    pub qber_z: f64,
}

/// A field that makes the calculation meaningless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The field, as named in the JSON input.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "field \"{}\": {}", self.field, self.reason)
    }
}

impl std::error::Error for InputError {}

/// Binary entropy, bits.
pub fn h2(x: f64) -> f64 {
    if x <= 0.0 || x >= 1.0 {
        0.0
    } else {
        -x * x.log2() - (1.0 - x) * (1.0 - x).log2()
    }
}

/// gamma(a, b, c, d) of Lim et al. Eq. (9): the sampling penalty on the phase error.
pub fn gamma(a: f64, b: f64, c: f64, d: f64) -> f64 {
    let b = b.clamp(1e-15, 0.5);
    let inner = (c + d) / (c * d * (1.0 - b) * b) * (21.0 * 21.0) / (a * a);
    ((c + d) * (1.0 - b) * b / (c * d * std::f64::consts::LN_2) * inner.log2()).sqrt()
}

impl KeyRateInput {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), InputError> {
        let bad = |field, reason: String| Err(InputError { field, reason });
        let [m1, m2, m3] = self.mu;
        // e^mu appears in the bounds: beyond 100 photons per pulse it is no QKD source.
        if self.mu.iter().any(|m| !(m.is_finite() && (0.0..=100.0).contains(m))) {
            return bad("mu", format!("{:?}: intensities must be in 0..=100", self.mu));
        }
        if !(m1 > m2 + m3 && m2 > m3) {
            return bad("mu", format!("{:?}: need mu1 > mu2 + mu3 and mu2 > mu3 (Lim et al.)", self.mu));
        }
        if self.p.iter().any(|p| !(p.is_finite() && *p > 0.0 && *p <= 1.0))
            || (self.p.iter().sum::<f64>() - 1.0).abs() > 1e-9
        {
            return bad("p", format!("{:?}: three probabilities in (0, 1] summing to 1", self.p));
        }
        for (field, v) in [("n_x", &self.n_x), ("n_z", &self.n_z), ("m_x", &self.m_x), ("m_z", &self.m_z)] {
            if v.iter().any(|x| !(x.is_finite() && (0.0..=1e30).contains(x))) {
                return bad(field, format!("{v:?}: counts must be in 0..=1e30"));
            }
        }
        for k in 0..3 {
            if self.m_x[k] > self.n_x[k] {
                return bad("m_x", format!("class {k}: {} errors among {} events", self.m_x[k], self.n_x[k]));
            }
            if self.m_z[k] > self.n_z[k] {
                return bad("m_z", format!("class {k}: {} errors among {} events", self.m_z[k], self.n_z[k]));
            }
        }
        for (field, e) in [("eps_sec", self.eps_sec), ("eps_cor", self.eps_cor)] {
            if !(e.is_finite() && (1e-300..1.0).contains(&e)) {
                return bad(field, format!("{e:e}: must be in [1e-300, 1)"));
            }
        }
        if !(self.f_ec.is_finite() && (1.0..=10.0).contains(&self.f_ec)) {
            return bad("f_ec", format!("{:e}: must be in 1..=10", self.f_ec));
        }
        if self.n_x.iter().sum::<f64>() <= 0.0 {
            return bad("n_x", "no sifted events in the key basis".into());
        }
        if self.n_z.iter().sum::<f64>() <= 0.0 {
            return bad("n_z", "no sifted events in the other basis".into());
        }
        Ok(())
    }

    /// Lower and upper bounds on the expected count of each class, from observed `n`.
    fn bounds(&self, n: &[f64; 3]) -> ([f64; 3], [f64; 3]) {
        let total: f64 = n.iter().sum();
        let l = (21.0 / self.eps_sec).ln();
        let mut lo = [0.0; 3];
        let mut hi = [0.0; 3];
        for k in 0..3 {
            let scale = self.mu[k].exp() / self.p[k];
            let (dl, dh) = match self.bound {
                Bound::Hoeffding => {
                    let d = (total / 2.0 * l).sqrt();
                    (d, d)
                }
                Bound::Chernoff => {
                    (l / 2.0 + (2.0 * n[k] * l + l * l / 4.0).sqrt(), l + (2.0 * n[k] * l + l * l).sqrt())
                }
            };
            lo[k] = scale * (n[k] - dl);
            hi[k] = scale * (n[k] + dh);
        }
        (lo, hi)
    }

    /// tau_n = sum_k p_k e^-mu_k mu_k^n / n!, for the n = 0 and 1 the bounds use (n! = 1).
    fn tau(&self, photons: i32) -> f64 {
        debug_assert!((0..=1).contains(&photons), "tau_{photons}: only tau_0 and tau_1 are used");
        (0..3).map(|k| self.p[k] * (-self.mu[k]).exp() * self.mu[k].powi(photons)).sum()
    }

    /// (s_0, s_1) lower bounds from one basis's counts, exactly as published (a bound may
    /// come out negative; the key formula then simply gets smaller).
    fn vacuum_and_single(&self, n: &[f64; 3]) -> (f64, f64) {
        let [m1, m2, m3] = self.mu;
        let (lo, hi) = self.bounds(n);
        let tau0 = self.tau(0);
        let tau1 = self.tau(1);
        let s0 = tau0 * (m2 * lo[2] - m3 * hi[1]) / (m2 - m3);
        let s1 = tau1 * m1 * (lo[1] - hi[2] - (m2 * m2 - m3 * m3) / (m1 * m1) * (hi[0] - s0 / tau0))
            / (m1 * (m2 - m3) - m2 * m2 + m3 * m3);
        (s0, s1)
    }

    /// Evaluates the key length.
    pub fn evaluate(&self) -> Result<KeyRateOutput, InputError> {
        self.validate()?;
        let [_, m2, m3] = self.mu;
        let (s_x0, s_x1) = self.vacuum_and_single(&self.n_x);
        let (s_z0, s_z1) = self.vacuum_and_single(&self.n_z);
        let (m_lo, m_hi) = self.bounds(&self.m_z);
        let v_z1 = self.tau(1) * (m_hi[1] - m_lo[2]) / (m2 - m3);
        let n_x: f64 = self.n_x.iter().sum();
        let n_z: f64 = self.n_z.iter().sum();
        let qber_x = self.m_x.iter().sum::<f64>() / n_x;
        let qber_z = self.m_z.iter().sum::<f64>() / n_z;
        let lambda_ec = self.f_ec * n_x * h2(qber_x);
        let (phi_x, raw) = if s_x1 > 0.0 && s_z1 > 0.0 {
            let ratio = v_z1 / s_z1;
            let phi = (ratio + gamma(self.eps_sec, ratio, s_z1, s_x1)).min(0.5);
            let l = s_x0 + s_x1
                - s_x1 * h2(phi)
                - lambda_ec
                - 6.0 * (21.0 / self.eps_sec).log2()
                - (2.0 / self.eps_cor).log2();
            (phi, Some(l))
        } else {
            (0.5, None)
        };
        let figures = [s_x0, s_x1, s_z0, s_z1, v_z1, phi_x, lambda_ec, qber_x, qber_z, raw.unwrap_or(0.0)];
        if figures.iter().any(|x| !x.is_finite()) {
            return Err(InputError {
                field: "n_x",
                reason: "the bounds are not finite numbers for these counts (values too extreme)".into(),
            });
        }
        Ok(KeyRateOutput {
            key_length_bits: raw.filter(|l| *l > 0.0).map_or(0, |l| l.floor() as u64),
            key_length_raw_bits: raw,
            s_x0,
            s_x1,
            s_z0,
            s_z1,
            v_z1,
            phi_x,
            lambda_ec,
            qber_x,
            qber_z,
        })
    }
}
