//! Small SVG charts for the HTML reports: lines and points against a linear x axis, with a
//! title, axis labels with units, a legend, tick labels, and horizontal or vertical marker
//! lines (limits, the gate, lock changes).
//!
//! Why hand-written and not `plotters`: the pages must be self-contained and readable in any
//! browser of a CI artifact viewer; plotters' SVG text needs a font backend (system fonts
//! through fontconfig, or a font file compiled in), and the text here is plain SVG `<text>`
//! that the browser renders with its own fonts. The charts need nothing else.

use std::fmt::Write;

/// Colours of the series, in order (distinct for colour-blind readers: the Okabe-Ito set).
const COLOURS: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

/// One series.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) points; non-finite values break the line.
    pub points: Vec<(f64, f64)>,
    /// Draw dots at the points (true) or a line (false).
    pub dots: bool,
}

/// A marker line across the plot.
#[derive(Debug, Clone)]
pub struct Marker {
    /// Label drawn beside it.
    pub label: String,
    /// Horizontal (a y value) or vertical (an x value).
    pub at: Axis,
    /// Dashed (limits) or solid.
    pub dashed: bool,
}

/// Where a marker sits.
#[derive(Debug, Clone, Copy)]
pub enum Axis {
    /// y = value.
    Y(f64),
    /// x = value.
    X(f64),
}

/// A chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// x axis label, with its unit.
    pub x_label: String,
    /// y axis label, with its unit.
    pub y_label: String,
    /// The data.
    pub series: Vec<Series>,
    /// Marker lines.
    pub markers: Vec<Marker>,
    /// Start the y axis at zero.
    pub y_from_zero: bool,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// "Nice" tick positions covering [lo, hi].
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).abs().max(1e-300);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| span / s <= n as f64).unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() * step;
    (0..=n * 2).map(|i| first + i as f64 * step).take_while(|x| *x <= hi + step * 1e-9).collect()
}

fn label(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if (1e-3..1e5).contains(&x.abs()) {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{x:.1e}")
    }
}

