//! Is a saliency map faithful to the model? Deletion and insertion curves (Petsiuk et al. 2018):
//! remove the most salient pixels first and the class's score should fall fast (a low deletion
//! AUC); add them first to a blurred image and it should rise fast (a high insertion AUC). Both
//! are compared with the same curves for random pixel orders. All steps of all curves go to the
//! model in one batch.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::explain::image::{Baseline, SaliencyMap, scores};
use crate::explain::registry::ImageInput;
use crate::explain::{ExplainError, Predict, Progress};

/// Random orders averaged for the reference curves.
pub const RANDOM_ORDERS: usize = 3;

/// The curves of one map and their areas (the mean score over the fraction 0..1).
#[derive(Clone, Debug, PartialEq)]
pub struct Faithfulness {
    /// Score after deleting (inserting) the top `t / steps` of the pixels, t = 0..=steps.
    pub deletion: Vec<f64>,
    pub insertion: Vec<f64>,
    pub random_deletion: Vec<f64>,
    pub random_insertion: Vec<f64>,
}

/// How far (in area, scores being 0..1) a map's curve must beat random orders' to count as
/// faithful: a tie with random pixel orders is no evidence.
pub const MARGIN: f64 = 0.05;

/// Trapezoid area under a curve sampled evenly over 0..1.
pub fn auc(curve: &[f64]) -> f64 {
    if curve.len() < 2 {
        return curve.first().copied().unwrap_or(0.0);
    }
    let n = (curve.len() - 1) as f64;
    curve.windows(2).map(|w| (w[0] + w[1]) / 2.0).sum::<f64>() / n
}

impl Faithfulness {
    pub fn deletion_auc(&self) -> f64 {
        auc(&self.deletion)
    }
    pub fn insertion_auc(&self) -> f64 {
        auc(&self.insertion)
    }
    pub fn random_deletion_auc(&self) -> f64 {
        auc(&self.random_deletion)
    }
    pub fn random_insertion_auc(&self) -> f64 {
        auc(&self.random_insertion)
    }

    /// Deleting the map's pixels first drops the score faster than random orders, by at
    /// least [`MARGIN`].
    pub fn deletion_beats_random(&self) -> bool {
        self.deletion_auc() + MARGIN <= self.random_deletion_auc()
    }

    /// Inserting the map's pixels first raises the score faster than random orders, by at
    /// least [`MARGIN`].
    pub fn insertion_beats_random(&self) -> bool {
        self.insertion_auc() >= self.random_insertion_auc() + MARGIN
    }

    /// Deletion and insertion curves of `map` for `input`'s image and class, `steps` steps
    /// each; deleted pixels take the input's baseline value, insertion starts from the
    /// blurred image.
    pub fn measure(
        model: &dyn Predict,
        input: &ImageInput,
        map: &SaliencyMap,
        steps: usize,
        progress: &dyn Progress,
    ) -> Result<Faithfulness, ExplainError> {
        let ImageInput {
            x,
            shape,
            target,
            baseline,
            seed,
        } = *input;
        let (h, w) = (shape.height, shape.width);
        let steps = steps.max(1);
        let mut salient: Vec<usize> = (0..h * w).collect();
        salient.sort_by(|&a, &b| map.values[b].total_cmp(&map.values[a]).then(a.cmp(&b)));
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut orders = vec![salient];
        for _ in 0..RANDOM_ORDERS {
            let mut o: Vec<usize> = (0..h * w).collect();
            o.shuffle(&mut rng);
            orders.push(o);
        }
        // The rank of each pixel in each order, so an image is built in one pass.
        let ranks: Vec<Vec<usize>> = orders
            .iter()
            .map(|o| {
                let mut r = vec![0usize; o.len()];
                for (rank, &p) in o.iter().enumerate() {
                    r[p] = rank;
                }
                r
            })
            .collect();
        let deleted = baseline.image(x, shape);
        let blurred = Baseline::Blur.image(x, shape);
        let per_curve = steps + 1;
        // Image index: (order, insertion?, step).
        let n = orders.len() * 2 * per_curve;
        let fill = |r: usize, image: &mut [f32]| {
            let (order, rest) = (r / (2 * per_curve), r % (2 * per_curve));
            let (insert, step) = (rest / per_curve == 1, rest % per_curve);
            let k = (h * w * step).div_ceil(steps);
            let rank = &ranks[order];
            for c in 0..shape.channels {
                for y in 0..h {
                    for xx in 0..w {
                        let i = shape.index(y, xx, c);
                        let top = rank[y * w + xx] < k;
                        image[i] = match (insert, top) {
                            (false, true) => deleted[i],
                            (false, false) => x[i],
                            (true, true) => x[i],
                            (true, false) => blurred[i],
                        };
                    }
                }
            }
        };
        let s = scores(model, n, shape.len(), target, &fill, progress)?;
        let curve = |order: usize, insert: bool| -> Vec<f64> {
            let start = order * 2 * per_curve + if insert { per_curve } else { 0 };
            s[start..start + per_curve].to_vec()
        };
        let mean_of = |insert: bool| -> Vec<f64> {
            (0..per_curve)
                .map(|t| {
                    (1..orders.len()).map(|o| curve(o, insert)[t]).sum::<f64>()
                        / (orders.len() - 1) as f64
                })
                .collect()
        };
        Ok(Faithfulness {
            deletion: curve(0, false),
            insertion: curve(0, true),
            random_deletion: mean_of(false),
            random_insertion: mean_of(true),
        })
    }
}

/// Pearson correlation of two maps (the randomisation check compares a map with the map of
/// the same image under a model whose last layer is random).
pub fn map_correlation(a: &SaliencyMap, b: &SaliencyMap) -> f64 {
    super::correlation(&a.values, &b.values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_the_mean_height() {
        assert!((auc(&[1.0, 1.0, 1.0]) - 1.0).abs() < 1e-12);
        assert!((auc(&[1.0, 0.0]) - 0.5).abs() < 1e-12);
        assert!((auc(&[0.0, 1.0, 0.0]) - 0.5).abs() < 1e-12);
    }
}
