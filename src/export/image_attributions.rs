//! The attributions JSON of image explanations: the same top-level keys as the tabular file
//! (`schemas/attributions.schema.json`), with each row's `values` an H×W map (row-major) and
//! `image_shape` giving [height, width]; each row also names its image file and carries its
//! deletion/insertion scores. The long CSV has one line per pixel.

use std::io::Write;

use serde::{Deserialize, Serialize};

use super::attributions::PredictionRecord;

/// Deletion and insertion areas of a map and of random pixel orders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaithfulnessRecord {
    pub deletion_auc: f64,
    pub insertion_auc: f64,
    pub random_deletion_auc: f64,
    pub random_insertion_auc: f64,
}

/// One explained image (for one class).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRowRecord {
    pub row: usize,
    pub path: String,
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prediction: Option<PredictionRecord>,
    pub target: String,
    pub base_value: f64,
    pub output_value: f64,
    pub values: Vec<f64>,
    pub std_err: Option<Vec<f64>>,
    pub model_calls: u64,
    /// Integrated Gradients: f(x) − f(x′) − Σ values.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub completeness_gap: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub faithfulness: Option<FaithfulnessRecord>,
    /// The cascading randomisation check, from the output down (`--cascade`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cascading_randomisation: Option<Vec<crate::analysis::randomisation::CascadeStep>>,
}

/// The whole file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageAttributionsFile {
    pub model_sha256: String,
    pub data: String,
    pub method: String,
    pub params: serde_json::Value,
    pub target: String,
    pub link: String,
    pub image_shape: [usize; 2],
    pub rows: Vec<ImageRowRecord>,
}

impl ImageAttributionsFile {
    pub fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        super::write_json(self, out)
    }

    /// `row,feature,value,attribution,std_err,target` with `feature` = `y,x` of the pixel and
    /// `value` empty.
    pub fn write_csv(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(super::LONG_CSV_HEADER)?;
        let [_, width] = self.image_shape;
        for r in &self.rows {
            for (i, v) in r.values.iter().enumerate() {
                w.write_record([
                    r.row.to_string(),
                    format!("{},{}", i / width.max(1), i % width.max(1)),
                    String::new(),
                    v.to_string(),
                    String::new(),
                    r.target.clone(),
                ])?;
            }
        }
        w.flush()
    }
}

impl ImageAttributionsFile {
    /// The file for `explanations` of `session`'s images made with `settings` for `targets`;
    /// `data` is the data as the user named it.
    pub fn build(
        session: &crate::session::Session,
        settings: &crate::explain::image::ImageSettings,
        targets: &crate::explain::Targets,
        data: &str,
        explanations: &[crate::session::ImageExplanation],
    ) -> ImageAttributionsFile {
        let class_names = session.model.task().class_names();
        let dataset = session.data.as_deref();
        let images = dataset.and_then(|d| d.images.as_deref());
        let rows = explanations
            .iter()
            .map(|e| {
                let label = dataset
                    .and_then(|d| d.classes())
                    .and_then(|c| class_names.get(c[e.row]).cloned());
                let prediction = session.predictions.as_deref().and_then(|p| {
                    let class = class_names.get(*p.predicted.get(e.row)?)?.clone();
                    Some(PredictionRecord {
                        class,
                        probabilities: class_names
                            .iter()
                            .enumerate()
                            .map(|(c, n)| (n.clone(), p.outputs[[e.row, c]]))
                            .collect(),
                    })
                });
                ImageRowRecord {
                    row: e.row,
                    path: images
                        .and_then(|i| i.paths.get(e.row))
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    label,
                    prediction,
                    target: session.target_name(e.target),
                    base_value: e.map.base_value,
                    output_value: e.map.output_value,
                    values: e.map.values.clone(),
                    std_err: None,
                    model_calls: e.map.model_calls,
                    completeness_gap: e.map.completeness_gap,
                    faithfulness: e.faithfulness.as_ref().map(|f| FaithfulnessRecord {
                        deletion_auc: f.deletion_auc(),
                        insertion_auc: f.insertion_auc(),
                        random_deletion_auc: f.random_deletion_auc(),
                        random_insertion_auc: f.random_insertion_auc(),
                    }),
                    cascading_randomisation: e.cascade.clone(),
                }
            })
            .collect();
        let shape = images
            .map(|i| [i.shape.height, i.shape.width])
            .unwrap_or_default();
        ImageAttributionsFile {
            model_sha256: session.model.sha256().to_string(),
            data: data.to_string(),
            method: settings.method.name().to_string(),
            params: match images {
                Some(i) => settings.params_json(&i.shape),
                None => serde_json::Value::Object(settings.params.json(settings.method)),
            },
            target: session.targets_name(targets),
            link: "identity".into(),
            image_shape: shape,
            rows,
        }
    }
}
