//! The reliability diagram: each bin's mean predicted probability against the observed rate,
//! with the diagonal of perfect calibration and the expected calibration error.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::pen::{FAINT, INK, Pen, Result, TOP, rgb};
use super::render::Chart;
use super::{UP_RGB, ticks};
use crate::analysis::calibration::Reliability;

/// A reliability diagram: each bin's mean predicted probability against the observed rate.
#[derive(Clone, Debug, PartialEq)]
pub struct ReliabilitySpec {
    pub title: String,
    /// (lo, hi, predicted, observed, rows) per non-empty bin.
    pub bins: Vec<(f64, f64, f64, f64, usize)>,
    pub ece: f64,
}

impl ReliabilitySpec {
    pub fn new(title: String, r: &Reliability) -> Self {
        ReliabilitySpec {
            title,
            bins: r
                .bins
                .iter()
                .filter(|b| !b.rows.is_empty())
                .map(|b| (b.lo, b.hi, b.predicted, b.observed, b.rows.len()))
                .collect(),
            ece: r.ece,
        }
    }
}

impl Chart for ReliabilitySpec {
    fn size(&self) -> (u32, u32) {
        (560, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: f64) -> Result<DB> {
        let pen = Pen { s };
        pen.page(root, &self.title)?;
        let (x0, x1, y0, y1) = (70.0, 520.0, TOP, 480.0);
        let sx = |v: f64| x0 + v * (x1 - x0);
        let sy = |v: f64| y1 - v * (y1 - y0);
        pen.line(root, &[(sx(0.0), sy(0.0)), (sx(1.0), sy(1.0))], FAINT)?;
        pen.line(root, &[(x0, y0), (x0, y1)], INK)?;
        for (t, label) in ticks(0.0, 1.0, 5) {
            pen.line(root, &[(x0 - 4.0, sy(t)), (x0, sy(t))], INK)?;
            pen.text(
                root,
                &label.clone(),
                (x0 - 6.0, sy(t)),
                11.0,
                (HPos::Right, VPos::Center),
            )?;
        }
        pen.text(
            root,
            "observed frequency",
            (x0, y0 - 16.0),
            12.0,
            (HPos::Left, VPos::Center),
        )?;
        for &(lo, hi, predicted, observed, _) in &self.bins {
            root.draw(&Rectangle::new(
                [
                    pen.pt(sx(lo) + 1.0, sy(observed)),
                    pen.pt(sx(hi) - 1.0, sy(0.0)),
                ],
                RGBColor(0x9e, 0xc5, 0xf0).filled(),
            ))?;
            root.draw(&Circle::new(
                pen.pt(sx(predicted), sy(observed)),
                pen.px(3.5).max(1),
                rgb(UP_RGB).filled(),
            ))?;
        }
        pen.x_axis(
            root,
            (x0, x1),
            y1 + 4.0,
            (0.0, 1.0),
            &format!("predicted probability · ECE {:.4}", self.ece),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::render::{png, svg};
    use super::*;

    #[test]
    fn reliability_renders_to_png_and_svg() {
        let rel = ReliabilitySpec::new(
            "Calibration".into(),
            &Reliability::new((0..40).map(|r| (r, r as f64 / 40.0, r % 3 == 0)), 10),
        );
        let text = svg(&rel).unwrap();
        assert!(text.starts_with("<svg"));
        assert!(text.contains("ECE"));
        png(&rel, 1).unwrap();
    }
}
