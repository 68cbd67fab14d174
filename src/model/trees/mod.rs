//! Tree ensembles (ONNX-ML `TreeEnsembleClassifier` and `TreeEnsembleRegressor`) parsed into a
//! compact form that Loupe evaluates itself — exactly as ONNX defines it, thresholds compared in
//! the precision they are stored in — and that TreeSHAP walks.
//!
//! Each tree's nodes are laid out depth-first in one shared array, so a row's walk down a tree
//! touches a few neighbouring cache lines. Leaf weights are summed in f64 and the final scores
//! rounded to f32 once.
//!
//! - `attrs`: typed reading of a node's attributes and of numeric tensors.
//! - `parse`: reading the node's attributes into a [`TreeEnsemble`] ([`TreeEnsemble::from_node`]).
//! - `eval`: walking rows down the trees and aggregating their leaf values.
//! - `transform`: base values and the post-transform that turn the sums into scores.

mod attrs;
mod eval;
mod parse;
mod transform;

pub(crate) use attrs::tensor_reals;

/// How a node compares a feature value `x` with its threshold `t` to pick the true branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

/// What is applied to the aggregated scores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostTransform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
    Probit,
}

/// How the trees' leaf values are combined per target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

/// One node. For a leaf, `yes..no` is its range in the leaf-weight array.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub threshold: f64,
    pub feature: u32,
    pub mode: Mode,
    /// A missing (NaN) value takes the true branch.
    pub missing_true: bool,
    pub yes: u32,
    pub no: u32,
}

impl Node {
    pub fn is_leaf(&self) -> bool {
        self.mode == Mode::Leaf
    }

    /// Whether `x` takes the true branch, as ONNX defines it (NaN compares false, except for
    /// `BRANCH_NEQ`, unless the node tracks missing values to the true side).
    #[inline]
    pub fn goes_true(&self, x: f32) -> bool {
        if self.missing_true && x.is_nan() {
            return true;
        }
        let (x, t) = (x as f64, self.threshold);
        match self.mode {
            Mode::Leq => x <= t,
            Mode::Lt => x < t,
            Mode::Gte => x >= t,
            Mode::Gt => x > t,
            Mode::Eq => x == t,
            Mode::Neq => x != t,
            Mode::Leaf => false,
        }
    }

    /// The child `x` goes to.
    #[inline]
    pub fn child(&self, x: f32) -> u32 {
        if self.goes_true(x) { self.yes } else { self.no }
    }
}

/// Class labels of a classifier, as the graph's label output gives them.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassLabels {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

impl ClassLabels {
    pub fn len(&self) -> usize {
        match self {
            ClassLabels::Ints(v) => v.len(),
            ClassLabels::Strings(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A parsed tree ensemble.
#[derive(Clone, Debug)]
pub struct TreeEnsemble {
    /// `Some` for a classifier.
    pub labels: Option<ClassLabels>,
    /// Number of score slots the leaf weights index (classes, or regression targets).
    pub n_targets: usize,
    pub nodes: Vec<Node>,
    pub roots: Vec<u32>,
    /// (target, weight) of every leaf, in leaf order.
    pub leaf_weights: Vec<(u32, f64)>,
    pub base_values: Vec<f64>,
    pub post_transform: PostTransform,
    pub aggregate: Aggregate,
    /// A classifier whose weights all go to one class: ONNX's binary layout, where the second
    /// class's score is derived from the first's.
    pub binary: bool,
    /// Largest feature index any node reads, plus one.
    pub n_features_used: usize,
    /// Longest root-to-leaf path, in nodes.
    pub max_depth: usize,
    /// Weights and base values were stored as float32, so scores are summed in float32.
    pub float_sums: bool,
}

impl TreeEnsemble {
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    pub fn is_classifier(&self) -> bool {
        self.labels.is_some()
    }

    /// Columns of the score output: classes (two for the binary layout), or targets.
    pub fn n_columns(&self) -> usize {
        self.n_targets
    }
}

/// The precision leaf values are aggregated in.
trait Real: Copy + Default + PartialOrd + std::ops::AddAssign + std::ops::DivAssign {
    fn from_f64(v: f64) -> Self;
}

impl Real for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl Real for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// Builders of tree-ensemble nodes, for the tests of parsing and evaluation.
#[cfg(test)]
mod test_nodes {
    use super::TreeEnsemble;
    use tract_onnx::pb::{AttributeProto, NodeProto};

    pub(super) fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            ints: v.to_vec(),
            ..Default::default()
        }
    }
    pub(super) fn floats(name: &str, v: &[f32]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            floats: v.to_vec(),
            ..Default::default()
        }
    }
    pub(super) fn strings(name: &str, v: &[&str]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }
    pub(super) fn string(name: &str, v: &str) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            s: v.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    /// One stump on feature 0 at `t` with `mode`: true → 10, false → 20 (a regressor).
    pub(super) fn stump(mode: &str, t: f32, missing_true: bool) -> TreeEnsemble {
        let node = NodeProto {
            op_type: "TreeEnsembleRegressor".into(),
            name: "stump".into(),
            attribute: vec![
                ints("nodes_treeids", &[0, 0, 0]),
                ints("nodes_nodeids", &[0, 1, 2]),
                ints("nodes_featureids", &[0, 0, 0]),
                strings("nodes_modes", &[mode, "LEAF", "LEAF"]),
                floats("nodes_values", &[t, 0.0, 0.0]),
                ints("nodes_truenodeids", &[1, 0, 0]),
                ints("nodes_falsenodeids", &[2, 0, 0]),
                ints(
                    "nodes_missing_value_tracks_true",
                    &[missing_true as i64, 0, 0],
                ),
                ints("target_treeids", &[0, 0]),
                ints("target_nodeids", &[1, 2]),
                ints("target_ids", &[0, 0]),
                floats("target_weights", &[10.0, 20.0]),
                string("post_transform", "NONE"),
            ],
            ..Default::default()
        };
        TreeEnsemble::from_node(&node).unwrap()
    }
}
