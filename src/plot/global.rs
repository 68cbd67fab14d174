//! Specs of the dataset-wide charts: the beeswarm (one dot per row per feature), mean
//! |attribution| bars, a feature's dependence plot, and the reliability diagram. Each is plain
//! data in chart units, drawn by egui in the window and by plotters for export.

use ndarray::ArrayView2;

use crate::analysis::calibration::Reliability;

/// One dot: `x` along the value axis, `y` across (a swarm offset in row heights for the
/// beeswarm, the attribution for a dependence plot), `colour` the colouring feature's value
/// scaled to 0..1 (`None` when unknown).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dot {
    pub row: usize,
    pub x: f64,
    pub y: f64,
    pub colour: Option<f32>,
}

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

/// Where `v` lies between the 5th and 95th percentile of `column`, clamped to 0..1 (robust
/// colouring, as shap does).
pub fn colour_scale(column: &[f32]) -> impl Fn(f32) -> Option<f32> + use<> {
    let mut sorted: Vec<f32> = column.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f32::total_cmp);
    let pick = |q: f64| {
        sorted
            .get(((sorted.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
    };
    let (lo, hi) = (pick(0.05), pick(0.95));
    move |v: f32| {
        let (lo, hi) = (lo?, hi?);
        if !v.is_finite() {
            return None;
        }
        Some(if hi > lo {
            ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.5
        })
    }
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
    pub fn new(
        feature_names: &[String],
        measure: &str,
        j: usize,
        rows: &[usize],
        values: ArrayView2<f64>,
        features: ArrayView2<f32>,
    ) -> Self {
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
                    x: features[[i, j]] as f64,
                    y: values[[i, j]],
                    colour: colour_column.get(i).and_then(|&v| scale(v)),
                })
                .collect(),
        }
    }

    /// (x range, y range) with a little padding.
    pub fn ranges(&self) -> ((f64, f64), (f64, f64)) {
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
        (
            span(&mut self.dots.iter().map(|d| d.x)),
            span(&mut self.dots.iter().map(|d| d.y)),
        )
    }
}

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

/// A confusion matrix: counts of true class (rows) against predicted class (columns).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionSpec {
    pub title: String,
    pub class_names: Vec<String>,
    pub counts: Vec<Vec<usize>>,
}

/// shap's colour for a feature value from low (blue) to high (red).
pub fn value_rgb(t: Option<f32>) -> (u8, u8, u8) {
    let Some(t) = t else {
        return (0x99, 0x99, 0x99);
    };
    let (lo, hi) = (super::DOWN_RGB, super::UP_RGB);
    let mix = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * t).round() as u8;
    (mix(lo.0, hi.0), mix(lo.1, hi.1), mix(lo.2, hi.2))
}

#[cfg(test)]
mod tests {
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
}
