//! Analysis of predictions: [`Predictions`] (the predicted class and its confidence per row) and
//! [`metrics`] (accuracy, confusion matrix, per-class precision, recall and F1).

pub mod metrics;
mod predictions;

pub use metrics::{ClassMetrics, ConfusionMatrix};
pub use predictions::Predictions;
