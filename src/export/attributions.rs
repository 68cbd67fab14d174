//! The attributions outputs. JSON (`schemas/attributions.schema.json`): a header of model,
//! data, method, params, target and feature names, then one record per explained row (and per
//! target, each record naming its `target`). CSV, long form:
//! `row,feature,value,attribution,std_err,target`.

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::data::Labels;
use crate::explain::run::RowExplanation;
use crate::explain::{ExplainSettings, Players};
use crate::session::Session;

/// Every setting that changes the result. The shard is not one: shards merge into exactly the
/// unsharded file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Coalition evaluations per row of a sampled method; absent for exact.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub samples: Option<usize>,
    /// Stop a sampled method once max std err / value range is below this.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tolerance: Option<f64>,
    /// Background rows asked for.
    pub background: usize,
    /// `first`, `random`, `kmeans`, or `file` when `background_data` names one.
    pub background_method: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub background_data: Option<String>,
    pub seed: u64,
    /// TreeSHAP's treatment of absent features (`interventional` or `path-dependent`); the
    /// path-dependent kind uses the training rows, not the background.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tree_mode: Option<String>,
    /// Columns explained as one player, by group name: each group is one entry of
    /// `feature_names`, its data a text of its columns' values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// The method's own parameters (Integrated Gradients' `steps` and `rule`).
    #[serde(flatten, default)]
    pub method: serde_json::Map<String, serde_json::Value>,
}

/// The predicted class and every class probability of a row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionRecord {
    pub class: String,
    pub probabilities: BTreeMap<String, f32>,
}

/// One explained row (for one target).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowRecord {
    pub row: usize,
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prediction: Option<PredictionRecord>,
    /// The explained output of this record.
    pub target: String,
    pub base_value: f64,
    pub output_value: f64,
    pub values: Vec<f64>,
    pub std_err: Option<Vec<f64>>,
    /// The row's feature values: numbers, a category's text, `null` for a missing value.
    pub data: Vec<Cell>,
    pub model_calls: u64,
    /// Integrated Gradients: g(x) − g(x′) − Σ values.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub completeness_gap: Option<f64>,
}

/// One feature value as the data hold it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Number(f32),
    /// A category, as written in the data.
    Text(String),
    /// A missing value (JSON has no NaN).
    Missing,
}

impl Cell {
    /// Feature `f`'s value `v` in `data`: its category's text for a text feature, a missing
    /// value for NaN.
    pub fn of(data: &crate::data::Dataset, f: usize, v: f32) -> Cell {
        if let Some(name) = data.category_name(f, v) {
            return Cell::Text(name.to_string());
        }
        if v.is_nan() {
            Cell::Missing
        } else {
            Cell::Number(v)
        }
    }

    /// True for a missing value.
    pub fn is_missing(&self) -> bool {
        matches!(self, Cell::Missing)
    }
}

impl std::fmt::Display for Cell {
    /// As the long CSV writes it: the number, the category, or `NaN` for a missing value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Number(v) => write!(f, "{v}"),
            Cell::Text(t) => f.write_str(t),
            Cell::Missing => f.write_str("NaN"),
        }
    }
}

/// The whole attributions JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributionsFile {
    pub model_sha256: String,
    pub data: String,
    pub method: String,
    pub params: Params,
    /// A class name when one output is explained for every row, else `predicted` (each row's
    /// predicted class) or a comma-separated list.
    pub target: String,
    pub link: String,
    pub feature_names: Vec<String>,
    pub rows: Vec<RowRecord>,
}

/// Where the background came from, for the file's params.
#[derive(Clone, Debug)]
pub struct BackgroundSource {
    /// Rows asked for (or, for a file, rows in it).
    pub rows: usize,
    /// The file the user named, as named.
    pub file: Option<String>,
}

impl BackgroundSource {
    /// The background `settings` ask for: `file`'s rows when one is named, else the rows asked
    /// for — the same in every file Loupe writes, so that they merge.
    pub fn of(settings: &ExplainSettings, file: Option<&crate::data::Dataset>) -> Self {
        BackgroundSource {
            rows: file.map_or(settings.background_rows, |f| f.len()),
            file: file.map(|f| f.source.clone()),
        }
    }
}

