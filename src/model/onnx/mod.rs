//! Loading an ONNX file into a runnable, batched [`OnnxModel`].
//!
//! The stages follow tract's own: bytes → `ModelProto` (prepared: ZipMap cut off, graph pruned
//! to the score output, operators checked) → tract `InferenceModel` with a symbolic batch
//! dimension → optimised runnable plan. The prepared proto also yields the [`Signature`] shown by
//! `loupe info`, the task and the class names.
//!
//! - `inputs`: a graph whose inputs are not one float matrix (a DataFrame export, text
//!   categories) rewritten to take one, a column per data column.
//! - `prepare`: the proto made ready for tract (ZipMap cut off, graph pruned, sizes checked).
//! - `scores`: what the score output holds, from the operator that made it, checked on the
//!   model's outputs for probe rows.
//! - `task`: which output holds the scores, what they are, and the class names.
//! - `plan`: tract plans for batches of rows, and how many rows a batch holds.
//! - `predict`: running the plans on rows, batch by batch in parallel.
//! - `variants`: other models made from the same file (the randomisation check).

mod gradients;
mod inputs;
mod plan;
mod predict;
mod prepare;
mod scores;
mod task;
mod variants;

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tract_onnx::prelude::*;

use super::card::{ImageSpec, ModelCard};
use super::signature::Signature;
use super::trees::TreeEnsemble;
use super::{ModelError, ScoreKind, Task};
pub use gradients::{GradientModel, Gradients, Wrt};
pub use inputs::InputColumn;
use plan::{Plans, cam_plan, check_declared_width, plans};
use prepare::{onnx_with_loupe_ops, prepare_graph};
use task::task_for;

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
    /// Rows per batch (see [`plan::batch_rows`]).
    batch_rows: usize,
    /// The same graph for exactly `batch_rows` rows.
    full_batch_plan: Arc<TypedRunnableModel>,
    /// The tree ensemble that maps the input straight to the scores, for TreeSHAP.
    trees: Result<Arc<TreeEnsemble>, String>,
    /// The graph up to the card's `cam_layer` (convolutional activations), for Score-CAM.
    cam_plan: Option<Arc<TypedRunnableModel>>,
    /// The file's bytes, for variants of the model (the randomisation check).
    bytes: Arc<[u8]>,
    /// What loading found that a user should know (see [`OnnxModel::notes`]).
    notes: Vec<String>,
    /// The fed columns of a graph whose inputs were rewritten to one matrix.
    columns: Option<Vec<InputColumn>>,
    /// Their names, when they are the graph's inputs, one column each: data are then matched
    /// by name (see [`OnnxModel::feature_names`]).
    input_names: Option<Vec<String>>,
    /// An `Imputer` replaces NaN.
    imputes_missing: bool,
    /// How images become the input: the card's entry, else read from the graph.
    image: Option<ImageSpec>,
    /// [`Self::image`] was read from the graph: no normalisation is known.
    image_from_graph: bool,
    /// The graph read for gradients, or why it cannot be differentiated.
    grad: Result<Arc<crate::model::grad::Graph>, String>,
    /// How many layers with weights the cascading randomisation can randomise.
    weighted_layers: usize,
}

