//! The encoders and transforms scikit-learn pipelines export, which tract does not ship:
//! `OneHotEncoder`, `LabelEncoder`, `Imputer`, `Binarizer` and `FeatureVectorizer`, computed as
//! onnxruntime computes them.
//!
//! Each works on f32 values (its input is cast) and gives back the element type the graph
//! expects. Text never reaches them: a string input is fed as category codes and the graph's
//! string attributes are rewritten to those codes before parsing (see
//! `model::onnx::inputs`), so `cats_strings` and `keys_strings` arrive here as numbers.

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::as_f32;

pub(super) fn register(reg: &mut OnnxOpRegister) {
    reg.insert("OneHotEncoder", one_hot_encoder);
    reg.insert("LabelEncoder", label_encoder);
    reg.insert("Imputer", imputer);
    reg.insert("Binarizer", binarizer);
    reg.insert("FeatureVectorizer", feature_vectorizer);
}

/// What an operator computes, on f32 values.
#[derive(Debug, Clone, PartialEq)]
enum Transform {
    /// A 1 in the column of the category each value equals; all zeros when it equals none
    /// (`zeros`), else an error, as onnxruntime does.
    OneHot { cats: Vec<f32>, zeros: bool },
    /// Each key's value, `default` for a value that is no key.
    Label {
        keys: Vec<f32>,
        values: Vec<f32>,
        default: f32,
        out: DatumType,
    },
    /// `replaced` (NaN: any NaN) becomes the column's imputed value.
    Impute { replaced: f32, values: Vec<f32> },
    /// 1 above the threshold, else 0.
    Binarize { threshold: f32 },
    /// The inputs' first `dims[i]` values per row, side by side.
    Vectorize { dims: Vec<usize> },
}

impl Transform {
    fn name(&self) -> &'static str {
        match self {
            Transform::OneHot { .. } => "OneHotEncoder",
            Transform::Label { .. } => "LabelEncoder",
            Transform::Impute { .. } => "Imputer",
            Transform::Binarize { .. } => "Binarizer",
            Transform::Vectorize { .. } => "FeatureVectorizer",
        }
    }
}

fn expanded(t: Transform) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((
        tract_onnx::tract_hir::ops::expandable::expand(Encoder(Arc::new(t))),
        vec![],
    ))
}

fn one_hot_encoder(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let cats: Vec<i64> = node.get_attr_opt_vec("cats_int64s")?.unwrap_or_default();
    let strings: Vec<String> = node.get_attr_opt_vec("cats_strings")?.unwrap_or_default();
    node.expect(
        strings.is_empty(),
        "cats_strings rewritten to category codes",
    )?;
    node.expect(!cats.is_empty(), "categories (cats_int64s)")?;
    let zeros = node.get_attr_opt::<i64>("zeros")?.unwrap_or(1) != 0;
    expanded(Transform::OneHot {
        cats: cats.iter().map(|&c| c as f32).collect(),
        zeros,
    })
}

fn label_encoder(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let keys: Vec<f32> = match node.get_attr_opt_vec::<f32>("keys_floats")? {
        Some(k) => k,
        None => node
            .get_attr_opt_vec::<i64>("keys_int64s")?
            .unwrap_or_default()
            .iter()
            .map(|&k| k as f32)
            .collect(),
    };
    let (values, default, out) = match node.get_attr_opt_vec::<i64>("values_int64s")? {
        Some(v) => (
            v.iter().map(|&v| v as f32).collect(),
            node.get_attr_opt::<i64>("default_int64")?.unwrap_or(-1) as f32,
            DatumType::I64,
        ),
        None => (
            node.get_attr_opt_vec::<f32>("values_floats")?
                .unwrap_or_default(),
            node.get_attr_opt::<f32>("default_float")?.unwrap_or(-0.0),
            DatumType::F32,
        ),
    };
    node.expect(
        !keys.is_empty() && keys.len() == values.len(),
        "as many numeric keys as values (text keys are rewritten to category codes)",
    )?;
    expanded(Transform::Label {
        keys,
        values,
        default,
        out,
    })
}

