//! Sweep charts: lines with confidence bands, error bars, dashed target
//! lines and the recommended point ringed, drawn with plotters like the
//! run charts, so each is written as SVG and PNG from one description
//! (the bundled font, no system font). Point labels are placed where they
//! do not overlap each other.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::charts::{palette_color, register_font, render_drawing, ChartError, FAMILY};

const W: u32 = 900;
const H: u32 = 520;

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
    /// The recommended point (x, y, text), ringed.
    pub highlight: Option<(f64, f64, String)>,
}

/// The data's range, padded by 6 % (and from 0 for the y axis).
fn range(values: impl Iterator<Item = f64>, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if from_zero && lo > 0.0 {
        lo = 0.0;
    }
    if hi - lo < 1e-12 {
        hi = lo + if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
    }
    let pad = (hi - lo) * 0.06;
    (
        if from_zero && lo == 0.0 {
            0.0
        } else {
            lo - pad
        },
        hi + pad,
    )
}

/// Greedy label placement: the first of a few spots around the point
/// whose box overlaps no label placed before.
fn place_labels(points: &[(i32, i32, &str)]) -> Vec<(i32, i32)> {
    let mut taken: Vec<(i32, i32, i32, i32)> = Vec::new();
    let mut out = Vec::new();
    for &(x, y, text) in points {
        let w = (text.chars().count() as f64 * 6.4) as i32 + 4;
        let h = 13;
        let spots = [
            (6, -16),
            (6, 3),
            (-6 - w, -16),
            (-6 - w, 3),
            (-w / 2, -24),
            (-w / 2, 8),
        ];
        let boxed = |(dx, dy): (i32, i32)| (x + dx, y + dy, x + dx + w, y + dy + h);
        let free = |b: (i32, i32, i32, i32)| {
            taken
                .iter()
                .all(|t| b.2 <= t.0 || t.2 <= b.0 || b.3 <= t.1 || t.3 <= b.1)
        };
        let spot = spots
            .iter()
            .copied()
            .find(|&s| free(boxed(s)))
            .unwrap_or(spots[0]);
        taken.push(boxed(spot));
        out.push(spot);
    }
    out
}

