//! Reference ranges: where a row's value of each feature stands in the reference data (the
//! training split, else every row), overall and within each class.

use ndarray::ArrayView2;

use crate::analysis::percentile_rank;

/// One feature's reference range and the row's place in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    pub feature: usize,
    pub value: f32,
    /// 5th, 50th and 95th percentiles of the reference.
    pub p5: f32,
    pub p50: f32,
    pub p95: f32,
    /// Smallest and largest reference value.
    pub min: f32,
    pub max: f32,
    /// The value's mid-rank percentile in the reference.
    pub percentile: f64,
    /// The same within each class of the reference (class index, percentile); empty without
    /// labels. For a category: its share of each class's reference rows.
    pub by_class: Vec<(usize, f64)>,
    /// For a text feature: the value's category; `percentile` is then its share (in percent)
    /// of the reference rows.
    pub category: Option<String>,
}

/// The `q` quantile (0..1) of sorted values, by linear interpolation.
pub fn quantile(sorted: &[f32], q: f64) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let at = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (i, frac) = (at.floor() as usize, at - at.floor());
    let next = sorted[(i + 1).min(sorted.len() - 1)];
    (sorted[i] as f64 + (next as f64 - sorted[i] as f64) * frac) as f32
}

impl Range {
    /// The range of column `j` of `reference` (rows × features, with `classes` per row when
    /// known) for the value `value`.
    pub fn new(
        reference: ArrayView2<f32>,
        classes: Option<&[usize]>,
        n_classes: usize,
        j: usize,
        value: f32,
    ) -> Range {
        let mut sorted: Vec<f32> = reference.column(j).to_vec();
        sorted.sort_by(f32::total_cmp);
        let by_class = match classes {
            Some(classes) => (0..n_classes)
                .filter_map(|c| {
                    let col: Vec<f32> = reference
                        .column(j)
                        .iter()
                        .zip(classes)
                        .filter(|(_, k)| **k == c)
                        .map(|(v, _)| *v)
                        .collect();
                    (!col.is_empty()).then(|| (c, percentile_rank(col, value)))
                })
                .collect(),
            None => Vec::new(),
        };
        Range {
            feature: j,
            value,
            p5: quantile(&sorted, 0.05),
            p50: quantile(&sorted, 0.5),
            p95: quantile(&sorted, 0.95),
            min: sorted.first().copied().unwrap_or(f32::NAN),
            max: sorted.last().copied().unwrap_or(f32::NAN),
            percentile: percentile_rank(sorted.iter().copied(), value),
            by_class,
            category: None,
        }
    }

    /// The range of a category: its share of the reference rows (and of each class's), in
    /// place of percentiles.
    pub fn of_category(
        self,
        reference: ArrayView2<f32>,
        classes: Option<&[usize]>,
        category: &str,
    ) -> Range {
        let column = reference.column(self.feature);
        let share = |rows: &mut dyn Iterator<Item = f32>| {
            let (hits, n) = rows.fold((0usize, 0usize), |(h, n), v| {
                (h + usize::from(v == self.value), n + 1)
            });
            if n == 0 {
                0.0
            } else {
                100.0 * hits as f64 / n as f64
            }
        };
        let percentile = share(&mut column.iter().copied());
        let by_class = self
            .by_class
            .iter()
            .map(|&(c, _)| {
                let mut of_class = column
                    .iter()
                    .zip(classes.unwrap_or_default())
                    .filter(|(_, k)| **k == c)
                    .map(|(v, _)| *v);
                (c, share(&mut of_class))
            })
            .collect();
        Range {
            percentile,
            by_class,
            category: Some(category.to_string()),
            ..self
        }
    }

    /// True when the value is outside the 5th–95th percentile band.
    pub fn is_unusual(&self) -> bool {
        self.value < self.p5 || self.value > self.p95
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn percentiles_overall_and_by_class() {
        // Column 0: 0..100; class 0 for the first half, 1 for the rest.
        let reference = Array2::from_shape_fn((100, 1), |(r, _)| r as f32);
        let classes: Vec<usize> = (0..100).map(|r| (r >= 50) as usize).collect();
        let r = Range::new(reference.view(), Some(&classes), 2, 0, 75.0);
        assert!((r.percentile - 75.5).abs() < 1e-9);
        assert_eq!(r.by_class, vec![(0, 100.0), (1, 51.0)]);
        assert!((r.p5 - 4.95).abs() < 1e-4);
        assert!((r.p95 - 94.05).abs() < 1e-4);
        assert!(!r.is_unusual());
        assert!(Range::new(reference.view(), None, 2, 0, 99.5).is_unusual());
    }
}
