//! plotters drawings of the dataset-wide charts ([`super::global`]), in the same layout the
//! window uses: features top to bottom by importance, shap's colours, round ticks.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::global::{
    BeeswarmSpec, ConfusionSpec, DependenceSpec, ImportanceSpec, ReliabilitySpec, value_rgb,
};
use super::render::{Chart, FAMILY};
use super::{UP_RGB, nice_ticks, short_number};

const WIDTH: u32 = 900;
const TOP: f64 = 56.0;
const ROW: f64 = 26.0;
const LABEL: f64 = 250.0;
const RIGHT: f64 = 60.0;

type Result<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

struct Pen {
    s: f64,
}

impl Pen {
    /// A white page with `title` at the top left.
    fn page<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, title: &str) -> Result<DB> {
        root.fill(&WHITE)?;
        self.text(root, title, (16.0, 14.0), 17.0, (HPos::Left, VPos::Top))
    }

    fn px(&self, v: f64) -> i32 {
        (v * self.s).round() as i32
    }
    fn pt(&self, x: f64, y: f64) -> (i32, i32) {
        (self.px(x), self.px(y))
    }
    fn text<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        text: &str,
        at: (f64, f64),
        size: f64,
        pos: (HPos, VPos),
    ) -> Result<DB> {
        let style = (FAMILY, size * self.s)
            .into_font()
            .color(&INK)
            .pos(Pos::new(pos.0, pos.1));
        root.draw(&Text::new(text.to_string(), self.pt(at.0, at.1), style))
    }
    fn line<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        points: &[(f64, f64)],
        colour: RGBColor,
    ) -> Result<DB> {
        let width = self.px(1.0).max(1) as u32;
        root.draw(&PathElement::new(
            points
                .iter()
                .map(|&(x, y)| self.pt(x, y))
                .collect::<Vec<_>>(),
            ShapeStyle::from(&colour).stroke_width(width),
        ))
    }
    /// A horizontal axis from `x0` to `x1` at `y`, with ticks over `lo..hi` and a caption.
    #[allow(clippy::too_many_arguments)]
    fn x_axis<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        (x0, x1): (f64, f64),
        y: f64,
        (lo, hi): (f64, f64),
        caption: &str,
    ) -> Result<DB> {
        self.line(root, &[(x0, y), (x1, y)], INK)?;
        for t in nice_ticks(lo, hi, 6) {
            let x = x0 + (t - lo) / (hi - lo) * (x1 - x0);
            self.line(root, &[(x, y), (x, y + 4.0)], INK)?;
            self.text(
                root,
                &short_number(t),
                (x, y + 6.0),
                11.0,
                (HPos::Center, VPos::Top),
            )?;
        }
        self.text(
            root,
            caption,
            ((x0 + x1) / 2.0, y + 24.0),
            12.0,
            (HPos::Center, VPos::Top),
        )
    }
}

const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
const FAINT: RGBColor = RGBColor(0xcc, 0xcc, 0xcc);

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

