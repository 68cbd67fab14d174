//! The beeswarm: one line per feature, ordered by mean |attribution|, with one dot per row at
//! its attribution, swarmed across the line and coloured by the feature's value.

use ndarray::ArrayView2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::dots::{Dot, colour_scale, dot_rgb};
use super::pen::{FAINT, LABEL, Pen, RIGHT, ROW, Result, TOP, WIDTH, rgb};
use super::render::Chart;

/// One feature's line of the beeswarm.
#[derive(Clone, Debug, PartialEq)]
pub struct BeeFeature {
    pub name: String,
    /// Column of the feature in the data.
    pub index: usize,
    /// Mean |attribution| over the rows (the ordering key).
    pub mean_abs: f64,
    /// `y` is the offset from the line's centre, within ±0.4 of a line.
    pub dots: Vec<Dot>,
    /// A category column's categories: the dots' colours are then category numbers.
    pub categories: Option<Vec<String>>,
}

/// Beeswarm: features ordered by mean |attribution|, the largest first.
#[derive(Clone, Debug, PartialEq)]
pub struct BeeswarmSpec {
    pub title: String,
    /// What the attributions measure (`P(malignant)`, …).
    pub measure: String,
    pub features: Vec<BeeFeature>,
    /// Range of the attribution axis.
    pub x_range: (f64, f64),
}

/// Swarm offsets of values placed in `bins` bins across the range: 0, +1, −1, +2, −2, … per bin.
fn swarm(values: &[f64], lo: f64, hi: f64, bins: usize) -> (Vec<i32>, i32) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut counts = vec![0i32; bins];
    let mut layer = vec![0i32; values.len()];
    let mut deepest = 0;
    let width = (hi - lo).max(f64::MIN_POSITIVE);
    for i in order {
        let b = (((values[i] - lo) / width * bins as f64) as usize).min(bins - 1);
        let k = counts[b];
        counts[b] += 1;
        let l = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        layer[i] = l;
        deepest = deepest.max(l.abs());
    }
    (layer, deepest)
}

impl BeeswarmSpec {
    /// From `values` (rows × features attributions) and the same rows' feature values, with
    /// at most `max_features` lines (the rest are left out, as shap's default does).
    pub fn new(
        title: String,
        measure: String,
        feature_names: &[String],
        rows: &[usize],
        values: ArrayView2<f64>,
        features: ArrayView2<f32>,
        max_features: usize,
    ) -> Self {
        let m = values.ncols();
        let mut order: Vec<(usize, f64)> = (0..m)
            .map(|j| {
                let col = values.column(j);
                (
                    j,
                    col.iter().map(|v| v.abs()).sum::<f64>() / col.len().max(1) as f64,
                )
            })
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        order.truncate(max_features);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &(j, _) in &order {
            for &v in values.column(j) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
            (lo, hi) = (lo.min(0.0) - 1.0, hi.max(0.0) + 1.0);
        }
        let pad = (hi - lo) * 0.03;
        let (lo, hi) = (lo - pad, hi + pad);
        let layouts: Vec<(usize, f64, Vec<i32>, i32)> = order
            .iter()
            .map(|&(j, mean)| {
                let col: Vec<f64> = values.column(j).to_vec();
                let (layer, deepest) = swarm(&col, lo, hi, 120);
                (j, mean, layer, deepest)
            })
            .collect();
        let deepest = layouts.iter().map(|l| l.3).max().unwrap_or(0).max(1);
        let step = (0.4 / deepest as f64).min(0.08);
        let features = layouts
            .into_iter()
            .map(|(j, mean_abs, layer, _)| {
                let column: Vec<f32> = features.column(j).to_vec();
                let scale = colour_scale(&column);
                BeeFeature {
                    name: feature_names
                        .get(j)
                        .cloned()
                        .unwrap_or_else(|| format!("feature {j}")),
                    index: j,
                    mean_abs,
                    dots: rows
                        .iter()
                        .enumerate()
                        .map(|(i, &row)| Dot {
                            row,
                            x: values[[i, j]],
                            y: layer[i] as f64 * step,
                            colour: scale(column[i]),
                        })
                        .collect(),
                    categories: None,
                }
            })
            .collect();
        BeeswarmSpec {
            title,
            measure,
            features,
            x_range: (lo, hi),
        }
    }
}

impl BeeswarmSpec {
    /// The same beeswarm with each category column (`categories[j]` given) coloured by its
    /// categories instead of the value scale; `features` are the rows' values as in [`Self::new`].
    pub fn with_categories(
        mut self,
        categories: &[Option<crate::data::Categories>],
        features: ArrayView2<f32>,
    ) -> Self {
        for f in &mut self.features {
            let Some(Some(c)) = categories.get(f.index) else {
                continue;
            };
            let column: Vec<f32> = features.column(f.index).to_vec();
            let (numbers, names) = super::dots::category_numbers(c, &column);
            for (d, n) in f.dots.iter_mut().zip(numbers) {
                d.colour = n;
            }
            f.categories = Some(names);
        }
        self
    }