/// The image entry an input row of `row_shape` implies: channels × height × width, or height ×
/// width × channels, with 1 or 3 channels (NCHW when both ends could be).
fn image_from_graph(row_shape: &[usize]) -> Option<ImageSpec> {
    let (layout, c, h, w) = match *row_shape {
        [c, h, w] if (c == 1 || c == 3) && h > 3 && w > 3 => ("NCHW", c, h, w),
        [h, w, c] if (c == 1 || c == 3) && h > 3 && w > 3 => ("NHWC", c, h, w),
        _ => return None,
    };
    Some(ImageSpec {
        width: Some(w as u32),
        height: Some(h as u32),
        channels: Some(c as u32),
        layout: Some(layout.into()),
        ..ImageSpec::default()
    })
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
        let weighted_layers = original
            .graph
            .as_ref()
            .map_or(0, |g| variants::weighted_layers(g).len());
        let prepared = prepare_graph(&mut proto, &card, &onnx)?;

        let dir = model_dir.and_then(|d| d.to_str());
        let Plans {
            plan,
            full_batch_plan,
            raw_columns,
            rows_per_batch,
        } = plans(&onnx, &proto, dir, &prepared.row_shape)?;
        check_declared_width(&original, &prepared.score, raw_columns)?;

        let cam_plan = match &card.cam_layer {
            Some(layer) => Some(cam_plan(original, layer, &prepared.row_shape, &onnx, dir)?),
            None => None,
        };
        let opset = proto
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map_or(13, |o| o.version);
        let grad = proto
            .graph
            .as_ref()
            .ok_or_else(|| "the file holds no graph".to_string())
            .and_then(|g| crate::model::grad::Graph::from_proto(g, &prepared.score, opset))
            .map(Arc::new);
        let (score_kind, said_by) = prepared.declared(raw_columns, &card);
        let task = task_for(score_kind, raw_columns, &card, prepared.labels)?;
        let graph_image = image_from_graph(&prepared.row_shape);
        let image_read_from_graph = card.image.is_none() && graph_image.is_some();
        let image = card.image.clone().or(graph_image);
        let mut model = OnnxModel {
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
            weighted_layers,
            bytes: Arc::from(bytes),
            notes: Vec::new(),
            input_names: prepared
                .columns
                .as_ref()
                .filter(|(named, _)| *named)
                .map(|(_, c)| c.iter().map(|c| c.name.clone()).collect()),
            columns: prepared.columns.map(|(_, c)| c),
            imputes_missing: prepared.imputes_missing,
            image_from_graph: image_read_from_graph,
            image,
            grad,
        };
        model.check_scores(said_by.as_ref())?;
        Ok(model)
    }

    /// Runs the probe rows and settles what the scores are (see `scores::settle`).
    fn check_scores(&mut self, said_by: Option<&scores::Claim>) -> Result<(), ModelError> {
        if self.score_kind == ScoreKind::Regression {
            return Ok(());
        }
        let mut probe = scores::probe_rows(self.n_features());
        // A category's column takes codes: each probe row gets one of the model's categories.
        for (c, column) in self.columns.iter().flatten().enumerate() {
            if let Some(cats) = column.categories.as_ref().filter(|c| !c.is_empty()) {
                for (r, v) in probe.column_mut(c).iter_mut().enumerate() {
                    *v = cats[r % cats.len()].1;
                }
            }
        }
        let raw = match self.run_raw(probe.iter().copied().collect(), probe.nrows()) {
            Ok(raw) => raw,
            // Integer columns an encoder refuses unknown values of cannot be probed with made-up
            // rows; the scores are then taken as the graph declares them.
            Err(e) if self.columns.is_some() => {
                self.notes.push(format!(
                    "the scores were not checked on probe rows (the model refused them: {e})"
                ));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let (kind, note) =
            scores::settle(self.score_kind, said_by, &self.score_output, raw.view())?;
        self.score_kind = kind;
        self.notes.extend(note);
        Ok(())
    }

    /// What loading found that a user should know: how the scores were read when the graph did
    /// not say, and the like. One line each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The tree ensemble this model is, when its graph is one (possibly behind casts and
    /// identities) from the input to the score output.
    pub fn trees(&self) -> Option<&Arc<TreeEnsemble>> {
        self.trees.as_ref().ok()
    }

    /// True when a missing value (NaN) in the input has a meaning to the model: its graph is a
    /// tree ensemble, whose nodes say which way a missing value goes (Loupe's own evaluator
    /// follows them, as onnxruntime does).
    pub fn handles_missing_values(&self) -> bool {
        self.trees.is_ok() || self.imputes_missing
    }

    /// The columns Loupe feeds a graph whose inputs are not one float matrix (one per
    /// DataFrame column, or a text or integer matrix), each with the input it reaches; `None`
    /// for a model that takes one float matrix as it is.
    pub fn input_columns(&self) -> Option<&[InputColumn]> {
        self.columns.as_deref()
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

    /// How images become the model's input: the card's `image` entry, else — for an input of
    /// one image per row (1 or 3 channels, first or last, of a fixed size) — read from the
    /// graph, with no normalisation. `None` for a tabular model.
    pub fn image(&self) -> Option<&ImageSpec> {
        self.image.as_ref()
    }

    /// [`Self::image`] was read from the graph, not a card: the normalisation is not known.
    pub fn image_from_graph(&self) -> bool {
        self.image_from_graph
    }

    /// Feature names from the card, else the graph's input names when the model takes one
    /// input per column.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.card
            .feature_names
            .as_deref()
            .or(self.input_names.as_deref())
    }

    /// Number of columns [`Self::predict`] returns: classes, or regression outputs.
    pub fn n_outputs(&self) -> usize {
        match &self.task {
            Task::Classification { class_names, .. } => class_names.len(),
            Task::Regression { .. } => self.raw_columns,
        }
    }
}
