//! Lines over dated time, with an optional limit line (the CA's capacity)
//! and an annotated point (the peak).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::FAMILY;
use super::palette;
use super::ticked::Ticked;
use super::time::TimeAxis;
use super::DrawResult;

/// A scheduled event drawn on a time chart: a shaded period (outage,
/// degraded service, offline episodes starting) or a dashed line at an
/// instant (template bump, revocation, lifetime change), labelled.
#[derive(Clone, Debug)]
pub struct EventMark {
    /// Minutes since the axis start.
    pub from: f64,
    /// The end of a period; `None` for an instant.
    pub to: Option<f64>,
    pub label: String,
}

/// One line. Non-finite values (NaN) leave a gap: "no data here".
pub struct Series {
    pub name: String,
    /// (minutes since the axis start, value), in time order.
    pub points: Vec<(f64, f64)>,
    pub color: usize,
}

pub struct TimeChart {
    pub title: String,
    pub y_label: String,
    pub axis: TimeAxis,
    pub series: Vec<Series>,
    /// A horizontal limit (label, value). Drawn when it is within 3× the
    /// data's maximum; otherwise stated in a note, so that a CA far above
    /// its load does not flatten the load into the x axis. The label should
    /// carry the value.
    pub limit: Option<(String, f64)>,
    /// A point to mark, with its text (x, y, text).
    pub mark: Option<(f64, f64, String)>,
    /// Scheduled events, marked and labelled.
    pub events: Vec<EventMark>,
}

/// Axis numbers: 1200, 15k, 2.5M, 0.25.
pub fn format_number(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e6 {
        format!("{}M", trim(format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        trim(format!("{v:.3}"))
    }
}

impl TimeChart {
    fn data_max(&self) -> f64 {
        self.series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    }

    fn shown_limit(&self) -> Option<(&str, f64)> {
        let max = self.data_max();
        match &self.limit {
            Some((label, v)) if v.is_finite() && *v > 0.0 && max > 0.0 && *v <= 3.0 * max => {
                Some((label.as_str(), *v))
            }
            _ => None,
        }
    }

    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let span = self.axis.span_minutes;
        let limit = self.shown_limit();
        let top = self
            .data_max()
            .max(limit.map(|l| l.1).unwrap_or(0.0))
            .max(self.mark.as_ref().map(|m| m.1).unwrap_or(0.0));
        // Headroom for the legend and the peak's label; at least 0..1 so an
        // empty series still gets a sensible axis.
        let y_max = if top > 0.0 { top * 1.22 } else { 1.0 };
        let axis = self.axis;
        let mut chart = ChartBuilder::on(area)
            .caption(
                &self.title,
                (FAMILY, 19, FontStyle::Bold)
                    .into_font()
                    .color(&palette::TEXT),
            )
            .margin(10)
            .margin_right(44)
            .x_label_area_size(44)
            .y_label_area_size(72)
            .build_cartesian_2d(
                Ticked {
                    range: 0f64..span,
                    ticks: axis.ticks(),
                },
                0f64..y_max,
            )?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| axis.label(*x))
            .y_label_formatter(&|y| format_number(*y))
            .y_labels(6)
            .x_desc(axis.description())
            .y_desc(self.y_label.as_str())
            .label_style((FAMILY, 13).into_font().color(&palette::TEXT))
            .axis_desc_style((FAMILY, 14).into_font().color(&palette::TEXT))
            .light_line_style(palette::GRID.mix(0.0))
            .bold_line_style(palette::GRID)
            .draw()?;

        let visible = |x: f64| x.clamp(0.0, span);
        for (i, e) in self.events.iter().enumerate() {
            if e.from > span || e.to.is_some_and(|t| t < 0.0) {
                continue;
            }
            let from = visible(e.from);
            if let Some(to) = e.to {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(from, 0.0), (visible(to), y_max)],
                    palette::EVENT.mix(0.12).filled(),
                )))?;
            }
            chart.draw_series(DashedLineSeries::new(
                vec![(from, 0.0), (from, y_max)],
                4,
                4,
                palette::EVENT.stroke_width(1),
            ))?;
            // Labels step down so that close events do not overlap.
            let base = if limit.is_none() && self.limit.is_some() {
                0.93 // below the note on an off-scale limit
            } else {
                0.995
            };
            let y = y_max * (base - 0.055 * (i % 4) as f64);
            let right_half = from > span * 0.7;
            let anchor = if right_half { HPos::Right } else { HPos::Left };
            let nudge = if right_half {
                -span * 0.004
            } else {
                span * 0.004
            };
            chart.draw_series(std::iter::once(Text::new(
                e.label.clone(),
                (from + nudge, y),
                (FAMILY, 12)
                    .into_font()
                    .color(&palette::EVENT)
                    .pos(Pos::new(anchor, VPos::Top)),
            )))?;
        }
        for s in &self.series {
            let color = palette::nth(s.color);
            let mut labelled = false;
            // One LineSeries per run of finite values: NaN means a gap.
            for segment in s.points.split(|p| !p.1.is_finite()) {
                if segment.is_empty() {
                    continue;
                }
                let drawn = chart.draw_series(LineSeries::new(
                    segment.iter().copied(),
                    color.stroke_width(2),
                ))?;
                if !labelled {
                    drawn.label(s.name.as_str()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
                    });
                    labelled = true;
                }
            }
        }
        if let Some((label, value)) = limit {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, value), (span, value)],
                    10,
                    6,
                    palette::CAPACITY.stroke_width(2),
                ))?
                .label(label)
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 22, y)], palette::CAPACITY.stroke_width(2))
                });
        } else if let Some((label, value)) = &self.limit {
            if value.is_finite() && *value > 0.0 {
                let max = self.data_max();
                let note = if max > 0.0 {
                    format!(
                        "{label}: off the scale, {:.0}× the highest value",
                        value / max
                    )
                } else {
                    format!("{label}: off the scale")
                };
                chart.draw_series(std::iter::once(Text::new(
                    note,
                    (span * 0.01, y_max * 0.97),
                    (FAMILY, 13)
                        .into_font()
                        .color(&palette::CAPACITY)
                        .pos(Pos::new(HPos::Left, VPos::Top)),
                )))?;
            }
        }
        if let Some((x, y, text)) = &self.mark {
            // Label on the side with more room.
            let right_half = *x > span * 0.6;
            let (dx, h) = if right_half {
                (-9, HPos::Right)
            } else {
                (9, HPos::Left)
            };
            let style = (FAMILY, 13, FontStyle::Bold)
                .into_font()
                .color(&palette::TEXT)
                .pos(Pos::new(h, VPos::Bottom));
            chart.draw_series(std::iter::once(
                EmptyElement::at((*x, *y))
                    + Circle::new((0, 0), 5, palette::TEXT.stroke_width(2))
                    + Text::new(text.clone(), (dx, -6), style),
            ))?;
        }
        if !self.series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .margin(8)
                .label_font((FAMILY, 13).into_font().color(&palette::TEXT))
                .background_style(WHITE.mix(0.9))
                .border_style(palette::GRID_BOLD)
                .draw()?;
        }
        Ok(())
    }
}
