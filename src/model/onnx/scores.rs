//! What the score output holds — probabilities, logits or regression values — read from the
//! operator that made it and then checked on the model's own outputs.
//!
//! The operator is found through the nodes that change no value (`Identity`, `Cast`, `Reshape`,
//! `Flatten`, `Squeeze`, `Unsqueeze`): scikit-learn's exports without ZipMap pass their
//! probabilities through an `Identity` to the graph output. After loading, the model runs on a
//! few probe rows ([`probe_rows`]); a probability output lies in [0, 1] and sums to 1 on every
//! row, a logits output does not. [`settle`] turns a contradiction into an error (the graph
//! says probabilities, the values are not) or a note (the values are probabilities where the
//! graph did not say so): never a silent softmax over probabilities.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use tract_onnx::pb::{GraphProto, NodeProto};

use super::task::{ML_CLASSIFIERS, ML_REGRESSORS};
use crate::model::card::ModelCard;
use crate::model::{ModelError, ScoreKind};

/// Nodes whose output holds the same values as their first input.
const VALUE_PRESERVING: [&str; 6] = [
    "Identity",
    "Cast",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
];

/// How far a probability may stray from [0, 1], and a row's sum from 1 (float32 rounding).
const TOLERANCE: f32 = 1e-4;
const SUM_TOLERANCE: f32 = 1e-3;

/// The node that computed the score output, found through value-preserving nodes.
#[derive(Clone, Debug)]
pub(super) struct Producer {
    pub(super) op: String,
    /// Which of the node's outputs is the score.
    pub(super) output: usize,
    pub(super) node: String,
}

/// The node computing `score`, followed back through value-preserving nodes.
pub(super) fn producer_of(graph: &GraphProto, score: &str) -> Option<Producer> {
    let mut name = score.to_string();
    // Each step moves to an earlier node, so a graph with a cycle cannot loop forever.
    for _ in 0..=graph.node.len() {
        let (node, output) = graph
            .node
            .iter()
            .find_map(|n| n.output.iter().position(|o| *o == name).map(|ix| (n, ix)))?;
        match node.input.first() {
            Some(input) if VALUE_PRESERVING.contains(&node.op_type.as_str()) => {
                name = input.clone();
            }
            _ => {
                return Some(Producer {
                    op: node.op_type.clone(),
                    output,
                    node: node_name(node),
                });
            }
        }
    }
    None
}

/// The graph's word that the scores are probabilities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Claim {
    /// What says so, for messages: "`Softmax` (node `probs`) makes it".
    pub(super) by: String,
    /// Each column is a probability of its own (a `Sigmoid`: multi-label scores need not sum
    /// to 1).
    pub(super) independent: bool,
}

/// What the graph says the scores are: the kind, and when the graph says probabilities, what
/// says so.
pub(super) fn declared_kind(
    producer: Option<&Producer>,
    fed_zipmap: bool,
    columns: usize,
    card: &ModelCard,
) -> (ScoreKind, Option<Claim>) {
    let by_op = producer.and_then(|p| {
        let probabilities = matches!(p.op.as_str(), "Softmax" | "Sigmoid")
            || (p.output == 1 && ML_CLASSIFIERS.contains(&p.op.as_str()));
        probabilities.then(|| Claim {
            by: format!("`{}` (node `{}`) makes it", p.op, p.node),
            independent: p.op == "Sigmoid",
        })
    });
    let said_by = if fed_zipmap {
        Some(Claim {
            by: "it feeds a ZipMap".to_string(),
            independent: false,
        })
    } else {
        by_op
    };
    let regression = match card.task.as_deref() {
        Some(task) => task.eq_ignore_ascii_case("regression"),
        None => {
            producer.is_some_and(|p| ML_REGRESSORS.contains(&p.op.as_str()))
                || (columns == 1 && said_by.is_none())
        }
    };
    let kind = match (regression, said_by.is_some(), columns) {
        (true, _, _) => ScoreKind::Regression,
        (false, true, 1) => ScoreKind::PositiveProbability,
        (false, true, _) => ScoreKind::Probabilities,
        (false, false, 1) => ScoreKind::PositiveLogit,
        (false, false, _) => ScoreKind::Logits,
    };
    (kind, said_by.filter(|_| !regression))
}

/// Rows the model is run on after loading to check its scores: one of zeros, then seeded
/// values in [-2, 2]. Fewer rows for wide inputs (images), which cost more to run.
pub(super) fn probe_rows(width: usize) -> Array2<f32> {
    let rows = if width > 4096 { 2 } else { 8 };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
    Array2::from_shape_fn((rows, width), |(r, _)| {
        if r == 0 {
            0.0
        } else {
            rng.random_range(-2.0..=2.0)
        }
    })
}

