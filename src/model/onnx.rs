//! Loading an ONNX file into a runnable, batched [`OnnxModel`].
//!
//! The stages follow tract's own: bytes → `ModelProto` (prepared: ZipMap cut off, graph pruned
//! to the score output, operators checked) → tract `InferenceModel` with a symbolic batch
//! dimension → optimised runnable plan. The prepared proto also yields the [`Signature`] shown by
//! `loupe info`, the task and the class names.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use tract_onnx::pb::{self, GraphProto, ModelProto, NodeProto};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::DimLike;

use super::card::ModelCard;
use super::signature::{Dim, Signature, TensorInfo};
use super::trees::TreeEnsemble;
use super::{ModelError, ScoreKind, Task};

/// Rows per model call. Big enough to amortise tract's per-run overhead, small enough that a
/// few hundred rows still spread over every core.
const BATCH_ROWS: usize = 1024;
/// Values per batch for wide rows (images): tract's convolutions run fastest on small batches
/// that stay in cache (measured: 963 64×64×3 images take 470 ms in batches of 8, 660 ms in
/// batches of 32), and more batches spread over more cores. Narrow rows (tabular) keep
/// `BATCH_ROWS`.
const BATCH_VALUES: usize = 1 << 13;

/// The largest tensor one row may make anywhere in the graph (1 GB of f32): a tiny file can ask
/// for far more (a `Tile` by a billion), and running out of memory cannot be turned into an
/// error.
const MAX_VALUES_PER_ROW: u128 = 1 << 28;
/// Values the largest tensor of one batch may hold (1 GB of f32); batches shrink to fit.
const MAX_VALUES_PER_BATCH: u128 = 1 << 28;

/// Rows per batch for rows of `width` values: `BATCH_ROWS` for up to 128 values, else about
/// `BATCH_VALUES` values' worth (a power of two, at least 2); fewer when the graph's largest
/// tensor (`largest` values per row) would pass `MAX_VALUES_PER_BATCH`.
fn batch_rows(width: usize, largest: u128) -> usize {
    let rows = if width <= 128 {
        BATCH_ROWS
    } else {
        let fit = (BATCH_VALUES / width).clamp(2, BATCH_ROWS);
        1 << fit.ilog2()
    };
    let fit = (MAX_VALUES_PER_BATCH / largest.max(1)).max(1);
    rows.min(fit.min(BATCH_ROWS as u128) as usize)
}

