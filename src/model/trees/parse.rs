//! Reading an ONNX-ML `TreeEnsembleClassifier` or `TreeEnsembleRegressor` node into a
//! [`TreeEnsemble`]: its attributes read and checked (lengths, labels, outputs, transforms,
//! base values), then every tree laid out depth-first. Every error names the node.

use std::collections::HashMap;

use tract_onnx::pb::NodeProto;

use super::attrs::Attrs;
use super::{Aggregate, ClassLabels, Mode, Node, PostTransform, TreeEnsemble};

/// A node waiting to be laid out: (source index, (parent slot, is its true child), depth).
type Pending = (usize, Option<(usize, bool)>, usize);

/// Nodes per tree beyond which a file is refused rather than parsed.
const MAX_NODES: usize = 50_000_000;
/// Outputs (classes or regression targets) beyond which a file is refused: every row's scores
/// are held in memory.
const MAX_OUTPUTS: usize = 65_536;

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

/// The per-node attributes (`nodes_*`), all of the same length.
struct NodeAttrs {
    tree_ids: Vec<i64>,
    node_ids: Vec<i64>,
    features: Vec<i64>,
    modes: Vec<String>,
    thresholds: Vec<f64>,
    yes_ids: Vec<i64>,
    no_ids: Vec<i64>,
    /// Empty, or one flag per node.
    missing: Vec<i64>,
}

/// The leaf weights (`class_*` for a classifier, `target_*` for a regressor), all of the same
/// length.
struct LeafAttrs {
    tree_ids: Vec<i64>,
    node_ids: Vec<i64>,
    targets: Vec<i64>,
    values: Vec<f64>,
    /// Weights and base values were stored as float32 (not as `*_as_tensor` doubles).
    float_sums: bool,
}

/// Every node by (tree id, node id), and the tree ids in the order they first appear.
struct NodeIndex {
    by_id: HashMap<(i64, i64), usize>,
    tree_ids: Vec<i64>,
}

impl TreeEnsemble {
    /// Parses a `TreeEnsembleClassifier` or `TreeEnsembleRegressor` node.
    pub fn from_node(node: &NodeProto) -> Result<TreeEnsemble, String> {
        let a = Attrs::new(node);
        let classifier = match node.op_type.as_str() {
            "TreeEnsembleClassifier" => true,
            "TreeEnsembleRegressor" => false,
            other => return Err(format!("`{other}` is not a tree ensemble")),
        };
        let nodes = node_attrs(&a)?;
        let (prefix, labels) = if classifier {
            ("class", Some(class_labels(&a)?))
        } else {
            ("target", None)
        };
        let leaves = leaf_attrs(&a, prefix)?;
        let n_targets = n_targets(&a, labels.as_ref(), &leaves.targets)?;
        let binary = classifier && n_targets == 2 && {
            let first = leaves.targets.first().copied();
            leaves.targets.iter().all(|&t| Some(t) == first)
        };
        let post_transform = post_transform(&a)?;
        let aggregate = aggregate(&a)?;
        let base_values = base_values(&a, n_targets, binary)?;

        // Index every node by (tree, node id), then lay each tree out depth-first.
        let index = index_nodes(&a, &nodes)?;
        let leaf_of = weights_by_node(&a, &index, &leaves)?;
        let n = nodes.tree_ids.len();
        let mut ensemble = TreeEnsemble {
            labels,
            n_targets,
            nodes: Vec::with_capacity(n),
            roots: Vec::with_capacity(index.tree_ids.len()),
            leaf_weights: Vec::with_capacity(leaves.tree_ids.len()),
            base_values,
            post_transform,
            aggregate,
            binary,
            n_features_used: 0,
            max_depth: 0,
            float_sums: leaves.float_sums,
        };
        let mut placed = vec![false; n];
        for &tree in &index.tree_ids {
            ensemble.lay_out_tree(&a, &nodes, &index, &leaf_of, &mut placed, tree)?;
        }
        Ok(ensemble)
    }

