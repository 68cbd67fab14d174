//! Preparing the ONNX proto for tract: the single input and its row shape, the ZipMap cut
//! off, the graph pruned to the score output, constant sizes and operators checked, and the
//! tree ensemble found when it is the whole model ([`Prepared`]).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tract_onnx::pb::{self, GraphProto, ModelProto, NodeProto};

use super::inputs::InputColumn;
use super::scores::{Claim, Producer, declared_kind, node_name, producer_of};
use super::task::{ML_CLASSIFIERS, choose_score_output, class_labels, operator_hint};
use crate::model::card::ModelCard;
use crate::model::signature::{Dim, TensorInfo};
use crate::model::trees::TreeEnsemble;
use crate::model::{ModelError, ScoreKind};

/// The largest tensor one row may make anywhere in the graph (1 GB of f32): a tiny file can ask
/// for far more (a `Tile` by a billion), and running out of memory cannot be turned into an
/// error.
pub(super) const MAX_VALUES_PER_ROW: u128 = 1 << 28;

/// tract's ONNX front-end with Loupe's extra operators registered.
pub(super) fn onnx_with_loupe_ops() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    crate::model::ops::register(&mut onnx.op_register);
    onnx
}

/// What preparing the proto learned about the graph.
pub(super) struct Prepared {
    pub(super) row_shape: Vec<usize>,
    pub(super) score: String,
    /// The node producing the score output (through value-preserving nodes).
    producer: Option<Producer>,
    /// The score output fed a ZipMap (scikit-learn's probabilities).
    fed_zipmap: bool,
    /// Class labels stored in the graph (ZipMap or classifier attributes).
    pub(super) labels: Option<Vec<String>>,
    pub(super) trees: Result<Arc<TreeEnsemble>, String>,
    /// The columns of a graph whose inputs were rewritten to one matrix, and whether they
    /// can be matched to the data by name (one column per input).
    pub(super) columns: Option<(bool, Vec<InputColumn>)>,
    /// An `Imputer` replaces NaN: missing values may be fed.
    pub(super) imputes_missing: bool,
}

impl Prepared {
    /// What the graph says the scores are (see [`declared_kind`]).
    pub(super) fn declared(&self, columns: usize, card: &ModelCard) -> (ScoreKind, Option<Claim>) {
        declared_kind(self.producer.as_ref(), self.fed_zipmap, columns, card)
    }
}

/// Cuts the ZipMap off, prunes the graph to the score output and checks every operator.
pub(super) fn prepare_graph(
    proto: &mut ModelProto,
    card: &ModelCard,
    onnx: &tract_onnx::Onnx,
) -> Result<Prepared, ModelError> {
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| ModelError::NotOnnx("the file holds no graph".into()))?;
    let binding = super::inputs::bind(graph)?;
    let row_shape = match &binding {
        None => row_shape(super::inputs::graph_inputs(graph)[0], card)?,
        Some(b) => vec![b.columns.len()],
    };

    let mut labels = None;
    let mut zipmap_inputs = HashMap::new();
    for node in graph.node.iter().filter(|n| n.op_type == "ZipMap") {
        if let (Some(input), Some(output)) = (node.input.first(), node.output.first()) {
            zipmap_inputs.insert(output.clone(), input.clone());
        }
        labels = labels.or_else(|| class_labels(node, "classlabels_strings", "classlabels_int64s"));
    }
    graph.node.retain(|n| n.op_type != "ZipMap");
    for output in graph.output.iter_mut() {
        if let Some(input) = zipmap_inputs.get(&output.name) {
            output.name = input.clone();
            output.r#type = None;
        }
    }
    let fed_zipmap_names: HashSet<&String> = zipmap_inputs.values().collect();

    let score = choose_score_output(graph, card, &fed_zipmap_names)?;
    let fed_zipmap = fed_zipmap_names.contains(&score);
    graph.output.retain(|o| o.name == score);
    if graph.output.is_empty() {
        // The card named an inner tensor: make it the output.
        graph.output.push(pb::ValueInfoProto {
            name: score.clone(),
            ..Default::default()
        });
    }
    prune_to(graph, &score);
    check_constant_sizes(graph)?;
    crate::model::fold::fold_scalers(graph);

    let producer = producer_of(graph, &score);
    for node in &graph.node {
        if labels.is_none() && ML_CLASSIFIERS.contains(&node.op_type.as_str()) {
            labels = class_labels(node, "classlabels_strings", "classlabels_ints")
                .or_else(|| class_labels(node, "classlabels_strings", "classlabels_int64s"));
        }
        if !onnx.op_register.0.contains_key(&node.op_type) {
            return Err(ModelError::UnsupportedOperator {
                op: node.op_type.clone(),
                node: node_name(node),
                hint: operator_hint(&node.op_type).to_string(),
            });
        }
    }
    number_string_labels(graph);
    let known = graph.node.iter().any(|n| n.output.contains(&score))
        || graph.input.iter().any(|i| i.name == score)
        || graph.initializer.iter().any(|t| t.name == score);
    if !known {
        return Err(ModelError::Invalid(format!(
            "the graph's output `{score}` is computed by no node"
        )));
    }
    let trees = direct_trees(graph, &score);
    let imputes_missing = graph.node.iter().any(|n| {
        n.op_type == "Imputer"
            && n.attribute
                .iter()
                .any(|a| a.name == "replaced_value_float" && a.f.is_nan())
    });
    Ok(Prepared {
        row_shape,
        columns: binding.map(|b| (b.names_columns(), b.columns)),
        imputes_missing,
        score,
        producer,
        fed_zipmap,
        labels,
        trees,
    })
}

