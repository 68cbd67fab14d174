//! Exact TreeSHAP on Loupe's parsed tree ensembles, in the model's margin space (the summed leaf
//! values before the post-transform: log-odds for a logistic classifier, the probability itself
//! for a random forest, the value for a regressor).
//!
//! - **Interventional** (Lundberg et al. 2020, "Independent TreeSHAP"): for each background row
//!   `z`, the game `v(S) = f(x_S, z_¬S)` of one tree is a sum over its leaves of
//!   `value · [S ⊇ X_leaf] · [S ∩ Z_leaf = ∅]`, where `X_leaf` are the features at which the
//!   leaf's path follows `x` but not `z`, and `Z_leaf` the reverse. Each such term has closed-form
//!   Shapley values, so one walk down the tree per background row gives them exactly. This is
//!   the same quantity the exact explainer computes by enumeration.
//! - **Path-dependent** (Lundberg et al. 2018, Algorithm 2): `v(S) = E[f(x) | x_S]` with the
//!   expectation taken along the tree's own splits, weighted by how many training rows went each
//!   way. ONNX stores no node counts, so the covers come from routing the training rows through
//!   the trees.
//!
//! No model calls: the trees are walked directly, rows in parallel (see `run`).

use std::sync::Arc;

use ndarray::{ArrayView1, ArrayView2};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::{Attribution, Background, ExplainError, Explainer, Game, Link};
use crate::model::trees::{Aggregate, Node, TreeEnsemble};

/// Which conditional expectation TreeSHAP uses for absent features.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum TreeMode {
    /// Absent features take the background's values (the same quantity as `exact`).
    #[default]
    Interventional,
    /// Absent features are integrated out along the trees' splits, weighted by training covers.
    PathDependent,
}

impl TreeMode {
    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            TreeMode::Interventional => "interventional",
            TreeMode::PathDependent => "path-dependent",
        }
    }
}

/// How one score column's margin relates to the trees' raw sums:
/// `margin = offset + scale · raw[slot]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColumnMargin {
    pub slot: usize,
    pub scale: f64,
    pub offset: f64,
}

impl TreeEnsemble {
    /// The space in which this ensemble's score columns are a sum over trees, if any: the
    /// scores themselves (`Identity`), or their log-odds (`Logit`).
    pub fn margin_link(&self) -> Option<Link> {
        use crate::model::trees::PostTransform as P;
        if matches!(self.aggregate, Aggregate::Min | Aggregate::Max) {
            return None;
        }
        match self.post_transform {
            P::None => Some(Link::Identity),
            P::Logistic => Some(Link::Logit),
            // A two-column softmax of (−m, m) is a logistic of 2m.
            P::Softmax if self.binary => Some(Link::Logit),
            _ => None,
        }
    }

    /// How score column `column` is made from the raw sums (valid in [`Self::margin_link`]).
    pub fn column_margin(&self, column: usize) -> ColumnMargin {
        use crate::model::trees::PostTransform as P;
        if self.binary {
            let slot = self.binary_slot();
            let base = self.base_values.first().copied().unwrap_or(0.0);
            let factor = if self.post_transform == P::Softmax {
                2.0
            } else {
                1.0
            };
            let sign = if column == 1 { 1.0 } else { -1.0 };
            let offset = match (column, self.post_transform) {
                (1, _) => base,
                (_, P::None | P::Probit) => 1.0 - base,
                _ => -base,
            };
            return ColumnMargin {
                slot,
                scale: sign * factor,
                offset: offset * factor,
            };
        }
        let base = match self.base_values.len() {
            0 => 0.0,
            1 => self.base_values[0],
            _ => self.base_values[column],
        };
        ColumnMargin {
            slot: column,
            scale: 1.0,
            offset: base,
        }
    }

    /// Factor on every leaf value: 1/trees for an averaging ensemble.
    fn leaf_scale(&self) -> f64 {
        match self.aggregate {
            Aggregate::Average => 1.0 / self.n_trees().max(1) as f64,
            _ => 1.0,
        }
    }

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

