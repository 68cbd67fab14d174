//! What the model's scores are: which output holds them, how many columns they have, the class
//! names and the [`Task`], and a hint for operators Loupe cannot run.

use std::collections::HashSet;

use tract_onnx::pb::{self, GraphProto, NodeProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::DimLike;

use crate::model::card::ModelCard;
use crate::model::signature::TensorInfo;
use crate::model::{ModelError, ScoreKind, Task};

/// Ops that compute a classifier's class probabilities as their second output.
pub(super) const ML_CLASSIFIERS: [&str; 3] = [
    "LinearClassifier",
    "SVMClassifier",
    "TreeEnsembleClassifier",
];

/// Ops whose output is a regression value.
pub(super) const ML_REGRESSORS: [&str; 3] =
    ["LinearRegressor", "SVMRegressor", "TreeEnsembleRegressor"];

/// The card's `output`, else the tensor that fed a ZipMap, else an output named like
/// probabilities, else the first float output.
pub(super) fn choose_score_output(
    graph: &GraphProto,
    card: &ModelCard,
    fed_zipmap: &HashSet<&String>,
) -> Result<String, ModelError> {
    let names: Vec<&String> = graph.output.iter().map(|o| &o.name).collect();
    if let Some(wanted) = &card.output {
        let produced = graph.node.iter().any(|n| n.output.contains(wanted));
        return if names.contains(&wanted) || produced {
            Ok(wanted.clone())
        } else {
            Err(ModelError::Invalid(format!(
                "the card names output `{wanted}`, but the model has {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        };
    }
    let is_float = |o: &&pb::ValueInfoProto| {
        let t = TensorInfo::of(o).elem_type;
        t == "float" || t == "double" || t == "float16" || t == "unknown"
    };
    graph
        .output
        .iter()
        .find(|o| fed_zipmap.contains(&o.name))
        .or_else(|| {
            graph
                .output
                .iter()
                .filter(is_float)
                .find(|o| o.name.contains("prob"))
        })
        .or_else(|| {
            graph
                .output
                .iter()
                .find(|o| is_float(o) && TensorInfo::of(o).elem_type != "unknown")
        })
        .or_else(|| graph.output.iter().find(is_float))
        .map(|o| o.name.clone())
        .ok_or_else(|| ModelError::Invalid("the model has no numeric output to explain".into()))
}

pub(super) fn class_labels(node: &NodeProto, strings: &str, ints: &str) -> Option<Vec<String>> {
    let attr = node
        .attribute
        .iter()
        .find(|a| a.name == strings || a.name == ints)?;
    let labels: Vec<String> = if attr.name == strings {
        attr.strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    } else {
        attr.ints.iter().map(|i| i.to_string()).collect()
    };
    (!labels.is_empty()).then_some(labels)
}

pub(super) fn operator_hint(op: &str) -> &'static str {
    match op {
        "TreeEnsembleClassifier" | "TreeEnsembleRegressor" => {
            "tree ensembles need Loupe's own tree evaluator"
        }
        "DictVectorizer" => {
            "it reads dictionaries: export the pipeline from a DataFrame (one input per column) \
             or a matrix instead"
        }
        _ => "re-export the model with standard ONNX operators",
    }
}

/// Number of score columns per row, from the analysed graph.
pub(super) fn score_columns(model: &TypedModel) -> Result<usize, ModelError> {
    let outlet = model
        .output_outlets()
        .map_err(|e| ModelError::tract("finding the output", e))?
        .first()
        .copied()
        .ok_or_else(|| ModelError::Invalid("the model has no output".into()))?;
    let fact = model
        .outlet_fact(outlet)
        .map_err(|e| ModelError::tract("typing the output", e))?;
    let dims = fact.shape.dims();
    let trailing: Option<usize> = dims
        .iter()
        .skip(1)
        .map(|d| d.to_usize().ok())
        .product::<Option<usize>>();
    match (dims.len(), trailing) {
        (0, _) => Err(ModelError::Invalid(
            "the score output is a scalar, not one value per row".into(),
        )),
        (1, _) => Ok(1),
        (_, Some(n)) if n > 0 => Ok(n),
        _ => Err(ModelError::Invalid(format!(
            "the score output has no fixed width (shape {fact:?})"
        ))),
    }
}

pub(super) fn task_for(
    kind: ScoreKind,
    raw_columns: usize,
    card: &ModelCard,
    graph_labels: Option<Vec<String>>,
) -> Result<Task, ModelError> {
    if kind == ScoreKind::Regression {
        return Ok(Task::Regression {
            outputs: raw_columns,
        });
    }
    let n_classes = if raw_columns == 1 { 2 } else { raw_columns };
    let class_names = match (&card.class_names, graph_labels) {
        (Some(names), _) if names.len() != n_classes => {
            return Err(ModelError::Card(format!(
                "the card lists {} class names but the model scores {n_classes} classes",
                names.len()
            )));
        }
        (Some(names), _) => names.clone(),
        (None, Some(labels)) if labels.len() == n_classes => labels,
        _ => (0..n_classes).map(|i| format!("class {i}")).collect(),
    };
    let positive_class = match &card.positive_class {
        None => None,
        Some(p) => Some(class_names.iter().position(|c| c == p).ok_or_else(|| {
            ModelError::Card(format!(
                "positive_class `{p}` is not one of the classes ({})",
                class_names.join(", ")
            ))
        })?),
    };
    Ok(Task::Classification {
        class_names,
        positive_class,
    })
}