/// The tree ensemble that computes `score` from the graph's input with nothing in between but
/// casts and identities (which change no value), or why there is none.
fn direct_trees(graph: &GraphProto, score: &str) -> Result<Arc<TreeEnsemble>, String> {
    let is_tree = |n: &&NodeProto| n.op_type.starts_with("TreeEnsemble");
    let trees: Vec<&NodeProto> = graph.node.iter().filter(is_tree).collect();
    let node = match trees.as_slice() {
        [] => return Err("the model has no tree ensemble".into()),
        [one] => *one,
        _ => return Err("the model combines several tree ensembles".into()),
    };
    // Follows `name` back through casts and identities to where its value is computed.
    let source = |name: &str| {
        let mut name = name.to_string();
        while let Some(n) = graph.node.iter().find(|n| n.output.contains(&name)) {
            if !matches!(n.op_type.as_str(), "Identity" | "Cast") {
                break;
            }
            match n.input.first() {
                Some(input) => name = input.clone(),
                None => break,
            }
        }
        name
    };
    let input = graph
        .input
        .first()
        .map(|i| i.name.as_str())
        .unwrap_or_default();
    let scores_at = if node.op_type == "TreeEnsembleClassifier" {
        1
    } else {
        0
    };
    let reads_input = node.input.first().is_some_and(|i| source(i) == input);
    let writes_scores = node
        .output
        .get(scores_at)
        .is_some_and(|o| *o == source(score));
    if !reads_input || !writes_scores {
        return Err(if reads_input {
            format!(
                "the tree ensemble `{}` is not the whole model (other operators follow it)",
                node_name(node)
            )
        } else {
            format!(
                "the tree ensemble `{}` reads the columns through other operators inside the \
                 graph (encoders, imputers), not the raw columns: exact, kernel and permutation \
                 explain the raw columns",
                node_name(node)
            )
        });
    }
    TreeEnsemble::from_node(node).map(Arc::new)
}

/// The per-row input shape: every dimension but the first (the batch) must be known, from the
/// file or from the card's image size.
fn row_shape(input: &pb::ValueInfoProto, card: &ModelCard) -> Result<Vec<usize>, ModelError> {
    let info = TensorInfo::of(input);
    if info.elem_type != "float" {
        return Err(ModelError::Invalid(format!(
            "input `{}` is {}; Loupe feeds float32 (export the model with a float input)",
            info.name, info.elem_type
        )));
    }
    let Some(dims) = info.shape else {
        return Err(ModelError::Invalid(format!(
            "input `{}` declares no shape",
            info.name
        )));
    };
    if dims.len() < 2 {
        return Err(ModelError::Invalid(format!(
            "input `{}` has rank {}; Loupe expects a batch dimension then the features",
            info.name,
            dims.len()
        )));
    }
    let image_dims = card.image.as_ref().map(|img| {
        let layout_nhwc = img
            .layout
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("NHWC"));
        let (c, h, w) = (img.channels, img.height, img.width);
        if layout_nhwc { [h, w, c] } else { [c, h, w] }
    });
    dims[1..]
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Dim::Fixed(n) if *n > 0 => Ok(*n as usize),
            _ => image_dims
                .filter(|_| dims.len() == 4)
                .and_then(|img| img[i])
                .map(|n| n as usize)
                .ok_or_else(|| {
                    ModelError::Invalid(format!(
                        "input `{}` has no fixed size for dimension {} ({d}); give it in the card",
                        info.name,
                        i + 1
                    ))
                }),
        })
        .collect()
}

