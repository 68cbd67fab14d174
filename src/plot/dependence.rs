//! A feature's dependence plot: its value against its attribution, one dot per row, coloured
//! by the feature it interacts with most ([`interaction_partner`]).

use ndarray::ArrayView2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::dots::{COLOUR_WORDS, Dot, colour_scale, dot_rgb};
use super::pen::{FAINT, INK, Pen, RIGHT, Result, TOP, WIDTH, rgb};
use super::render::Chart;
use super::ticks;

/// A feature's dependence plot: its value against its attribution, coloured by the feature it
/// interacts with most.
#[derive(Clone, Debug, PartialEq)]
pub struct DependenceSpec {
    pub title: String,
    pub feature: String,
    pub measure: String,
    /// The colouring feature's name, if any.
    pub colour_by: Option<String>,
    pub dots: Vec<Dot>,
    /// The feature's categories when it is a category column: one strip per category, at
    /// x = 0, 1, … (dots spread within ±0.3 of their strip).
    pub strips: Option<Vec<String>>,
    /// The colouring feature's categories when it is a category column.
    pub colour_categories: Option<Vec<String>>,
}

/// The feature whose value best explains how feature `j`'s attribution varies among rows with
/// similar values of `j`: the sum over deciles of `j` of |correlation(φ_j, x_k)| within the
/// decile (shap's heuristic). That is the strongest interaction partner.
pub fn interaction_partner(
    j: usize,
    values: ArrayView2<f64>,
    features: ArrayView2<f32>,
) -> Option<usize> {
    let n = values.nrows();
    if n < 10 || values.ncols() < 2 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| features[[a, j]].total_cmp(&features[[b, j]]));
    let chunks: Vec<&[usize]> = order.chunks(n.div_ceil(10)).collect();
    (0..values.ncols())
        .filter(|&k| k != j)
        .map(|k| {
            let strength: f64 = chunks
                .iter()
                .map(|chunk| {
                    let phi: Vec<f64> = chunk.iter().map(|&r| values[[r, j]]).collect();
                    let xk: Vec<f64> = chunk.iter().map(|&r| features[[r, k]] as f64).collect();
                    crate::analysis::correlation(&phi, &xk).abs()
                })
                .sum();
            (k, strength)
        })
        .filter(|(_, c)| *c > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

impl DependenceSpec {
    /// Feature `j`'s plot from `values` (rows × features attributions) and the same rows'
    /// feature values; `categories[k]` names column k's categories when it has them.
    pub fn new(
        feature_names: &[String],
        measure: &str,
        j: usize,
        rows: &[usize],
        values: ArrayView2<f64>,
        features: ArrayView2<f32>,
        categories: &[Option<crate::data::Categories>],
    ) -> Self {
        let categories_of = |k: usize| categories.get(k).and_then(Option::as_ref);
        let name = |k: usize| {
            feature_names
                .get(k)
                .cloned()
                .unwrap_or_else(|| format!("feature {k}"))
        };
        let partner = interaction_partner(j, values, features);
        let colour_column: Vec<f32> = partner
            .map(|k| features.column(k).to_vec())
            .unwrap_or_default();
        let scale = colour_scale(&colour_column);
        // A category column's values as category numbers, and its categories.
        let numbered = |c: Option<&crate::data::Categories>, column: &[f32]| {
            c.map(|c| super::dots::category_numbers(c, column)).unzip()
        };
        let (colour_numbers, colour_categories) =
            numbered(partner.and_then(&categories_of), &colour_column);
        let column: Vec<f32> = features.column(j).to_vec();
        let (strip_numbers, strips) = numbered(categories_of(j), &column);
        DependenceSpec {
            title: format!("Dependence on {}", name(j)),
            feature: name(j),
            measure: format!("attribution ({measure})"),
            colour_by: partner.map(name),
            dots: rows
                .iter()
                .enumerate()
                .map(|(i, &row)| Dot {
                    row,
                    x: match &strip_numbers {
                        // Spread across the strip by the row, so the same rows sit alike.
                        Some(n) => {
                            n[i].map_or(f64::NAN, f64::from) + 0.3 * (spread(row) * 2.0 - 1.0)
                        }
                        None => column[i] as f64,
                    },
                    y: values[[i, j]],
                    colour: match &colour_numbers {
                        Some(n) => n[i],
                        None => colour_column.get(i).and_then(|&v| scale(v)),
                    },
                })
                .collect(),
            strips,
            colour_categories,
        }
    }

    /// The category whose strip holds `x`, when the feature has strips.
    pub fn strip_at(&self, x: f64) -> Option<&str> {
        let strips = self.strips.as_ref()?;
        let i = x.round();
        (i >= 0.0).then(|| strips.get(i as usize).map(String::as_str))?
    }

    /// (x range, y range) with a little padding.
    pub fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        if let Some(strips) = &self.strips {
            let ((_, _), y) =
                Self::spans(self.dots.iter().map(|d| d.y), self.dots.iter().map(|d| d.y));
            return ((-0.5, strips.len().max(1) as f64 - 0.5), y);
        }
        Self::spans(self.dots.iter().map(|d| d.x), self.dots.iter().map(|d| d.y))
    }

    fn spans(
        xs: impl Iterator<Item = f64>,
        ys: impl Iterator<Item = f64>,
    ) -> ((f64, f64), (f64, f64)) {
        let span = |it: &mut dyn Iterator<Item = f64>| {
            let (lo, hi) = it.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
            if lo < hi {
                let pad = (hi - lo) * 0.05;
                (lo - pad, hi + pad)
            } else if lo.is_finite() {
                (lo - 1.0, lo + 1.0)
            } else {
                (0.0, 1.0)
            }
        };
        let (mut xs, mut ys) = (xs, ys);
        (span(&mut xs), span(&mut ys))
    }
}

