//! The cascading model-randomisation check (Adebayo et al. 2018, "Sanity checks for saliency
//! maps"): the weighted layers are randomised from the output down, one more at each step,
//! and the map of the same image is made again under each randomised model. A map that
//! explains what the model learned changes as its layers are destroyed — its rank
//! correlation with the original falls toward zero; a map that stays the same shows the
//! image (edges) more than the model.
//!
//! The similarity is Spearman's rank correlation of the maps' absolute values, as in the
//! paper (the sign of a map flips freely under random weights).

use crate::explain::image::SaliencyMap;

/// One step of the cascade: the layers randomised so far (this one and every one above it).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CascadeStep {
    /// The lowest layer randomised at this step (its node's name).
    pub layer: String,
    /// Layers randomised, counted from the output.
    pub layers_randomised: usize,
    /// Spearman's rank correlation of |map| under this model with |map| of the original.
    pub rank_correlation: f64,
}

/// Ranks of `values` (1-based, ties given their mean rank).
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// Spearman's rank correlation of two series (0 when either is constant).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    super::correlation(&ranks(a), &ranks(b))
}

/// Spearman's rank correlation of the absolute values of two maps.
pub fn abs_rank_correlation(a: &SaliencyMap, b: &SaliencyMap) -> f64 {
    let abs = |m: &SaliencyMap| m.values.iter().map(|v| v.abs()).collect::<Vec<_>>();
    spearman(&abs(a), &abs(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_share_ties_and_spearman_reads_order_only() {
        assert_eq!(ranks(&[3.0, 1.0, 2.0, 1.0]), vec![4.0, 1.5, 3.0, 1.5]);
        // Any increasing transform keeps the rank correlation at 1; reversing makes it −1.
        let a = [0.1, 0.5, 0.2, 0.9, 0.4];
        let cubed: Vec<f64> = a.iter().map(|v| v * v * v + 7.0).collect();
        assert!((spearman(&a, &cubed) - 1.0).abs() < 1e-12);
        let reversed: Vec<f64> = a.iter().map(|v| -v).collect();
        assert!((spearman(&a, &reversed) + 1.0).abs() < 1e-12);
        // The closed form 1 − 6Σd²/(n(n²−1)) without ties: ranks 1..5 against 2,1,4,3,5.
        let b = [0.2, 0.1, 0.4, 0.3, 0.5];
        let c = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((spearman(&b, &c) - (1.0 - 6.0 * 4.0 / 120.0)).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
    }
}