    /// The raw sums of row `x` (leaf values summed or averaged, no base values).
    pub fn raw(&self, x: &[f32]) -> Vec<f64> {
        let mut out = vec![0f64; self.n_targets];
        self.raw_scores(x, &mut out);
        out
    }
}

/// TreeSHAP for one ensemble, prepared for one background (interventional) or one set of covers
/// (path-dependent).
pub struct TreeShap {
    trees: Arc<TreeEnsemble>,
    link: Link,
    state: State,
}

enum State {
    Interventional {
        /// Which way each background row goes at each node: `node * rows + row`.
        directions: Vec<bool>,
        weights: Vec<f64>,
        /// Per tree, the background rows that go the same way at every one of its nodes (so
        /// play the same game), as (one of them, their total weight).
        groups: Vec<Vec<(usize, f64)>>,
        /// E over the background of each raw sum.
        mean_raw: Vec<f64>,
    },
    PathDependent {
        /// Per node, the share of its parent's cover that reaches it.
        shares: Vec<f64>,
        /// E over the covers of each raw sum.
        mean_raw: Vec<f64>,
    },
}

impl TreeShap {
    /// Checks that the trees' margins are the explained space (`link`).
    fn check(trees: &TreeEnsemble, link: Link) -> Result<(), ExplainError> {
        match trees.margin_link() {
            Some(l) if l == link => Ok(()),
            Some(l) => Err(ExplainError::Invalid(format!(
                "TreeSHAP is exact in the trees' margin, which is {} for this model; use --link {} \
                 (or a sampled method such as kernel for {})",
                describe(l),
                l.name(),
                describe(link)
            ))),
            None => Err(ExplainError::Invalid(
                "this tree ensemble's scores are not a sum over its trees in probability or \
                 log-odds (softmax, probit or min/max); use a sampled method such as kernel"
                    .into(),
            )),
        }
    }

    /// Interventional TreeSHAP against `background`.
    pub fn interventional(
        trees: Arc<TreeEnsemble>,
        background: &Background,
        link: Link,
    ) -> Result<TreeShap, ExplainError> {
        Self::check(&trees, link)?;
        check_width(&trees, background.rows.ncols())?;
        let n_bg = background.len();
        let mut directions = vec![false; trees.nodes.len() * n_bg];
        directions
            .par_chunks_mut(n_bg)
            .zip(trees.nodes.par_iter())
            .for_each(|(dirs, node)| {
                if !node.is_leaf() {
                    for (d, z) in dirs.iter_mut().zip(background.rows.rows()) {
                        *d = node.goes_true(z[node.feature as usize]);
                    }
                }
            });
        let mut mean_raw = vec![0f64; trees.n_targets];
        for (z, &w) in background.rows.rows().into_iter().zip(&background.weights) {
            let z = z.to_vec();
            for (m, r) in mean_raw.iter_mut().zip(trees.raw(&z)) {
                *m += w * r;
            }
        }
        let groups = (0..trees.n_trees())
            .into_par_iter()
            .map(|tree| {
                let start = trees.roots[tree] as usize;
                let end = trees
                    .roots
                    .get(tree + 1)
                    .map_or(trees.nodes.len(), |&r| r as usize);
                let mut index: std::collections::HashMap<Vec<bool>, usize> = Default::default();
                let mut groups: Vec<(usize, f64)> = Vec::new();
                for (b, &w) in background.weights.iter().enumerate() {
                    let key: Vec<bool> = (start..end).map(|i| directions[i * n_bg + b]).collect();
                    let g = *index.entry(key).or_insert_with(|| {
                        groups.push((b, 0.0));
                        groups.len() - 1
                    });
                    groups[g].1 += w;
                }
                groups
            })
            .collect();
        Ok(TreeShap {
            trees,
            link,
            state: State::Interventional {
                directions,
                weights: background.weights.clone(),
                groups,
                mean_raw,
            },
        })
    }

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