/// A fixed spread in [0, 1) for `row` (a hash, so a row's dot stays where it was).
fn spread(row: usize) -> f64 {
    let h = (row as u64 ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (h >> 11) as f64 / (1u64 << 53) as f64
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
        for (t, label) in ticks(ylo, yhi, 6) {
            pen.line(root, &[(x0 - 4.0, sy(t)), (x0, sy(t))], INK)?;
            pen.text(
                root,
                &label.clone(),
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
                rgb(dot_rgb(d.colour, self.colour_categories.as_deref())).filled(),
            ))?;
        }
        let colours = match (&self.colour_by, &self.colour_categories) {
            (Some(c), Some(names)) => format!(
                " · colour: {c} ({})",
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| format!("{} {n}", COLOUR_WORDS[i % COLOUR_WORDS.len()]))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (Some(c), None) => format!(" · colour: {c}, blue low → red high"),
            _ => String::new(),
        };
        let Some(strips) = &self.strips else {
            let caption = format!("{}{colours}", self.feature);
            return pen.x_axis(root, (x0, x1), y1 + 4.0, (xlo, xhi), &caption);
        };
        // A category column: its categories under their strips.
        pen.line(root, &[(x0, y1), (x1, y1)], INK)?;
        for (i, name) in strips.iter().enumerate() {
            pen.text(
                root,
                name,
                (sx(i as f64), y1 + 14.0),
                11.0,
                (HPos::Center, VPos::Center),
            )?;
        }
        pen.text(
            root,
            &format!("{}{colours}", self.feature),
            ((x0 + x1) / 2.0, y1 + 40.0),
            12.0,
            (HPos::Center, VPos::Center),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::render::{png, svg};
    use super::super::test_data::sample;
    use super::*;
    use ndarray::Array2;

    #[test]
    fn interaction_partner_finds_the_feature_that_modulates_the_effect() {
        // φ0 = x0 · x2: the effect of x0 depends on x2, not on x1.
        let n = 200;
        let features = Array2::from_shape_fn((n, 3), |(r, j)| {
            [
                ((r * 7) % 13) as f32,
                ((r * 5) % 11) as f32,
                ((r * 3) % 17) as f32,
            ][j]
        });
        let values = Array2::from_shape_fn((n, 3), |(r, j)| {
            if j == 0 {
                (features[[r, 0]] as f64 - 6.0) * features[[r, 2]] as f64
            } else {
                0.1
            }
        });
        assert_eq!(
            interaction_partner(0, values.view(), features.view()),
            Some(2)
        );
    }

    #[test]
    fn a_category_column_gets_a_strip_per_category() {
        let n = 30;
        let features = Array2::from_shape_fn((n, 2), |(r, j)| [(r % 2) as f32, r as f32][j]);
        let values = Array2::from_shape_fn((n, 2), |(r, _)| r as f64);
        let sex = crate::data::Categories(vec![("female".into(), 0.0), ("male".into(), 1.0)]);
        let names = vec!["sex".into(), "mass".into()];
        let rows: Vec<usize> = (0..n).collect();
        let dep = DependenceSpec::new(
            &names,
            "P(a)",
            0,
            &rows,
            values.view(),
            features.view(),
            &[Some(sex), None],
        );
        assert_eq!(
            dep.strips.as_deref(),
            Some(&["female".to_string(), "male".into()][..])
        );
        for (r, d) in dep.dots.iter().enumerate() {
            assert!((d.x - (r % 2) as f64).abs() <= 0.3, "{r}: {}", d.x);
            assert_eq!(dep.strip_at(d.x), Some(["female", "male"][r % 2]));
        }
        assert_eq!(dep.ranges().0, (-0.5, 1.5));
        assert!(svg(&dep).unwrap().contains("female"));
    }

    #[test]
    fn dependence_renders_to_png_and_svg() {
        let (values, features, rows, names) = sample();
        let dep = DependenceSpec::new(
            &names,
            "P(a)",
            2,
            &rows,
            values.view(),
            features.view(),
            &[],
        );
        assert!(svg(&dep).unwrap().starts_with("<svg"));
        png(&dep, 1).unwrap();
    }
}
