//! A [`Session`]: a model, a dataset matched to it, and the model's predictions on every row —
//! what the command line and the window both work on.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::analysis::Predictions;
use crate::data::{Dataset, Schema, Table};
use crate::explain::run::{RowExplanation, explain_rows};
use crate::explain::{Background, ExplainSettings, Link, Progress};
use crate::model::{OnnxModel, Task};
use crate::plot::WaterfallSpec;

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
}

impl Session {
    /// Loads `source`: the model, then the data matched to it, then every prediction.
    pub fn load(source: &Source) -> anyhow::Result<Session> {
        let model = load_model(&source.model)?;
        let data = match &source.data {
            Some(origin) => Some(load_data(&model, origin, source.label.as_deref())?),
            None => None,
        };
        Session::new(model, data)
    }

    /// Like [`Session::load`], but data that does not load or match leaves a session with the
    /// model alone, and the reason as a warning: opening a new model keeps the window useful.
    pub fn load_keeping_model(source: &Source) -> anyhow::Result<(Session, Option<String>)> {
        let model = load_model(&source.model)?;
        let (data, warning) = match &source.data {
            Some(origin) => match load_data(&model, origin, source.label.as_deref()) {
                Ok(d) => (Some(d), None),
                Err(e) => (None, Some(format!("{e:#}"))),
            },
            None => (None, None),
        };
        Ok((Session::new(model, data)?, warning))
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
            data: data.map(Arc::new),
            predictions,
        })
    }
}

impl Session {
    /// Explains `rows` of the session's data with `settings` against `background`.
    pub fn explain(
        &self,
        rows: &[usize],
        settings: &ExplainSettings,
        background: &Background,
        progress: &dyn Progress,
    ) -> anyhow::Result<Vec<RowExplanation>> {
        let (Some(data), Some(predictions)) = (&self.data, &self.predictions) else {
            anyhow::bail!("open a dataset to explain its rows");
        };
        let targets_of = |row: usize| settings.targets_for(predictions, row);
        self.explain_values(
            data.x.view(),
            rows,
            &targets_of,
            settings,
            background,
            progress,
        )
    }

    /// Explains `rows` of `x` (rows × features, the data's or others) against `background`,
    /// the data's explainer for `settings`.
    fn explain_values(
        &self,
        x: ndarray::ArrayView2<f32>,
        rows: &[usize],
        targets_of: &(dyn Fn(usize) -> Vec<usize> + Sync),
        settings: &ExplainSettings,
        background: &Background,
        progress: &dyn Progress,
    ) -> anyhow::Result<Vec<RowExplanation>> {
        let Some(data) = &self.data else {
            anyhow::bail!("open a dataset to explain against");
        };
        settings.validate(self.model.task())?;
        let explainer = settings.explainer(&self.model, data, background)?;
        Ok(explain_rows(
            &*self.model,
            x,
            rows,
            targets_of,
            &*explainer,
            background,
            settings.link,
            settings.seed,
            progress,
        )?)
    }

    /// "Why `a` and not `b`?" for `row`: both classes explained in one game, then subtracted.
    pub fn explain_versus(
        &self,
        row: usize,
        a: usize,
        b: usize,
        settings: &ExplainSettings,
        background: &Background,
        progress: &dyn Progress,
    ) -> anyhow::Result<RowExplanation> {
        let settings = ExplainSettings {
            targets: crate::explain::Targets::Classes(vec![a, b]),
            ..settings.clone()
        };
        let both = self.explain(&[row], &settings, background, progress)?;
        match both.as_slice() {
            [x, y] => Ok(RowExplanation::versus(x, y)),
            _ => anyhow::bail!("expected two explanations of row {row}"),
        }
    }

