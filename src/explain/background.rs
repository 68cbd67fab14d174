//! The background: the reference rows an explanation is measured against. The first N rows, a
//! seeded random N, or N k-means centroids weighted by their cluster sizes (as shap.kmeans,
//! with each centroid value snapped to the nearest value observed in its feature), or every row
//! of a file the user names.

use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand::seq::index::sample;

use super::ExplainError;

/// How the background rows are picked from the reference data.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum BackgroundMethod {
    /// The first N rows.
    First,
    /// N rows drawn at random without replacement (seeded).
    #[default]
    Random,
    /// N k-means centroids, weighted by cluster size.
    Kmeans,
}

impl BackgroundMethod {
    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            BackgroundMethod::First => "first",
            BackgroundMethod::Random => "random",
            BackgroundMethod::Kmeans => "kmeans",
        }
    }
}

/// Reference rows with weights that sum to one.
#[derive(Clone, Debug, PartialEq)]
pub struct Background {
    pub rows: Array2<f32>,
    pub weights: Vec<f64>,
}

impl Background {
    /// Every row of `rows`, equally weighted.
    pub fn all(rows: ArrayView2<f32>) -> Result<Background, ExplainError> {
        if rows.nrows() == 0 {
            return Err(ExplainError::Invalid("the background has no rows".into()));
        }
        let n = rows.nrows();
        Ok(Background {
            rows: rows.to_owned(),
            weights: vec![1.0 / n as f64; n],
        })
    }

    /// `n` rows of `data` picked by `method`; all rows when there are no more than `n`.
    pub fn pick(
        data: ArrayView2<f32>,
        n: usize,
        method: BackgroundMethod,
        seed: u64,
    ) -> Result<Background, ExplainError> {
        if n == 0 {
            return Err(ExplainError::Invalid(
                "the background size must be at least 1".into(),
            ));
        }
        if data.nrows() <= n {
            return Background::all(data);
        }
        let mut rng = super::row_rng(seed, usize::MAX);
        match method {
            BackgroundMethod::First => Background::all(data.slice(ndarray::s![..n, ..])),
            BackgroundMethod::Random => {
                let mut picked = sample(&mut rng, data.nrows(), n).into_vec();
                picked.sort_unstable();
                Background::all(data.select(Axis(0), &picked).view())
            }
            BackgroundMethod::Kmeans => Ok(kmeans(data, n, &mut rng)),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.nrows()
    }

    /// True when empty (never, once built).
    pub fn is_empty(&self) -> bool {
        self.rows.nrows() == 0
    }

    /// The weighted mean of each feature.
    pub fn mean(&self) -> Vec<f64> {
        (0..self.rows.ncols())
            .map(|j| {
                self.rows
                    .column(j)
                    .iter()
                    .zip(&self.weights)
                    .map(|(&v, w)| v as f64 * w)
                    .sum()
            })
            .collect()
    }
}

/// Lloyd's k-means with k-means++ seeding on standardised features, centroids then snapped to
/// the nearest observed value of each feature and weighted by cluster size.
fn kmeans(data: ArrayView2<f32>, k: usize, rng: &mut impl Rng) -> Background {
    let (n, m) = data.dim();
    let mean = data
        .mean_axis(Axis(0))
        .unwrap_or_else(|| ndarray::Array1::zeros(m));
    let std = data
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 0.0 { s } else { 1.0 });
    let z = (&data - &mean) / &std;
    let dist = |a: ndarray::ArrayView1<f32>, b: ndarray::ArrayView1<f32>| {
        a.iter()
            .zip(b)
            .map(|(x, y)| ((x - y) as f64).powi(2))
            .sum::<f64>()
    };