/// Refuses a `ConstantOfShape` or `Range` whose size, fixed by constants, passes
/// `MAX_VALUES_PER_ROW`: tract makes such tensors while it analyses the graph, before the
/// per-row check can see them.
fn check_constant_sizes(graph: &GraphProto) -> Result<(), ModelError> {
    let constant = |name: &str| -> Option<Vec<f64>> {
        let tensor = graph
            .initializer
            .iter()
            .find(|t| t.name == name)
            .or_else(|| {
                graph
                    .node
                    .iter()
                    .filter(|n| n.op_type == "Constant" && n.output.iter().any(|o| o == name))
                    .find_map(|n| n.attribute.iter().find(|a| a.name == "value")?.t.as_ref())
            })?;
        super::trees::tensor_reals(tensor).ok()
    };
    let input = |node: &NodeProto, i: usize| node.input.get(i).and_then(|name| constant(name));
    for node in &graph.node {
        let values = match node.op_type.as_str() {
            "ConstantOfShape" => {
                input(node, 0).map(|dims| dims.iter().map(|d| d.max(0.0)).product::<f64>())
            }
            "Range" => match (input(node, 0), input(node, 1), input(node, 2)) {
                (Some(start), Some(limit), Some(delta))
                    if start.len() == 1 && limit.len() == 1 && delta.len() == 1 =>
                {
                    // A zero step never reaches the limit: infinitely many values.
                    let n = (limit[0] - start[0]) / delta[0];
                    Some(if n.is_nan() {
                        f64::INFINITY
                    } else {
                        n.ceil().max(0.0)
                    })
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(values) = values
            && !(values <= MAX_VALUES_PER_ROW as f64)
        {
            let count = if values.is_finite() {
                crate::thousands(values as u128)
            } else {
                "infinitely many".into()
            };
            return Err(too_large(&node_name(node), &count, ""));
        }
    }
    Ok(())
}

/// Node `node` makes a tensor of `count` values (`per`: " per row", or nothing), past
/// `MAX_VALUES_PER_ROW`.
fn too_large(node: &str, count: &str, per: &str) -> ModelError {
    ModelError::Invalid(format!(
        "node `{node}` makes a tensor of {count} values{per}, more than Loupe's limit of {}",
        crate::thousands(MAX_VALUES_PER_ROW)
    ))
}

/// The node computing the largest tensor per row, and its size in values (symbolic dimensions,
/// the batch, counted as 1). Weights and inputs are not computed, so not counted.
fn largest_tensor(model: &TypedModel) -> (String, u128) {
    model
        .nodes()
        .iter()
        .filter(|n| !n.inputs.is_empty())
        .flat_map(|n| n.outputs.iter().map(move |o| (n, o)))
        .map(|(n, o)| {
            let values = o.fact.shape.iter().fold(1u128, |acc, d| {
                let d = d.to_i64().map_or(1, |v| v.max(0) as u128);
                acc.saturating_mul(d)
            });
            (n.name.clone(), values)
        })
        .max_by_key(|(_, v)| *v)
        .unwrap_or_default()
}

/// Ops that compute a classifier's class probabilities as their second output.
const ML_CLASSIFIERS: [&str; 3] = [
    "LinearClassifier",
    "SVMClassifier",
    "TreeEnsembleClassifier",
];
/// Ops whose output is a regression value.
const ML_REGRESSORS: [&str; 3] = ["LinearRegressor", "SVMRegressor", "TreeEnsembleRegressor"];

/// Activations of a layer: the shape of one row's, and every row's values one after another.
pub type Activations = (Vec<usize>, Vec<f32>);

/// A loaded ONNX model, ready to predict batches of rows.
pub struct OnnxModel {
    name: String,
    sha256: String,
    signature: Signature,
    card: ModelCard,
    task: Task,
    score_kind: ScoreKind,
    /// Name of the output tensor the scores are read from.
    score_output: String,
    /// Shape of one input row, without the batch dimension.
    row_shape: Vec<usize>,
    /// Number of columns the raw score output has per row.
    raw_columns: usize,
    plan: Arc<TypedRunnableModel>,
    /// Rows per batch (see [`batch_rows`]).
    batch_rows: usize,
    /// The same graph for exactly `batch_rows` rows.
    full_batch_plan: Arc<TypedRunnableModel>,
    /// The tree ensemble that maps the input straight to the scores, for TreeSHAP.
    trees: Result<Arc<TreeEnsemble>, String>,
    /// The graph up to the card's `cam_layer` (convolutional activations), for Score-CAM.
    cam_plan: Option<Arc<TypedRunnableModel>>,
    /// The file's bytes, for variants of the model (the randomisation check).
    bytes: Arc<[u8]>,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("name", &self.name)
            .field("task", &self.task)
            .finish()
    }
}

impl OnnxModel {
    /// Loads `path` and the card beside it (`<stem>.card.json`), if there is one.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        let card = ModelCard::beside(path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_bytes(&bytes, card, &name, path.parent())
    }

    /// Loads a model held in memory (the bundled sample, or bytes from elsewhere). `model_dir` is
    /// where external tensor data would be found.
    pub fn from_bytes(
        bytes: &[u8],
        card: Option<ModelCard>,
        name: &str,
        model_dir: Option<&Path>,
    ) -> Result<Self, ModelError> {
        crate::guard::guarded(|| Self::from_bytes_unguarded(bytes, card, name, model_dir)).map_err(
            |panic| {
                ModelError::Invalid(format!(
                    "the model cannot be run: tract failed on it ({panic})"
                ))
            },
        )?
    }

    fn from_bytes_unguarded(
        bytes: &[u8],
        card: Option<ModelCard>,
        name: &str,
        model_dir: Option<&Path>,
    ) -> Result<Self, ModelError> {
        let onnx = onnx_with_loupe_ops();
        let mut proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| ModelError::NotOnnx(format!("{e:#}")))?;
        let meta = ModelCard::from_metadata(
            proto
                .metadata_props
                .iter()
                .map(|p| (p.key.as_str(), p.value.as_str())),
        );
        let card = card.unwrap_or_default().or(meta);
        let signature = Signature::of(&proto)?;
        let original = proto.clone();
        let prepared = prepare_graph(&mut proto, &card, &onnx)?;

        let dir = model_dir.and_then(|d| d.to_str());
        let parsed = onnx
            .parse(&proto, dir)
            .map_err(|e| ModelError::tract("reading the graph", e))?;
        if !parsed.unresolved_inputs.is_empty() {
            return Err(ModelError::Invalid(format!(
                "the graph uses tensors nothing produces: {}",
                parsed.unresolved_inputs.join(", ")
            )));
        }
        // One plan with a symbolic batch serves any number of rows; a second, specialised to
        // full batches, lets tract pick kernels for a known size on the hot path.
        let batch_plan = |model: InferenceModel, rows: Option<usize>| {
            let batch: TDim = match rows {
                Some(n) => n.into(),
                None => model.symbols.sym("N").into(),
            };
            let mut dims = vec![batch];
            dims.extend(prepared.row_shape.iter().map(|&d| TDim::from(d)));
            let mut model = model;
            model
                .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), dims))
                .map_err(|e| ModelError::tract("setting the input shape", e))?;
            let typed = model
                .into_typed()
                .map_err(|e| ModelError::tract("analysing the graph", e))?;
            let columns = score_columns(&typed)?;
            let largest = largest_tensor(&typed);
            if rows.is_none() && largest.1 > MAX_VALUES_PER_ROW {
                return Err(too_large(
                    &largest.0,
                    &crate::thousands(largest.1),
                    " per row",
                ));
            }
            let plan = typed
                .into_optimized()
                .and_then(|m| m.into_runnable())
                .map_err(|e| ModelError::tract("optimising the graph", e))?;
            Ok::<_, ModelError>((plan, columns, largest.1))
        };
        let (plan, raw_columns, largest) = batch_plan(parsed.model.clone(), None)?;
        let rows_per_batch = batch_rows(prepared.row_shape.iter().product(), largest);
        let (full_batch_plan, _, _) = batch_plan(parsed.model, Some(rows_per_batch))?;

        let cam_plan = match &card.cam_layer {
            Some(layer) => Some(cam_plan(original, layer, &prepared.row_shape, &onnx, dir)?),
            None => None,
        };
        let score_kind = prepared.score_kind(raw_columns, &card);
        let task = task_for(score_kind, raw_columns, &card, prepared.labels)?;
        Ok(OnnxModel {
            name: name.to_string(),
            sha256: crate::hex(&Sha256::digest(bytes)),
            signature,
            card,
            task,
            score_kind,
            score_output: prepared.score,
            row_shape: prepared.row_shape,
            raw_columns,
            plan,
            batch_rows: rows_per_batch,
            full_batch_plan,
            trees: prepared.trees,
            cam_plan,
            bytes: Arc::from(bytes),
        })
    }

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

    /// The same model with the weights of its last weighted layer (the last node reading an
    /// initializer of two or more dimensions) replaced by seeded random values of the same
    /// spread: the model-randomisation sanity check (Adebayo et al. 2018).
    pub fn with_randomized_last_layer(&self, seed: u64) -> Result<OnnxModel, ModelError> {
        use rand::{Rng, SeedableRng};
        // Box–Muller: a standard normal draw.
        let normal = |rng: &mut rand_chacha::ChaCha8Rng| {
            let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let onnx = onnx_with_loupe_ops();
        let mut proto = onnx
            .proto_model_for_read(&mut &self.bytes[..])
            .map_err(|e| ModelError::NotOnnx(format!("{e:#}")))?;
        let graph = proto
            .graph
            .as_mut()
            .ok_or_else(|| ModelError::NotOnnx("the file holds no graph".into()))?;
        let weighted: std::collections::HashMap<String, usize> = graph
            .initializer
            .iter()
            .enumerate()
            .filter(|(_, t)| t.dims.len() >= 2 && t.data_type == 1)
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let last = graph
            .node
            .iter()
            .rev()
            .find_map(|n| n.input.iter().find_map(|i| weighted.get(i).copied()))
            .ok_or_else(|| {
                ModelError::Invalid("the model has no weight matrix to randomise".into())
            })?;
        let t = &mut graph.initializer[last];
        let values: Vec<f32> = if !t.float_data.is_empty() {
            t.float_data.clone()
        } else {
            t.raw_data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let n = values.len().max(1) as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let random: Vec<f32> = values
            .iter()
            .map(|_| (normal(&mut rng) * sd.max(1e-3)) as f32)
            .collect();
        t.float_data.clear();
        t.raw_data = random.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut bytes = Vec::new();
        prost::Message::encode(&proto, &mut bytes)
            .map_err(|e| ModelError::Invalid(e.to_string()))?;
        OnnxModel::from_bytes(&bytes, Some(self.card.clone()), &self.name, None)
    }

    /// The tree ensemble this model is, when its graph is one (possibly behind casts and
    /// identities) from the input to the score output.
    pub fn trees(&self) -> Option<&Arc<TreeEnsemble>> {
        self.trees.as_ref().ok()
    }

    /// Why [`Self::trees`] is `None`, or a description of the ensemble.
    pub fn tree_note(&self) -> String {
        match &self.trees {
            Ok(t) => format!(
                "{} trees, up to {} deep, {} nodes",
                t.n_trees(),
                t.max_depth.saturating_sub(1),
                t.nodes.len()
            ),
            Err(why) => why.clone(),
        }
    }

    /// The file name the model was loaded from.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 of the model file, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Inputs, outputs and operators as the file declares them.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The card (file card merged over ONNX metadata).
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Classification (with class names) or regression.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// How the raw score output is turned into predictions.
    pub fn score_kind(&self) -> ScoreKind {
        self.score_kind
    }

    /// Name of the output tensor the scores are read from.
    pub fn score_output(&self) -> &str {
        &self.score_output
    }

    /// Number of input values per row (the product of the row shape).
    pub fn n_features(&self) -> usize {
        self.row_shape.iter().product()
    }

    /// Shape of one input row without the batch dimension.
    pub fn row_shape(&self) -> &[usize] {
        &self.row_shape
    }

    /// Feature names from the card, if it gives them.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.card.feature_names.as_deref()
    }

    /// Number of columns [`Self::predict`] returns: classes, or regression outputs.
    pub fn n_outputs(&self) -> usize {
        match &self.task {
            Task::Classification { class_names, .. } => class_names.len(),
            Task::Regression { .. } => self.raw_columns,
        }
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
        Ok(self.score_kind.to_outputs(scores))
    }
}

