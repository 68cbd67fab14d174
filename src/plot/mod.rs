//! Charts as specs — plain data saying what to draw — rendered to PNG and SVG with plotters
//! ([`render`]). The window draws the same specs with egui, so an export looks like the screen.
//!
//! - [`waterfall`]: one row's attribution, from the base value to the output.
//! - [`global`]: the dataset-wide charts (beeswarm, importance, dependence, reliability).

pub mod charts;
pub mod global;
pub mod overlay;
pub mod render;
pub mod waterfall;

pub use waterfall::{WaterfallBar, WaterfallSpec};

/// Red: pushes the output up (shap's convention).
pub const UP_RGB: (u8, u8, u8) = (0xff, 0x00, 0x51);
/// Blue: pushes the output down.
pub const DOWN_RGB: (u8, u8, u8) = (0x00, 0x8b, 0xe6);

/// About `count` round tick values covering `lo..=hi`.
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

pub use crate::short_number;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside() {
        assert_eq!(
            nice_ticks(0.0, 1.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let t = nice_ticks(-3.7, 12.2, 4);
        assert_eq!(t, vec![0.0, 5.0, 10.0]);
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(0.123456), "0.123");
        assert_eq!(short_number(1420.0), "1420");
        assert_eq!(short_number(-0.04), "-0.0400");
        assert_eq!(short_number(12.345), "12.3");
    }
}
