//! Models: an ONNX file loaded with tract into [`OnnxModel`], which knows its task (classes or
//! regression), its class names, and predicts batches of rows in parallel.
//!
//! - [`card`]: the optional `<model>.card.json` and ONNX `metadata_props`.
//! - [`signature`]: inputs, outputs and operators as the file declares them.
//! - `ops`: ONNX-ML operators tract lacks (`Scaler`), registered in its op registry.
//! - `fold`: folds `Scaler → MatMul` into the weights, so MLP pipelines run ~3.5× faster.

pub mod card;
mod fold;
pub mod grad;
mod onnx;
mod ops;
pub mod signature;
pub mod trees;

use std::path::{Path, PathBuf};

use ndarray::Array2;

pub use card::ModelCard;
pub use onnx::{GradientModel, Gradients, InputColumn, OnnxModel, Wrt};
pub use signature::Signature;

/// What the model predicts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// Class probabilities; `positive_class` indexes `class_names`.
    Classification {
        class_names: Vec<String>,
        positive_class: Option<usize>,
    },
    /// One or more real-valued outputs.
    Regression { outputs: usize },
}

impl Task {
    /// Class names of a classifier; empty for a regressor.
    pub fn class_names(&self) -> &[String] {
        match self {
            Task::Classification { class_names, .. } => class_names,
            Task::Regression { .. } => &[],
        }
    }
}

/// What the score output holds, and so how it becomes probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreKind {
    /// One probability per class (softmax output, scikit-learn's probabilities).
    Probabilities,
    /// One probability per row: that of the second class (a sigmoid output).
    PositiveProbability,
    /// One logit per class: softmax gives the probabilities.
    Logits,
    /// One logit per row for the second class: the sigmoid gives its probability.
    PositiveLogit,
    /// Real-valued outputs, passed through.
    Regression,
}

impl ScoreKind {
    /// Turns raw scores (rows × columns) into probabilities, or passes regression values on.
    pub fn to_outputs(self, mut scores: Array2<f32>) -> Array2<f32> {
        let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
        match self {
            ScoreKind::Probabilities | ScoreKind::Regression => scores,
            ScoreKind::PositiveProbability => binary(scores.column(0).iter().copied()),
            ScoreKind::PositiveLogit => binary(scores.column(0).iter().map(|&v| sigmoid(v))),
            ScoreKind::Logits => {
                for mut row in scores.rows_mut() {
                    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    row.mapv_inplace(|v| (v - max).exp());
                    let sum = row.sum();
                    row.mapv_inplace(|v| v / sum);
                }
                scores
            }
        }
    }
}

fn binary(positive: impl Iterator<Item = f32>) -> Array2<f32> {
    let p: Vec<f32> = positive.collect();
    Array2::from_shape_fn(
        (p.len(), 2),
        |(r, c)| if c == 1 { p[r] } else { 1.0 - p[r] },
    )
}

/// Why a model could not be loaded or run. Each message is one line a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not an ONNX model: {0}")]
    NotOnnx(String),
    #[error("unsupported operator `{op}` (node `{node}`): {hint}")]
    UnsupportedOperator {
        op: String,
        node: String,
        hint: String,
    },
    #[error("model card: {0}")]
    Card(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{stage}: {message}")]
    Tract {
        stage: &'static str,
        message: String,
    },
}

impl ModelError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn tract(stage: &'static str, err: impl std::fmt::Display) -> Self {
        // tract chains its context with newlines; a user's error is one line.
        let message = format!("{err:#}")
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        ModelError::Tract { stage, message }
    }
}

impl ModelCard {
    /// The card beside `model_path` (`breast_cancer_mlp.onnx` → `breast_cancer_mlp.card.json`),
    /// or `None` when there is none.
    pub fn beside(model_path: &Path) -> Result<Option<ModelCard>, ModelError> {
        let path = model_path.with_extension("card.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => ModelCard::from_json(&text)
                .map(Some)
                .map_err(|e| ModelError::Card(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ModelError::io(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn logits_become_probabilities_that_sum_to_one() {
        let p = ScoreKind::Logits.to_outputs(array![[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]]);
        for row in p.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-6);
        }
        assert!((p[[0, 2]] - 0.665_240_9).abs() < 1e-6);
        assert!(
            (p[[1, 0]] - 1.0).abs() < 1e-6,
            "large logits must not overflow"
        );
    }

    #[test]
    fn one_logit_is_the_second_class() {
        let p = ScoreKind::PositiveLogit.to_outputs(array![[0.0], [2.0]]);
        assert_eq!(p.dim(), (2, 2));
        assert!((p[[1, 1]] - 0.880_797).abs() < 1e-6);
        assert!((p[[1, 0]] - 0.119_203).abs() < 1e-6);
    }
}
