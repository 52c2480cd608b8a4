//! The channel between satellite (or bench transmitter) and receiver: loss and range over
//! time. Range drives time of flight and, through its rate, the Doppler factor.

use std::path::Path;

use crate::error::DriverError;

/// Speed of light, km per picosecond.
pub const C_KM_PER_PS: f64 = 299_792.458e-12;

/// Loss and range as functions of time since the start of the run.
#[derive(Debug, Clone)]
pub enum ChannelModel {
    /// A bench: fixed attenuation and fibre/free-space length.
    Constant {
        /// Channel loss, dB.
        loss_db: f64,
        /// Path length, km (sets the time of flight; no Doppler).
        range_km: f64,
    },
    /// A measured pass: range(t) and loss(range) from CSV files.
    Pass(PassProfile),
    /// A circular orbit over the station.
    Orbit(CircularOrbit),
}

impl ChannelModel {
    /// Channel loss at time `t_s`, dB.
    pub fn loss_db(&self, t_s: f64) -> f64 {
        match self {
            ChannelModel::Constant { loss_db, .. } => *loss_db,
            ChannelModel::Pass(p) => p.loss_db(t_s),
            ChannelModel::Orbit(o) => o.loss_db(t_s),
        }
    }

    /// Range at time `t_s`, km.
    pub fn range_km(&self, t_s: f64) -> f64 {
        match self {
            ChannelModel::Constant { range_km, .. } => *range_km,
            ChannelModel::Pass(p) => p.range_km(t_s),
            ChannelModel::Orbit(o) => o.range_km(t_s),
        }
    }

    /// Elevation of the satellite at time `t_s`, degrees, where the model knows it (an
    /// orbit); a measured pass gives range only, a bench has none.
    pub fn elevation_deg(&self, t_s: f64) -> Option<f64> {
        match self {
            ChannelModel::Orbit(o) => Some(o.geometry(t_s).1.to_degrees()),
            ChannelModel::Constant { .. } | ChannelModel::Pass(_) => None,
        }
    }

    /// How long the channel exists (a pass ends), seconds; None for a bench.
    pub fn duration_s(&self) -> Option<f64> {
        match self {
            ChannelModel::Constant { .. } => None,
            ChannelModel::Pass(p) => Some(p.duration_s()),
            ChannelModel::Orbit(o) => Some(o.duration_s()),
        }
    }
}

/// A satellite pass from two CSV tables (the format of `shared/data/passes`):
/// `time,distance` (s, km) and `distance,loss` (km, dB).
#[derive(Debug, Clone)]
pub struct PassProfile {
    t_s: Vec<f64>,
    range_km: Vec<f64>,
    link_range_km: Vec<f64>,
    link_loss_db: Vec<f64>,
}

fn read_table(path: &Path, columns: [&str; 2]) -> Result<(Vec<f64>, Vec<f64>), DriverError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| DriverError::Simulation(format!("{}: {e}", path.display())))?;
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l.trim()).unwrap_or("");
    let want = columns.join(",");
    if header != want {
        return Err(DriverError::Simulation(format!("{}:1: header is {header:?}, expected {want:?}", path.display())));
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let mut it = line.split(',');
        let mut field = |name: &str| -> Result<f64, DriverError> {
            let s = it.next().unwrap_or("").trim();
            s.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                DriverError::Simulation(format!("{}:{}: field {name}: {s:?} is not a number", path.display(), n + 1))
            })
        };
        a.push(field(columns[0])?);
        b.push(field(columns[1])?);
    }
    if a.len() < 2 {
        return Err(DriverError::Simulation(format!("{}: fewer than two rows", path.display())));
    }
    if let Some(i) = a.windows(2).position(|w| w[1] <= w[0]) {
        return Err(DriverError::Simulation(format!(
            "{}:{}: column {} must increase ({} after {})",
            path.display(),
            i + 3,
            columns[0],
            a[i + 1],
            a[i]
        )));
    }
    Ok((a, b))
}

/// Linear interpolation in a sorted table, clamped at the ends.
fn interp(x: &[f64], y: &[f64], v: f64) -> f64 {
    if v <= x[0] {
        return y[0];
    }
    let n = x.len();
    if v >= x[n - 1] {
        return y[n - 1];
    }
    let i = x.partition_point(|&t| t <= v) - 1;
    let f = (v - x[i]) / (x[i + 1] - x[i]);
    y[i] + f * (y[i + 1] - y[i])
}

impl PassProfile {
    /// Loads a pass from its track and link-efficiency tables.
    pub fn from_csv(track: &Path, link: &Path) -> Result<Self, DriverError> {
        let (t_s, range_km) = read_table(track, ["time", "distance"])?;
        let (link_range_km, link_loss_db) = read_table(link, ["distance", "loss"])?;
        Ok(PassProfile { t_s, range_km, link_range_km, link_loss_db })
    }

    /// Loads the real 2017 Micius pass from a folder laid out like `shared/data/passes`
    /// (`micius2017_track.csv` and `micius2017_link_efficiency.csv`).
    pub fn micius_2017(dir: &Path) -> Result<Self, DriverError> {
        Self::from_csv(&dir.join("micius2017_track.csv"), &dir.join("micius2017_link_efficiency.csv"))
    }

    /// Duration of the track, seconds.
    pub fn duration_s(&self) -> f64 {
        self.t_s[self.t_s.len() - 1] - self.t_s[0]
    }