/// The graph pruned to `layer`, as a plan with a symbolic batch.
fn cam_plan(
    mut proto: ModelProto,
    layer: &str,
    row_shape: &[usize],
    onnx: &tract_onnx::Onnx,
    dir: Option<&str>,
) -> Result<Arc<TypedRunnableModel>, ModelError> {
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| ModelError::NotOnnx("the file holds no graph".into()))?;
    if !graph
        .node
        .iter()
        .any(|n| n.output.iter().any(|o| o == layer))
    {
        return Err(ModelError::Card(format!(
            "cam_layer `{layer}` is not a tensor of the graph"
        )));
    }
    graph.output = vec![pb::ValueInfoProto {
        name: layer.to_string(),
        ..Default::default()
    }];
    prune_to(graph, layer);
    let parsed = onnx
        .parse(&proto, dir)
        .map_err(|e| ModelError::tract("reading the graph up to cam_layer", e))?;
    let mut model = parsed.model;
    let mut dims = vec![TDim::from(model.symbols.sym("N"))];
    dims.extend(row_shape.iter().map(|&d| TDim::from(d)));
    model
        .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), dims))
        .map_err(|e| ModelError::tract("setting the input shape", e))?;
    let plan = model
        .into_typed()
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(|e| ModelError::tract("optimising the graph up to cam_layer", e))?;
    Ok(plan)
}