    /// Appends tree `tree` depth-first, pointing each parent at its children's slots.
    fn lay_out_tree(
        &mut self,
        a: &Attrs,
        nodes: &NodeAttrs,
        index: &NodeIndex,
        leaf_of: &HashMap<usize, Vec<(u32, f64)>>,
        placed: &mut [bool],
        tree: i64,
    ) -> Result<(), String> {
        let n = nodes.tree_ids.len();
        // A tree's root is its node 0 when there is one, else its first node listed.
        let root = index
            .by_id
            .get(&(tree, 0))
            .copied()
            .or_else(|| (0..n).find(|&i| nodes.tree_ids[i] == tree))
            .ok_or_else(|| a.err(format!("tree {tree} has no nodes")))?;
        self.roots.push(self.nodes.len() as u32);
        // Depth-first: each entry is (source node, slot of the parent pointing at it).
        let mut stack: Vec<Pending> = vec![(root, None, 1)];
        while let Some((src, parent, depth)) = stack.pop() {
            if placed[src] {
                return Err(a.err(format!(
                    "node {} of tree {tree} is reached twice (the tree has a cycle or a shared node)",
                    nodes.node_ids[src]
                )));
            }
            placed[src] = true;
            let slot = self.nodes.len();
            if let Some((p, is_yes)) = parent {
                let parent_node = &mut self.nodes[p];
                if is_yes {
                    parent_node.yes = slot as u32;
                } else {
                    parent_node.no = slot as u32;
                }
            }
            self.max_depth = self.max_depth.max(depth);
            let mode = Mode::parse(&nodes.modes[src]).ok_or_else(|| {
                a.err(format!(
                    "node {} of tree {tree} has unknown mode `{}`",
                    nodes.node_ids[src], nodes.modes[src]
                ))
            })?;
            if mode == Mode::Leaf {
                self.push_leaf(leaf_of.get(&src));
                continue;
            }
            let feature = nodes.features[src];
            if !(0..=u32::MAX as i64 / 2).contains(&feature) {
                return Err(a.err(format!(
                    "node {} of tree {tree} reads feature {feature}",
                    nodes.node_ids[src]
                )));
            }
            self.n_features_used = self.n_features_used.max(feature as usize + 1);
            self.nodes.push(Node {
                threshold: nodes.thresholds[src],
                feature: feature as u32,
                mode,
                missing_true: nodes.missing.get(src).is_some_and(|&m| m != 0),
                yes: 0,
                no: 0,
            });
            for (child, is_yes) in [(nodes.no_ids[src], false), (nodes.yes_ids[src], true)] {
                let Some(&c) = index.by_id.get(&(tree, child)) else {
                    return Err(a.err(format!(
                        "node {} of tree {tree} points to node {child}, which does not exist",
                        nodes.node_ids[src]
                    )));
                };
                stack.push((c, Some((slot, is_yes)), depth + 1));
            }
        }
        Ok(())
    }

    /// Appends a leaf holding `weights` (none when no leaf weight refers to it).
    fn push_leaf(&mut self, weights: Option<&Vec<(u32, f64)>>) {
        let start = self.leaf_weights.len() as u32;
        if let Some(w) = weights {
            self.leaf_weights.extend_from_slice(w);
        }
        self.nodes.push(Node {
            threshold: 0.0,
            feature: 0,
            mode: Mode::Leaf,
            missing_true: false,
            yes: start,
            no: self.leaf_weights.len() as u32,
        });
    }
}

/// The `nodes_*` attributes, refused when there are no nodes, too many, or lists of different
/// lengths.
fn node_attrs(a: &Attrs) -> Result<NodeAttrs, String> {
    let nodes = NodeAttrs {
        tree_ids: a.ints("nodes_treeids"),
        node_ids: a.ints("nodes_nodeids"),
        features: a.ints("nodes_featureids"),
        modes: a.strings("nodes_modes"),
        thresholds: a.reals("nodes_values")?,
        yes_ids: a.ints("nodes_truenodeids"),
        no_ids: a.ints("nodes_falsenodeids"),
        missing: a.ints("nodes_missing_value_tracks_true"),
    };
    let n = nodes.tree_ids.len();
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
        ("nodes_nodeids", nodes.node_ids.len()),
        ("nodes_featureids", nodes.features.len()),
        ("nodes_modes", nodes.modes.len()),
        ("nodes_values", nodes.thresholds.len()),
        ("nodes_truenodeids", nodes.yes_ids.len()),
        ("nodes_falsenodeids", nodes.no_ids.len()),
    ] {
        if len != n {
            return Err(a.err(format!(
                "`{name}` has {len} entries but `nodes_treeids` has {n}"
            )));
        }
    }
    if !nodes.missing.is_empty() && nodes.missing.len() != n {
        return Err(a.err(format!(
            "`nodes_missing_value_tracks_true` has {} entries for {n} nodes",
            nodes.missing.len()
        )));
    }
    Ok(nodes)
}

/// A classifier's labels: its strings if it has them, else its integers.
fn class_labels(a: &Attrs) -> Result<ClassLabels, String> {
    let ints = a.ints("classlabels_int64s");
    let strings = a.strings("classlabels_strings");
    if !strings.is_empty() {
        Ok(ClassLabels::Strings(strings))
    } else if !ints.is_empty() {
        Ok(ClassLabels::Ints(ints))
    } else {
        Err(a.err("has no class labels".into()))
    }
}

