//! The confusion matrix: counts of true class (rows) against predicted class (columns), the
//! diagonal green and the rest red, stronger for larger counts.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::pen::{Pen, Result};
use super::render::Chart;

/// A confusion matrix: counts of true class (rows) against predicted class (columns).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionSpec {
    pub title: String,
    pub class_names: Vec<String>,
    pub counts: Vec<Vec<usize>>,
}

impl Chart for ConfusionSpec {
    fn size(&self) -> (u32, u32) {
        let k = self.class_names.len() as u32;
        (260 + 110 * k, 130 + 60 * k)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: f64) -> Result<DB> {
        let pen = Pen { s };
        pen.page(root, &self.title)?;
        let (cell_w, cell_h, x0, y0) = (110.0, 60.0, 220.0, 90.0);
        let max = self
            .counts
            .iter()
            .flatten()
            .copied()
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        pen.text(
            root,
            "true ↓ · predicted →",
            (16.0, y0 - 24.0),
            11.0,
            (HPos::Left, VPos::Center),
        )?;
        for (p, name) in self.class_names.iter().enumerate() {
            let x = x0 + cell_w * (p as f64 + 0.5);
            pen.text(
                root,
                name,
                (x, y0 - 10.0),
                12.0,
                (HPos::Center, VPos::Bottom),
            )?;
        }
        for (t, row) in self.counts.iter().enumerate() {
            let y = y0 + cell_h * t as f64;
            pen.text(
                root,
                &self.class_names[t],
                (x0 - 10.0, y + cell_h / 2.0),
                12.0,
                (HPos::Right, VPos::Center),
            )?;
            for (p, &n) in row.iter().enumerate() {
                let x = x0 + cell_w * p as f64;
                let (r, g, b) = if t == p {
                    (0x3c, 0xb3, 0x71)
                } else {
                    (0xe0, 0x4f, 0x4f)
                };
                let a = 0.15 + 0.7 * n as f64 / max;
                let mix = |c: u8| (255.0 - (255.0 - c as f64) * a).round() as u8;
                root.draw(&Rectangle::new(
                    [
                        pen.pt(x + 2.0, y + 2.0),
                        pen.pt(x + cell_w - 2.0, y + cell_h - 2.0),
                    ],
                    RGBColor(mix(r), mix(g), mix(b)).filled(),
                ))?;
                pen.text(
                    root,
                    &n.to_string(),
                    (x + cell_w / 2.0, y + cell_h / 2.0),
                    16.0,
                    (HPos::Center, VPos::Center),
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::render::{png, svg};
    use super::*;

    #[test]
    fn confusion_renders_to_png_and_svg() {
        let confusion = ConfusionSpec {
            title: "Confusion".into(),
            class_names: vec!["a".into(), "b".into()],
            counts: vec![vec![48, 5], vec![3, 87]],
        };
        let text = svg(&confusion).unwrap();
        assert!(text.contains("87") && text.contains("predicted"), "{text}");
        png(&confusion, 2).unwrap();
    }
}