/// tract's ONNX front-end with Loupe's extra operators registered.
fn onnx_with_loupe_ops() -> tract_onnx::Onnx {
    let mut onnx = tract_onnx::onnx();
    super::ops::register(&mut onnx.op_register);
    onnx
}

/// What preparing the proto learned about the graph.
struct Prepared {
    row_shape: Vec<usize>,
    score: String,
    /// Op type of the node producing the score output, and which of its outputs it is.
    producer: Option<(String, usize)>,
    /// The score output fed a ZipMap (scikit-learn's probabilities).
    fed_zipmap: bool,
    /// Class labels stored in the graph (ZipMap or classifier attributes).
    labels: Option<Vec<String>>,
    trees: Result<Arc<TreeEnsemble>, String>,
}

impl Prepared {
    fn score_kind(&self, columns: usize, card: &ModelCard) -> ScoreKind {
        let producer = self.producer.as_ref().map(|(op, ix)| (op.as_str(), *ix));
        let probabilities = self.fed_zipmap
            || matches!(producer, Some(("Softmax" | "Sigmoid", _)))
            || matches!(producer, Some((op, 1)) if ML_CLASSIFIERS.contains(&op));
        let regression = match card.task.as_deref() {
            Some(task) => task.eq_ignore_ascii_case("regression"),
            None => {
                matches!(producer, Some((op, _)) if ML_REGRESSORS.contains(&op))
                    || (columns == 1 && !probabilities)
            }
        };
        match (regression, probabilities, columns) {
            (true, _, _) => ScoreKind::Regression,
            (false, true, 1) => ScoreKind::PositiveProbability,
            (false, true, _) => ScoreKind::Probabilities,
            (false, false, 1) => ScoreKind::PositiveLogit,
            (false, false, _) => ScoreKind::Logits,
        }
    }
}

