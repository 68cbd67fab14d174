//! Classification metrics from true and predicted classes.

use std::fmt;

/// Counts of (true class, predicted class) pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    /// `counts[t][p]`: rows of true class `t` predicted as `p`.
    pub counts: Vec<Vec<usize>>,
}

/// Precision, recall and F1 of one class, one-vs-rest.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassMetrics {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows whose true class this is.
    pub support: usize,
}

impl ConfusionMatrix {
    /// Tallies `truth` against `predicted` over the rows `rows` (all rows when `None`).
    pub fn new(
        n_classes: usize,
        truth: &[usize],
        predicted: &[usize],
        rows: Option<&[usize]>,
    ) -> Self {
        let mut counts = vec![vec![0; n_classes]; n_classes];
        let mut add = |r: usize| {
            if let (Some(&t), Some(&p)) = (truth.get(r), predicted.get(r))
                && t < n_classes
                && p < n_classes
            {
                counts[t][p] += 1;
            }
        };
        match rows {
            Some(rows) => rows.iter().copied().for_each(&mut add),
            None => (0..truth.len().min(predicted.len())).for_each(&mut add),
        }
        ConfusionMatrix { counts }
    }

    /// Number of rows tallied.
    pub fn total(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// Rows on the diagonal.
    pub fn correct(&self) -> usize {
        (0..self.counts.len()).map(|i| self.counts[i][i]).sum()
    }

    /// Share of rows predicted correctly (NaN for no rows).
    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total() as f64
    }

    /// One-vs-rest metrics of class `c`. A ratio with nothing to count is 0, as scikit-learn's
    /// `zero_division=0` reports it.
    pub fn class_metrics(&self, c: usize) -> ClassMetrics {
        let tp = self.counts[c][c] as f64;
        let predicted: usize = self.counts.iter().map(|row| row[c]).sum();
        let support: usize = self.counts[c].iter().sum();
        let ratio = |num: f64, den: usize| if den == 0 { 0.0 } else { num / den as f64 };
        let precision = ratio(tp, predicted);
        let recall = ratio(tp, support);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        ClassMetrics {
            precision,
            recall,
            f1,
            support,
        }
    }
}

/// A plain-text report: accuracy, the confusion matrix and per-class metrics.
pub struct MetricsReport<'a> {
    pub matrix: &'a ConfusionMatrix,
    pub class_names: &'a [String],
}

impl fmt::Display for MetricsReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.matrix;
        let width = self
            .class_names
            .iter()
            .map(|c| c.chars().count())
            .max()
            .unwrap_or(0)
            .max(9);
        writeln!(f, "confusion matrix (rows: true class, columns: predicted)")?;
        write!(f, "  {:>width$}", "")?;
        for name in self.class_names {
            write!(f, " {name:>width$}")?;
        }
        writeln!(f)?;
        for (t, name) in self.class_names.iter().enumerate() {
            write!(f, "  {name:>width$}")?;
            for count in &m.counts[t] {
                write!(f, " {count:>width$}")?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "  {:>width$} {:>9} {:>9} {:>9} {:>9}",
            "class", "precision", "recall", "f1", "support"
        )?;
        for (c, name) in self.class_names.iter().enumerate() {
            let cm = m.class_metrics(c);
            writeln!(
                f,
                "  {name:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}",
                cm.precision, cm.recall, cm.f1, cm.support
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_three_class_example() {
        // truth:     0 0 0 1 1 2 2 2 2
        // predicted: 0 0 1 1 2 2 2 2 0
        let truth = [0, 0, 0, 1, 1, 2, 2, 2, 2];
        let predicted = [0, 0, 1, 1, 2, 2, 2, 2, 0];
        let m = ConfusionMatrix::new(3, &truth, &predicted, None);
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![1, 0, 3]]);
        assert_eq!(m.correct(), 6);
        assert!((m.accuracy() - 6.0 / 9.0).abs() < 1e-12);
        let c0 = m.class_metrics(0);
        assert!((c0.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((c0.recall - 2.0 / 3.0).abs() < 1e-12);
        let c1 = m.class_metrics(1);
        assert!((c1.precision - 0.5).abs() < 1e-12);
        assert!((c1.recall - 0.5).abs() < 1e-12);
        let c2 = m.class_metrics(2);
        assert!((c2.precision - 0.75).abs() < 1e-12 && (c2.recall - 0.75).abs() < 1e-12);
        assert_eq!(c2.support, 4);
    }

    #[test]
    fn subset_of_rows_and_empty_class() {
        let m = ConfusionMatrix::new(2, &[0, 1, 1], &[0, 0, 0], Some(&[0, 2]));
        assert_eq!(m.total(), 2);
        let c1 = m.class_metrics(1);
        assert_eq!((c1.precision, c1.recall, c1.f1), (0.0, 0.0, 0.0));
    }
}
