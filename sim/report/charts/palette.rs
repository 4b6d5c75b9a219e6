//! Colours: a fixed, colour-blind-friendly sequence (Okabe–Ito), so the
//! n-th series has the same colour in every chart.

use plotters::style::RGBColor;

const SEQUENCE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(120, 120, 120), // grey
    RGBColor(240, 228, 66),  // yellow (last: weak on white)
];

pub fn nth(i: usize) -> RGBColor {
    SEQUENCE[i % SEQUENCE.len()]
}

pub const CAPACITY: RGBColor = RGBColor(200, 30, 30);
pub const TEXT: RGBColor = RGBColor(30, 30, 30);
pub const GRID: RGBColor = RGBColor(225, 225, 225);
pub const GRID_BOLD: RGBColor = RGBColor(200, 200, 200);
/// Scheduled events (outages, bumps, lifetime changes) on time charts.
pub const EVENT: RGBColor = RGBColor(110, 60, 150);
