//! Analysis of predictions: [`Predictions`] (the predicted class and its confidence per row),
//! [`metrics`] (accuracy, confusion matrix, per-class precision, recall and F1),
//! [`calibration`] (reliability bins and ECE) and [`slices`] (where the errors concentrate);
//! for saliency maps, [`faithfulness`] and the cascading [`randomisation`] check.

pub mod calibration;
pub mod failures;
pub mod faithfulness;
pub mod metrics;
mod predictions;
pub mod randomisation;
pub mod slices;

pub use metrics::{ClassMetrics, ConfusionMatrix};
pub use predictions::Predictions;

/// Pearson correlation of two series (0 when either is constant or they are shorter than 2).
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let (ma, mb) = (
        a.iter().sum::<f64>() / n as f64,
        b.iter().sum::<f64>() / n as f64,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// Where `value` stands among `column`, in percent: the share of values below it plus half the
/// share equal to it (the mid-rank percentile). NaN for an empty column.
pub fn percentile_rank(column: impl IntoIterator<Item = f32>, value: f32) -> f64 {
    let (mut below, mut equal, mut n) = (0usize, 0usize, 0usize);
    for v in column {
        n += 1;
        if v < value {
            below += 1;
        } else if v == value {
            equal += 1;
        }
    }
    100.0 * (below as f64 + 0.5 * equal as f64) / n as f64
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentile_rank_is_mid_rank() {
        let col = [1.0, 2.0, 2.0, 3.0];
        assert_eq!(super::percentile_rank(col, 2.0), 50.0);
        assert_eq!(super::percentile_rank(col, 0.0), 0.0);
        assert_eq!(super::percentile_rank(col, 3.0), 87.5);
    }
}
