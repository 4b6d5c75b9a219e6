//! Charts as PNG and SVG, drawn with plotters from a run's (or several
//! runs') deterministic data.
//!
//! The building blocks are generic ([`TimeChart`]: lines over dated time,
//! [`BarChart`]: labelled bars with optional confidence intervals); the
//! modules `run` and the compare report decide what goes into them. Every
//! chart is drawn twice, once per backend, from the same description, so the
//! SVG in report.html and the PNG beside it show the same thing.

mod bars;
mod events;
mod font;
mod glyphs;
mod palette;
mod run;
mod ticked;
mod time;
mod timeline;

use std::fmt;

use plotters::coord::Shift;
use plotters::prelude::*;

pub use bars::{Bar, BarChart};
pub use events::event_marks;
pub(crate) use run::rolling_max_per_bucket;
pub use run::{capacity_per_minute, run_charts, RUN_CHARTS};
pub use time::{Bucketing, TimeAxis};
pub use timeline::{EventMark, Series, TimeChart};

/// What a figure is made of: panels stacked from top to bottom.
pub enum Panel {
    Time(TimeChart),
    Bars(BarChart),
}

/// A chart to write: `name.png` and `name.svg`, shown in the HTML report
/// under `title`.
pub struct Figure {
    /// File stem and HTML id, e.g. `ca-arrivals`.
    pub name: &'static str,
    pub title: String,
    /// One or two sentences under the chart in the HTML report.
    pub caption: String,
    pub panels: Vec<Panel>,
    pub width: u32,
    /// Height of one panel.
    pub panel_height: u32,
}

/// A figure drawn on both backends.
pub struct Rendered {
    pub name: &'static str,
    pub title: String,
    pub caption: String,
    pub svg: String,
    pub png: Vec<u8>,
}

/// Drawing failed (a backend error; never expected with in-memory backends).
#[derive(Debug)]
pub struct ChartError(String);

impl fmt::Display for ChartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not draw a chart: {}", self.0)
    }
}

impl std::error::Error for ChartError {}

impl From<ChartError> for std::io::Error {
    fn from(e: ChartError) -> Self {
        std::io::Error::other(e)
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> ChartError {
    ChartError(e.to_string())
}

impl Figure {
    fn height(&self) -> u32 {
        self.panel_height * self.panels.len().max(1) as u32
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let areas = root.split_evenly((self.panels.len().max(1), 1));
        for (panel, area) in self.panels.iter().zip(&areas) {
            match panel {
                Panel::Time(chart) => chart.draw(area)?,
                Panel::Bars(chart) => chart.draw(area)?,
            }
        }
        root.present()
    }

    /// Draws the figure as SVG text and as PNG bytes.
    pub fn render(&self) -> Result<Rendered, ChartError> {
        font::register();
        let (svg, png) = render_drawing(
            (self.width, self.height()),
            |root| self.draw(root),
            |root| self.draw(root),
        )?;
        Ok(Rendered {
            name: self.name,
            title: self.title.clone(),
            caption: self.caption.clone(),
            svg,
            png,
        })
    }
}

/// The family every chart asks for (the bundled DejaVu Sans).
pub const FAMILY: &str = font::FAMILY;

/// Registers the bundled font (once per process).
pub fn register_font() {
    font::register();
}

/// The n-th colour of the charts' colour-blind-friendly sequence.
pub fn palette_color(i: usize) -> RGBColor {
    palette::nth(i)
}

/// Draws one picture twice, as SVG text and as PNG bytes, with the two
/// drawing functions (the same code, for each backend's type).
pub fn render_drawing<E1, E2>(
    (w, h): (u32, u32),
    svg_draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), DrawingAreaErrorKind<E1>>,
    png_draw: impl FnOnce(
        &DrawingArea<glyphs::EvenText<BitMapBackend<'_>>, Shift>,
    ) -> Result<(), DrawingAreaErrorKind<E2>>,
) -> Result<(String, Vec<u8>), ChartError>
where
    E1: std::error::Error + Send + Sync,
    E2: std::error::Error + Send + Sync,
{
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        svg_draw(&root).map_err(draw_error)?;
    }
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = BitMapBackend::with_buffer(&mut pixels, (w, h));
        let root = glyphs::EvenText(backend).into_drawing_area();
        png_draw(&root).map_err(draw_error)?;
    }
    Ok((svg, encode_png(&pixels, w, h)?))
}

/// RGB pixels to PNG. No time or text chunks: the same pixels always give
/// the same bytes.
fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // Charts are flat colours: fast compression is nearly as small and
        // several times quicker than the default.
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder
            .write_header()
            .map_err(|e| ChartError(e.to_string()))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| ChartError(e.to_string()))?;
    }
    Ok(out)
}

/// Renders figures in parallel (each is independent; the output order is
/// the input order, so the thread count changes nothing).
pub fn render_all(figures: &[Figure]) -> Result<Vec<Rendered>, ChartError> {
    use rayon::prelude::*;
    figures.par_iter().map(Figure::render).collect()
}