    /// Saliency maps of the images `rows` for `targets_of(row)`, with their faithfulness when
    /// `faithfulness` is set; images in parallel, each batching its own model calls.
    pub fn explain_images(
        &self,
        rows: &[usize],
        settings: &crate::explain::image::ImageSettings,
        targets_of: &(dyn Fn(usize) -> Vec<usize> + Sync),
        faithfulness: bool,
        progress: &dyn Progress,
    ) -> anyhow::Result<Vec<ImageExplanation>> {
        use rayon::prelude::*;
        let data = self
            .data
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("open images to explain them"))?;
        let images = data
            .images
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("{} is not image data", data.source))?;
        if let Some(&bad) = rows.iter().find(|&&r| r >= data.len()) {
            anyhow::bail!(
                "row {bad} is out of range: the data has {} images",
                data.len()
            );
        }
        let per_row = rows
            .par_iter()
            .map(|&row| {
                let x = data.x.row(row).to_vec();
                let out = targets_of(row)
                    .into_iter()
                    .map(|target| {
                        let map =
                            settings.explain(&self.model, &x, &images.shape, target, progress)?;
                        let faith = if faithfulness {
                            Some(crate::analysis::faithfulness::Faithfulness::measure(
                                &*self.model,
                                &x,
                                &images.shape,
                                &map,
                                target,
                                20,
                                settings.baseline,
                                settings.seed,
                                progress,
                            )?)
                        } else {
                            None
                        };
                        Ok(ImageExplanation {
                            row,
                            target,
                            map,
                            faithfulness: faith,
                        })
                    })
                    .collect::<Result<Vec<_>, crate::explain::ExplainError>>();
                progress.row_done();
                out
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(per_row.into_iter().flatten().collect())
    }

    /// The name of output `target`: its class, or `value` for a regressor.
    pub fn target_name(&self, target: usize) -> String {
        match self.model.task().class_names().get(target) {
            Some(name) => name.clone(),
            None => "value".into(),
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

    /// What if row `row` had the values `x`: the model's outputs for them and their
    /// explanation (for `settings.targets`, the predicted class of the edited row by default).
    pub fn explain_what_if(
        &self,
        row: usize,
        x: &[f32],
        settings: &ExplainSettings,
        background: &Background,
        progress: &dyn Progress,
    ) -> anyhow::Result<(Vec<f32>, RowExplanation)> {
        let m = self.model.n_features();
        if x.len() != m {
            anyhow::bail!("the model takes {m} values, got {}", x.len());
        }
        let xs = ndarray::Array2::from_shape_vec((1, m), x.to_vec())?;
        let outputs = self.model.predict(xs.view())?;
        let predicted = Predictions::from_outputs(outputs.clone(), self.model.task());
        let targets = settings.targets_for(&predicted, 0);
        let mut explained = self.explain_values(
            xs.view(),
            &[0],
            &|_| targets.clone(),
            settings,
            background,
            progress,
        )?;
        let mut e = explained
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no explanation"))?;
        e.row = row;
        Ok((outputs.row(0).to_vec(), e))
    }

    /// The waterfall chart of one explanation.
    pub fn waterfall(
        &self,
        explanation: &RowExplanation,
        link: Link,
        max_bars: usize,
    ) -> Option<WaterfallSpec> {
        let data = self.data.as_ref()?;
        let row: Vec<f32> = data.x.row(explanation.row).to_vec();
        Some(self.waterfall_of(explanation, &row, link, max_bars))
    }

    /// The waterfall chart of an explanation of the values `row`.
    pub fn waterfall_of(
        &self,
        explanation: &RowExplanation,
        row: &[f32],
        link: Link,
        max_bars: usize,
    ) -> WaterfallSpec {
        let a = &explanation.attribution;
        let names: Vec<String> = match &self.data {
            Some(d) => d.feature_names.clone(),
            None => (0..row.len()).map(|j| format!("feature {j}")).collect(),
        };
        WaterfallSpec::new(
            match explanation.versus {
                Some(b) => format!(
                    "Row {} · why {} and not {}",
                    explanation.row,
                    self.target_name(explanation.target),
                    self.target_name(b)
                ),
                None => format!(
                    "Row {} · why {}",
                    explanation.row,
                    self.measure(explanation.target, link)
                ),
            },
            self.measure_of(explanation, link),
            &names,
            row,
            &a.values,
            a.std_err.as_deref(),
            a.base_value,
            a.output_value,
            max_bars,
        )
    }
}

/// One image's saliency map for one class.
#[derive(Clone, Debug)]
pub struct ImageExplanation {
    pub row: usize,
    pub target: usize,
    pub map: crate::explain::image::SaliencyMap,
    pub faithfulness: Option<crate::analysis::faithfulness::Faithfulness>,
}

/// Loads a model, naming its file in any error.
pub fn load_model(origin: &Origin) -> anyhow::Result<OnnxModel> {
    match origin {
        Origin::Sample => crate::sample::model(),
        Origin::File(path) => OnnxModel::load(path).with_context(|| format!("{}", path.display())),
    }
}

/// Reads a CSV and matches it to `model`.
pub fn load_data(
    model: &OnnxModel,
    origin: &Origin,
    label: Option<&str>,
) -> anyhow::Result<Dataset> {
    if let (Origin::File(path), Some(spec)) = (origin, &model.card().image)
        && crate::data::images::is_image_data(path)
    {
        let shape = crate::data::ImageShape::from_card(spec, model.row_shape())
            .map_err(|e| anyhow::anyhow!("{}: {e}", model.name()))?;
        return Ok(crate::data::images::load(
            path,
            &shape,
            model.task().class_names(),
        )?);
    }
    let table = match origin {
        Origin::Sample => crate::sample::table()?,
        Origin::File(path) => Table::from_path(path)?,
    };
    Ok(Dataset::from_table(
        &table,
        Schema::for_model(model, label),
    )?)
}