impl AttributionsFile {
    /// Builds the file for `explanations` made with `settings` on `session`; `data` is the data
    /// file as the user named it.
    pub fn build(
        session: &Session,
        settings: &ExplainSettings,
        background: &BackgroundSource,
        data: &str,
        explanations: &[RowExplanation],
    ) -> AttributionsFile {
        let model = &session.model;
        let columns = session
            .data
            .as_deref()
            .map(|d| d.feature_names.clone())
            .unwrap_or_default();
        let players = settings
            .players(&columns)
            .ok()
            .flatten()
            .unwrap_or_else(|| Players::columns(&columns));
        let method = settings.resolved_method(model);
        let class_names = model.task().class_names();
        let dataset = session.data.as_deref();
        let target = session.targets_name(&settings.targets);
        let rows = explanations
            .iter()
            .map(|e| {
                let label = dataset.and_then(|d| match &d.labels {
                    Some(Labels::Classes(c)) => class_names.get(c[e.row]).cloned(),
                    Some(Labels::Values(v)) => Some(v[e.row].to_string()),
                    None => None,
                });
                let prediction = session.predictions.as_deref().and_then(|p| {
                    let class = class_names.get(*p.predicted.get(e.row)?)?.clone();
                    let probabilities = class_names
                        .iter()
                        .enumerate()
                        .map(|(c, name)| (name.clone(), p.outputs[[e.row, c]]))
                        .collect();
                    Some(PredictionRecord {
                        class,
                        probabilities,
                    })
                });
                RowRecord {
                    row: e.row,
                    label,
                    prediction,
                    target: session.explained_name(e),
                    base_value: e.attribution.base_value,
                    output_value: e.attribution.output_value,
                    values: e.attribution.values.clone(),
                    std_err: e.attribution.std_err.clone(),
                    data: dataset
                        .map(|d| {
                            let row = d.x.row(e.row);
                            (0..players.len())
                                .map(|p| match players.members(p) {
                                    &[f] => Cell::of(d, f, row[f]),
                                    members => Cell::Text(
                                        members
                                            .iter()
                                            .map(|&f| {
                                                format!(
                                                    "{} = {}",
                                                    d.feature_names[f],
                                                    Cell::of(d, f, row[f])
                                                )
                                            })
                                            .collect::<Vec<_>>()
                                            .join(", "),
                                    ),
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    model_calls: e.model_calls,
                    completeness_gap: (method == crate::explain::image::ig::IG).then(|| {
                        let a = &e.attribution;
                        a.output_value - a.base_value - a.values.iter().sum::<f64>()
                    }),
                }
            })
            .collect();
        AttributionsFile {
            model_sha256: model.sha256().to_string(),
            data: data.to_string(),
            method: method.name().to_string(),
            params: Params {
                samples: method.is_sampled().then(|| settings.budget(players.len())),
                tolerance: settings.tolerance,
                background: background.rows,
                background_method: match &background.file {
                    Some(_) => "file".into(),
                    None => settings.background_method.name().into(),
                },
                background_data: background.file.clone(),
                seed: settings.seed,
                tree_mode: (method == crate::explain::tree_method::TREE)
                    .then(|| settings.tree_mode.name().into()),
                groups: players
                    .groups(&columns)
                    .into_iter()
                    .map(|g| (g.name, g.columns))
                    .collect(),
                method: settings.params.json(method),
            },
            target,
            link: settings.link.name().to_string(),
            feature_names: players.names().to_vec(),
            rows,
        }
    }

    /// Writes the JSON form.
    pub fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        super::write_json(self, out)
    }

    /// Writes the long CSV form.
    pub fn write_csv(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(super::LONG_CSV_HEADER)?;
        for r in &self.rows {
            for (f, name) in self.feature_names.iter().enumerate() {
                let err = r
                    .std_err
                    .as_ref()
                    .map(|e| e[f].to_string())
                    .unwrap_or_default();
                w.write_record([
                    r.row.to_string(),
                    name.clone(),
                    r.data[f].to_string(),
                    r.values[f].to_string(),
                    err,
                    r.target.clone(),
                ])?;
            }
        }
        w.flush()
    }

    /// Joins shard files into one, rows in row order. Every header must agree.
    pub fn merge(parts: Vec<AttributionsFile>) -> Result<AttributionsFile, String> {
        let mut parts = parts.into_iter();
        let Some(mut merged) = parts.next() else {
            return Err("nothing to merge".into());
        };
        for (i, part) in parts.enumerate() {
            let same = part.model_sha256 == merged.model_sha256
                && part.data == merged.data
                && part.method == merged.method
                && part.params == merged.params
                && part.target == merged.target
                && part.link == merged.link
                && part.feature_names == merged.feature_names;
            if !same {
                return Err(format!(
                    "file {} was made with other settings (model, data, method, params, target or link) than the first",
                    i + 2
                ));
            }
            merged.rows.extend(part.rows);
        }
        // Stable: the targets of one row keep their order.
        merged.rows.sort_by_key(|r| r.row);
        if let Some(w) = merged
            .rows
            .windows(2)
            .find(|w| w[0].row == w[1].row && w[0].target == w[1].target)
        {
            return Err(format!(
                "row {} (target {}) appears in more than one file",
                w[0].row, w[0].target
            ));
        }
        Ok(merged)
    }
}
