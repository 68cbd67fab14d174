//! Path-dependent TreeSHAP (Lundberg et al. 2018, Algorithm 2): absent features are integrated
//! out along the trees' own splits, each branch weighted by the share of training rows (the
//! covers) that took it. The unique path of splits above a node is extended and unwound as the
//! recursion goes down, so one pass per tree gives every feature's value exactly.

use std::sync::Arc;

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::{State, TreeShap, check_width};
use crate::explain::{ExplainError, Link};
use crate::model::trees::{Node, TreeEnsemble};

impl TreeShap {
    /// Path-dependent TreeSHAP with covers from `training` rows.
    pub fn path_dependent(
        trees: Arc<TreeEnsemble>,
        training: ArrayView2<f32>,
        link: Link,
    ) -> Result<TreeShap, ExplainError> {
        Self::check(&trees, link)?;
        check_width(&trees, training.ncols())?;
        if training.nrows() == 0 {
            return Err(ExplainError::Invalid(
                "path-dependent TreeSHAP needs training rows for its covers".into(),
            ));
        }
        let covers = trees.covers(training);
        let mut mean_raw = vec![0f64; trees.n_targets];
        let scale = trees.leaf_scale();
        for &root in &trees.roots {
            let total = covers[root as usize];
            expected_leaves(&trees, root, &covers, total, &mut |leaf, share| {
                for &(t, v) in trees.weights(leaf) {
                    mean_raw[t as usize] += share * v * scale;
                }
            });
        }
        let mut shares = vec![1.0; trees.nodes.len()];
        for (i, node) in trees.nodes.iter().enumerate() {
            if !node.is_leaf() {
                for c in [node.yes, node.no] {
                    shares[c as usize] = if covers[i] > 0.0 {
                        covers[c as usize] / covers[i]
                    } else {
                        0.0
                    };
                }
            }
        }
        Ok(TreeShap {
            trees,
            link,
            state: State::PathDependent { shares, mean_raw },
        })
    }
}

impl TreeEnsemble {
    /// How many of `rows` reach each node (the covers path-dependent TreeSHAP weights by).
    pub fn covers(&self, rows: ArrayView2<f32>) -> Vec<f64> {
        let rows = rows.as_standard_layout();
        let width = rows.ncols();
        let data = rows.as_slice().unwrap_or_default();
        data.par_chunks(width.max(1) * 64)
            .fold(
                || vec![0f64; self.nodes.len()],
                |mut covers, chunk| {
                    for x in chunk.chunks_exact(width.max(1)) {
                        for &root in &self.roots {
                            let mut i = root as usize;
                            loop {
                                covers[i] += 1.0;
                                let node = &self.nodes[i];
                                if node.is_leaf() {
                                    break;
                                }
                                i = node.child(x[node.feature as usize]) as usize;
                            }
                        }
                    }
                    covers
                },
            )
            .reduce(
                || vec![0f64; self.nodes.len()],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
                    a
                },
            )
    }
}

/// Adds the attributions of row `x` to `phi` (features × targets, row-major): one recursion per
/// tree, each node's children weighted by `shares`.
pub(super) fn attribute(t: &TreeEnsemble, x: &[f32], shares: &[f64], phi: &mut [f64]) {
    let stride = t.max_depth + 2;
    let mut buffer = vec![PathElem::default(); stride * (t.max_depth + 2)];
    let mut walk = PathDependent {
        trees: t,
        x,
        shares,
        scale: t.leaf_scale(),
        stride,
        phi,
    };
    for &root in &t.roots {
        walk.recurse(root, 0, &mut buffer, 0, 1.0, 1.0, -1);
    }
}

/// Calls `visit(leaf, share)` for every leaf under `i`, with the share of `total` cover that
/// reaches it.
fn expected_leaves(
    trees: &TreeEnsemble,
    i: u32,
    covers: &[f64],
    total: f64,
    visit: &mut dyn FnMut(&Node, f64),
) {
    let node = &trees.nodes[i as usize];
    if node.is_leaf() {
        if total > 0.0 {
            visit(node, covers[i as usize] / total);
        }
        return;
    }
    expected_leaves(trees, node.yes, covers, total, visit);
    expected_leaves(trees, node.no, covers, total, visit);
}