/// Cuts the ZipMap off, prunes the graph to the score output and checks every operator.
fn prepare_graph(
    proto: &mut ModelProto,
    card: &ModelCard,
    onnx: &tract_onnx::Onnx,
) -> Result<Prepared, ModelError> {
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| ModelError::NotOnnx("the file holds no graph".into()))?;
    let input = single_input(graph)?;
    let row_shape = row_shape(input, card)?;

    let mut labels = None;
    let mut zipmap_inputs = HashMap::new();
    for node in graph.node.iter().filter(|n| n.op_type == "ZipMap") {
        if let (Some(input), Some(output)) = (node.input.first(), node.output.first()) {
            zipmap_inputs.insert(output.clone(), input.clone());
        }
        labels = labels.or_else(|| class_labels(node, "classlabels_strings", "classlabels_int64s"));
    }
    graph.node.retain(|n| n.op_type != "ZipMap");
    for output in graph.output.iter_mut() {
        if let Some(input) = zipmap_inputs.get(&output.name) {
            output.name = input.clone();
            output.r#type = None;
        }
    }
    let fed_zipmap_names: HashSet<&String> = zipmap_inputs.values().collect();

    let score = choose_score_output(graph, card, &fed_zipmap_names)?;
    let fed_zipmap = fed_zipmap_names.contains(&score);
    graph.output.retain(|o| o.name == score);
    if graph.output.is_empty() {
        // The card named an inner tensor: make it the output.
        graph.output.push(pb::ValueInfoProto {
            name: score.clone(),
            ..Default::default()
        });
    }
    prune_to(graph, &score);
    check_constant_sizes(graph)?;
    super::fold::fold_scalers(graph);

    let producer = graph.node.iter().find_map(|n| {
        n.output
            .iter()
            .position(|o| *o == score)
            .map(|ix| (n.op_type.clone(), ix))
    });
    for node in &graph.node {
        if labels.is_none() && ML_CLASSIFIERS.contains(&node.op_type.as_str()) {
            labels = class_labels(node, "classlabels_strings", "classlabels_ints")
                .or_else(|| class_labels(node, "classlabels_strings", "classlabels_int64s"));
        }
        if !onnx.op_register.0.contains_key(&node.op_type) {
            return Err(ModelError::UnsupportedOperator {
                op: node.op_type.clone(),
                node: node_name(node),
                hint: operator_hint(&node.op_type).to_string(),
            });
        }
    }
    let known = producer.is_some()
        || graph.input.iter().any(|i| i.name == score)
        || graph.initializer.iter().any(|t| t.name == score);
    if !known {
        return Err(ModelError::Invalid(format!(
            "the graph's output `{score}` is computed by no node"
        )));
    }
    let trees = direct_trees(graph, &score);
    Ok(Prepared {
        row_shape,
        score,
        producer,
        fed_zipmap,
        labels,
        trees,
    })
}