fn imputer(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (values, replaced) = match node.get_attr_opt_vec::<f32>("imputed_value_floats")? {
        Some(v) if !v.is_empty() => (
            v,
            node.get_attr_opt::<f32>("replaced_value_float")?
                .unwrap_or(0.0),
        ),
        _ => (
            node.get_attr_opt_vec::<i64>("imputed_value_int64s")?
                .unwrap_or_default()
                .iter()
                .map(|&v| v as f32)
                .collect(),
            node.get_attr_opt::<i64>("replaced_value_int64")?
                .unwrap_or(0) as f32,
        ),
    };
    node.expect(!values.is_empty(), "imputed values")?;
    expanded(Transform::Impute { replaced, values })
}

fn binarizer(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let threshold = node.get_attr_opt::<f32>("threshold")?.unwrap_or(0.0);
    expanded(Transform::Binarize { threshold })
}

fn feature_vectorizer(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let dims: Vec<i64> = node
        .get_attr_opt_vec("inputdimensions")?
        .unwrap_or_default();
    node.expect(
        dims.len() == node.input.len() && dims.iter().all(|&d| d > 0),
        "one positive dimension per input",
    )?;
    expanded(Transform::Vectorize {
        dims: dims.iter().map(|&d| d as usize).collect(),
    })
}

/// The inference-time face: types the output, then wires [`EncoderEval`] between casts.
#[derive(Debug, Clone)]
struct Encoder(Arc<Transform>);

impl Expansion for Encoder {
    fn name(&self) -> StaticName {
        self.0.name().into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_output_arity(outputs, 1)?;
        match &*self.0 {
            Transform::OneHot { cats, .. } => {
                check_input_arity(inputs, 1)?;
                let n = cats.len();
                s.equals(&outputs[0].datum_type, DatumType::F32)?;
                s.equals(&outputs[0].rank, inputs[0].rank.bex() + 1)?;
                s.given(&inputs[0].rank, move |s, rank| {
                    let rank = rank as usize;
                    for axis in 0..rank {
                        s.equals(&outputs[0].shape[axis], &inputs[0].shape[axis])?;
                    }
                    s.equals(&outputs[0].shape[rank], n.to_dim())
                })?;
            }
            Transform::Label { out, .. } => {
                check_input_arity(inputs, 1)?;
                s.equals(&outputs[0].datum_type, *out)?;
                s.equals(&outputs[0].shape, &inputs[0].shape)?;
            }
            Transform::Impute { .. } | Transform::Binarize { .. } => {
                check_input_arity(inputs, 1)?;
                s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
                s.equals(&outputs[0].shape, &inputs[0].shape)?;
            }
            Transform::Vectorize { dims } => {
                check_input_arity(inputs, dims.len())?;
                s.equals(&outputs[0].datum_type, DatumType::F32)?;
                s.equals(&outputs[0].rank, 2)?;
                s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
                s.equals(&outputs[0].shape[1], dims.iter().sum::<usize>().to_dim())?;
            }
        }
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let given = model.outlet_fact(inputs[0])?.datum_type;
        let x = inputs
            .iter()
            .enumerate()
            .map(|(i, &x)| as_f32(model, &format!("{prefix}.{i}"), x))
            .collect::<TractResult<TVec<OutletId>>>()?;
        let y = model.wire_node(prefix, EncoderEval(self.0.clone()), &x)?[0];
        let wanted = match &*self.0 {
            Transform::Label { out, .. } => *out,
            Transform::Impute { .. } | Transform::Binarize { .. } => given,
            Transform::OneHot { .. } | Transform::Vectorize { .. } => DatumType::F32,
        };
        if wanted == DatumType::F32 {
            return Ok(tvec!(y));
        }
        model.wire_node(
            format!("{prefix}.to_{wanted:?}"),
            tract_onnx::tract_core::ops::cast::cast(wanted),
            &[y],
        )
    }
}