#[derive(Clone, Copy, Default)]
struct PathElem {
    feature: i64,
    zero: f64,
    one: f64,
    weight: f64,
}

/// Adds a split to the unique path `p[..=l]` (Lundberg et al., EXTEND).
fn extend(p: &mut [PathElem], l: usize, zero: f64, one: f64, feature: i64) {
    p[l] = PathElem {
        feature,
        zero,
        one,
        weight: if l == 0 { 1.0 } else { 0.0 },
    };
    let inv = 1.0 / (l + 1) as f64;
    for i in (0..l).rev() {
        p[i + 1].weight += one * p[i].weight * (i + 1) as f64 * inv;
        p[i].weight = zero * p[i].weight * (l - i) as f64 * inv;
    }
}

/// Removes element `k` from the path `p[..=l]` (UNWIND).
fn unwind(p: &mut [PathElem], l: usize, k: usize) {
    let (one, zero) = (p[k].one, p[k].zero);
    let n = (l + 1) as f64;
    let mut next = p[l].weight;
    if one != 0.0 {
        let inv_one = 1.0 / one;
        for i in (0..l).rev() {
            let tmp = p[i].weight;
            p[i].weight = next * n * inv_one / (i + 1) as f64;
            next = tmp - p[i].weight * zero * (l - i) as f64 / n;
        }
    } else {
        let inv_zero = 1.0 / zero;
        for i in (0..l).rev() {
            p[i].weight = p[i].weight * n * inv_zero / (l - i) as f64;
        }
    }
    for i in k..l {
        p[i].feature = p[i + 1].feature;
        p[i].zero = p[i + 1].zero;
        p[i].one = p[i + 1].one;
    }
}

/// 1/k for the small k path lengths reach (a path is never longer than a tree is deep).
const RECIPROCALS: [f64; 65] = {
    let mut r = [0.0; 65];
    let mut k = 1;
    while k < 65 {
        r[k] = 1.0 / k as f64;
        k += 1;
    }
    r
};

fn reciprocal(k: usize) -> f64 {
    RECIPROCALS
        .get(k)
        .copied()
        .unwrap_or_else(|| 1.0 / k as f64)
}

/// The total weight of the path with element `k` unwound, without modifying it.
fn unwound_sum(p: &[PathElem], l: usize, k: usize) -> f64 {
    let (one, zero) = (p[k].one, p[k].zero);
    let mut next = p[l].weight;
    let mut total = 0.0;
    if one != 0.0 {
        let inv_one = 1.0 / one;
        for i in (0..l).rev() {
            let tmp = next * inv_one * reciprocal(i + 1);
            total += tmp;
            next = p[i].weight - tmp * zero * (l - i) as f64;
        }
    } else {
        let inv_zero = 1.0 / zero;
        for i in (0..l).rev() {
            total += p[i].weight * inv_zero * reciprocal(l - i);
        }
    }
    total * (l + 1) as f64
}

struct PathDependent<'a> {
    trees: &'a TreeEnsemble,
    x: &'a [f32],
    shares: &'a [f64],
    scale: f64,
    /// Elements per recursion level in the scratch buffer.
    stride: usize,
    phi: &'a mut [f64],
}

