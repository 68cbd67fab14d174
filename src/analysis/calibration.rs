//! Calibration: does a predicted probability of 80% come true 80% of the time? Reliability bins
//! (equal-width on the predicted probability) and the expected calibration error,
//! ECE = Σ_bins (n_b / N) · |observed_b − predicted_b| (Guo et al. 2017).

/// One bin of a reliability diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Bin {
    /// The bin's range of predicted probabilities, `[lo, hi)` (the last bin includes 1).
    pub lo: f64,
    pub hi: f64,
    /// Rows whose probability falls in the bin.
    pub rows: Vec<usize>,
    /// Mean predicted probability of those rows.
    pub predicted: f64,
    /// Share of those rows where the event happened.
    pub observed: f64,
}

/// A reliability diagram: bins and their ECE.
#[derive(Clone, Debug, PartialEq)]
pub struct Reliability {
    pub bins: Vec<Bin>,
    /// Expected calibration error over all rows (NaN when there are none).
    pub ece: f64,
    /// Rows counted.
    pub total: usize,
}

impl Reliability {
    /// Bins `(row, probability, happened)` triples into `n_bins` equal-width bins.
    pub fn new(items: impl IntoIterator<Item = (usize, f64, bool)>, n_bins: usize) -> Self {
        let n_bins = n_bins.max(1);
        let mut sums = vec![(0f64, 0usize, Vec::new()); n_bins];
        let mut total = 0;
        for (row, p, happened) in items {
            if !p.is_finite() {
                continue;
            }
            let b = ((p.clamp(0.0, 1.0) * n_bins as f64) as usize).min(n_bins - 1);
            sums[b].0 += p;
            sums[b].1 += happened as usize;
            sums[b].2.push(row);
            total += 1;
        }
        let mut ece = 0.0;
        let bins = sums
            .into_iter()
            .enumerate()
            .map(|(b, (sum_p, hits, rows))| {
                let n = rows.len() as f64;
                let (predicted, observed) = if rows.is_empty() {
                    (f64::NAN, f64::NAN)
                } else {
                    (sum_p / n, hits as f64 / n)
                };
                if !rows.is_empty() {
                    ece += n / total as f64 * (observed - predicted).abs();
                }
                Bin {
                    lo: b as f64 / n_bins as f64,
                    hi: (b + 1) as f64 / n_bins as f64,
                    rows,
                    predicted,
                    observed,
                }
            })
            .collect();
        Reliability {
            bins,
            ece: if total == 0 { f64::NAN } else { ece },
            total,
        }
    }

    /// Top-label calibration: the predicted class's probability against being right.
    pub fn top_label(confidence: &[f32], correct: &[bool], rows: &[usize], n_bins: usize) -> Self {
        Self::new(
            rows.iter().map(|&r| (r, confidence[r] as f64, correct[r])),
            n_bins,
        )
    }

    /// One class, one-vs-rest: the probability of `class` against the row being of it.
    pub fn for_class(
        probabilities: ndarray::ArrayView2<f32>,
        truth: &[usize],
        class: usize,
        rows: &[usize],
        n_bins: usize,
    ) -> Self {
        Self::new(
            rows.iter()
                .map(|&r| (r, probabilities[[r, class]] as f64, truth[r] == class)),
            n_bins,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_of_hand_computed_bins() {
        // Bin [0.0, 0.5): p = 0.2, 0.3 with one hit → predicted 0.25, observed 0.5.
        // Bin [0.5, 1.0]: p = 0.9, 0.9, 1.0 with three hits → predicted 0.9333, observed 1.
        let items = [
            (0, 0.2, true),
            (1, 0.3, false),
            (2, 0.9, true),
            (3, 0.9, true),
            (4, 1.0, true),
        ];
        let r = Reliability::new(items, 2);
        assert_eq!(r.total, 5);
        assert_eq!(r.bins[0].rows, vec![0, 1]);
        assert_eq!(r.bins[1].rows, vec![2, 3, 4], "p = 1 falls in the last bin");
        assert!((r.bins[0].predicted - 0.25).abs() < 1e-12);
        assert!((r.bins[0].observed - 0.5).abs() < 1e-12);
        let want = 2.0 / 5.0 * 0.25 + 3.0 / 5.0 * (1.0 - 2.8 / 3.0);
        assert!((r.ece - want).abs() < 1e-12, "{} vs {want}", r.ece);
    }

    #[test]
    fn perfectly_calibrated_is_zero_and_empty_is_nan() {
        let items = (0..10).map(|i| (i, 0.5, i % 2 == 0));
        assert!(Reliability::new(items, 10).ece.abs() < 1e-12);
        assert!(Reliability::new(std::iter::empty(), 10).ece.is_nan());
    }
}