    /// Attributions of every raw sum for row `x`: features × targets, row-major.
    pub fn raw_attributions(&self, x: &[f32]) -> Vec<f64> {
        let t = &*self.trees;
        let mut phi = vec![0f64; x.len() * t.n_targets];
        match &self.state {
            State::Interventional {
                directions,
                weights,
                groups,
                ..
            } => {
                let xdir: Vec<bool> = t
                    .nodes
                    .iter()
                    .map(|n| !n.is_leaf() && n.goes_true(x[n.feature as usize]))
                    .collect();
                let mut walk = Interventional {
                    trees: t,
                    xdir: &xdir,
                    directions,
                    n_bg: weights.len(),
                    b: 0,
                    weight: 0.0,
                    state: vec![0u8; x.len()],
                    xs: Vec::with_capacity(t.max_depth),
                    zs: Vec::with_capacity(t.max_depth),
                    coef: coefficients(t.max_depth + 1),
                    phi: &mut phi,
                };
                let scale = t.leaf_scale();
                for (&root, groups) in t.roots.iter().zip(groups) {
                    for &(b, w) in groups {
                        walk.b = b;
                        walk.weight = w * scale;
                        walk.walk(root);
                    }
                }
            }
            State::PathDependent { shares, .. } => {
                let stride = t.max_depth + 2;
                let mut buffer = vec![PathElem::default(); stride * (t.max_depth + 2)];
                let mut walk = PathDependent {
                    trees: t,
                    x,
                    shares,
                    scale: t.leaf_scale(),
                    stride,
                    phi: &mut phi,
                };
                for &root in &t.roots {
                    walk.recurse(root, 0, &mut buffer, 0, 1.0, 1.0, -1);
                }
            }
        }
        phi
    }

    /// E of each raw sum under this explainer's reference (background or covers).
    pub fn mean_raw(&self) -> &[f64] {
        match &self.state {
            State::Interventional { mean_raw, .. } | State::PathDependent { mean_raw, .. } => {
                mean_raw
            }
        }
    }

    /// Attributions of score column `column` for row `x`.
    pub fn attribution(&self, x: ArrayView1<f32>, columns: &[usize]) -> Vec<Attribution> {
        let x = x.to_vec();
        let phi = self.raw_attributions(&x);
        let raw = self.trees.raw(&x);
        let k = self.trees.n_targets;
        columns
            .iter()
            .map(|&c| {
                let m = self.trees.column_margin(c);
                Attribution {
                    base_value: m.offset + m.scale * self.mean_raw()[m.slot],
                    output_value: m.offset + m.scale * raw[m.slot],
                    values: (0..x.len())
                        .map(|j| m.scale * phi[j * k + m.slot])
                        .collect(),
                    std_err: None,
                }
            })
            .collect()
    }
}

fn describe(link: Link) -> &'static str {
    match link {
        Link::Identity => "the score itself (probability or value)",
        Link::Logit => "log-odds",
    }
}

fn check_width(trees: &TreeEnsemble, width: usize) -> Result<(), ExplainError> {
    if trees.n_features_used > width {
        return Err(ExplainError::Invalid(format!(
            "the trees read feature {} but rows have {width} features",
            trees.n_features_used - 1
        )));
    }
    Ok(())
}

impl Explainer for TreeShap {
    fn name(&self) -> &'static str {
        "tree"
    }

    fn explain(
        &self,
        game: &Game,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Attribution>, ExplainError> {
        if game.link() != self.link {
            return Err(ExplainError::Invalid(
                "TreeSHAP was prepared for another output space".into(),
            ));
        }
        if let State::Interventional { weights, .. } = &self.state
            && weights.len() != game.background().len()
        {
            return Err(ExplainError::Invalid(
                "TreeSHAP was prepared for another background".into(),
            ));
        }
        check_width(&self.trees, game.n_features())?;
        if game.is_cancelled() {
            return Err(ExplainError::Cancelled);
        }
        Ok(self.attribution(game.x(), game.targets()))
    }
}