impl Chart for BeeswarmSpec {
    fn size(&self) -> (u32, u32) {
        (
            WIDTH,
            (TOP + ROW * self.features.len() as f64 + 70.0) as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: f64) -> Result<DB> {
        let pen = Pen { s };
        pen.page(root, &self.title)?;
        let (x0, x1) = (LABEL + 12.0, WIDTH as f64 - RIGHT);
        let (lo, hi) = self.x_range;
        let sx = |v: f64| x0 + (v - lo) / (hi - lo) * (x1 - x0);
        let bottom = TOP + ROW * self.features.len() as f64;
        pen.line(root, &[(sx(0.0), TOP - 4.0), (sx(0.0), bottom)], FAINT)?;
        for (i, f) in self.features.iter().enumerate() {
            let mid = TOP + ROW * (i as f64 + 0.5);
            pen.text(
                root,
                &f.name,
                (LABEL, mid),
                12.0,
                (HPos::Right, VPos::Center),
            )?;
            for d in &f.dots {
                let (x, y) = pen.pt(sx(d.x), mid + d.y * ROW);
                root.draw(&Circle::new(
                    (x, y),
                    pen.px(2.2).max(1),
                    rgb(value_rgb(d.colour)).filled(),
                ))?;
            }
        }
        pen.x_axis(
            root,
            (x0, x1),
            bottom + 6.0,
            (lo, hi),
            &format!(
                "attribution ({}) · colour: feature value, blue low → red high",
                self.measure
            ),
        )
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

impl Chart for DependenceSpec {
    fn size(&self) -> (u32, u32) {
        (WIDTH, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, s: f64) -> Result<DB> {
        let pen = Pen { s };
        pen.page(root, &self.title)?;
        let ((xlo, xhi), (ylo, yhi)) = self.ranges();
        let (x0, x1, y0, y1) = (90.0, WIDTH as f64 - RIGHT, TOP, 560.0 - 80.0);
        let sx = |v: f64| x0 + (v - xlo) / (xhi - xlo) * (x1 - x0);
        let sy = |v: f64| y1 - (v - ylo) / (yhi - ylo) * (y1 - y0);
        pen.line(root, &[(x0, y0), (x0, y1)], INK)?;
        for t in nice_ticks(ylo, yhi, 6) {
            pen.line(root, &[(x0 - 4.0, sy(t)), (x0, sy(t))], INK)?;
            pen.text(
                root,
                &short_number(t),
                (x0 - 6.0, sy(t)),
                11.0,
                (HPos::Right, VPos::Center),
            )?;
        }
        if ylo < 0.0 && yhi > 0.0 {
            pen.line(root, &[(x0, sy(0.0)), (x1, sy(0.0))], FAINT)?;
        }
        pen.text(
            root,
            &self.measure,
            (x0, y0 - 16.0),
            12.0,
            (HPos::Left, VPos::Center),
        )?;
        for d in &self.dots {
            root.draw(&Circle::new(
                pen.pt(sx(d.x), sy(d.y)),
                pen.px(2.6).max(1),
                rgb(value_rgb(d.colour)).filled(),
            ))?;
        }
        let caption = match &self.colour_by {
            Some(c) => format!("{} · colour: {c}, blue low → red high", self.feature),
            None => self.feature.clone(),
        };
        pen.x_axis(root, (x0, x1), y1 + 4.0, (xlo, xhi), &caption)
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
        for t in nice_ticks(0.0, 1.0, 5) {
            pen.line(root, &[(x0 - 4.0, sy(t)), (x0, sy(t))], INK)?;
            pen.text(
                root,
                &short_number(t),
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
    use crate::analysis::calibration::Reliability;
    use ndarray::Array2;

    #[test]
    fn global_charts_render_to_png_and_svg() {
        let values = Array2::from_shape_fn((40, 3), |(r, j)| {
            (r as f64 - 20.0) * (j as f64 + 1.0) / 100.0
        });
        let features = Array2::from_shape_fn((40, 3), |(r, j)| (r * (j + 1)) as f32);
        let rows: Vec<usize> = (0..40).collect();
        let names: Vec<String> = vec!["alpha".into(), "beta".into(), "gamma".into()];
        let bee = BeeswarmSpec::new(
            "Swarm".into(),
            "P(a)".into(),
            &names,
            &rows,
            values.view(),
            features.view(),
            10,
        );
        let imp = ImportanceSpec::from_beeswarm(&bee);
        let dep = DependenceSpec::new(&names, "P(a)", 2, &rows, values.view(), features.view());
        let rel = ReliabilitySpec::new(
            "Calibration".into(),
            &Reliability::new((0..40).map(|r| (r, r as f64 / 40.0, r % 3 == 0)), 10),
        );
        let (w, h) = bee.size();
        let image = image::load_from_memory(&png(&bee, 2).unwrap()).unwrap();
        assert_eq!((image.width(), image.height()), (2 * w, 2 * h));
        for text in [
            svg(&bee).unwrap(),
            svg(&imp).unwrap(),
            svg(&dep).unwrap(),
            svg(&rel).unwrap(),
        ] {
            assert!(text.starts_with("<svg"));
        }
        assert!(svg(&bee).unwrap().contains("gamma"));
        assert!(svg(&rel).unwrap().contains("ECE"));
        let confusion = ConfusionSpec {
            title: "Confusion".into(),
            class_names: vec!["a".into(), "b".into()],
            counts: vec![vec![48, 5], vec![3, 87]],
        };
        let text = svg(&confusion).unwrap();
        assert!(text.contains("87") && text.contains("predicted"), "{text}");
        png(&confusion, 2).unwrap();
        png(&dep, 1).unwrap();
        png(&rel, 1).unwrap();
        png(&imp, 1).unwrap();
    }
}
