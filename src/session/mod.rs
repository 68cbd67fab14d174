//! The use cases: a [`Session`] — a model, a dataset matched to it, and the model's predictions
//! on every row — and each workflow on it, written once for the command line and the window:
//!
//! - [`row`]: explain rows ("why A and not B", what-if), their waterfall, where each value
//!   stands among the reference rows.
//! - [`image`]: explain images — the map, its faithfulness, the randomisation sanity check.
//! - [`dataset`]: explain a whole dataset (or a seeded sample), cached on disk.
//! - [`policy`]: the named defaults: which class is explained for which purpose, and the
//!   advice on a tree model's scale.
//! - [`error`]: [`SessionError`], with `Cancelled` and setting errors as types.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::analysis::Predictions;
use crate::data::{Dataset, Schema, Table};
use crate::explain::Link;
use crate::explain::run::RowExplanation;
use crate::model::{OnnxModel, Task};

pub mod dataset;
pub mod error;
pub mod ids;
pub mod image;
pub mod policy;
pub mod row;

pub use error::SessionError;
pub use image::ImageExplanation;

/// Where a session's model and data come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub model: Origin,
    /// No data: the model alone (its signature, no rows).
    pub data: Option<Origin>,
    /// The label column the user named; else it is found by name.
    pub label: Option<String>,
}

/// A file on disk, or the sample bundled in the binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Sample,
    File(PathBuf),
}

impl Source {
    /// The bundled sample model and data.
    pub fn sample() -> Source {
        Source {
            model: Origin::Sample,
            data: Some(Origin::Sample),
            label: None,
        }
    }

    /// The data as the user named it (its path), for outputs; `None` without data.
    pub fn data_name(&self) -> Option<String> {
        match self.data.as_ref()? {
            Origin::Sample => Some(crate::sample::DATA_NAME.to_string()),
            Origin::File(path) => Some(path.display().to_string()),
        }
    }

    /// Files on disk.
    pub fn files(model: PathBuf, data: Option<PathBuf>, label: Option<String>) -> Source {
        Source {
            model: Origin::File(model),
            data: data.map(Origin::File),
            label,
        }
    }
}

/// A loaded model with its data and predictions. Cheap to clone (shared parts).
#[derive(Clone, Debug)]
pub struct Session {
    pub model: Arc<OnnxModel>,
    pub data: Option<Arc<Dataset>>,
    pub predictions: Option<Arc<Predictions>>,
    /// The data as the user named it (its path), written in output files.
    pub data_name: String,
    /// Each row's case identifier, when the data have a column naming cases ([`ids`]).
    pub ids: Option<Arc<ids::CaseIds>>,
}

impl Session {
    /// Loads `source`: the model, then the data matched to it, then every prediction.
    pub fn load(source: &Source) -> anyhow::Result<Session> {
        let model = load_model(&source.model)?;
        let data = match &source.data {
            Some(origin) => Some(load_data_with_ids(&model, origin, source.label.as_deref())?),
            None => None,
        };
        let (data, ids) = data.map_or((None, None), |(d, ids)| (Some(d), ids));
        Ok(Session::new(model, data)?.named(source).with_ids(ids))
    }

    /// The session with its data named as `source` names it.
    fn named(mut self, source: &Source) -> Session {
        if self.data.is_some()
            && let Some(name) = source.data_name()
        {
            self.data_name = name;
        }
        self
    }