/// The tree ensemble that computes `score` from the graph's input with nothing in between but
/// casts and identities (which change no value), or why there is none.
fn direct_trees(graph: &GraphProto, score: &str) -> Result<Arc<TreeEnsemble>, String> {
    let is_tree = |n: &&NodeProto| n.op_type.starts_with("TreeEnsemble");
    let trees: Vec<&NodeProto> = graph.node.iter().filter(is_tree).collect();
    let node = match trees.as_slice() {
        [] => return Err("the model has no tree ensemble".into()),
        [one] => *one,
        _ => return Err("the model combines several tree ensembles".into()),
    };
    // Follows `name` back through casts and identities to where its value is computed.
    let source = |name: &str| {
        let mut name = name.to_string();
        while let Some(n) = graph.node.iter().find(|n| n.output.contains(&name)) {
            if !matches!(n.op_type.as_str(), "Identity" | "Cast") {
                break;
            }
            match n.input.first() {
                Some(input) => name = input.clone(),
                None => break,
            }
        }
        name
    };
    let input = graph
        .input
        .first()
        .map(|i| i.name.as_str())
        .unwrap_or_default();
    let scores_at = if node.op_type == "TreeEnsembleClassifier" {
        1
    } else {
        0
    };
    let reads_input = node.input.first().is_some_and(|i| source(i) == input);
    let writes_scores = node
        .output
        .get(scores_at)
        .is_some_and(|o| *o == source(score));
    if !reads_input || !writes_scores {
        return Err(format!(
            "the tree ensemble `{}` is not the whole model (other operators {} it)",
            node_name(node),
            if reads_input { "follow" } else { "precede" }
        ));
    }
    TreeEnsemble::from_node(node).map(Arc::new)
}