/// Keeps only the nodes the score output depends on (drops label outputs and the like).
pub(super) fn prune_to(graph: &mut GraphProto, output: &str) {
    let mut needed: HashSet<String> = HashSet::from([output.to_string()]);
    let mut keep = vec![false; graph.node.len()];
    for (ix, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o)) {
            keep[ix] = true;
            needed.extend(node.input.iter().filter(|i| !i.is_empty()).cloned());
        }
    }
    let mut flags = keep.into_iter();
    graph.node.retain(|_| flags.next().unwrap_or(false));
}

/// Refuses a `ConstantOfShape` or `Range` whose size, fixed by constants, passes
/// `MAX_VALUES_PER_ROW`: tract makes such tensors while it analyses the graph, before the
/// per-row check can see them.
fn check_constant_sizes(graph: &GraphProto) -> Result<(), ModelError> {
    let constant = |name: &str| -> Option<Vec<f64>> {
        let tensor = graph
            .initializer
            .iter()
            .find(|t| t.name == name)
            .or_else(|| {
                graph
                    .node
                    .iter()
                    .filter(|n| n.op_type == "Constant" && n.output.iter().any(|o| o == name))
                    .find_map(|n| n.attribute.iter().find(|a| a.name == "value")?.t.as_ref())
            })?;
        crate::model::trees::tensor_reals(tensor).ok()
    };
    let input = |node: &NodeProto, i: usize| node.input.get(i).and_then(|name| constant(name));
    for node in &graph.node {
        let values = match node.op_type.as_str() {
            "ConstantOfShape" => {
                input(node, 0).map(|dims| dims.iter().map(|d| d.max(0.0)).product::<f64>())
            }
            "Range" => match (input(node, 0), input(node, 1), input(node, 2)) {
                (Some(start), Some(limit), Some(delta))
                    if start.len() == 1 && limit.len() == 1 && delta.len() == 1 =>
                {
                    // A zero step never reaches the limit: infinitely many values.
                    let n = (limit[0] - start[0]) / delta[0];
                    Some(if n.is_nan() {
                        f64::INFINITY
                    } else {
                        n.ceil().max(0.0)
                    })
                }
                _ => None,
            },
            _ => None,
        };
        // NaN (an infinite dimension times zero) is refused with the sizes past the limit.
        if let Some(values) = values
            && (values.is_nan() || values > MAX_VALUES_PER_ROW as f64)
        {
            let count = if values.is_finite() {
                crate::thousands(values as u128)
            } else {
                "infinitely many".into()
            };
            return Err(too_large(&node_name(node), &count, ""));
        }
    }
    Ok(())
}

/// Node `node` makes a tensor of `count` values (`per`: " per row", or nothing), past
/// `MAX_VALUES_PER_ROW`.
pub(super) fn too_large(node: &str, count: &str, per: &str) -> ModelError {
    ModelError::Invalid(format!(
        "node `{node}` makes a tensor of {count} values{per}, more than Loupe's limit of {}",
        crate::thousands(MAX_VALUES_PER_ROW)
    ))
}

/// Gives tract's classifiers (`LinearClassifier`, `SVMClassifier`) class numbers 0..k in place
/// of string labels, which tract cannot type (`String doesn't implement Zero`). Only their label
/// output changes — it is pruned, Loupe reads the scores — and the class names have been taken
/// from the strings already. Loupe's own tree ensembles read string labels themselves.
fn number_string_labels(graph: &mut GraphProto) {
    for node in graph
        .node
        .iter_mut()
        .filter(|n| matches!(n.op_type.as_str(), "LinearClassifier" | "SVMClassifier"))
    {
        let Some(attr) = node
            .attribute
            .iter_mut()
            .find(|a| a.name == "classlabels_strings")
        else {
            continue;
        };
        let classes = attr.strings.len() as i64;
        *attr = pb::AttributeProto {
            name: "classlabels_ints".into(),
            r#type: pb::attribute_proto::AttributeType::Ints as i32,
            ints: (0..classes).collect(),
            ..Default::default()
        };
    }
}