/// The first probe row whose scores are not probabilities, with a description of why; `None`
/// when every row with finite scores is a probability row. Rows with non-finite scores say
/// nothing either way.
fn first_non_probability(raw: ArrayView2<f32>, independent: bool) -> Option<(usize, String)> {
    raw.rows()
        .into_iter()
        .enumerate()
        .filter(|(_, row)| row.iter().all(|v| v.is_finite()))
        .find_map(|(r, row)| {
            if let Some(v) = row
                .iter()
                .find(|&&v| !(-TOLERANCE..=1.0 + TOLERANCE).contains(&v))
            {
                return Some((r, format!("a score of {v} lies outside [0, 1]")));
            }
            let sum: f32 = row.sum();
            (!independent && row.len() > 1 && (sum - 1.0).abs() > SUM_TOLERANCE)
                .then(|| (r, format!("its scores sum to {sum}, not 1")))
        })
}

/// The score kind checked against the scores `raw` of the probe rows: the kind the graph
/// declares when the values agree; an error when the graph says probabilities and the values
/// are not; probabilities with a note when the graph says nothing and every row of two or more
/// columns is a probability row (such rows are not logits: a softmax would distort them).
pub(super) fn settle(
    declared: ScoreKind,
    said_by: Option<&Claim>,
    score: &str,
    raw: ArrayView2<f32>,
) -> Result<(ScoreKind, Option<String>), ModelError> {
    let finite_rows = raw
        .rows()
        .into_iter()
        .filter(|row| row.iter().all(|v| v.is_finite()))
        .count();
    if finite_rows == 0 {
        return Ok((declared, None));
    }
    let independent = said_by.is_some_and(|c| c.independent);
    let contradiction = first_non_probability(raw, independent);
    match (declared, said_by.map(|c| &c.by), contradiction) {
        (ScoreKind::Probabilities | ScoreKind::PositiveProbability, Some(by), Some((r, why))) => {
            Err(ModelError::Invalid(format!(
                "output `{score}` should hold probabilities ({by}), but on probe row {r} {why}; \
                 name the output that holds the scores in the card (`output`)"
            )))
        }
        (ScoreKind::Logits, None, None) => Ok((
            ScoreKind::Probabilities,
            Some(format!(
                "output `{score}` is not made by a softmax or a classifier, but its values are \
                 probabilities (every probe row lies in [0, 1] and sums to 1): read as \
                 probabilities, no softmax applied"
            )),
        )),
        _ => Ok((declared, None)),
    }
}

pub(super) fn node_name(node: &NodeProto) -> String {
    if !node.name.is_empty() {
        node.name.clone()
    } else {
        node.output
            .first()
            .cloned()
            .unwrap_or_else(|| "unnamed".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn probabilities_that_are_not_are_an_error() {
        let raw = array![[0.2, 0.8], [1.5, -0.5]];
        let softmax = Claim {
            by: "`Softmax` (node `sm`) makes it".into(),
            independent: false,
        };
        let err = settle(ScoreKind::Probabilities, Some(&softmax), "p", raw.view()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "output `p` should hold probabilities (`Softmax` (node `sm`) makes it), but on probe \
             row 1 a score of 1.5 lies outside [0, 1]; name the output that holds the scores in \
             the card (`output`)"
        );
    }

    #[test]
    fn sigmoid_columns_need_not_sum_to_one() {
        let sigmoid = Claim {
            by: "`Sigmoid` (node `s`)".into(),
            independent: true,
        };
        let raw = array![[0.9, 0.8], [0.1, 0.3]];
        let (kind, note) =
            settle(ScoreKind::Probabilities, Some(&sigmoid), "p", raw.view()).unwrap();
        assert_eq!((kind, note), (ScoreKind::Probabilities, None));
    }

    #[test]
    fn logits_that_are_probabilities_are_read_as_such_with_a_note() {
        let raw = array![[0.2, 0.8], [0.5, 0.5]];
        let (kind, note) = settle(ScoreKind::Logits, None, "p", raw.view()).unwrap();
        assert_eq!(kind, ScoreKind::Probabilities);
        assert!(note.unwrap().contains("no softmax applied"));
        let raw = array![[0.2, 0.9], [0.5, 0.5]];
        let (kind, note) = settle(ScoreKind::Logits, None, "p", raw.view()).unwrap();
        assert_eq!((kind, note), (ScoreKind::Logits, None));
    }

    #[test]
    fn non_finite_rows_say_nothing() {
        let raw = array![[f32::NAN, 3.0]];
        let claim = Claim {
            by: "x".into(),
            independent: false,
        };
        let (kind, note) = settle(ScoreKind::Probabilities, Some(&claim), "p", raw.view()).unwrap();
        assert_eq!((kind, note), (ScoreKind::Probabilities, None));
    }
}
