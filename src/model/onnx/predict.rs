//! Running the model on rows: batches of `batch_rows` rows sent to tract in parallel, and the
//! activations of the card's `cam_layer` for Score-CAM.

use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;
use tract_onnx::prelude::*;

use super::{Activations, OnnxModel};
use crate::model::ModelError;

impl OnnxModel {
    /// The activations of the card's `cam_layer` for every row of `x`: (shape of one row's
    /// activations, values row after row). `None` when the card names no such layer.
    pub fn activations(&self, x: ArrayView2<f32>) -> Result<Option<Activations>, ModelError> {
        let Some(plan) = &self.cam_plan else {
            return Ok(None);
        };
        let mut shape = vec![x.nrows()];
        shape.extend_from_slice(&self.row_shape);
        let input = ndarray::ArrayD::from_shape_vec(shape, x.iter().copied().collect())
            .map_err(|e| ModelError::Invalid(e.to_string()))?;
        let outputs = crate::guard::guarded(|| plan.run(tvec!(Tensor::from(input).into())))
            .map_err(|panic| {
                ModelError::Invalid(format!("running the model: tract failed ({panic})"))
            })?
            .map_err(|e| ModelError::tract("computing activations", e))?;
        let t = outputs[0]
            .cast_to::<f32>()
            .map_err(|e| ModelError::tract("reading activations", e))?;
        let view = t
            .to_plain_array_view::<f32>()
            .map_err(|e| ModelError::tract("reading activations", e))?;
        Ok(Some((
            view.shape()[1..].to_vec(),
            view.iter().copied().collect(),
        )))
    }

    /// Predicts every row of `x` (rows × features): class probabilities for a classifier,
    /// output values for a regressor. Rows are sent in batches, in parallel.
    pub fn predict(&self, x: ArrayView2<f32>) -> Result<Array2<f32>, ModelError> {
        self.predict_generated(x.nrows(), x.ncols(), &|start, out| {
            let rows = out.len() / x.ncols().max(1);
            for (dst, src) in out
                .chunks_exact_mut(x.ncols())
                .zip(x.slice(s![start..start + rows, ..]).rows())
            {
                dst.iter_mut().zip(src).for_each(|(d, v)| *d = *v);
            }
        })
    }

    /// Predicts `rows` rows of `width` values that `fill(first_row, buffer)` writes batch by
    /// batch into the model's own input buffers: no matrix of all rows is ever built or copied,
    /// and each batch is filled on the core that runs it, while it is in cache.
    pub fn predict_generated(
        &self,
        rows: usize,
        width: usize,
        fill: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) -> Result<Array2<f32>, ModelError> {
        if width != self.n_features() {
            return Err(ModelError::Invalid(format!(
                "the model takes {} values per row, got {width}",
                self.n_features()
            )));
        }
        let starts: Vec<usize> = (0..rows).step_by(self.batch_rows).collect();
        let parts: Vec<Array2<f32>> = starts
            .par_iter()
            .map(|&start| {
                let n = self.batch_rows.min(rows - start);
                let mut buffer = vec![0f32; n * width];
                fill(start, &mut buffer);
                self.run_batch(buffer, n)
            })
            .collect::<Result<_, _>>()?;
        if parts.is_empty() {
            return Ok(Array2::zeros((0, self.n_outputs())));
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views).map_err(|e| ModelError::Invalid(e.to_string()))
    }

    /// Runs one batch of `rows` rows held in `buffer` (rows × features, row-major).
    fn run_batch(&self, buffer: Vec<f32>, rows: usize) -> Result<Array2<f32>, ModelError> {
        Ok(self.score_kind.to_outputs(self.run_raw(buffer, rows)?))
    }

    /// The raw score output (rows × score columns) for one batch, before any softmax.
    pub(super) fn run_raw(&self, buffer: Vec<f32>, rows: usize) -> Result<Array2<f32>, ModelError> {
        let mut shape = vec![rows];
        shape.extend_from_slice(&self.row_shape);
        let input = ndarray::ArrayD::from_shape_vec(shape, buffer)
            .map_err(|e| ModelError::Invalid(e.to_string()))?;
        let plan = if rows == self.batch_rows {
            &self.full_batch_plan
        } else {
            &self.plan
        };
        let outputs = crate::guard::guarded(|| plan.run(tvec!(Tensor::from(input).into())))
            .map_err(|panic| {
                ModelError::Invalid(format!("running the model: tract failed ({panic})"))
            })?
            .map_err(|e| ModelError::tract("running the model", e))?;
        let raw = outputs[0]
            .cast_to::<f32>()
            .map_err(|e| ModelError::tract("reading scores", e))?;
        let view = raw
            .to_plain_array_view::<f32>()
            .map_err(|e| ModelError::tract("reading scores", e))?;
        let scores = view
            .to_shape((rows, self.raw_columns))
            .map_err(|e| ModelError::Invalid(format!("unexpected score shape: {e}")))?
            .to_owned();
        Ok(scores)
    }
}
