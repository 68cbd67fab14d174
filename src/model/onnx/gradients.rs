//! Gradients of the explained score through the model's own graph (see [`crate::model::grad`]):
//! batches of rows in chunks that bound the memory the kept intermediate values take.

use ndarray::{ArrayD, IxDyn};

use super::OnnxModel;
use crate::model::ModelError;
use std::sync::Arc;

use crate::model::grad::{Graph, Head};

/// Input values per chunk of rows differentiated at once: a chunk keeps every intermediate
/// value of its forward pass (a few dozen copies of the input for a CNN).
const CHUNK_VALUES: usize = 1 << 20;

/// Which gradients to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrt<'a> {
    /// The input's.
    Input,
    /// A layer's activations (Grad-CAM): the named tensor, or the last convolutional feature
    /// map when `None`.
    Layer(Option<&'a str>),
}

/// Scores and gradients of rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gradients {
    /// The explained score of each row (as [`OnnxModel::predict`] gives it).
    pub scores: Vec<f64>,
    /// The gradient of each row's score: with respect to the input (rows × features), or
    /// to the layer (rows × the layer's values per row).
    pub grads: Vec<f32>,
    /// The layer's activations (rows × values per row); empty for input gradients.
    pub activations: Vec<f32>,
    /// The shape of one row's gradient.
    pub shape: Vec<usize>,
    /// The tensor the gradients are of.
    pub of: String,
}

/// What differentiating a model needs, cheap to clone and to keep in an explainer: the graph
/// read for gradients, how the score is read from its output, and the shape of one row.
#[derive(Clone)]
pub struct GradientModel {
    graph: Arc<Graph>,
    head: Head,
    row_shape: Vec<usize>,
}

impl OnnxModel {
    /// Why gradients cannot be computed for this model, if they cannot: the operator without
    /// a gradient rule and its node, in one line.
    pub fn gradient_support(&self) -> Result<(), String> {
        self.grad.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    /// The model's gradients as a handle of their own (see [`GradientModel`]).
    pub fn gradient_model(&self) -> Result<GradientModel, ModelError> {
        let graph = self
            .grad
            .as_ref()
            .map_err(|why| ModelError::Invalid(why.clone()))?;
        Ok(GradientModel {
            graph: graph.clone(),
            head: Head {
                kind: self.score_kind,
            },
            row_shape: self.row_shape.clone(),
        })
    }

    /// The gradients of class (or output) `target`'s score for `rows` rows held in `x`
    /// (rows × features, row-major).
    pub fn gradients(
        &self,
        x: &[f32],
        rows: usize,
        target: usize,
        wrt: Wrt,
    ) -> Result<Gradients, ModelError> {
        self.gradient_model()?.gradients(x, rows, target, wrt)
    }
}

impl GradientModel {
    /// The gradients of class (or output) `target`'s score for `rows` rows held in `x`
    /// (rows × features, row-major).
    pub fn gradients(
        &self,
        x: &[f32],
        rows: usize,
        target: usize,
        wrt: Wrt,
    ) -> Result<Gradients, ModelError> {
        let (graph, head) = (&self.graph, self.head);
        let width: usize = self.row_shape.iter().product();
        if x.len() != rows * width {
            return Err(ModelError::Invalid(format!(
                "the model takes {width} values per row, got {} for {rows} rows",
                x.len()
            )));
        }
        let chunk = (CHUNK_VALUES / width.max(1)).clamp(1, 64);
        let mut out = Gradients::default();
        let invalid = |e: String| ModelError::Invalid(format!("gradients: {e}"));
        for start in (0..rows).step_by(chunk) {
            let n = chunk.min(rows - start);
            let mut shape = vec![n];
            shape.extend_from_slice(&self.row_shape);
            let input = ArrayD::from_shape_vec(
                IxDyn(&shape),
                x[start * width..(start + n) * width].to_vec(),
            )
            .map_err(|e| invalid(e.to_string()))?;
            let tape = crate::guard::guarded(|| graph.forward(input))
                .map_err(|p| invalid(format!("the forward pass failed ({p})")))?
                .map_err(invalid)?;
            let raw = graph
                .value(&tape, graph.output_id())
                .ok_or_else(|| invalid("the output is not a float tensor".into()))?;
            let (scores, seed) = head.score(raw, target, &vec![1f32; n]).map_err(invalid)?;
            let id = match wrt {
                Wrt::Input => graph.input_id(),
                Wrt::Layer(Some(name)) => graph.value_id(name).ok_or_else(|| {
                    ModelError::Card(format!("cam_layer `{name}` is not a tensor of the graph"))
                })?,
                Wrt::Layer(None) => graph.last_feature_map(&tape).ok_or_else(|| {
                    invalid("the model computes no convolutional feature map".into())
                })?,
            };
            let mut g = crate::guard::guarded(|| graph.backward(&tape, seed, &[id]))
                .map_err(|p| invalid(format!("the backward pass failed ({p})")))?
                .map_err(invalid)?;
            let g = g.pop().unwrap_or_default();
            out.shape = g.shape()[1..].to_vec();
            out.of = graph.value_name(id).to_string();
            out.scores.extend(scores);
            out.grads.extend(g.iter().copied());
            if wrt != Wrt::Input
                && let Some(a) = graph.value(&tape, id)
            {
                out.activations.extend(a.iter().copied());
            }
        }
        Ok(out)
    }
}
