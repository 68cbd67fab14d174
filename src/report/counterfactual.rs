//! The nearest counterfactual: the smallest change to one feature — else to two — within the
//! values observed in the reference data, that makes the model predict another class.
//!
//! Changes are measured in each feature's own spread (its 5th–95th percentile range), so a
//! change of 0.07 in a feature that ranges over 0.1 counts more than 70 in one that ranges over
//! 2,000. Every candidate row of a search goes to the model in one batched call.

use ndarray::{Array2, ArrayView2};

use super::reference::quantile;
use crate::explain::Predict;
use crate::model::ModelError;

/// One feature's new value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Change {
    pub feature: usize,
    pub from: f32,
    pub to: f32,
}

/// Changes that flip the prediction, and the prediction they lead to.
#[derive(Clone, Debug, PartialEq)]
pub struct Counterfactual {
    pub changes: Vec<Change>,
    /// The class predicted after the change.
    pub class: usize,
    /// Its probability.
    pub probability: f32,
    /// Σ |to − from| / spread over the changes.
    pub distance: f64,
}

/// How far each feature ranges in the reference: its 5th–95th percentile spread (the full range
/// if that is zero, else 1), and its smallest and largest values.
pub fn spreads(reference: ArrayView2<f32>) -> Vec<(f64, f32, f32)> {
    (0..reference.ncols())
        .map(|j| {
            let mut v: Vec<f32> = reference.column(j).to_vec();
            v.sort_by(f32::total_cmp);
            let (lo, hi) = (
                v.first().copied().unwrap_or(0.0),
                v.last().copied().unwrap_or(0.0),
            );
            let robust = (quantile(&v, 0.95) - quantile(&v, 0.05)) as f64;
            let spread = if robust > 0.0 {
                robust
            } else if hi > lo {
                (hi - lo) as f64
            } else {
                1.0
            };
            (spread, lo, hi)
        })
        .collect()
}

/// `steps + 1` evenly spaced values from `lo` to `hi`.
pub fn grid(lo: f32, hi: f32, steps: usize) -> Vec<f32> {
    if hi <= lo || steps == 0 {
        return vec![lo];
    }
    (0..=steps)
        .map(|k| lo + (hi - lo) * k as f32 / steps as f32)
        .collect()
}

fn argmax(row: ndarray::ArrayView1<f32>) -> usize {
    let mut best = 0;
    for (i, &p) in row.iter().enumerate() {
        if p > row[best] {
            best = i;
        }
    }
    best
}

/// Searches single-feature changes on a grid of `steps + 1` values per feature, then — when
/// none flips the prediction — pairs of the `pair_features` (e.g. the most influential ones) on
/// a coarser grid. `None` when nothing within the observed ranges flips it.
pub fn nearest(
    model: &dyn Predict,
    x: &[f32],
    reference: ArrayView2<f32>,
    current: usize,
    steps: usize,
    pair_features: &[usize],
    categorical: &[bool],
) -> Result<Option<Counterfactual>, ModelError> {
    let mut spread = spreads(reference);
    // A category is searched among the categories seen, each change counting as one spread.
    let is_category = |j: usize| categorical.get(j).copied().unwrap_or(false);
    for (j, s) in spread.iter_mut().enumerate() {
        if is_category(j) {
            s.0 = 1.0;
        }
    }
    let values = |j: usize, steps: usize| -> Vec<f32> {
        if is_category(j) {
            let mut seen: Vec<f32> = reference.column(j).to_vec();
            seen.sort_by(f32::total_cmp);
            seen.dedup();
            seen
        } else {
            grid(spread[j].1, spread[j].2, steps)
        }
    };
    let mut candidates: Vec<Vec<Change>> = Vec::new();
    for (j, &from) in x.iter().enumerate() {
        for to in values(j, steps) {
            if to != from {
                candidates.push(vec![Change {
                    feature: j,
                    from,
                    to,
                }]);
            }
        }
    }
    if let Some(found) = best_flip(model, x, &candidates, current, &spread)? {
        return Ok(Some(found));
    }
    let coarse = (steps / 5).max(4);
    let mut pairs = Vec::new();
    for (a, &i) in pair_features.iter().enumerate() {
        for &j in &pair_features[a + 1..] {
            for ti in values(i, coarse) {
                for tj in values(j, coarse) {
                    pairs.push(vec![
                        Change {
                            feature: i,
                            from: x[i],
                            to: ti,
                        },
                        Change {
                            feature: j,
                            from: x[j],
                            to: tj,
                        },
                    ]);
                }
            }
        }
    }
    best_flip(model, x, &pairs, current, &spread)
}

