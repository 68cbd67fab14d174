//! ONNX-ML operators that tract does not ship, registered in tract's op registry so whole
//! scikit-learn graphs run through one plan.
//!
//! - `Scaler` (every StandardScaler pipeline exported by skl2onnx): `y = (x - offset) * scale`,
//!   expanded into tract's own `Sub` and `Mul` so the optimiser can fuse it.
//! - `TreeEnsembleClassifier` and `TreeEnsembleRegressor`: Loupe's own evaluator
//!   ([`super::trees`]), rows in parallel.

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::logic::wire_with_rank_broadcast;

use super::trees::{ClassLabels, TreeEnsemble};

/// Adds Loupe's operators to an ONNX op registry.
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("Scaler", scaler);
    reg.insert("TreeEnsembleClassifier", tree_ensemble);
    reg.insert("TreeEnsembleRegressor", tree_ensemble);
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
fn as_f32(model: &mut TypedModel, prefix: &str, x: OutletId) -> TractResult<OutletId> {
    if model.outlet_fact(x)?.datum_type == f32::datum_type() {
        return Ok(x);
    }
    Ok(model.wire_node(
        format!("{prefix}.to_f32"),
        tract_onnx::tract_core::ops::cast::cast(f32::datum_type()),
        &[x],
    )?[0])
}

/// Both ONNX-ML tree ensembles, evaluated by Loupe's own [`TreeEnsemble`] (tract's version is
/// slow on large ensembles and has no regressor).
fn tree_ensemble(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let ensemble = TreeEnsemble::from_node(node).map_err(|e| format_err!("{e}"))?;
    let op = TreeOp {
        ensemble: Arc::new(ensemble),
    };
    Ok((tract_onnx::tract_hir::ops::expandable::expand(op), vec![]))
}

/// The inference-time face of a tree ensemble: types its outputs, then wires [`TreeEval`].
#[derive(Debug, Clone)]
struct TreeOp {
    ensemble: Arc<TreeEnsemble>,
}

impl TreeOp {
    fn label_type(&self) -> Option<DatumType> {
        match &self.ensemble.labels {
            Some(ClassLabels::Ints(_)) => Some(DatumType::I64),
            Some(ClassLabels::Strings(_)) => Some(DatumType::String),
            None => None,
        }
    }
}

impl Expansion for TreeOp {
    fn name(&self) -> StaticName {
        if self.ensemble.is_classifier() {
            "TreeEnsembleClassifier".into()
        } else {
            "TreeEnsembleRegressor".into()
        }
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(if self.ensemble.is_classifier() { 2 } else { 1 })
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        let scores = match self.label_type() {
            Some(dt) => {
                check_output_arity(outputs, 2)?;
                s.equals(&outputs[0].datum_type, dt)?;
                s.equals(&outputs[0].rank, 1)?;
                s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
                &outputs[1]
            }
            None => {
                check_output_arity(outputs, 1)?;
                &outputs[0]
            }
        };
        s.equals(&scores.datum_type, DatumType::F32)?;
        s.equals(&scores.rank, 2)?;
        s.equals(&scores.shape[0], &inputs[0].shape[0])?;
        s.equals(&scores.shape[1], self.ensemble.n_columns().to_dim())?;
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let fact = model.outlet_fact(inputs[0])?.clone();
        ensure!(fact.rank() == 2, "tree ensembles take rows × features");
        if let Ok(width) = fact.shape[1].to_usize() {
            ensure!(
                self.ensemble.n_features_used <= width,
                "the trees read feature {} but rows have {width} features",
                self.ensemble.n_features_used - 1
            );
        }
        let x = as_f32(model, prefix, inputs[0])?;
        let outputs = model.wire_node(
            prefix,
            TreeEval {
                ensemble: self.ensemble.clone(),
            },
            &[x],
        )?;
        Ok(if self.ensemble.is_classifier() {
            outputs
        } else {
            tvec!(outputs[1])
        })
    }
}

/// The typed op: labels and scores of every row, rows split over the cores.
#[derive(Debug, Clone)]
struct TreeEval {
    ensemble: Arc<TreeEnsemble>,
}

impl PartialEq for TreeEval {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.ensemble, &other.ensemble)
    }
}
impl Eq for TreeEval {}

/// Rows per parallel task.
const TREE_ROWS_PER_TASK: usize = 64;

impl Op for TreeEval {
    fn name(&self) -> StaticName {
        "LoupeTreeEnsemble".into()
    }

    op_as_typed_op!();
}

impl EvalOp for TreeEval {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        use rayon::prelude::*;
        let input = args_1!(inputs);
        let x = input.to_plain_array_view::<f32>()?;
        let (rows, width) = (x.shape()[0], x.shape()[1]);
        ensure!(
            self.ensemble.n_features_used <= width,
            "the trees read feature {} but rows have {width} features",
            self.ensemble.n_features_used - 1
        );
        let x = x.as_standard_layout();
        let x = x.as_slice().unwrap_or_default();
        let k = self.ensemble.n_columns();
        let mut scores = vec![0f32; rows * k];
        scores
            .par_chunks_mut(TREE_ROWS_PER_TASK * k)
            .zip(x.par_chunks(TREE_ROWS_PER_TASK * width.max(1)))
            .for_each(|(out, x)| self.ensemble.eval_rows(x, width, out));
        let labels: Vec<usize> = scores.chunks_exact(k).map(TreeEnsemble::argmax).collect();
        let scores = Tensor::from_shape(&[rows, k], &scores)?;
        Ok(match &self.ensemble.labels {
            Some(ClassLabels::Ints(l)) => {
                let l: Vec<i64> = labels.iter().map(|&i| l[i]).collect();
                tvec!(
                    Tensor::from_shape(&[rows], &l)?.into_tvalue(),
                    scores.into_tvalue()
                )
            }
            Some(ClassLabels::Strings(l)) => {
                let l: Vec<String> = labels.iter().map(|&i| l[i].clone()).collect();
                tvec!(
                    Tensor::from(ndarray::Array1::from(l)).into_tvalue(),
                    scores.into_tvalue()
                )
            }
            None => tvec!(Tensor::from(0i64).into_tvalue(), scores.into_tvalue()),
        })
    }
}

impl TypedOp for TreeEval {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let n = inputs[0].shape[0].clone();
        let scores = f32::fact(&[n.clone(), self.ensemble.n_columns().to_dim()]);
        let labels = match &self.ensemble.labels {
            Some(ClassLabels::Strings(_)) => String::fact(&[n]),
            Some(ClassLabels::Ints(_)) => i64::fact(&[n]),
            None => i64::fact(&[] as &[usize]),
        };
        Ok(tvec!(labels, scores))
    }

    as_op!();
}
