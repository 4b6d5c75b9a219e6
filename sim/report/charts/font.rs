//! The bundled font. Text in PNG charts is drawn with DejaVu Sans from
//! assets/fonts (Bitstream Vera licence, see LICENSE-DejaVu.txt there), so a
//! chart looks the same on every machine and needs no system fonts. SVG
//! charts name the family ("DejaVu Sans", then the viewer's sans-serif);
//! their text positions are computed with the same metrics.

use std::sync::Once;

use plotters::style::{register_font, FontStyle};

/// The family every chart asks for.
pub const FAMILY: &str = "DejaVu Sans, sans-serif";

pub(super) static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
pub(super) static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Registers the font once per process, under our family name and under
/// plotters' default "sans-serif" (used by anything we do not style).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for family in [FAMILY, "sans-serif"] {
            // The bytes are a valid TrueType file compiled in; a failure here
            // would only make text disappear, so it is not worth a panic.
            let _ = register_font(family, FontStyle::Normal, REGULAR);
            let _ = register_font(family, FontStyle::Bold, BOLD);
        }
    });
}
