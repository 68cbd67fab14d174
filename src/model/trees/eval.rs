//! Evaluating a [`TreeEnsemble`] on rows: each row walked down every tree to its leaf, the
//! leaves' values aggregated per target (sum, average, min or max) in the precision the weights
//! were stored in, then turned into the score output's columns.

use super::{Aggregate, Node, Real, TreeEnsemble};

impl TreeEnsemble {
    /// The leaf that row `x` reaches in the tree rooted at `root`.
    #[inline]
    pub fn leaf(&self, root: u32, x: &[f32]) -> &Node {
        let mut node = &self.nodes[root as usize];
        while !node.is_leaf() {
            node = &self.nodes[node.child(x[node.feature as usize]) as usize];
        }
        node
    }

    /// The (target, weight) pairs of a leaf.
    #[inline]
    pub fn weights(&self, leaf: &Node) -> &[(u32, f64)] {
        &self.leaf_weights[leaf.yes as usize..leaf.no as usize]
    }

    /// The aggregated leaf values of row `x`, one per target, before base values and the
    /// post-transform, summed in f64. These sums are what TreeSHAP attributes.
    pub fn raw_scores(&self, x: &[f32], out: &mut [f64]) {
        self.aggregate_into(x, out);
    }

    /// The leaf values of row `x` aggregated per target in the precision `T`.
    fn aggregate_into<T: Real>(&self, x: &[f32], out: &mut [T]) {
        out.fill(T::default());
        match self.aggregate {
            Aggregate::Sum | Aggregate::Average => {
                for &root in &self.roots {
                    for &(t, w) in self.weights(self.leaf(root, x)) {
                        out[t as usize] += T::from_f64(w);
                    }
                }
                if self.aggregate == Aggregate::Average {
                    let n = T::from_f64(self.n_trees().max(1) as f64);
                    out.iter_mut().for_each(|v| *v /= n);
                }
            }
            Aggregate::Min | Aggregate::Max => {
                let mut seen = vec![false; out.len()];
                for &root in &self.roots {
                    for &(t, w) in self.weights(self.leaf(root, x)) {
                        let w = T::from_f64(w);
                        let (slot, s) = (&mut out[t as usize], &mut seen[t as usize]);
                        let better = match self.aggregate {
                            Aggregate::Min => w < *slot,
                            _ => w > *slot,
                        };
                        if !*s || better {
                            *slot = w;
                            *s = true;
                        }
                    }
                }
            }
        }
    }

    /// Scores every row of `x` (rows × `width`, row-major) into `out` (rows × columns). Float
    /// weights are summed in float32, tree by tree, as onnxruntime does (so large sums round
    /// the same way); double weights (`*_as_tensor`) in f64.
    pub fn eval_rows(&self, x: &[f32], width: usize, out: &mut [f32]) {
        let k = self.n_columns();
        let mut raw = vec![0f64; self.n_targets];
        let mut raw32 = vec![0f32; self.n_targets];
        for (row, o) in x.chunks_exact(width.max(1)).zip(out.chunks_exact_mut(k)) {
            if self.float_sums {
                self.aggregate_into(row, &mut raw32);
                self.add_base(&mut raw32);
                raw.iter_mut().zip(&raw32).for_each(|(r, &v)| *r = v as f64);
            } else {
                self.aggregate_into(row, &mut raw);
                self.add_base(&mut raw);
            }
            self.finish(&raw, o);
        }
    }

    /// The predicted class index of one row of scores: the first largest.
    pub fn argmax(scores: &[f32]) -> usize {
        let mut best = 0;
        for (i, &s) in scores.iter().enumerate() {
            if s > scores[best] {
                best = i;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_nodes::stump;
    use super::*;

    fn predict(e: &TreeEnsemble, x: f32) -> f32 {
        let mut out = [0f32];
        e.eval_rows(&[x], 1, &mut out);
        out[0]
    }

    #[test]
    fn a_value_on_the_threshold_is_routed_by_the_mode() {
        let t = 0.1f32; // not exact in binary: compared in f32, as stored
        for (mode, on, below, above) in [
            ("BRANCH_LEQ", 10.0, 10.0, 20.0),
            ("BRANCH_LT", 20.0, 10.0, 20.0),
            ("BRANCH_GTE", 10.0, 20.0, 10.0),
            ("BRANCH_GT", 20.0, 20.0, 10.0),
            ("BRANCH_EQ", 10.0, 20.0, 20.0),
            ("BRANCH_NEQ", 20.0, 10.0, 10.0),
        ] {
            let e = stump(mode, t, false);
            assert_eq!(predict(&e, t), on, "{mode} on the threshold");
            assert_eq!(
                predict(&e, f32::from_bits(t.to_bits() - 1)),
                below,
                "{mode} below"
            );
            assert_eq!(
                predict(&e, f32::from_bits(t.to_bits() + 1)),
                above,
                "{mode} above"
            );
        }
    }

    #[test]
    fn missing_values_follow_the_tracking_flag() {
        assert_eq!(predict(&stump("BRANCH_LEQ", 1.0, true), f32::NAN), 10.0);
        assert_eq!(predict(&stump("BRANCH_LEQ", 1.0, false), f32::NAN), 20.0);
        assert_eq!(predict(&stump("BRANCH_NEQ", 1.0, false), f32::NAN), 10.0);
    }
}