/// The `<prefix>_*` leaf-weight attributes, refused when their lengths differ.
fn leaf_attrs(a: &Attrs, prefix: &str) -> Result<LeafAttrs, String> {
    let leaves = LeafAttrs {
        tree_ids: a.ints(&format!("{prefix}_treeids")),
        node_ids: a.ints(&format!("{prefix}_nodeids")),
        targets: a.ints(&format!("{prefix}_ids")),
        values: a.reals(&format!("{prefix}_weights"))?,
        float_sums: !a.has(&format!("{prefix}_weights_as_tensor"))
            && !a.has("base_values_as_tensor"),
    };
    let nw = leaves.tree_ids.len();
    if leaves.node_ids.len() != nw || leaves.targets.len() != nw || leaves.values.len() != nw {
        return Err(a.err(format!(
            "the `{prefix}_*` leaf attributes have different lengths ({nw}, {}, {}, {})",
            leaves.node_ids.len(),
            leaves.targets.len(),
            leaves.values.len()
        )));
    }
    Ok(leaves)
}

/// The number of outputs (classes, or `n_targets`), refused when zero, past `MAX_OUTPUTS`, or
/// when a leaf weight is for an output beyond it.
fn n_targets(
    a: &Attrs,
    labels: Option<&ClassLabels>,
    leaf_targets: &[i64],
) -> Result<usize, String> {
    let n_targets = match labels {
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
    if let Some(bad) = leaf_targets
        .iter()
        .find(|&&t| t < 0 || t as usize >= n_targets)
    {
        return Err(a.err(format!(
            "a leaf weight is for output {bad}, but there are {n_targets}"
        )));
    }
    Ok(n_targets)
}

fn post_transform(a: &Attrs) -> Result<PostTransform, String> {
    Ok(match a.string("post_transform").as_deref() {
        None | Some("NONE") => PostTransform::None,
        Some("LOGISTIC") => PostTransform::Logistic,
        Some("SOFTMAX") => PostTransform::Softmax,
        Some("SOFTMAX_ZERO") => PostTransform::SoftmaxZero,
        Some("PROBIT") => PostTransform::Probit,
        Some(other) => return Err(a.err(format!("unknown post_transform `{other}`"))),
    })
}

fn aggregate(a: &Attrs) -> Result<Aggregate, String> {
    Ok(match a.string("aggregate_function").as_deref() {
        None | Some("SUM") => Aggregate::Sum,
        Some("AVERAGE") => Aggregate::Average,
        Some("MIN") => Aggregate::Min,
        Some("MAX") => Aggregate::Max,
        Some(other) => return Err(a.err(format!("unknown aggregate_function `{other}`"))),
    })
}

/// The base values: none, one for every output, or one per output (one or two for the binary
/// layout).
fn base_values(a: &Attrs, n_targets: usize, binary: bool) -> Result<Vec<f64>, String> {
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
    Ok(base_values)
}

/// Indexes every node by (tree, node id), refusing a node defined twice.
fn index_nodes(a: &Attrs, nodes: &NodeAttrs) -> Result<NodeIndex, String> {
    let (tree_ids, node_ids) = (&nodes.tree_ids, &nodes.node_ids);
    let n = tree_ids.len();
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
    Ok(NodeIndex {
        by_id: index,
        tree_ids: root_ids,
    })
}

/// The (target, weight) pairs of each leaf, by its source node, refusing a weight for a node
/// that does not exist.
fn weights_by_node(
    a: &Attrs,
    index: &NodeIndex,
    leaves: &LeafAttrs,
) -> Result<HashMap<usize, Vec<(u32, f64)>>, String> {
    let (w_tree, w_node) = (&leaves.tree_ids, &leaves.node_ids);
    let mut leaf_of: HashMap<usize, Vec<(u32, f64)>> = HashMap::new();
    for k in 0..w_tree.len() {
        let Some(&i) = index.by_id.get(&(w_tree[k], w_node[k])) else {
            return Err(a.err(format!(
                "a leaf weight refers to node {} of tree {}, which does not exist",
                w_node[k], w_tree[k]
            )));
        };
        leaf_of
            .entry(i)
            .or_default()
            .push((leaves.targets[k] as u32, leaves.values[k]));
    }
    Ok(leaf_of)
}

#[cfg(test)]
mod tests {
    use super::super::test_nodes::{floats, ints, strings};
    use super::*;
    use tract_onnx::pb::AttributeProto;

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
}
