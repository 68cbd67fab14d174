//! Tree ensembles (ONNX-ML `TreeEnsembleClassifier` and `TreeEnsembleRegressor`) parsed into a
//! compact form that Loupe evaluates itself — exactly as ONNX defines it, thresholds compared in
//! the precision they are stored in — and that TreeSHAP walks.
//!
//! Each tree's nodes are laid out depth-first in one shared array, so a row's walk down a tree
//! touches a few neighbouring cache lines. Leaf weights are summed in f64 and the final scores
//! rounded to f32 once.

use std::collections::HashMap;

use tract_onnx::pb::{AttributeProto, NodeProto, TensorProto};

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

impl Mode {
    fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "BRANCH_LEQ" => Mode::Leq,
            "BRANCH_LT" => Mode::Lt,
            "BRANCH_GTE" => Mode::Gte,
            "BRANCH_GT" => Mode::Gt,
            "BRANCH_EQ" => Mode::Eq,
            "BRANCH_NEQ" => Mode::Neq,
            "LEAF" => Mode::Leaf,
            _ => return None,
        })
    }
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

/// Reads typed attributes off a node, naming the node and attribute in every error.
struct Attrs<'a> {
    node: &'a NodeProto,
    by_name: HashMap<&'a str, &'a AttributeProto>,
}

impl<'a> Attrs<'a> {
    fn new(node: &'a NodeProto) -> Self {
        let by_name = node
            .attribute
            .iter()
            .map(|a| (a.name.as_str(), a))
            .collect();
        Attrs { node, by_name }
    }

    fn err(&self, what: String) -> String {
        let name = if self.node.name.is_empty() {
            self.node
                .output
                .first()
                .map(String::as_str)
                .unwrap_or("unnamed")
        } else {
            self.node.name.as_str()
        };
        format!("{} node `{name}`: {what}", self.node.op_type)
    }

    fn ints(&self, name: &str) -> Vec<i64> {
        self.by_name
            .get(name)
            .map(|a| a.ints.clone())
            .unwrap_or_default()
    }