    /// Like [`Session::load`], but data that does not load or match leaves a session with the
    /// model alone, and the reason as a warning: opening a new model keeps the window useful.
    pub fn load_keeping_model(source: &Source) -> anyhow::Result<(Session, Option<String>)> {
        let model = load_model(&source.model)?;
        let (data, warning) = match &source.data {
            Some(origin) => match load_data_with_ids(&model, origin, source.label.as_deref()) {
                Ok(d) => (Some(d), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            },
            None => (None, None),
        };
        let (data, ids) = data.map_or((None, None), |(d, ids)| (Some(d), ids));
        Ok((
            Session::new(model, data)?.named(source).with_ids(ids),
            warning,
        ))
    }

    /// Runs the model on `data` and bundles the three.
    pub fn new(model: OnnxModel, data: Option<Dataset>) -> anyhow::Result<Session> {
        let predictions = match &data {
            Some(d) => Some(Arc::new(
                Predictions::compute(&model, d)
                    .with_context(|| format!("predicting {}", d.source))?,
            )),
            None => None,
        };
        Ok(Session {
            model: Arc::new(model),
            data_name: data.as_ref().map(|d| d.source.clone()).unwrap_or_default(),
            data: data.map(Arc::new),
            predictions,
            ids: None,
        })
    }

    /// The session with `ids` naming its rows.
    pub fn with_ids(mut self, ids: Option<ids::CaseIds>) -> Session {
        self.ids = ids
            .filter(|i| {
                self.data
                    .as_ref()
                    .is_some_and(|d| d.len() == i.values.len())
            })
            .map(Arc::new);
        self
    }

    /// Row `row`'s case identifier, when the data name cases.
    pub fn case_id(&self, row: usize) -> Option<&str> {
        self.ids.as_ref()?.values.get(row).map(String::as_str)
    }

    /// Row `row` as a person reads it: `Row 12 · patient_id P-0012`, or `Row 12`.
    pub fn row_title(&self, row: usize) -> String {
        match (self.case_id(row), &self.ids) {
            (Some(id), Some(ids)) if !id.is_empty() => format!("Row {row} · {} {id}", ids.column),
            _ => format!("Row {row}"),
        }
    }
}

impl Session {
    /// The name of output `target`: its class, or `value` for a regressor.
    pub fn target_name(&self, target: usize) -> String {
        match self.model.task().class_names().get(target) {
            Some(name) => name.clone(),
            None => "value".into(),
        }
    }