/// `coef[a][b] = (a−1)!·b!/(a+b)!` for a ≥ 1: the Shapley value of each of the `a` features a
/// leaf needs present, in a game where it also needs `b` features absent.
fn coefficients(n: usize) -> Vec<Vec<f64>> {
    let fact = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
    (0..=n)
        .map(|a| {
            (0..=n)
                .map(|b| {
                    if a == 0 {
                        0.0
                    } else {
                        fact(a - 1) * fact(b) / fact(a + b)
                    }
                })
                .collect()
        })
        .collect()
}

/// One walk per (tree, background row): features split differently by `x` and `z` are tracked
/// as "from x" (`xs`) or "from z" (`zs`), and each reached leaf shares its value among them.
struct Interventional<'a> {
    trees: &'a TreeEnsemble,
    xdir: &'a [bool],
    directions: &'a [bool],
    n_bg: usize,
    b: usize,
    weight: f64,
    /// Per feature: 0 not yet split on, 1 in `xs`, 2 in `zs`.
    state: Vec<u8>,
    xs: Vec<u32>,
    zs: Vec<u32>,
    coef: Vec<Vec<f64>>,
    phi: &'a mut [f64],
}

impl Interventional<'_> {
    fn walk(&mut self, i: u32) {
        let node: &Node = &self.trees.nodes[i as usize];
        if node.is_leaf() {
            let (a, b) = (self.xs.len(), self.zs.len());
            if a + b == 0 {
                return;
            }
            let k = self.trees.n_targets;
            for &(t, v) in self.trees.weights(node) {
                let v = v * self.weight;
                if a > 0 {
                    let c = v * self.coef[a][b];
                    for &f in &self.xs {
                        self.phi[f as usize * k + t as usize] += c;
                    }
                }
                if b > 0 {
                    let c = v * self.coef[b][a];
                    for &f in &self.zs {
                        self.phi[f as usize * k + t as usize] -= c;
                    }
                }
            }
            return;
        }
        let f = node.feature as usize;
        let (yes, no) = (node.yes, node.no);
        let next = |goes_true: bool| if goes_true { yes } else { no };
        let xd = self.xdir[i as usize];
        let zd = self.directions[i as usize * self.n_bg + self.b];
        match self.state[f] {
            1 => self.walk(next(xd)),
            2 => self.walk(next(zd)),
            _ if xd == zd => self.walk(next(xd)),
            _ => {
                self.state[f] = 1;
                self.xs.push(f as u32);
                self.walk(next(xd));
                self.xs.pop();
                self.state[f] = 2;
                self.zs.push(f as u32);
                self.walk(next(zd));
                self.zs.pop();
                self.state[f] = 0;
            }
        }
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
    use super::*;
    use crate::model::trees::{Mode, PostTransform};
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};

    /// A random ensemble over `m` features: `trees` trees up to `depth` splits deep, features
    /// reused along paths, two targets with weights on every leaf, a few `<` splits.
    fn random_ensemble(m: usize, trees: usize, depth: usize, seed: u64) -> TreeEnsemble {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut e = TreeEnsemble {
            labels: None,
            n_targets: 2,
            nodes: vec![],
            roots: vec![],
            leaf_weights: vec![],
            base_values: vec![0.25, -1.0],
            post_transform: PostTransform::None,
            aggregate: Aggregate::Sum,
            binary: false,
            n_features_used: m,
            max_depth: depth + 1,
            float_sums: false,
        };
        fn grow(e: &mut TreeEnsemble, rng: &mut ChaCha8Rng, m: usize, left: usize) -> u32 {
            let at = e.nodes.len();
            if left == 0 || (left < 3 && rng.random_bool(0.3)) {
                let start = e.leaf_weights.len() as u32;
                e.leaf_weights.push((0, rng.random_range(-1.0..1.0)));
                e.leaf_weights.push((1, rng.random_range(-1.0..1.0)));
                e.nodes.push(Node {
                    threshold: 0.0,
                    feature: 0,
                    mode: Mode::Leaf,
                    missing_true: false,
                    yes: start,
                    no: start + 2,
                });
                return at as u32;
            }
            let mode = if rng.random_bool(0.2) {
                Mode::Lt
            } else {
                Mode::Leq
            };
            e.nodes.push(Node {
                // Thresholds on a coarse grid so rows often sit exactly on them.
                threshold: rng.random_range(0..5) as f64 * 0.25,
                feature: rng.random_range(0..m) as u32,
                mode,
                missing_true: false,
                yes: 0,
                no: 0,
            });
            let yes = grow(e, rng, m, left - 1);
            let no = grow(e, rng, m, left - 1);
            e.nodes[at].yes = yes;
            e.nodes[at].no = no;
            at as u32
        }
        for _ in 0..trees {
            let root = grow(&mut e, &mut rng, m, depth);
            e.roots.push(root);
        }
        e
    }

    fn random_rows(n: usize, m: usize, seed: u64) -> Array2<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((n, m), |_| rng.random_range(0..5) as f32 * 0.25)
    }

    /// Shapley values of `v` over `m` players by enumerating every coalition.
    fn brute_shapley(m: usize, v: impl Fn(&[bool]) -> f64) -> Vec<f64> {
        let values: Vec<f64> = (0..1usize << m)
            .map(|s| v(&(0..m).map(|j| s >> j & 1 == 1).collect::<Vec<_>>()))
            .collect();
        (0..m)
            .map(|i| {
                (0..1usize << m)
                    .filter(|s| s >> i & 1 == 0)
                    .map(|s| {
                        let size = s.count_ones() as usize;
                        crate::explain::shapley_weight(m, size) * (values[s | 1 << i] - values[s])
                    })
                    .sum()
            })
            .collect()
    }

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
    fn interventional_tree_shap_equals_enumeration() {
        let m = 10;
        let e = Arc::new(random_ensemble(m, 12, 5, 1));
        let data = random_rows(40, m, 2);
        let background =
            Background::pick(data.view(), 7, crate::explain::BackgroundMethod::First, 0).unwrap();
        let shap = TreeShap::interventional(e.clone(), &background, Link::Identity).unwrap();
        for r in [20, 27, 33] {
            let x = data.row(r).to_vec();
            let got = shap.attribution(data.row(r), &[0, 1]);
            for t in 0..2 {
                let want = brute_shapley(m, |s| {
                    background
                        .rows
                        .rows()
                        .into_iter()
                        .zip(&background.weights)
                        .map(|(z, w)| {
                            let h: Vec<f32> =
                                (0..m).map(|j| if s[j] { x[j] } else { z[j] }).collect();
                            w * e.raw(&h)[t]
                        })
                        .sum()
                });
                for j in 0..m {
                    assert!(
                        (got[t].values[j] - want[j]).abs() < 1e-9,
                        "row {r} target {t} feature {j}: {} vs {}",
                        got[t].values[j],
                        want[j]
                    );
                }
                let sum: f64 = got[t].values.iter().sum();
                assert!((got[t].base_value + sum - got[t].output_value).abs() < 1e-9);
                let base = [0.25, -1.0][t];
                assert!((got[t].output_value - base - e.raw(&x)[t]).abs() < 1e-12);
            }
        }
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
                for j in 0..m {
                    let g = got[t as usize].values[j];
                    assert!(
                        (g - want[j]).abs() < 1e-9,
                        "row {r} target {t} feature {j}: {g} vs {}",
                        want[j]
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

    #[test]
    fn coefficients_are_shapley_weights_of_and_games() {
        let c = coefficients(4);
        assert_eq!(c[1][0], 1.0);
        assert_eq!(c[2][0], 0.5);
        assert_eq!(c[1][1], 0.5);
        assert!((c[2][1] - 1.0 / 6.0).abs() < 1e-15);
        // Efficiency of the AND game: a·c[a][b] − b·c[b][a] = 1 if b = 0 else 0.
        for a in 1..4 {
            for b in 1..4 {
                assert!((a as f64 * c[a][b] - b as f64 * c[b][a]).abs() < 1e-15);
            }
        }
    }
}