    /// Range, km: a cubic Hermite (Catmull-Rom) interpolation of the track, so that the
    /// range rate — the Doppler factor a receiver tracks — is continuous.
    pub fn range_km(&self, t_s: f64) -> f64 {
        let (t, r) = (&self.t_s, &self.range_km);
        let n = t.len();
        let v = t_s + t[0];
        if v <= t[0] || v >= t[n - 1] {
            return interp(t, r, v);
        }
        let i = t.partition_point(|&x| x <= v) - 1;
        let h = t[i + 1] - t[i];
        let slope = |k: usize| {
            let (a, b) = (k.saturating_sub(1), (k + 1).min(n - 1));
            (r[b] - r[a]) / (t[b] - t[a])
        };
        let (m0, m1) = (slope(i) * h, slope(i + 1) * h);
        let s = (v - t[i]) / h;
        let (s2, s3) = (s * s, s * s * s);
        (2.0 * s3 - 3.0 * s2 + 1.0) * r[i]
            + (s3 - 2.0 * s2 + s) * m0
            + (-2.0 * s3 + 3.0 * s2) * r[i + 1]
            + (s3 - s2) * m1
    }

    /// Channel loss, dB, at the range of time `t_s`.
    pub fn loss_db(&self, t_s: f64) -> f64 {
        interp(&self.link_range_km, &self.link_loss_db, self.range_km(t_s))
    }
}

/// A circular low-Earth orbit passing over a station with a given maximum elevation.
/// Loss: `loss_at_zenith_db` at range = altitude, growing as range² (diffraction), plus an
/// atmosphere term `atmosphere_db * (1/sin(elevation) - 1)` (air mass).
#[derive(Debug, Clone, Copy)]
pub struct CircularOrbit {
    /// Orbit altitude, km (Micius: about 500).
    pub altitude_km: f64,
    /// Highest elevation of the pass, degrees.
    pub max_elevation_deg: f64,
    /// The pass is the time the satellite is above this elevation, degrees.
    pub min_elevation_deg: f64,
    /// Loss at zenith, dB.
    pub loss_at_zenith_db: f64,
    /// Extra loss of one air mass beyond zenith, dB.
    pub atmosphere_db: f64,
}

const EARTH_RADIUS_KM: f64 = 6371.0;
const GM_KM3_S2: f64 = 398_600.441_8;

impl CircularOrbit {
    fn angular_rate(&self) -> f64 {
        let a = EARTH_RADIUS_KM + self.altitude_km;
        (GM_KM3_S2 / (a * a * a)).sqrt()
    }

    /// Central angle between station and sub-satellite point at closest approach.
    fn cross_track(&self) -> f64 {
        let a = EARTH_RADIUS_KM + self.altitude_km;
        let e = self.max_elevation_deg.to_radians();
        (EARTH_RADIUS_KM * e.cos() / a).acos() - e
    }

    fn geometry(&self, t_s: f64) -> (f64, f64) {
        let a = EARTH_RADIUS_KM + self.altitude_km;
        let half = self.duration_s() / 2.0;
        let along = self.angular_rate() * (t_s - half);
        let cos_g = self.cross_track().cos() * along.cos();
        let r = (EARTH_RADIUS_KM * EARTH_RADIUS_KM + a * a - 2.0 * EARTH_RADIUS_KM * a * cos_g).sqrt();
        // Elevation from the law of sines in the Earth-centre / station / satellite triangle.
        let sin_el = (a * cos_g - EARTH_RADIUS_KM) / r;
        (r, sin_el.clamp(-1.0, 1.0).asin())
    }

    /// Duration above `min_elevation_deg`, seconds.
    pub fn duration_s(&self) -> f64 {
        let a = EARTH_RADIUS_KM + self.altitude_km;
        let e = self.min_elevation_deg.to_radians();
        let gamma_max = (EARTH_RADIUS_KM * e.cos() / a).acos() - e;
        let along_max = (gamma_max.cos() / self.cross_track().cos()).clamp(-1.0, 1.0).acos();
        2.0 * along_max / self.angular_rate()
    }

    /// Range, km.
    pub fn range_km(&self, t_s: f64) -> f64 {
        self.geometry(t_s).0
    }

    /// Loss, dB.
    pub fn loss_db(&self, t_s: f64) -> f64 {
        let (r, el) = self.geometry(t_s);
        let air = 1.0 / el.sin().max(0.05) - 1.0;
        self.loss_at_zenith_db + 20.0 * (r / self.altitude_km).log10() + self.atmosphere_db * air
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orbit_closest_approach_and_doppler_are_physical() {
        let o = CircularOrbit {
            altitude_km: 500.0,
            max_elevation_deg: 90.0,
            min_elevation_deg: 10.0,
            loss_at_zenith_db: 30.0,
            atmosphere_db: 1.0,
        };
        let d = o.duration_s();
        assert!((400.0..700.0).contains(&d), "pass of {d} s");
        assert!((o.range_km(d / 2.0) - 500.0).abs() < 1e-6);
        assert!((o.loss_db(d / 2.0) - 30.0).abs() < 1e-9);
        // Range rate near the horizon: a few km/s, i.e. Doppler of order 1e-5.
        let rate = (o.range_km(1.0) - o.range_km(0.0)) / 1.0;
        assert!((-7.6..-3.0).contains(&rate), "range rate {rate} km/s");
    }
}