    fn strings(&self, name: &str) -> Vec<String> {
        self.by_name
            .get(name)
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn string(&self, name: &str) -> Option<String> {
        self.by_name
            .get(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.by_name.get(name).map(|a| a.i)
    }

    /// A float list, or its double `<name>_as_tensor` form.
    fn reals(&self, name: &str) -> Result<Vec<f64>, String> {
        if let Some(t) = self
            .by_name
            .get(format!("{name}_as_tensor").as_str())
            .and_then(|a| a.t.as_ref())
        {
            return tensor_reals(t).map_err(|e| self.err(format!("`{name}_as_tensor` {e}")));
        }
        Ok(self
            .by_name
            .get(name)
            .map(|a| a.floats.iter().map(|&f| f as f64).collect())
            .unwrap_or_default())
    }
}

/// The values of a float, double or integer tensor, as f64.
pub(crate) fn tensor_reals(t: &TensorProto) -> Result<Vec<f64>, String> {
    const FLOAT: i32 = 1;
    const INT32: i32 = 6;
    const INT64: i32 = 7;
    const DOUBLE: i32 = 11;
    /// Little-endian values of `N` bytes each from `raw_data`.
    fn raw<const N: usize>(t: &TensorProto, value: impl Fn([u8; N]) -> f64) -> Vec<f64> {
        t.raw_data
            .chunks_exact(N)
            .map(|c| value(c.try_into().unwrap_or([0; N])))
            .collect()
    }
    fn widen<T: Copy + Into<f64>>(v: &[T]) -> Vec<f64> {
        v.iter().map(|&x| x.into()).collect()
    }
    match t.data_type {
        INT64 if !t.int64_data.is_empty() => Ok(t.int64_data.iter().map(|&v| v as f64).collect()),
        INT64 => Ok(raw::<8>(t, |b| i64::from_le_bytes(b) as f64)),
        INT32 if !t.int32_data.is_empty() => Ok(widen(&t.int32_data)),
        INT32 => Ok(raw::<4>(t, |b| i32::from_le_bytes(b) as f64)),
        DOUBLE if !t.double_data.is_empty() => Ok(t.double_data.clone()),
        DOUBLE => Ok(raw::<8>(t, f64::from_le_bytes)),
        FLOAT if !t.float_data.is_empty() => Ok(widen(&t.float_data)),
        FLOAT => Ok(raw::<4>(t, |b| f32::from_le_bytes(b) as f64)),
        other => Err(format!("has element type {other}, expected a number")),
    }
}

/// A node waiting to be laid out: (source index, (parent slot, is its true child), depth).
type Pending = (usize, Option<(usize, bool)>, usize);

/// Nodes per tree beyond which a file is refused rather than parsed.
const MAX_NODES: usize = 50_000_000;
/// Outputs (classes or regression targets) beyond which a file is refused: every row's scores
/// are held in memory.
const MAX_OUTPUTS: usize = 65_536;

impl TreeEnsemble {
    /// Parses a `TreeEnsembleClassifier` or `TreeEnsembleRegressor` node.
    pub fn from_node(node: &NodeProto) -> Result<TreeEnsemble, String> {
        let a = Attrs::new(node);
        let classifier = match node.op_type.as_str() {
            "TreeEnsembleClassifier" => true,
            "TreeEnsembleRegressor" => false,
            other => return Err(format!("`{other}` is not a tree ensemble")),
        };
        let tree_ids = a.ints("nodes_treeids");
        let node_ids = a.ints("nodes_nodeids");
        let features = a.ints("nodes_featureids");
        let modes = a.strings("nodes_modes");
        let thresholds = a.reals("nodes_values")?;
        let yes_ids = a.ints("nodes_truenodeids");
        let no_ids = a.ints("nodes_falsenodeids");
        let missing = a.ints("nodes_missing_value_tracks_true");
        let n = tree_ids.len();
        if n == 0 {
            return Err(a.err("has no nodes".into()));
        }
        if n > MAX_NODES {
            return Err(a.err(format!(
                "has {} nodes, more than Loupe's limit of {}",
                crate::thousands(n as u64),
                crate::thousands(MAX_NODES as u64)
            )));
        }
        for (name, len) in [
            ("nodes_nodeids", node_ids.len()),
            ("nodes_featureids", features.len()),
            ("nodes_modes", modes.len()),
            ("nodes_values", thresholds.len()),
            ("nodes_truenodeids", yes_ids.len()),
            ("nodes_falsenodeids", no_ids.len()),
        ] {
            if len != n {
                return Err(a.err(format!(
                    "`{name}` has {len} entries but `nodes_treeids` has {n}"
                )));
            }
        }
        if !missing.is_empty() && missing.len() != n {
            return Err(a.err(format!(
                "`nodes_missing_value_tracks_true` has {} entries for {n} nodes",
                missing.len()
            )));
        }

        let (prefix, labels) = if classifier {
            let ints = a.ints("classlabels_int64s");
            let strings = a.strings("classlabels_strings");
            let labels = if !strings.is_empty() {
                ClassLabels::Strings(strings)
            } else if !ints.is_empty() {
                ClassLabels::Ints(ints)
            } else {
                return Err(a.err("has no class labels".into()));
            };
            ("class", Some(labels))
        } else {
            ("target", None)
        };
        let w_tree = a.ints(&format!("{prefix}_treeids"));
        let w_node = a.ints(&format!("{prefix}_nodeids"));
        let w_target = a.ints(&format!("{prefix}_ids"));
        let w_value = a.reals(&format!("{prefix}_weights"))?;
        let float_sums =
            !a.has(&format!("{prefix}_weights_as_tensor")) && !a.has("base_values_as_tensor");
        let nw = w_tree.len();
        if w_node.len() != nw || w_target.len() != nw || w_value.len() != nw {
            return Err(a.err(format!(
                "the `{prefix}_*` leaf attributes have different lengths ({nw}, {}, {}, {})",
                w_node.len(),
                w_target.len(),
                w_value.len()
            )));
        }
        let n_targets = match &labels {
            Some(l) => l.len(),
            None => a.int("n_targets").unwrap_or(1).max(0) as usize,
        };
        if n_targets == 0 {
            return Err(a.err("scores no outputs".into()));
        }
        if n_targets > MAX_OUTPUTS {
            return Err(a.err(format!(
                "has {} outputs, more than Loupe's limit of {}",
                crate::thousands(n_targets as u64),
                crate::thousands(MAX_OUTPUTS as u64)
            )));
        }
        if let Some(bad) = w_target.iter().find(|&&t| t < 0 || t as usize >= n_targets) {
            return Err(a.err(format!(
                "a leaf weight is for output {bad}, but there are {n_targets}"
            )));
        }
        let binary = classifier && n_targets == 2 && {
            let first = w_target.first().copied();
            w_target.iter().all(|&t| Some(t) == first)
        };

        let post_transform = match a.string("post_transform").as_deref() {
            None | Some("NONE") => PostTransform::None,
            Some("LOGISTIC") => PostTransform::Logistic,
            Some("SOFTMAX") => PostTransform::Softmax,
            Some("SOFTMAX_ZERO") => PostTransform::SoftmaxZero,
            Some("PROBIT") => PostTransform::Probit,
            Some(other) => return Err(a.err(format!("unknown post_transform `{other}`"))),
        };
        let aggregate = match a.string("aggregate_function").as_deref() {
            None | Some("SUM") => Aggregate::Sum,
            Some("AVERAGE") => Aggregate::Average,
            Some("MIN") => Aggregate::Min,
            Some("MAX") => Aggregate::Max,
            Some(other) => return Err(a.err(format!("unknown aggregate_function `{other}`"))),
        };
        let base_values = a.reals("base_values")?;
        let expected_base = if binary { 1..=2 } else { n_targets..=n_targets };
        if !base_values.is_empty()
            && base_values.len() != 1
            && !expected_base.contains(&base_values.len())
        {
            return Err(a.err(format!(
                "has {} base values for {n_targets} outputs",
                base_values.len()
            )));
        }

        // Index every node by (tree, node id), then lay each tree out depth-first.
        let mut index: HashMap<(i64, i64), usize> = HashMap::with_capacity(n);
        let mut root_ids: Vec<i64> = Vec::new();
        let mut seen_trees = std::collections::HashSet::new();
        for i in 0..n {
            if index.insert((tree_ids[i], node_ids[i]), i).is_some() {
                return Err(a.err(format!(
                    "node {} of tree {} is defined twice",
                    node_ids[i], tree_ids[i]
                )));
            }
            if seen_trees.insert(tree_ids[i]) {
                root_ids.push(tree_ids[i]);
            }
        }
        let mut leaf_of: HashMap<usize, Vec<(u32, f64)>> = HashMap::new();
        for k in 0..nw {
            let Some(&i) = index.get(&(w_tree[k], w_node[k])) else {
                return Err(a.err(format!(
                    "a leaf weight refers to node {} of tree {}, which does not exist",
                    w_node[k], w_tree[k]
                )));
            };
            leaf_of
                .entry(i)
                .or_default()
                .push((w_target[k] as u32, w_value[k]));
        }

        let mut ensemble = TreeEnsemble {
            labels,
            n_targets,
            nodes: Vec::with_capacity(n),
            roots: Vec::with_capacity(root_ids.len()),
            leaf_weights: Vec::with_capacity(nw),
            base_values,
            post_transform,
            aggregate,
            binary,
            n_features_used: 0,
            max_depth: 0,
            float_sums,
        };
        let mut placed = vec![false; n];
        for &tree in &root_ids {
            // A tree's root is its node 0 when there is one, else its first node listed.
            let root = index
                .get(&(tree, 0))
                .copied()
                .or_else(|| (0..n).find(|&i| tree_ids[i] == tree))
                .ok_or_else(|| a.err(format!("tree {tree} has no nodes")))?;
            ensemble.roots.push(ensemble.nodes.len() as u32);
            // Depth-first: each entry is (source node, slot of the parent pointing at it).
            let mut stack: Vec<Pending> = vec![(root, None, 1)];
            while let Some((src, parent, depth)) = stack.pop() {
                if placed[src] {
                    return Err(a.err(format!(
                        "node {} of tree {tree} is reached twice (the tree has a cycle or a shared node)",
                        node_ids[src]
                    )));
                }
                placed[src] = true;
                let slot = ensemble.nodes.len();
                if let Some((p, is_yes)) = parent {
                    let parent_node = &mut ensemble.nodes[p];
                    if is_yes {
                        parent_node.yes = slot as u32;
                    } else {
                        parent_node.no = slot as u32;
                    }
                }
                ensemble.max_depth = ensemble.max_depth.max(depth);
                let mode = Mode::parse(&modes[src]).ok_or_else(|| {
                    a.err(format!(
                        "node {} of tree {tree} has unknown mode `{}`",
                        node_ids[src], modes[src]
                    ))
                })?;
                if mode == Mode::Leaf {
                    let start = ensemble.leaf_weights.len() as u32;
                    if let Some(w) = leaf_of.get(&src) {
                        ensemble.leaf_weights.extend_from_slice(w);
                    }
                    ensemble.nodes.push(Node {
                        threshold: 0.0,
                        feature: 0,
                        mode,
                        missing_true: false,
                        yes: start,
                        no: ensemble.leaf_weights.len() as u32,
                    });
                    continue;
                }
                let feature = features[src];
                if !(0..=u32::MAX as i64 / 2).contains(&feature) {
                    return Err(a.err(format!(
                        "node {} of tree {tree} reads feature {feature}",
                        node_ids[src]
                    )));
                }
                ensemble.n_features_used = ensemble.n_features_used.max(feature as usize + 1);
                ensemble.nodes.push(Node {
                    threshold: thresholds[src],
                    feature: feature as u32,
                    mode,
                    missing_true: missing.get(src).is_some_and(|&m| m != 0),
                    yes: 0,
                    no: 0,
                });
                for (child, is_yes) in [(no_ids[src], false), (yes_ids[src], true)] {
                    let Some(&c) = index.get(&(tree, child)) else {
                        return Err(a.err(format!(
                            "node {} of tree {tree} points to node {child}, which does not exist",
                            node_ids[src]
                        )));
                    };
                    stack.push((c, Some((slot, is_yes)), depth + 1));
                }
            }
        }
        Ok(ensemble)
    }

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

    /// Adds the base values to raw scores: the margins the post-transform is applied to. For the
    /// binary layout only the weights' slot is meaningful (the second class's margin).
    pub fn margins(&self, raw: &mut [f64]) {
        self.add_base(raw);
    }

    fn add_base<T: Real>(&self, raw: &mut [T]) {
        let b = |i: usize| T::from_f64(self.base_values[i]);
        match self.base_values.len() {
            0 => {}
            1 => raw.iter_mut().for_each(|v| *v += b(0)),
            _ if self.binary => raw[self.binary_slot()] += b(0),
            _ => raw.iter_mut().enumerate().for_each(|(i, v)| *v += b(i)),
        }
    }

    /// The slot the binary layout's weights go to.
    pub fn binary_slot(&self) -> usize {
        self.leaf_weights.first().map_or(0, |&(t, _)| t as usize)
    }

    /// Turns margins into the score output's columns (f32, as ONNX outputs them).
    pub fn finish(&self, margins: &[f64], out: &mut [f32]) {
        let mut scores: Vec<f64> = if self.binary {
            let m = margins[self.binary_slot()];
            let other = match self.post_transform {
                PostTransform::None | PostTransform::Probit => 1.0 - m,
                _ => -m,
            };
            vec![other, m]
        } else {
            margins.to_vec()
        };
        match self.post_transform {
            PostTransform::None => {}
            PostTransform::Logistic => scores.iter_mut().for_each(|v| *v = logistic(*v)),
            PostTransform::Softmax => softmax(&mut scores),
            PostTransform::SoftmaxZero => softmax_zero(&mut scores),
            PostTransform::Probit => scores.iter_mut().for_each(|v| *v = probit(*v)),
        }
        for (o, s) in out.iter_mut().zip(&scores) {
            *o = *s as f32;
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

fn logistic(v: f64) -> f64 {
    let e = (-v.abs()).exp();
    let p = 1.0 / (1.0 + e);
    if v < 0.0 { 1.0 - p } else { p }
}

fn softmax(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    v.iter_mut().for_each(|x| *x = (*x - max).exp());
    let sum: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= sum);
}

/// Softmax that leaves exact zeros (scores no tree voted for) near zero, as ONNX defines it.
fn softmax_zero(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp_neg_max = (-max).exp();
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = if x.abs() > 1e-7 {
            (*x - max).exp()
        } else {
            *x * exp_neg_max
        };
        sum += *x;
    }
    if sum == 0.0 {
        v.iter_mut().for_each(|x| *x = 0.5);
    } else {
        v.iter_mut().for_each(|x| *x /= sum);
    }
}

/// ONNX's PROBIT: √2 · erfinv(2v − 1), with the same closed-form erfinv approximation the
/// reference implementation and onnxruntime use.
fn probit(v: f64) -> f64 {
    let x = 2.0 * v - 1.0;
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let t = (1.0 - x) * (1.0 + x);
    if t == 0.0 {
        return 0.0;
    }
    let log = t.ln();
    let a = 2.0 / (std::f64::consts::PI * 0.147) + 0.5 * log;
    let b = log / 0.147;
    std::f64::consts::SQRT_2 * sign * (-a + (a * a - b).sqrt()).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::AttributeProto;

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            ints: v.to_vec(),
            ..Default::default()
        }
    }
    fn floats(name: &str, v: &[f32]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            floats: v.to_vec(),
            ..Default::default()
        }
    }
    fn strings(name: &str, v: &[&str]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }
    }
    fn string(name: &str, v: &str) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            s: v.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    /// One stump on feature 0 at `t` with `mode`: true → 10, false → 20 (a regressor).
    fn stump(mode: &str, t: f32, missing_true: bool) -> TreeEnsemble {
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

    #[test]
    fn an_absurd_number_of_outputs_is_refused_not_allocated() {
        // Found by the `trees` fuzz target: 12.9 billion targets made every evaluation ask for
        // 51 GB.
        let node = NodeProto {
            op_type: "TreeEnsembleRegressor".into(),
            name: "wide".into(),
            attribute: vec![
                ints("nodes_treeids", &[0]),
                ints("nodes_nodeids", &[0]),
                ints("nodes_featureids", &[0]),
                strings("nodes_modes", &["LEAF"]),
                floats("nodes_values", &[0.0]),
                ints("nodes_truenodeids", &[0]),
                ints("nodes_falsenodeids", &[0]),
                AttributeProto {
                    name: "n_targets".into(),
                    i: 12_897_270_972,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let err = TreeEnsemble::from_node(&node).unwrap_err();
        assert!(
            err.contains("`wide`") && err.contains("12,897,270,972 outputs"),
            "{err}"
        );
    }

    #[test]
    fn broken_trees_are_refused_with_the_node_named() {
        let mut node = NodeProto {
            op_type: "TreeEnsembleRegressor".into(),
            name: "bad".into(),
            attribute: vec![
                ints("nodes_treeids", &[0, 0]),
                ints("nodes_nodeids", &[0, 1]),
                ints("nodes_featureids", &[0, 0]),
                strings("nodes_modes", &["BRANCH_LEQ", "LEAF"]),
                floats("nodes_values", &[0.5, 0.0]),
                ints("nodes_truenodeids", &[1, 0]),
                ints("nodes_falsenodeids", &[0, 0]),
            ],
            ..Default::default()
        };
        let err = TreeEnsemble::from_node(&node).unwrap_err();
        assert!(
            err.contains("`bad`") && err.contains("reached twice"),
            "{err}"
        );
        node.attribute[6] = ints("nodes_falsenodeids", &[7, 0]);
        let err = TreeEnsemble::from_node(&node).unwrap_err();
        assert!(err.contains("node 7, which does not exist"), "{err}");
        node.attribute[3] = strings("nodes_modes", &["BRANCH_LEQ"]);
        let err = TreeEnsemble::from_node(&node).unwrap_err();
        assert!(err.contains("`nodes_modes` has 1 entries"), "{err}");
    }

    #[test]
    fn post_transforms_match_their_definitions() {
        assert!((logistic(0.0) - 0.5).abs() < 1e-15);
        assert!((logistic(-800.0)).abs() < 1e-300);
        let mut v = [1.0, 2.0, 3.0];
        softmax(&mut v);
        assert!((v.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!((v[2] - 0.665_240_955_774_821_6).abs() < 1e-12);
        // The approximation is within 2e-3 of the true inverse normal CDF.
        assert!((probit(0.975) - 1.959_964).abs() < 2e-3);
        assert_eq!(probit(0.5), 0.0);
    }
}
