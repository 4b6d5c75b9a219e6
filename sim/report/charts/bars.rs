//! Labelled bars, optionally with a confidence interval.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::FAMILY;
use super::palette;
use super::ticked::Ticked;
use super::timeline::format_number;
use super::DrawResult;

pub struct Bar {
    pub label: String,
    pub value: f64,
    /// Low and high ends of an interval around `value`, in the same units.
    pub ci: Option<(f64, f64)>,
    /// Written above the bar, e.g. "1.234 % [1.1–1.4]".
    pub text: String,
    pub color: usize,
}

pub struct BarChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub bars: Vec<Bar>,
}

impl BarChart {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let n = self.bars.len().max(1);
        let top = self
            .bars
            .iter()
            .map(|b| b.ci.map(|c| c.1).unwrap_or(0.0).max(b.value))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let y_max = if top > 0.0 { top * 1.25 } else { 1.0 };
        let labels: Vec<String> = self.bars.iter().map(|b| b.label.clone()).collect();
        let ticks: Vec<f64> = (0..n).map(|i| i as f64).collect();
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
                    range: -0.5f64..n as f64 - 0.5,
                    ticks,
                },
                0f64..y_max,
            )?;
        let label_of = |x: &f64| {
            let i = x.round();
            if i >= 0.0 && (i - x).abs() < 1e-6 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_label_formatter(&label_of)
            .y_label_formatter(&|y| format_number(*y))
            .y_labels(6)
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .label_style((FAMILY, 13).into_font().color(&palette::TEXT))
            .axis_desc_style((FAMILY, 14).into_font().color(&palette::TEXT))
            .light_line_style(palette::GRID.mix(0.0))
            .bold_line_style(palette::GRID)
            .draw()?;
        let half = 0.32;
        chart.draw_series(self.bars.iter().enumerate().map(|(i, b)| {
            let x = i as f64;
            let v = if b.value.is_finite() { b.value } else { 0.0 };
            Rectangle::new(
                [(x - half, 0.0), (x + half, v)],
                palette::nth(b.color).filled(),
            )
        }))?;
        for (i, b) in self.bars.iter().enumerate() {
            let x = i as f64;
            let mut text_y = if b.value.is_finite() { b.value } else { 0.0 };
            if let Some((lo, hi)) = b.ci.filter(|c| c.0.is_finite() && c.1.is_finite()) {
                let cap = half * 0.35;
                let style = palette::TEXT.stroke_width(2);
                chart.draw_series([
                    PathElement::new(vec![(x, lo), (x, hi)], style),
                    PathElement::new(vec![(x - cap, lo), (x + cap, lo)], style),
                    PathElement::new(vec![(x - cap, hi), (x + cap, hi)], style),
                ])?;
                text_y = text_y.max(hi);
            }
            let style = (FAMILY, 13)
                .into_font()
                .color(&palette::TEXT)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            chart.draw_series(std::iter::once(
                EmptyElement::at((x, text_y)) + Text::new(b.text.clone(), (0, -6), style),
            ))?;
        }
        Ok(())
    }
}
