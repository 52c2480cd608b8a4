#!/usr/bin/env python3
"""Independent evaluation of the finite-key equations, to make test vectors.

Written from the papers (not from the Rust code): Lim et al., PRA 89, 022307 (2014),
Eqs. (1)-(9) with Hoeffding's bound; the Chernoff variant of Yin et al., Sci. Rep. 10,
14312 (2020). Uses Python's decimal module at 50 digits, so the Rust f64 evaluation is
compared with a higher-precision one. Run: python3 finite_key.py > finite_key.json
"""
import json
from decimal import Decimal as D, getcontext

getcontext().prec = 50


def ln(x):
    return D(x).ln()


def log2(x):
    return D(x).ln() / D(2).ln()


def h(x):
    x = D(x)
    if x <= 0 or x >= 1:
        return D(0)
    return -x * log2(x) - (1 - x) * log2(1 - x)


def bounds(mu, p, n, eps_sec, kind):
    total = sum(D(v) for v in n)
    L = ln(D(21) / D(eps_sec))
    lo, hi = [], []
    for k in range(3):
        scale = D(mu[k]).exp() / D(p[k])
        nk = D(n[k])
        if kind == "hoeffding":
            d = (total / 2 * L).sqrt()
            dl, dh = d, d
        else:
            dl = L / 2 + (2 * nk * L + L * L / 4).sqrt()
            dh = L + (2 * nk * L + L * L).sqrt()
        lo.append(scale * (nk - dl))
        hi.append(scale * (nk + dh))
    return lo, hi


def tau(mu, p, n):
    fact = 1
    for i in range(1, n + 1):
        fact *= i
    return sum(D(p[k]) * (-D(mu[k])).exp() * (D(mu[k]) ** n if n > 0 else D(1)) / fact for k in range(3))


def s01(mu, p, n, eps_sec, kind):
    m1, m2, m3 = (D(x) for x in mu)
    lo, hi = bounds(mu, p, n, eps_sec, kind)
    t0, t1 = tau(mu, p, 0), tau(mu, p, 1)
    s0 = t0 * (m2 * lo[2] - m3 * hi[1]) / (m2 - m3)
    s1 = t1 * m1 * (lo[1] - hi[2] - (m2 * m2 - m3 * m3) / (m1 * m1) * (hi[0] - s0 / t0)) / (
        m1 * (m2 - m3) - m2 * m2 + m3 * m3)
    return s0, s1


def gamma(a, b, c, d):
    # b = v_Z1 / s_Z1 is a rate; estimates outside (0, 1/2] are clamped to [1e-15, 1/2]
    # (gamma -> 0 as b -> 0; a phase error above 1/2 gives no key anyway).
    a, b, c, d = D(a), min(max(D(b), D("1e-15")), D("0.5")), D(c), D(d)
    return ((c + d) * (1 - b) * b / (c * d * D(2).ln()) * log2((c + d) / (c * d * (1 - b) * b) * 441 / (a * a))).sqrt()


def evaluate(v):
    mu, p = v["mu"], v["p"]
    kind = v["bound"]
    sx0, sx1 = s01(mu, p, v["n_x"], v["eps_sec"], kind)
    sz0, sz1 = s01(mu, p, v["n_z"], v["eps_sec"], kind)
    mlo, mhi = bounds(mu, p, v["m_z"], v["eps_sec"], kind)
    vz1 = tau(mu, p, 1) * (mhi[1] - mlo[2]) / (D(mu[1]) - D(mu[2]))
    nx = sum(D(x) for x in v["n_x"])
    qx = sum(D(x) for x in v["m_x"]) / nx
    lam = D(v["f_ec"]) * nx * h(qx)
    if sx1 <= 0 or sz1 <= 0:
        # No single-photon events can be certified: no key (the bound is undefined).
        phi, l = D("0.5"), None
    else:
        ratio = vz1 / sz1
        phi = min(ratio + gamma(v["eps_sec"], ratio, sz1, sx1), D("0.5"))
        l = sx0 + sx1 - sx1 * h(phi) - lam - 6 * log2(D(21) / D(v["eps_sec"])) - log2(D(2) / D(v["eps_cor"]))
    return {"s_x0": float(sx0), "s_x1": float(sx1), "s_z0": float(sz0), "s_z1": float(sz1),
            "v_z1": float(vz1), "phi_x": float(phi), "lambda_ec": float(lam), "qber_x": float(qx),
            "key_length_raw_bits": None if l is None else float(l)}


# Counts from Lim et al.'s own evaluation model (Sec. IV): detection probability
# D_k = 1 - (1 - 2 p_dc) exp(-eta mu_k), error probability e_k = p_dc + e_mis (1 - exp(-eta mu_k))
# + p_ap D_k / 2, with their p_dc 6e-7, p_ap 4e-2, e_mis 5e-3, eta_Bob 10%.
def lim_counts(loss_db, pulses, mu, p, qx):
    eta = 10 ** (-loss_db / 10) * 0.1
    pdc, pap, emis = 6e-7, 4e-2, 5e-3
    nx, nz, mx, mz = [], [], [], []
    for k in range(3):
        dk = 1 - (1 - 2 * pdc) * pow(2.718281828459045, -eta * mu[k])
        ek = pdc + emis * (1 - pow(2.718281828459045, -eta * mu[k])) + pap * dk / 2
        nx.append(round(pulses * p[k] * qx * qx * dk))
        nz.append(round(pulses * p[k] * (1 - qx) * (1 - qx) * dk))
        mx.append(round(pulses * p[k] * qx * qx * ek))
        mz.append(round(pulses * p[k] * (1 - qx) * (1 - qx) * ek))
    return {"n_x": nx, "n_z": nz, "m_x": mx, "m_z": mz}


lim = {"mu": [0.5, 0.1, 0.0002], "p": [0.7, 0.2, 0.1], "eps_sec": 1e-10, "eps_cor": 1e-15, "f_ec": 1.16}
micius = {"mu": [0.8, 0.1, 0.0], "p": [0.5, 0.25, 0.25], "eps_sec": 1e-10, "eps_cor": 1e-15, "f_ec": 1.16}
cases = [
    {"name": "Lim model, 10 dB, 1e10 pulses, Hoeffding", **lim, **lim_counts(10, 1e10, lim["mu"], lim["p"], 0.8), "bound": "hoeffding"},
    {"name": "Lim model, 20 dB, 1e11 pulses, Hoeffding", **lim, **lim_counts(20, 1e11, lim["mu"], lim["p"], 0.8), "bound": "hoeffding"},
    {"name": "Lim model, 20 dB, 1e11 pulses, Chernoff", **lim, **lim_counts(20, 1e11, lim["mu"], lim["p"], 0.8), "bound": "chernoff"},
    {"name": "Micius settings, 35 dB, 2.7e10 pulses, Chernoff", **micius, **lim_counts(35, 2.7e10, micius["mu"], micius["p"], 0.5), "bound": "chernoff"},
    {"name": "Lim model, 30 dB, 1e9 pulses: no key", **lim, **lim_counts(30, 1e9, lim["mu"], lim["p"], 0.8), "bound": "hoeffding"},
]
out = []
for c in cases:
    inp = {k: v for k, v in c.items() if k != "name"}
    out.append({"name": c["name"], "input": inp, "expected": evaluate(inp)})
print(json.dumps(out, indent=1))
