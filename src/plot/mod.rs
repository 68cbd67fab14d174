//! Charts as specs — plain data saying what to draw — rendered to PNG and SVG with plotters
//! ([`render`]). The window draws the same specs with egui, so an export looks like the screen.
//!
//! One chart per file, each holding its spec and its plotters drawing:
//!
//! - [`waterfall`]: one row's attribution, from the base value to the output.
//! - [`beeswarm`], [`importance`], [`dependence`], [`reliability`], [`confusion`]: the
//!   dataset-wide charts, also reachable together as [`global`].
//! - [`dots`]: the dots of the beeswarm and dependence plots, and their colours.
//! - [`overlay`]: a saliency map laid over its image.

pub mod beeswarm;
pub mod confusion;
pub mod dependence;
pub mod dots;
pub mod importance;
pub mod overlay;
mod pen;
pub mod reliability;
pub mod render;
pub mod waterfall;

pub use waterfall::{WaterfallBar, WaterfallSpec};

/// The dataset-wide chart specs (beeswarm, importance, dependence, reliability, confusion) and
/// their dots, under one path.
pub mod global {
    pub use super::beeswarm::{BeeFeature, BeeswarmSpec};
    pub use super::confusion::ConfusionSpec;
    pub use super::dependence::{DependenceSpec, interaction_partner};
    pub use super::dots::{Dot, colour_scale, value_rgb};
    pub use super::importance::ImportanceSpec;
    pub use super::reliability::ReliabilitySpec;
}

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

/// Ticks between `lo` and `hi` (about `n`) with their labels, all written with the same
/// number of decimals — the step's — so an axis reads `0.40 0.60 … 1.00`, not `0.400 … 1.00`.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<(f64, String)> {
    let t = nice_ticks(lo, hi, n);
    let step = t
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    let biggest = t.iter().fold(0f64, |m, v| m.max(v.abs()));
    let labels: Vec<String> = if !step.is_finite() || step <= 0.0 {
        t.iter().map(|&v| short_number(v)).collect()
    } else if step < 1e-3 || biggest >= 1e5 {
        t.iter()
            .map(|&v| {
                if v == 0.0 {
                    "0".into()
                } else {
                    format!("{v:.1e}")
                }
            })
            .collect()
    } else {
        // The step's decimals: one more for a step of 2.5 × 10^k, so 0.25 is not written 0.2.
        let base = (-step.log10().floor()).max(0.0) as usize;
        let decimals = (base..base + 2)
            .find(|&d| {
                let scaled = step * 10f64.powi(d as i32);
                (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
            })
            .unwrap_or(base + 1);
        t.iter()
            .map(|&v| {
                // −0.00 reads as 0.
                let v = if v.abs() < step / 2.0 { 0.0 } else { v };
                format!("{v:.decimals$}")
            })
            .collect()
    };
    t.into_iter().zip(labels).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_share_their_decimals() {
        let labels: Vec<String> = ticks(0.35, 1.0, 4).into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, ["0.4", "0.6", "0.8", "1.0"]);
        let labels: Vec<String> = ticks(-0.0004, 0.0004, 4)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert!(
            labels.iter().all(|l| l == "0" || l.contains('e')),
            "{labels:?}"
        );
        let labels: Vec<String> = ticks(0.0, 1000.0, 4).into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels[0], "0");
        // A step of 2.5 × 10^k keeps its second digit on every tick.
        let labels: Vec<String> = ticks(0.0, 0.5, 2).into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, ["0.00", "0.25", "0.50"]);
        let labels: Vec<String> = ticks(0.0, 0.05, 2).into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, ["0.000", "0.025", "0.050"]);
        let labels: Vec<String> = ticks(0.0, 50.0, 2).into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, ["0", "25", "50"]);
    }

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

/// Attributions and feature values of 40 rows over three features, for the charts' tests.
#[cfg(test)]
mod test_data {
    use ndarray::Array2;

    use super::beeswarm::BeeswarmSpec;

    /// (attributions, feature values, row numbers, feature names).
    pub(super) fn sample() -> (Array2<f64>, Array2<f32>, Vec<usize>, Vec<String>) {
        let values = Array2::from_shape_fn((40, 3), |(r, j)| {
            (r as f64 - 20.0) * (j as f64 + 1.0) / 100.0
        });
        let features = Array2::from_shape_fn((40, 3), |(r, j)| (r * (j + 1)) as f32);
        let rows: Vec<usize> = (0..40).collect();
        let names: Vec<String> = vec!["alpha".into(), "beta".into(), "gamma".into()];
        (values, features, rows, names)
    }

    /// The beeswarm of [`sample`].
    pub(super) fn sample_beeswarm() -> BeeswarmSpec {
        let (values, features, rows, names) = sample();
        BeeswarmSpec::new(
            "Swarm".into(),
            "P(a)".into(),
            &names,
            &rows,
            values.view(),
            features.view(),
            10,
        )
    }
}