impl PathDependent<'_> {
    /// RECURSE of Algorithm 2: `level` is the recursion depth (which slice of `buffer` holds
    /// this node's path), `l` the path's unique depth once this split is added.
    #[allow(clippy::too_many_arguments)]
    fn recurse(
        &mut self,
        i: u32,
        level: usize,
        buffer: &mut [PathElem],
        l: usize,
        zero: f64,
        one: f64,
        feature: i64,
    ) {
        let s = self.stride;
        // This level's path: the parent's first `l` elements, then the new split.
        if level > 0 {
            let (before, after) = buffer.split_at_mut(level * s);
            after[..l].copy_from_slice(&before[(level - 1) * s..(level - 1) * s + l]);
        }
        let own = &mut buffer[level * s..(level + 1) * s];
        extend(own, l, zero, one, feature);
        let node = &self.trees.nodes[i as usize];
        let k = self.trees.n_targets;
        if node.is_leaf() {
            for e in 1..=l {
                let w = unwound_sum(own, l, e);
                let el = own[e];
                let s = w * (el.one - el.zero) * self.scale;
                for &(t, v) in self.trees.weights(node) {
                    self.phi[el.feature as usize * k + t as usize] += s * v;
                }
            }
            return;
        }
        let split = node.feature as i64;
        let goes_true = node.goes_true(self.x[node.feature as usize]);
        let (hot, cold) = if goes_true {
            (node.yes, node.no)
        } else {
            (node.no, node.yes)
        };
        let (hot_zero, cold_zero) = (self.shares[hot as usize], self.shares[cold as usize]);
        let mut l = l;
        let (mut in_zero, mut in_one) = (1.0, 1.0);
        if let Some(e) = (1..=l).find(|&e| own[e].feature == split) {
            in_zero = own[e].zero;
            in_one = own[e].one;
            unwind(own, l, e);
            l -= 1;
        }
        for (child, z, o) in [
            (hot, hot_zero * in_zero, in_one),
            (cold, cold_zero * in_zero, 0.0),
        ] {
            // A branch no training row takes and `x` does not take contributes nothing.
            if z == 0.0 && o == 0.0 {
                continue;
            }
            self.recurse(child, level + 1, buffer, l + 1, z, o, split);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_trees::{brute_shapley, random_ensemble, random_rows};
    use super::*;

    /// E[f(x) | x_S] along the splits, weighted by covers (the path-dependent value function).
    fn conditional(e: &TreeEnsemble, i: u32, x: &[f32], s: &[bool], covers: &[f64], t: u32) -> f64 {
        let node = &e.nodes[i as usize];
        if node.is_leaf() {
            return e
                .weights(node)
                .iter()
                .filter(|w| w.0 == t)
                .map(|w| w.1)
                .sum();
        }
        if s[node.feature as usize] {
            return conditional(e, node.child(x[node.feature as usize]), x, s, covers, t);
        }
        // A node no training row reaches passes nothing on (as in the explainer).
        let c = covers[i as usize];
        let share = |child: u32| {
            if c > 0.0 {
                covers[child as usize] / c
            } else {
                0.0
            }
        };
        share(node.yes) * conditional(e, node.yes, x, s, covers, t)
            + share(node.no) * conditional(e, node.no, x, s, covers, t)
    }

    #[test]
    fn path_dependent_tree_shap_equals_enumeration() {
        let m = 8;
        let e = Arc::new(random_ensemble(m, 6, 5, 3));
        let data = random_rows(300, m, 4);
        let shap = TreeShap::path_dependent(e.clone(), data.view(), Link::Identity).unwrap();
        let covers = e.covers(data.view());
        for r in [0, 5, 9] {
            let x = data.row(r).to_vec();
            let got = shap.attribution(data.row(r), &[0, 1]);
            for t in 0..2u32 {
                let v = |s: &[bool]| -> f64 {
                    e.roots
                        .iter()
                        .map(|&root| conditional(&e, root, &x, s, &covers, t))
                        .sum()
                };
                let want = brute_shapley(m, v);
                for (j, want_j) in want.iter().enumerate() {
                    let g = got[t as usize].values[j];
                    assert!(
                        (g - want_j).abs() < 1e-9,
                        "row {r} target {t} feature {j}: {g} vs {}",
                        want_j
                    );
                }
                let a = &got[t as usize];
                let base = [0.25, -1.0][t as usize];
                assert!((a.base_value - base - v(&[false; 8])).abs() < 1e-9);
                let sum: f64 = a.values.iter().sum();
                assert!((a.base_value + sum - a.output_value).abs() < 1e-9);
            }
        }
    }
}
