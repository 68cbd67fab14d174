//! The ONNX-ML tree ensembles, evaluated by Loupe's own [`TreeEnsemble`].

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::{as_f32, score_rules, scores_in_parallel};
use crate::model::trees::{ClassLabels, TreeEnsemble};

/// Both ONNX-ML tree ensembles, evaluated by Loupe's own [`TreeEnsemble`] (tract's version is
/// slow on large ensembles and has no regressor).
pub(super) fn tree_ensemble(
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
        score_rules(s, &inputs[0], scores, self.ensemble.n_columns())
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
        let input = args_1!(inputs);
        let width = input.shape().get(1).copied().unwrap_or(0);
        ensure!(
            self.ensemble.n_features_used <= width,
            "the trees read feature {} but rows have {width} features",
            self.ensemble.n_features_used - 1
        );
        let k = self.ensemble.n_columns();
        let (rows, scores) = scores_in_parallel(&input, k, TREE_ROWS_PER_TASK, |x, width, out| {
            self.ensemble.eval_rows(x, width, out)
        })?;
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