impl Chart {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        root.fill(&WHITE)?;
        let xs = self.series.iter().flat_map(|s| {
            let e = s.errors.iter().flatten().flat_map(|e| [e[0], e[1]]);
            s.xs.iter().copied().chain(e)
        });
        let (x0, x1) = range(xs.chain(self.vlines.iter().map(|v| v.0)), false);
        let ys = self.series.iter().flat_map(|s| {
            let band = s
                .band
                .iter()
                .flat_map(|(lo, hi)| lo.iter().chain(hi).copied());
            let e = s.errors.iter().flatten().flat_map(|e| [e[2], e[3]]);
            s.ys.iter().copied().chain(band).chain(e)
        });
        let (y0, y1) = range(ys.chain(self.hlines.iter().map(|h| h.0)), true);
        let text = RGBColor(30, 30, 30);
        let mut chart = ChartBuilder::on(root)
            .caption(
                &self.title,
                (FAMILY, 17, FontStyle::Bold).into_font().color(&text),
            )
            .margin(12)
            .margin_right(28)
            .x_label_area_size(46)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1 * 1.08)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .label_style((FAMILY, 12).into_font().color(&text))
            .axis_desc_style((FAMILY, 13).into_font().color(&text))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(RGBColor(220, 220, 220))
            .draw()?;
        let mut labels: Vec<(f64, f64, String, RGBColor)> = Vec::new();
        for (i, s) in self.series.iter().enumerate() {
            let color = palette_color(i);
            if let Some((lo, hi)) = &s.band {
                let mut poly: Vec<(f64, f64)> =
                    s.xs.iter().copied().zip(hi.iter().copied()).collect();
                poly.extend(s.xs.iter().copied().zip(lo.iter().copied()).rev());
                chart.draw_series(std::iter::once(Polygon::new(
                    poly,
                    color.mix(0.18).filled(),
                )))?;
            }
            let points: Vec<(f64, f64)> = s.xs.iter().copied().zip(s.ys.iter().copied()).collect();
            let legend = move |(x, y): (i32, i32)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            };
            if s.joined && points.len() > 1 {
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                    .label(s.label.as_str())
                    .legend(legend);
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            } else {
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?
                    .label(s.label.as_str())
                    .legend(legend);
            }
            if let Some(errors) = &s.errors {
                for (&(x, y), e) in points.iter().zip(errors) {
                    chart.draw_series([
                        PathElement::new(vec![(e[0], y), (e[1], y)], color.stroke_width(1)),
                        PathElement::new(vec![(x, e[2]), (x, e[3])], color.stroke_width(1)),
                    ])?;
                }
            }
            if let Some(names) = &s.point_labels {
                for (&(x, y), name) in points.iter().zip(names) {
                    labels.push((x, y, name.clone(), color));
                }
            }
        }
        let dashed = |from: (f64, f64), to: (f64, f64)| {
            DashedLineSeries::new(vec![from, to], 8, 5, BLACK.stroke_width(1))
        };
        for (y, label) in &self.hlines {
            chart.draw_series(dashed((x0, *y), (x1, *y)))?;
            chart.draw_series(std::iter::once(Text::new(
                label.clone(),
                (x1, *y),
                (FAMILY, 12)
                    .into_font()
                    .color(&text)
                    .pos(Pos::new(HPos::Right, VPos::Bottom)),
            )))?;
        }
        for (x, label) in &self.vlines {
            chart.draw_series(dashed((*x, y0), (*x, y1 * 1.08)))?;
            chart.draw_series(std::iter::once(Text::new(
                format!(" {label}"),
                (*x, y1 * 1.06),
                (FAMILY, 12).into_font().color(&text),
            )))?;
        }
        let ring = RGBColor(200, 30, 30);
        if let Some((x, y, label)) = &self.highlight {
            chart.draw_series(std::iter::once(
                EmptyElement::at((*x, *y)) + Circle::new((0, 0), 9, ring.stroke_width(3)),
            ))?;
            // Placed first, so the point labels make way for it.
            labels.insert(0, (*x, *y, label.clone(), ring));
        }
        let pixels: Vec<(i32, i32, &str)> = labels
            .iter()
            .map(|(x, y, t, _)| {
                let (px, py) = chart.backend_coord(&(*x, *y));
                (px, py, t.as_str())
            })
            .collect();
        let spots = place_labels(&pixels);
        for ((x, y, t, color), (dx, dy)) in labels.iter().zip(spots) {
            chart.draw_series(std::iter::once(
                EmptyElement::at((*x, *y))
                    + Text::new(t.clone(), (dx, dy), (FAMILY, 11).into_font().color(color)),
            ))?;
        }
        if self.series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FAMILY, 12).into_font().color(&text))
                .background_style(WHITE.mix(0.9))
                .border_style(RGBColor(200, 200, 200))
                .draw()?;
        }
        root.present()
    }

    /// The chart as SVG text and PNG bytes.
    pub fn render(&self) -> Result<(String, Vec<u8>), ChartError> {
        register_font();
        render_drawing((W, H), |root| self.draw(root), |root| self.draw(root))
    }

    /// The chart as SVG text.
    pub fn to_svg(&self) -> String {
        self.render().map(|r| r.0).unwrap_or_default()
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
            highlight: Some((2.0, 2.0, "recommended".into())),
        };
        let (svg, png) = chart.render().unwrap();
        assert!(svg.contains("<svg") && svg.contains("t &amp; u") && svg.contains("recommended"));
        assert!(png.starts_with(b"\x89PNG"));
    }

    #[test]
    fn labels_do_not_overlap() {
        // Three labels at the same spot go to three different places.
        let spots = place_labels(&[(100, 100, "14d"), (100, 100, "21d"), (100, 100, "28d")]);
        assert_eq!(spots.len(), 3);
        assert!(spots[0] != spots[1] && spots[1] != spots[2] && spots[0] != spots[2]);
    }
}