    /// The outputs `targets` explain, as the attributions files write it: a class name (or a
    /// comma-separated list), `predicted` (each row's predicted class), or `value`.
    pub fn targets_name(&self, targets: &crate::explain::Targets) -> String {
        match targets {
            crate::explain::Targets::Predicted if self.model.task().class_names().is_empty() => {
                "value".to_string()
            }
            crate::explain::Targets::Predicted => "predicted".to_string(),
            crate::explain::Targets::Classes(c) => c
                .iter()
                .map(|&t| self.target_name(t))
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The name of what an explanation explains: `malignant`, or `malignant − benign`.
    pub fn explained_name(&self, e: &RowExplanation) -> String {
        match e.versus {
            Some(b) => format!("{} − {}", self.target_name(e.target), self.target_name(b)),
            None => self.target_name(e.target),
        }
    }

    /// What an explanation measures, for chart axes: `P(malignant)`, or
    /// `P(malignant) − P(benign)` for "why A not B".
    pub fn measure_of(&self, e: &RowExplanation, link: Link) -> String {
        match e.versus {
            Some(b) => format!(
                "{} − {}",
                self.measure(e.target, link),
                self.measure(b, link)
            ),
            None => self.measure(e.target, link),
        }
    }

    /// What an explanation of `target` through `link` measures, for chart axes.
    pub fn measure(&self, target: usize, link: Link) -> String {
        match (self.model.task(), link) {
            (Task::Regression { .. }, _) => "predicted value".into(),
            (_, Link::Identity) => format!("P({})", self.target_name(target)),
            (_, Link::Logit) => format!("log-odds of {}", self.target_name(target)),
        }
    }
}

/// Loads a model, naming its file in any error.
pub fn load_model(origin: &Origin) -> anyhow::Result<OnnxModel> {
    match origin {
        Origin::Sample => crate::sample::model(),
        Origin::File(path) => OnnxModel::load(path).with_context(|| format!("{}", path.display())),
    }
}

/// What `model` expects of its data, with the label column the user named (if any): the
/// binding of data columns to the model's inputs.
pub fn schema_for<'a>(model: &'a OnnxModel, label: Option<&'a str>) -> Schema<'a> {
    Schema {
        n_features: model.n_features(),
        feature_names: model.feature_names(),
        class_names: model.task().class_names(),
        label_column: label,
        missing_values: model.handles_missing_values(),
        categories: categories_of(model),
    }
}

/// The categories of each of `model`'s text columns (see [`Schema::categories`]).
pub fn categories_of(model: &OnnxModel) -> Vec<Option<crate::data::Categories>> {
    model
        .input_columns()
        .map(|columns| {
            columns
                .iter()
                .map(|c| c.categories.clone().map(crate::data::Categories))
                .collect()
        })
        .unwrap_or_default()
}

/// The shape of `model`'s input images, from its card's `image` entry and its input shape.
pub fn image_shape(model: &OnnxModel) -> Result<Option<crate::data::ImageShape>, String> {
    let Some(spec) = model.image() else {
        return Ok(None);
    };
    let resize = crate::data::images::Resize::named(spec.resize.as_deref(), spec.resize_shorter)?;
    let filter = crate::data::images::Filter::named(spec.interpolation.as_deref())?;
    map_palette(model)?;
    crate::data::ImageShape::from_layout(
        spec.layout.as_deref(),
        spec.mean.as_deref(),
        spec.std.as_deref(),
        model.row_shape(),
    )
    .map(|shape| Some(shape.resized(resize, filter)))
}

/// The colours of `model`'s saliency maps: its card's `image.palette`, or red and blue.
pub fn map_palette(model: &OnnxModel) -> Result<crate::plot::overlay::Palette, String> {
    match model.image().and_then(|spec| spec.palette.as_deref()) {
        Some(name) => crate::plot::overlay::Palette::parse(name).map_err(|e| format!("card: {e}")),
        None => Ok(Default::default()),
    }
}

/// Reads a CSV (or an image folder or list, for an image model) and matches it to `model`.
pub fn load_data(
    model: &OnnxModel,
    origin: &Origin,
    label: Option<&str>,
) -> anyhow::Result<Dataset> {
    if let (Origin::File(path), Some(_)) = (origin, model.image())
        && crate::data::images::is_image_data(path)
    {
        let shape = image_shape(model)
            .map_err(|e| anyhow::anyhow!("{}: {e}", model.name()))?
            .ok_or_else(|| anyhow::anyhow!("{}: no image entry in the card", model.name()))?;
        return Ok(crate::data::images::load(
            path,
            &shape,
            model.task().class_names(),
        )?);
    }
    if let Origin::File(path) = origin
        && path.is_dir()
    {
        anyhow::bail!(
            "{} is a folder: a folder of images needs a model whose card has an `image` entry \
             (size, channels, layout, mean and std; {} has none), and tabular data is a CSV file",
            path.display(),
            model.name()
        );
    }
    Ok(read_table(model, origin, label)?.0)
}

/// [`load_data`], with the rows' case identifiers when the data are a table with a column
/// naming cases.
pub fn load_data_with_ids(
    model: &OnnxModel,
    origin: &Origin,
    label: Option<&str>,
) -> anyhow::Result<(Dataset, Option<ids::CaseIds>)> {
    match origin {
        Origin::File(path)
            if path.is_dir()
                || (model.card().image.is_some() && crate::data::images::is_image_data(path)) =>
        {
            Ok((load_data(model, origin, label)?, None))
        }
        _ => read_table(model, origin, label),
    }
}

/// A CSV (or the bundled sample) matched to `model`, and its case identifiers.
fn read_table(
    model: &OnnxModel,
    origin: &Origin,
    label: Option<&str>,
) -> anyhow::Result<(Dataset, Option<ids::CaseIds>)> {
    let table = match origin {
        Origin::Sample => crate::sample::table()?,
        Origin::File(path) => Table::from_path(path)?,
    };
    let mut data = Dataset::from_table(&table, schema_for(model, label))?;
    if let Some(columns) = &model.card().categorical {
        data.read_as_categories(columns)
            .map_err(|e| anyhow::anyhow!("{}: {e}", data.source))?;
    }
    let ids = ids::find(&table, &data, model.card().id_column.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((data, ids))
}