fn single_input(graph: &GraphProto) -> Result<&pb::ValueInfoProto, ModelError> {
    let initialised: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !initialised.contains(i.name.as_str()))
        .collect();
    match inputs.as_slice() {
        [one] => Ok(one),
        [] => Err(ModelError::Invalid("the model has no input".into())),
        many => Err(ModelError::Invalid(format!(
            "the model has {} inputs ({}); Loupe explains models with one tensor input",
            many.len(),
            many.iter()
                .map(|i| format!("`{}`", i.name))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The per-row input shape: every dimension but the first (the batch) must be known, from the
/// file or from the card's image size.
fn row_shape(input: &pb::ValueInfoProto, card: &ModelCard) -> Result<Vec<usize>, ModelError> {
    let info = TensorInfo::of(input);
    if info.elem_type != "float" {
        return Err(ModelError::Invalid(format!(
            "input `{}` is {}; Loupe feeds float32 (export the model with a float input)",
            info.name, info.elem_type
        )));
    }
    let Some(dims) = info.shape else {
        return Err(ModelError::Invalid(format!(
            "input `{}` declares no shape",
            info.name
        )));
    };
    if dims.len() < 2 {
        return Err(ModelError::Invalid(format!(
            "input `{}` has rank {}; Loupe expects a batch dimension then the features",
            info.name,
            dims.len()
        )));
    }
    let image_dims = card.image.as_ref().map(|img| {
        let layout_nhwc = img
            .layout
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("NHWC"));
        let (c, h, w) = (img.channels, img.height, img.width);
        if layout_nhwc { [h, w, c] } else { [c, h, w] }
    });
    dims[1..]
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Dim::Fixed(n) if *n > 0 => Ok(*n as usize),
            _ => image_dims
                .filter(|_| dims.len() == 4)
                .and_then(|img| img[i])
                .map(|n| n as usize)
                .ok_or_else(|| {
                    ModelError::Invalid(format!(
                        "input `{}` has no fixed size for dimension {} ({d}); give it in the card",
                        info.name,
                        i + 1
                    ))
                }),
        })
        .collect()
}

/// The card's `output`, else the tensor that fed a ZipMap, else an output named like
/// probabilities, else the first float output.
fn choose_score_output(
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

/// Keeps only the nodes the score output depends on (drops label outputs and the like).
fn prune_to(graph: &mut GraphProto, output: &str) {
    let mut needed: HashSet<String> = HashSet::from([output.to_string()]);
    let mut keep = vec![false; graph.node.len()];
    for (ix, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o)) {
            keep[ix] = true;
            needed.extend(node.input.iter().filter(|i| !i.is_empty()).cloned());
        }
    }
    let mut flags = keep.into_iter();
    graph.node.retain(|_| flags.next().unwrap_or(false));
}

fn class_labels(node: &NodeProto, strings: &str, ints: &str) -> Option<Vec<String>> {
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

fn node_name(node: &NodeProto) -> String {
    if !node.name.is_empty() {
        node.name.clone()
    } else {
        node.output
            .first()
            .cloned()
            .unwrap_or_else(|| "unnamed".into())
    }
}

fn operator_hint(op: &str) -> &'static str {
    match op {
        "TreeEnsembleClassifier" | "TreeEnsembleRegressor" => {
            "tree ensembles need Loupe's own tree evaluator"
        }
        "SVMClassifier" | "SVMRegressor" => "export the SVM as a pipeline of standard ops",
        "Imputer" | "OneHotEncoder" | "LabelEncoder" | "DictVectorizer" | "FeatureVectorizer" => {
            "do this preprocessing before export and feed Loupe the numeric features"
        }
        _ => "re-export the model with standard ONNX operators",
    }
}

/// Number of score columns per row, from the analysed graph.
fn score_columns(model: &TypedModel) -> Result<usize, ModelError> {
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

fn task_for(
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

/// Operators used by a graph, with how often each occurs.
pub(super) fn operator_counts(graph: &GraphProto) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for node in &graph.node {
        *counts.entry(node.op_type.clone()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_shrink_for_wide_rows_and_large_tensors() {
        assert_eq!(batch_rows(30, 64), BATCH_ROWS);
        assert_eq!(batch_rows(64 * 64 * 3, 64 * 64 * 16), 2);
        // A graph whose largest tensor is a million values per row: 256 rows make 1 GB.
        assert_eq!(batch_rows(30, 1 << 20), 256);
        assert_eq!(batch_rows(30, MAX_VALUES_PER_ROW), 1);
    }
}