    // k-means++: each next centre drawn with probability proportional to squared distance.
    let mut centres = vec![rng.random_range(0..n)];
    let mut nearest: Vec<f64> = (0..n).map(|i| dist(z.row(i), z.row(centres[0]))).collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        let next = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            nearest.iter().position(|&d| {
                target -= d;
                target <= 0.0
            })
        } else {
            None
        }
        .unwrap_or_else(|| rng.random_range(0..n));
        centres.push(next);
        for (i, d) in nearest.iter_mut().enumerate() {
            *d = d.min(dist(z.row(i), z.row(next)));
        }
    }
    let mut c = z.select(Axis(0), &centres);
    let mut assign = vec![0usize; n];
    for _ in 0..100 {
        let mut changed = false;
        for (i, assigned) in assign.iter_mut().enumerate() {
            let best = (0..k)
                .min_by(|&a, &b| dist(z.row(i), c.row(a)).total_cmp(&dist(z.row(i), c.row(b))))
                .unwrap_or(0);
            changed |= best != *assigned;
            *assigned = best;
        }
        let mut sums = Array2::<f32>::zeros((k, m));
        let mut counts = vec![0usize; k];
        for i in 0..n {
            sums.row_mut(assign[i]).scaled_add(1.0, &z.row(i));
            counts[assign[i]] += 1;
        }
        for (j, &count) in counts.iter().enumerate() {
            if count > 0 {
                c.row_mut(j).assign(&(&sums.row(j) / count as f32));
            }
        }
        if !changed {
            break;
        }
    }
    let counts: Vec<usize> = (0..k)
        .map(|j| assign.iter().filter(|&&a| a == j).count())
        .collect();
    let kept: Vec<usize> = (0..k).filter(|&j| counts[j] > 0).collect();
    let rows = Array2::from_shape_fn((kept.len(), m), |(r, f)| {
        let value = c[[kept[r], f]] * std[f] + mean[f];
        // Snap to the nearest observed value so categorical codes stay valid.
        data.column(f)
            .iter()
            .copied()
            .min_by(|a, b| (a - value).abs().total_cmp(&(b - value).abs()))
            .unwrap_or(value)
    });
    let weights = kept.iter().map(|&j| counts[j] as f64 / n as f64).collect();
    Background { rows, weights }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn data() -> Array2<f32> {
        Array2::from_shape_fn((40, 2), |(i, j)| {
            if i < 30 {
                (i % 3) as f32 + j as f32
            } else {
                100.0 + (i % 2) as f32
            }
        })
    }

    #[test]
    fn first_and_random_pick_real_rows_with_equal_weights() {
        let d = data();
        let first = Background::pick(d.view(), 5, BackgroundMethod::First, 0).unwrap();
        assert_eq!(first.rows, d.slice(ndarray::s![..5, ..]));
        let a = Background::pick(d.view(), 5, BackgroundMethod::Random, 7).unwrap();
        let b = Background::pick(d.view(), 5, BackgroundMethod::Random, 7).unwrap();
        assert_eq!(a, b, "same seed, same background");
        assert_eq!(a.weights, vec![0.2; 5]);
        let small = Background::pick(d.view(), 100, BackgroundMethod::Random, 7).unwrap();
        assert_eq!(small.len(), 40, "fewer rows than asked: all of them");
    }

    #[test]
    fn kmeans_weights_are_cluster_shares_and_values_are_observed() {
        let d = data();
        let bg = Background::pick(d.view(), 2, BackgroundMethod::Kmeans, 3).unwrap();
        assert_eq!(bg.len(), 2);
        let mut w = bg.weights.clone();
        w.sort_by(f64::total_cmp);
        assert!(
            (w[0] - 10.0 / 40.0).abs() < 1e-12 && (w[1] - 30.0 / 40.0).abs() < 1e-12,
            "{w:?}"
        );
        for v in bg.rows.iter() {
            assert!(d.iter().any(|x| x == v), "{v} is not an observed value");
        }
        assert!((bg.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn weighted_mean() {
        let bg = Background {
            rows: array![[0.0, 1.0], [2.0, 3.0]],
            weights: vec![0.25, 0.75],
        };
        assert_eq!(bg.mean(), vec![1.5, 2.5]);
    }
}
