//! Mean |attribution| per feature as horizontal bars, the largest first: the beeswarm's lines
//! summed up.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::UP_RGB;
use super::beeswarm::BeeswarmSpec;
use super::pen::{LABEL, Pen, RIGHT, ROW, Result, TOP, WIDTH, rgb};
use super::render::Chart;
use super::short_number;

/// Mean |attribution| per feature, the largest first.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportanceSpec {
    pub title: String,
    pub measure: String,
    pub bars: Vec<(String, f64)>,
}

impl ImportanceSpec {
    pub fn from_beeswarm(b: &BeeswarmSpec) -> Self {
        ImportanceSpec {
            title: format!("Mean |attribution| · {}", b.measure),
            measure: format!("mean |attribution| ({})", b.measure),
            bars: b
                .features
                .iter()
                .map(|f| (f.name.clone(), f.mean_abs))
                .collect(),
        }
    }
}

impl Chart for ImportanceSpec {
    fn size(&self) -> (u32, u32) {
        (WIDTH, (TOP + ROW * self.bars.len() as f64 + 70.0) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: f64) -> Result<DB> {
        let pen = Pen { s };
        pen.page(root, &self.title)?;
        let (x0, x1) = (LABEL + 12.0, WIDTH as f64 - RIGHT);
        let hi = self
            .bars
            .iter()
            .map(|b| b.1)
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE)
            * 1.05;
        let sx = |v: f64| x0 + v / hi * (x1 - x0);
        for (i, (name, v)) in self.bars.iter().enumerate() {
            let y = TOP + ROW * i as f64;
            pen.text(
                root,
                name,
                (LABEL, y + ROW / 2.0),
                12.0,
                (HPos::Right, VPos::Center),
            )?;
            root.draw(&Rectangle::new(
                [
                    pen.pt(x0, y + ROW * 0.2),
                    pen.pt(sx(*v).max(x0 + 1.0), y + ROW * 0.8),
                ],
                rgb(UP_RGB).filled(),
            ))?;
            pen.text(
                root,
                &short_number(*v),
                (sx(*v) + 6.0, y + ROW / 2.0),
                11.0,
                (HPos::Left, VPos::Center),
            )?;
        }
        let bottom = TOP + ROW * self.bars.len() as f64;
        pen.x_axis(root, (x0, x1), bottom + 6.0, (0.0, hi), &self.measure)
    }
}

#[cfg(test)]
mod tests {
    use super::super::render::{png, svg};
    use super::super::test_data::sample_beeswarm;
    use super::*;

    #[test]
    fn importance_renders_to_png_and_svg() {
        let imp = ImportanceSpec::from_beeswarm(&sample_beeswarm());
        assert!(svg(&imp).unwrap().starts_with("<svg"));
        png(&imp, 1).unwrap();
    }
}