    /// The category lines, for a legend: (feature, its categories).
    pub fn legends(&self) -> Vec<(&str, &[String])> {
        self.features
            .iter()
            .filter_map(|f| Some((f.name.as_str(), f.categories.as_deref()?)))
            .collect()
    }
}

impl Chart for BeeswarmSpec {
    fn size(&self) -> (u32, u32) {
        (
            WIDTH,
            (TOP + ROW * self.features.len() as f64 + 70.0 + 18.0 * self.legends().len() as f64)
                as u32,
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
                    rgb(dot_rgb(d.colour, f.categories.as_deref())).filled(),
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
        )?;
        // A category line's colours, named: `island  ● Biscoe  ● Dream  ● Torgersen`.
        for (k, (name, categories)) in self.legends().into_iter().enumerate() {
            let y = bottom + 62.0 + 18.0 * k as f64;
            pen.text(root, name, (LABEL, y), 11.0, (HPos::Right, VPos::Center))?;
            let mut x = LABEL + 12.0;
            for (i, category) in categories.iter().enumerate() {
                let (cx, cy) = pen.pt(x + 4.0, y);
                root.draw(&Circle::new(
                    (cx, cy),
                    pen.px(3.5).max(1),
                    rgb(super::dots::category_rgb(Some(i as f32))).filled(),
                ))?;
                pen.text(
                    root,
                    category,
                    (x + 12.0, y),
                    11.0,
                    (HPos::Left, VPos::Center),
                )?;
                x += 24.0 + 6.5 * category.chars().count() as f64;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::render::{png, svg};
    use super::super::test_data::sample_beeswarm;
    use super::*;
    use ndarray::Array2;

    #[test]
    fn beeswarm_orders_by_mean_abs_and_keeps_dots_in_their_line() {
        let values =
            Array2::from_shape_fn((50, 3), |(r, j)| (r as f64 - 25.0) * [0.1, 1.0, 0.01][j]);
        let features = Array2::from_shape_fn((50, 3), |(r, _)| r as f32);
        let rows: Vec<usize> = (100..150).collect();
        let names = vec!["a".into(), "b".into(), "c".into()];
        let b = BeeswarmSpec::new(
            "t".into(),
            "m".into(),
            &names,
            &rows,
            values.view(),
            features.view(),
            2,
        );
        assert_eq!(b.features.len(), 2);
        assert_eq!(b.features[0].name, "b");
        assert_eq!(b.features[1].name, "a");
        for f in &b.features {
            assert_eq!(f.dots.len(), 50);
            assert!(f.dots.iter().all(|d| d.y.abs() <= 0.4 + 1e-12));
            assert_eq!(f.dots[0].row, 100);
        }
        // Colour follows the value: the lowest row is blue end, the highest red end.
        assert_eq!(b.features[0].dots[0].colour, Some(0.0));
        assert_eq!(b.features[0].dots[49].colour, Some(1.0));
    }

    #[test]
    fn a_category_column_is_coloured_by_its_categories_and_named_in_a_legend() {
        let values = Array2::from_shape_fn((6, 2), |(r, j)| (r + j) as f64);
        // Column 0 holds codes 0, 1, 2 of three islands; column 1 is numeric.
        let features = Array2::from_shape_fn((6, 2), |(r, j)| [(r % 3) as f32, r as f32][j]);
        let islands = crate::data::Categories(vec![
            ("Biscoe".into(), 0.0),
            ("Dream".into(), 1.0),
            ("Torgersen".into(), 2.0),
        ]);
        let names = vec!["island".into(), "mass".into()];
        let b = BeeswarmSpec::new(
            "t".into(),
            "m".into(),
            &names,
            &[0, 1, 2, 3, 4, 5],
            values.view(),
            features.view(),
            2,
        )
        .with_categories(&[Some(islands), None], features.view());
        let island = b.features.iter().find(|f| f.name == "island").unwrap();
        let colours: Vec<Option<f32>> = island.dots.iter().map(|d| d.colour).collect();
        assert_eq!(colours, [0.0, 1.0, 2.0, 0.0, 1.0, 2.0].map(Some).to_vec());
        assert_eq!(
            b.legends(),
            [(
                "island",
                &["Biscoe".to_string(), "Dream".into(), "Torgersen".into()][..]
            )]
        );
        let mass = b.features.iter().find(|f| f.name == "mass").unwrap();
        assert!(mass.categories.is_none());
        assert!(svg(&b).unwrap().contains("Torgersen"));
    }

    #[test]
    fn beeswarm_renders_to_png_and_svg() {
        let bee = sample_beeswarm();
        let (w, h) = bee.size();
        let image = image::load_from_memory(&png(&bee, 2).unwrap()).unwrap();
        assert_eq!((image.width(), image.height()), (2 * w, 2 * h));
        let text = svg(&bee).unwrap();
        assert!(text.starts_with("<svg"));
        assert!(text.contains("gamma"));
    }
}
