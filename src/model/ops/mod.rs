//! ONNX-ML operators that tract does not ship, registered in tract's op registry so whole
//! scikit-learn graphs run through one plan.
//!
//! - `Scaler` (every StandardScaler pipeline exported by skl2onnx): `y = (x - offset) * scale`,
//!   expanded into tract's own `Sub` and `Mul` so the optimiser can fuse it.
//! - `TreeEnsembleClassifier` and `TreeEnsembleRegressor`: Loupe's own evaluator
//!   ([`super::trees`]), rows in parallel ([`trees`]).
//! - The encoders and transforms of scikit-learn pipelines: `OneHotEncoder`, `LabelEncoder`,
//!   `Imputer`, `Binarizer`, `FeatureVectorizer` ([`encoders`]).
//! - `SVMClassifier` and `SVMRegressor`, as onnxruntime computes them ([`svm`]).

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::logic::wire_with_rank_broadcast;

mod encoders;
mod svm;
mod trees;

/// Adds Loupe's operators to an ONNX op registry.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("Scaler", scaler);
    reg.insert("TreeEnsembleClassifier", trees::tree_ensemble);
    reg.insert("TreeEnsembleRegressor", trees::tree_ensemble);
    encoders::register(reg);
    svm::register(reg);
}

/// The ONNX-ML `Scaler`: per-feature offset then scale, output always f32.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Scaler {
    offset: Arc<Tensor>,
    scale: Arc<Tensor>,
}

fn scaler(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let offset: Vec<f32> = node
        .get_attr_opt_vec("offset")?
        .unwrap_or_else(|| vec![0.0]);
    let scale: Vec<f32> = node.get_attr_opt_vec("scale")?.unwrap_or_else(|| vec![1.0]);
    node.expect(!offset.is_empty(), "offset not empty")?;
    node.expect(!scale.is_empty(), "scale not empty")?;
    let op = Scaler {
        offset: rctensor1(&offset),
        scale: rctensor1(&scale),
    };
    Ok((tract_onnx::tract_hir::ops::expandable::expand(op), vec![]))
}

impl Expansion for Scaler {
    fn name(&self) -> StaticName {
        "Scaler".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, DatumType::F32)?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        ensure!(
            fact.rank() >= 1,
            "Scaler expects an input of rank 1 or more"
        );
        if let Some(width) = fact.shape.last().and_then(|d| d.to_usize().ok()) {
            for (what, t) in [("offset", &self.offset), ("scale", &self.scale)] {
                ensure!(
                    t.len() == 1 || t.len() == width,
                    "Scaler {what} has {} values for {width} features",
                    t.len()
                );
            }
        }
        let x = as_f32(model, prefix, inputs[0])?;
        let offset = model.add_const(format!("{prefix}.offset"), self.offset.clone())?;
        let scale = model.add_const(format!("{prefix}.scale"), self.scale.clone())?;
        let centred = wire_with_rank_broadcast(
            format!("{prefix}.sub"),
            model,
            tract_onnx::tract_core::ops::math::sub(),
            &[x, offset],
        )?[0];
        wire_with_rank_broadcast(
            format!("{prefix}.mul"),
            model,
            tract_onnx::tract_core::ops::math::mul(),
            &[centred, scale],
        )
    }
}

/// `x` as f32: itself, or a cast of it.
pub(super) fn as_f32(model: &mut TypedModel, prefix: &str, x: OutletId) -> TractResult<OutletId> {
    if model.outlet_fact(x)?.datum_type == f32::datum_type() {
        return Ok(x);
    }
    Ok(model.wire_node(
        format!("{prefix}.to_f32"),
        tract_onnx::tract_core::ops::cast::cast(f32::datum_type()),
        &[x],
    )?[0])
}

/// Infers a scores output: f32, rows × `columns`, a row per input row.
fn score_rules<'r, 'p: 'r>(
    s: &mut Solver<'r>,
    input: &'p TensorProxy,
    scores: &'p TensorProxy,
    columns: usize,
) -> InferenceResult {
    s.equals(&scores.datum_type, DatumType::F32)?;
    s.equals(&scores.rank, 2)?;
    s.equals(&scores.shape[0], &input.shape[0])?;
    s.equals(&scores.shape[1], columns.to_dim())?;
    Ok(())
}

/// `columns` scores per row of a rows × width f32 input, `per_task` rows at a time over the
/// cores: `f(rows, width, out)` fills the scores of the rows it is given. Returns the number of
/// rows and the scores, row after row.
fn scores_in_parallel(
    input: &TValue,
    columns: usize,
    per_task: usize,
    f: impl Fn(&[f32], usize, &mut [f32]) + Sync,
) -> TractResult<(usize, Vec<f32>)> {
    use rayon::prelude::*;
    let x = input.to_plain_array_view::<f32>()?;
    ensure!(x.ndim() == 2, "rows × features expected");
    let (rows, width) = (x.shape()[0], x.shape()[1]);
    let x = x.as_standard_layout();
    let x = x.as_slice().unwrap_or_default();
    let mut scores = vec![0f32; rows * columns];
    scores
        .par_chunks_mut(per_task * columns)
        .zip(x.par_chunks(per_task * width.max(1)))
        .for_each(|(out, x)| f(x, width, out));
    Ok((rows, scores))
}
