//! Sweep charts as plain SVG written by hand: lines, confidence bands,
//! error bars, dashed target lines. No font is needed to write them (the
//! viewer draws the text) and the bytes depend only on the numbers.

use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 460.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 62.0;
const COLORS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// One line (or set of points) of a chart.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub label: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    /// A shaded band (low, high) at each x: the 95 % CI.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    /// Error bars per point: (x low, x high, y low, y high).
    pub errors: Option<Vec<[f64; 4]>>,
    /// A text next to each point.
    pub point_labels: Option<Vec<String>>,
    /// Join the points with a line.
    pub joined: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Dashed horizontal lines (a target on the y axis) with a label.
    pub hlines: Vec<(f64, String)>,
    /// Dashed vertical lines (a target on the x axis) with a label.
    pub vlines: Vec<(f64, String)>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// 1, 2 or 5 × 10^k, about `span / 5`.
fn nice_step(span: f64) -> f64 {
    let raw = (span / 5.0).max(1e-12);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

fn tick_text(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
        s[1..].to_string()
    } else {
        s
    }
}

/// The axis range: the data, padded, with nice ends.
fn range(values: impl Iterator<Item = f64>, from_zero: bool) -> (f64, f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if from_zero && lo > 0.0 {
        lo = 0.0;
    }
    if hi - lo < 1e-12 {
        hi = lo + if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
    }
    let step = nice_step(hi - lo);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

impl Chart {
    pub fn to_svg(&self) -> String {
        let xs = self.series.iter().flat_map(|s| {
            let e = s.errors.iter().flatten().flat_map(|e| [e[0], e[1]]);
            s.xs.iter().copied().chain(e)
        });
        let xs = xs.chain(self.vlines.iter().map(|v| v.0));
        let (x0, x1, xstep) = range(xs, false);
        let ys = self.series.iter().flat_map(|s| {
            let band = s
                .band
                .iter()
                .flat_map(|(lo, hi)| lo.iter().chain(hi).copied());
            let e = s.errors.iter().flatten().flat_map(|e| [e[2], e[3]]);
            s.ys.iter().copied().chain(band).chain(e)
        });
        let ys = ys.chain(self.hlines.iter().map(|h| h.0));
        let (y0, y1, ystep) = range(ys, true);
        let pw = W - LEFT - RIGHT;
        let ph = H - TOP - BOTTOM;
        let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
        let py = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;

        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="24" text-anchor="middle" font-size="15">{}</text>"#,
            W / 2.0,
            esc(&self.title)
        );
        // Grid and ticks.
        let mut t = x0;
        while t <= x1 + xstep * 1e-6 {
            let x = px(t);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.2}" y1="{:.2}" x2="{x:.2}" y2="{:.2}" stroke="#e5e5e5"/><text x="{x:.2}" y="{:.2}" text-anchor="middle">{}</text>"##,
                TOP,
                TOP + ph,
                TOP + ph + 16.0,
                tick_text(t, xstep)
            );
            t += xstep;
        }
        let mut t = y0;
        while t <= y1 + ystep * 1e-6 {
            let y = py(t);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT:.2}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke="#e5e5e5"/><text x="{:.2}" y="{:.2}" text-anchor="end">{}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                tick_text(t, ystep)
            );
            t += ystep;
        }
        let _ = writeln!(
            s,
            r##"<rect x="{LEFT:.2}" y="{TOP:.2}" width="{pw:.2}" height="{ph:.2}" fill="none" stroke="#333"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            H - 18.0,
            esc(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + ph / 2.0,
            esc(&self.y_label)
        );
        for (i, series) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            if let Some((lo, hi)) = &series.band {
                let mut pts: Vec<String> = series
                    .xs
                    .iter()
                    .zip(hi)
                    .map(|(&x, &y)| format!("{:.2},{:.2}", px(x), py(y)))
                    .collect();
                pts.extend(
                    series
                        .xs
                        .iter()
                        .zip(lo)
                        .rev()
                        .map(|(&x, &y)| format!("{:.2},{:.2}", px(x), py(y))),
                );
                let _ = writeln!(
                    s,
                    r#"<polygon points="{}" fill="{color}" fill-opacity="0.18" stroke="none"/>"#,
                    pts.join(" ")
                );
            }
            if series.joined && series.xs.len() > 1 {
                let pts: Vec<String> = series
                    .xs
                    .iter()
                    .zip(&series.ys)
                    .map(|(&x, &y)| format!("{:.2},{:.2}", px(x), py(y)))
                    .collect();
                let _ = writeln!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                    pts.join(" ")
                );
            }
            for (j, (&x, &y)) in series.xs.iter().zip(&series.ys).enumerate() {
                if let Some(e) = series.errors.as_ref().and_then(|e| e.get(j)) {
                    let _ = writeln!(
                        s,
                        r#"<path d="M{:.2} {:.2}H{:.2}M{:.2} {:.2}V{:.2}" stroke="{color}" stroke-width="1"/>"#,
                        px(e[0]),
                        py(y),
                        px(e[1]),
                        px(x),
                        py(e[2]),
                        py(e[3])
                    );
                }
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.2}" cy="{:.2}" r="3" fill="{color}"/>"#,
                    px(x),
                    py(y)
                );
                if let Some(text) = series.point_labels.as_ref().and_then(|l| l.get(j)) {
                    let _ = writeln!(
                        s,
                        r##"<text x="{:.2}" y="{:.2}" font-size="10" fill="#333">{}</text>"##,
                        px(x) + 5.0,
                        py(y) - 5.0,
                        esc(text)
                    );
                }
            }
        }
        for (y, label) in &self.hlines {
            let yy = py(*y);
            let _ = writeln!(
                s,
                r##"<line x1="{LEFT:.2}" y1="{yy:.2}" x2="{:.2}" y2="{yy:.2}" stroke="#000" stroke-dasharray="6 4"/><text x="{:.2}" y="{:.2}" text-anchor="end" font-size="11">{}</text>"##,
                LEFT + pw,
                LEFT + pw - 4.0,
                yy - 4.0,
                esc(label)
            );
        }
        for (x, label) in &self.vlines {
            let xx = px(*x);
            let _ = writeln!(
                s,
                r##"<line x1="{xx:.2}" y1="{TOP:.2}" x2="{xx:.2}" y2="{:.2}" stroke="#000" stroke-dasharray="6 4"/><text x="{:.2}" y="{:.2}" font-size="11">{}</text>"##,
                TOP + ph,
                xx + 4.0,
                TOP + 14.0,
                esc(label)
            );
        }
        // Legend, when there is more than one series.
        if self.series.len() > 1 {
            for (i, series) in self.series.iter().enumerate() {
                let y = TOP + 14.0 + i as f64 * 16.0;
                let _ = writeln!(
                    s,
                    r#"<rect x="{:.2}" y="{:.2}" width="12" height="3" fill="{}"/><text x="{:.2}" y="{:.2}" font-size="11">{}</text>"#,
                    LEFT + 10.0,
                    y - 4.0,
                    COLORS[i % COLORS.len()],
                    LEFT + 26.0,
                    y,
                    esc(&series.label)
                );
            }
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_band_a_line_and_a_target() {
        let chart = Chart {
            title: "t & u".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series {
                label: "a".into(),
                xs: vec![1.0, 2.0, 3.0],
                ys: vec![3.0, 2.0, 1.0],
                band: Some((vec![2.5, 1.5, 0.5], vec![3.5, 2.5, 1.5])),
                joined: true,
                ..Series::default()
            }],
            hlines: vec![(2.2, "target".into())],
            vlines: Vec::new(),
        };
        let svg = chart.to_svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("<polygon") && svg.contains("<polyline") && svg.contains("t &amp; u"));
        assert_eq!(nice_step(7.0), 2.0);
        assert_eq!(tick_text(0.25, 0.05), "0.25");
    }
}