impl Chart {
    /// The chart as an `<svg>` element, `w` by `h` pixels.
    pub fn svg(&self, w: f64, h: f64) -> String {
        let (ml, mr, mt, mb) = (70.0, 20.0, 34.0, 64.0);
        let (pw, ph) = (w - ml - mr, h - mt - mb);
        let pts = || self.series.iter().flat_map(|s| s.points.iter()).filter(|(x, y)| x.is_finite() && y.is_finite());
        let mut xs: Vec<f64> = pts().map(|p| p.0).collect();
        let mut ys: Vec<f64> = pts().map(|p| p.1).collect();
        for m in &self.markers {
            match m.at {
                Axis::X(x) if x.is_finite() => xs.push(x),
                Axis::Y(y) if y.is_finite() => ys.push(y),
                _ => {}
            }
        }
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
        );
        let _ = write!(
            out,
            r#"<text x="{}" y="20" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
            w / 2.0,
            esc(&self.title)
        );
        if xs.is_empty() || ys.is_empty() {
            let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="middle">no data</text></svg>"#, w / 2.0, h / 2.0);
            return out;
        }
        let (mut x0, mut x1) =
            (xs.iter().copied().fold(f64::INFINITY, f64::min), xs.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        let (mut y0, mut y1) =
            (ys.iter().copied().fold(f64::INFINITY, f64::min), ys.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        if self.y_from_zero {
            y0 = y0.min(0.0);
        }
        if x1 - x0 <= 0.0 {
            x0 -= 0.5;
            x1 += 0.5;
        }
        if y1 - y0 <= 0.0 {
            let d = if y0 == 0.0 { 1.0 } else { y0.abs() * 0.1 };
            y0 -= d;
            y1 += d;
        }
        let pad = (y1 - y0) * 0.05;
        y1 += pad;
        if !(self.y_from_zero && y0 == 0.0) {
            y0 -= pad;
        }
        let sx = |x: f64| ml + (x - x0) / (x1 - x0) * pw;
        let sy = |y: f64| mt + ph - (y - y0) / (y1 - y0) * ph;
        let _ = write!(out, r##"<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#888"/>"##);
        for t in ticks(x0, x1, 6) {
            let x = sx(t);
            let _ = write!(out, r##"<line x1="{x}" y1="{mt}" x2="{x}" y2="{}" stroke="#e4e4e4"/>"##, mt + ph);
            let _ = write!(out, r#"<text x="{x}" y="{}" text-anchor="middle">{}</text>"#, mt + ph + 16.0, label(t));
        }
        for t in ticks(y0, y1, 5) {
            let y = sy(t);
            let _ = write!(out, r##"<line x1="{ml}" y1="{y}" x2="{}" y2="{y}" stroke="#e4e4e4"/>"##, ml + pw);
            let _ = write!(out, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, ml - 6.0, y + 4.0, label(t));
        }
        let _ = write!(
            out,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            ml + pw / 2.0,
            mt + ph + 34.0,
            esc(&self.x_label)
        );
        let _ = write!(
            out,
            r#"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            mt + ph / 2.0,
            esc(&self.y_label)
        );
        for m in &self.markers {
            let dash = if m.dashed { r#" stroke-dasharray="6 4""# } else { "" };
            match m.at {
                Axis::Y(y) if y.is_finite() => {
                    let yy = sy(y);
                    let _ = write!(
                        out,
                        r##"<line x1="{ml}" y1="{yy}" x2="{}" y2="{yy}" stroke="#B00020" stroke-width="1.5"{dash}/>"##,
                        ml + pw
                    );
                    let _ = write!(
                        out,
                        r##"<text x="{}" y="{}" text-anchor="end" fill="#B00020">{}</text>"##,
                        ml + pw - 4.0,
                        yy - 4.0,
                        esc(&m.label)
                    );
                }
                Axis::X(x) if x.is_finite() => {
                    let xx = sx(x);
                    let _ = write!(
                        out,
                        r##"<line x1="{xx}" y1="{mt}" x2="{xx}" y2="{}" stroke="#555" stroke-width="1"{dash}/>"##,
                        mt + ph
                    );
                    let _ = write!(
                        out,
                        r##"<text transform="translate({} {}) rotate(-90)" text-anchor="end" fill="#555" font-size="10">{}</text>"##,
                        xx + 10.0,
                        mt + 4.0,
                        esc(&m.label)
                    );
                }
                _ => {}
            }
        }
        for (i, s) in self.series.iter().enumerate() {
            let c = COLOURS[i % COLOURS.len()];
            if s.dots {
                for (x, y) in s.points.iter().filter(|(x, y)| x.is_finite() && y.is_finite()) {
                    let _ = write!(out, r#"<circle cx="{:.2}" cy="{:.2}" r="3" fill="{c}"/>"#, sx(*x), sy(*y));
                }
            } else {
                let mut d = String::new();
                let mut pen = false;
                for (x, y) in &s.points {
                    if x.is_finite() && y.is_finite() {
                        let _ = write!(d, "{}{:.2},{:.2} ", if pen { "L" } else { "M" }, sx(*x), sy(*y));
                        pen = true;
                    } else {
                        pen = false;
                    }
                }
                let _ = write!(out, r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="1.6"/>"#);
            }
            // Legend below the axis label: a swatch and the name (colour is never the only
            // carrier: the names are written out).
            let lx = ml + (i % 4) as f64 * (pw / 4.0);
            let ly = mt + ph + 50.0 + (i / 4) as f64 * 14.0;
            let _ = write!(out, r#"<rect x="{lx}" y="{}" width="14" height="4" fill="{c}"/>"#, ly - 4.0);
            let _ = write!(out, r#"<text x="{}" y="{ly}">{}</text>"#, lx + 18.0, esc(&s.name));
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_its_title_labels_legend_and_markers() {
        let c = Chart {
            title: "QBER <vs> time".into(),
            x_label: "device time (s)".into(),
            y_label: "QBER".into(),
            series: vec![Series {
                name: "Z".into(),
                points: vec![(0.0, 0.01), (1.0, 0.02), (2.0, f64::NAN), (3.0, 0.015)],
                dots: false,
            }],
            markers: vec![Marker { label: "max 0.03".into(), at: Axis::Y(0.03), dashed: true }],
            y_from_zero: true,
        };
        let svg = c.svg(640.0, 300.0);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        for s in ["QBER &lt;vs&gt; time", "device time (s)", ">Z<", "max 0.03", "stroke-dasharray"] {
            assert!(svg.contains(s), "{s} missing");
        }
        let d = svg.split(" d=\"").nth(1).and_then(|x| x.split('"').next()).unwrap();
        assert_eq!(d.matches('M').count(), 2, "the NaN breaks the line into two: {d}");
        assert!(Chart::default().svg(100.0, 100.0).contains("no data"));
        assert_eq!(ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
    }
}
