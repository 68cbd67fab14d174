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
//!
//! - `interventional`: the game against background rows, one walk per tree and group of rows.
//! - `path_dependent`: the game along the trees' own splits, with covers from training rows.

mod interventional;
mod path_dependent;
mod tables;

pub use interventional::Algorithm;

use std::sync::Arc;

use ndarray::ArrayView1;
use rand_chacha::ChaCha8Rng;

use super::{Attribution, ExplainError, Explainer, Game, Link};
use crate::model::trees::{Aggregate, TreeEnsemble};

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
    pub(crate) fn leaf_scale(&self) -> f64 {
        match self.aggregate {
            Aggregate::Average => 1.0 / self.n_trees().max(1) as f64,
            _ => 1.0,
        }
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
        /// Per leaf, the Shapley coefficients for each pattern of the row, when they are used.
        tables: Option<tables::LeafTables>,
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
            Some(l) => Err(ExplainError::setting(
                super::Setting::Link,
                link.name(),
                format!(
                    "is not where TreeSHAP is exact: the trees' margin is {} for this model \
                     (link {}); a sampled method such as kernel explains {}",
                    describe(l),
                    l.name(),
                    describe(link)
                ),
            )),
            None => Err(ExplainError::Invalid(
                "this tree ensemble's scores are not a sum over its trees in probability or \
                 log-odds (softmax, probit or min/max); use a sampled method such as kernel"
                    .into(),
            )),
        }
    }

    /// Attributions of every raw sum for row `x`: features × targets, row-major.
    pub fn raw_attributions(&self, x: &[f32]) -> Vec<f64> {
        let t = &*self.trees;
        let mut phi = vec![0f64; x.len() * t.n_targets];
        match &self.state {
            State::Interventional {
                tables: Some(tables),
                ..
            } => tables.attribute(t, x, &mut phi),
            State::Interventional {
                directions,
                weights,
                groups,
                ..
            } => interventional::attribute(t, x, directions, weights, groups, &mut phi),
            State::PathDependent { shares, .. } => {
                path_dependent::attribute(t, x, shares, &mut phi)
            }
        }
        phi
    }

    /// The interventional algorithm in use (`None` for path-dependent TreeSHAP).
    pub fn algorithm(&self) -> Option<Algorithm> {
        match &self.state {
            State::Interventional { tables, .. } => Some(if tables.is_some() {
                Algorithm::Tables
            } else {
                Algorithm::Groups
            }),
            State::PathDependent { .. } => None,
        }
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
        if game.is_grouped() {
            return Err(ExplainError::Invalid(
                "TreeSHAP follows single columns; groups of columns need exact, kernel or \
                 permutation"
                    .into(),
            ));
        }
        check_width(&self.trees, game.n_features())?;
        if game.is_cancelled() {
            return Err(ExplainError::Cancelled);
        }
        Ok(self.attribution(game.x(), game.targets()))
    }
}

/// Random ensembles and rows, and Shapley values by enumeration, for the tests of both games.
#[cfg(test)]
mod test_trees {
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use crate::model::trees::{Aggregate, Mode, Node, PostTransform, TreeEnsemble};

    /// A random ensemble over `m` features: `trees` trees up to `depth` splits deep, features
    /// reused along paths, two targets with weights on every leaf, a few `<` splits.
    pub(super) fn random_ensemble(m: usize, trees: usize, depth: usize, seed: u64) -> TreeEnsemble {
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

    pub(super) fn random_rows(n: usize, m: usize, seed: u64) -> Array2<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((n, m), |_| rng.random_range(0..5) as f32 * 0.25)
    }

    /// Shapley values of `v` over `m` players by enumerating every coalition.
    pub(super) fn brute_shapley(m: usize, v: impl Fn(&[bool]) -> f64) -> Vec<f64> {
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
}