/// The typed op, on f32 inputs.
#[derive(Debug, Clone)]
struct EncoderEval(Arc<Transform>);

impl PartialEq for EncoderEval {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for EncoderEval {}

impl Op for EncoderEval {
    fn name(&self) -> StaticName {
        format!("Loupe{}", self.0.name()).into()
    }

    op_as_typed_op!();
}

impl EvalOp for EncoderEval {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let view = |t: &TValue| -> TractResult<(Vec<usize>, Vec<f32>)> {
            let a = t.to_plain_array_view::<f32>()?;
            Ok((a.shape().to_vec(), a.iter().copied().collect()))
        };
        let (shape, x) = view(&inputs[0])?;
        let out = match &*self.0 {
            Transform::OneHot { cats, zeros } => {
                let n = cats.len();
                let mut y = vec![0f32; x.len() * n];
                for (v, row) in x.iter().zip(y.chunks_exact_mut(n)) {
                    match cats.iter().position(|c| c == v) {
                        Some(k) => row[k] = 1.0,
                        None if *zeros => {}
                        None => bail!("OneHotEncoder: {v} is none of its categories"),
                    }
                }
                let mut dims = shape.clone();
                dims.push(n);
                Tensor::from_shape(&dims, &y)?
            }
            Transform::Label {
                keys,
                values,
                default,
                ..
            } => {
                let y: Vec<f32> = x
                    .iter()
                    .map(|v| {
                        keys.iter()
                            .position(|k| k == v)
                            .map_or(*default, |i| values[i])
                    })
                    .collect();
                Tensor::from_shape(&shape, &y)?
            }
            Transform::Impute { replaced, values } => {
                let width = shape.last().copied().unwrap_or(1).max(1);
                ensure!(
                    values.len() == 1 || values.len() == width,
                    "Imputer has {} values for {width} columns",
                    values.len()
                );
                let y: Vec<f32> = x
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let hit = if replaced.is_nan() {
                            v.is_nan()
                        } else {
                            v == *replaced
                        };
                        if hit {
                            values[if values.len() == 1 { 0 } else { i % width }]
                        } else {
                            v
                        }
                    })
                    .collect();
                Tensor::from_shape(&shape, &y)?
            }
            Transform::Binarize { threshold } => {
                let y: Vec<f32> = x
                    .iter()
                    .map(|&v| if v > *threshold { 1.0 } else { 0.0 })
                    .collect();
                Tensor::from_shape(&shape, &y)?
            }
            Transform::Vectorize { dims } => {
                let rows = shape.first().copied().unwrap_or(1);
                let width: usize = dims.iter().sum();
                let mut y = vec![0f32; rows * width];
                let mut offset = 0;
                for (input, &d) in inputs.iter().zip(dims) {
                    let (_, v) = view(input)?;
                    let per_row = v.len().checked_div(rows).unwrap_or(0);
                    for r in 0..rows {
                        let take = d.min(per_row);
                        y[r * width + offset..r * width + offset + take]
                            .copy_from_slice(&v[r * per_row..r * per_row + take]);
                    }
                    offset += d;
                }
                Tensor::from_shape(&[rows, width], &y)?
            }
        };
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for EncoderEval {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = inputs[0].shape.clone();
        Ok(tvec!(match &*self.0 {
            Transform::OneHot { cats, .. } => {
                let mut dims: TVec<TDim> = shape.iter().cloned().collect();
                dims.push(cats.len().to_dim());
                f32::fact(dims)
            }
            Transform::Vectorize { dims } => {
                f32::fact([shape[0].clone(), dims.iter().sum::<usize>().to_dim()])
            }
            _ => f32::fact(shape),
        }))
    }

    as_op!();
}