/// The candidate of smallest distance whose prediction is not `current`.
fn best_flip(
    model: &dyn Predict,
    x: &[f32],
    candidates: &[Vec<Change>],
    current: usize,
    spread: &[(f64, f32, f32)],
) -> Result<Option<Counterfactual>, ModelError> {
    if candidates.is_empty() {
        return Ok(None);
    }
    let m = x.len();
    let rows = Array2::from_shape_fn((candidates.len(), m), |(r, j)| {
        candidates[r]
            .iter()
            .find(|c| c.feature == j)
            .map_or(x[j], |c| c.to)
    });
    let p = model.predict(rows.view())?;
    let distance = |c: &[Change]| -> f64 {
        c.iter()
            .map(|c| (c.to as f64 - c.from as f64).abs() / spread[c.feature].0)
            .sum()
    };
    let best = (0..candidates.len())
        .filter(|&r| argmax(p.row(r)) != current)
        .min_by(|&a, &b| {
            distance(&candidates[a])
                .total_cmp(&distance(&candidates[b]))
                .then(a.cmp(&b))
        });
    Ok(best.map(|r| {
        let class = argmax(p.row(r));
        Counterfactual {
            changes: candidates[r].clone(),
            class,
            probability: p[[r, class]],
            distance: distance(&candidates[r]),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Class 1 when x0 + 2·x1 > 3.
    struct Threshold;
    impl Predict for Threshold {
        fn predict(&self, x: ArrayView2<f32>) -> Result<Array2<f32>, ModelError> {
            Ok(Array2::from_shape_fn((x.nrows(), 2), |(r, c)| {
                let one = (x[[r, 0]] + 2.0 * x[[r, 1]] > 3.0) as u8 as f32;
                if c == 1 { one } else { 1.0 - one }
            }))
        }
    }

    #[test]
    fn the_smallest_single_change_in_spread_units_wins() {
        // Both features range over 0..4; x = (1, 0.5): class 0. x1 must pass 1 (grid: 1.1, a
        // change of 0.6), x0 must pass 2 (2.1, a change of 1.1): x1 wins.
        let reference = Array2::from_shape_fn((41, 2), |(r, _)| r as f32 * 0.1);
        let found = nearest(
            &Threshold,
            &[1.0, 0.5],
            reference.view(),
            0,
            40,
            &[0, 1],
            &[],
        )
        .unwrap()
        .unwrap();
        assert_eq!(found.class, 1);
        assert_eq!(found.changes.len(), 1);
        assert_eq!(found.changes[0].feature, 1);
        assert!(
            (found.changes[0].to - 1.1).abs() < 1e-5,
            "{:?}",
            found.changes
        );
    }

    #[test]
    fn pairs_are_tried_when_no_single_change_flips() {
        // Class 1 only when both features are high; each alone cannot reach it.
        struct Both;
        impl Predict for Both {
            fn predict(&self, x: ArrayView2<f32>) -> Result<Array2<f32>, ModelError> {
                Ok(Array2::from_shape_fn((x.nrows(), 2), |(r, c)| {
                    let one = (x[[r, 0]] > 2.0 && x[[r, 1]] > 2.0) as u8 as f32;
                    if c == 1 { one } else { 1.0 - one }
                }))
            }
        }
        let reference = Array2::from_shape_fn((41, 2), |(r, _)| r as f32 * 0.1);
        let found = nearest(&Both, &[0.5, 0.5], reference.view(), 0, 40, &[0, 1], &[])
            .unwrap()
            .unwrap();
        assert_eq!(found.changes.len(), 2);
        assert!(found.changes.iter().all(|c| c.to > 2.0));
        assert!(
            nearest(&Both, &[0.5, 0.5], reference.view(), 0, 40, &[0], &[])
                .unwrap()
                .is_none()
        );
    }
}
