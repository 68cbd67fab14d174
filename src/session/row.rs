//! Explaining rows: the attributions of rows of the data (or of edited values, "what if"),
//! "why A and not B", the waterfall of an explanation, and the whole Explain use case
//! ([`Session::explain_row`]) with where each value stands among the reference rows.

use std::time::Instant;

use super::{Session, SessionError};
use crate::analysis::Predictions;
use crate::data::Dataset;
use crate::explain::run::{RowExplanation, RowsGame, explain_rows_of};
use crate::explain::{Background, ExplainSettings, Method, Players, Progress, Targets};
use crate::plot::WaterfallSpec;
use crate::report::reference::Range;

/// What the Explain use case is asked: a row, how, and against what.
#[derive(Clone, Debug)]
pub struct RowRequest {
    pub row: usize,
    pub settings: ExplainSettings,
    /// "Why the first class and not the second?"
    pub versus: Option<(usize, usize)>,
    /// Edited values of the row ("what if"), instead of its recorded ones.
    pub edited: Option<Vec<f32>>,
    /// Bars in the waterfall before the rest are pooled.
    pub max_bars: usize,
}

/// One row's finished explanation with everything shown beside it.
#[derive(Clone, Debug)]
pub struct RowResult {
    pub row: usize,
    pub explanation: RowExplanation,
    pub spec: WaterfallSpec,
    /// The method used (never `auto`).
    pub method: Method,
    pub background_rows: usize,
    /// The CSV the background came from, when not the reference rows.
    pub background_file: Option<String>,
    pub seconds: f64,
    pub settings: ExplainSettings,
    /// The values explained: the row's, or the edited ones of a what-if.
    pub values: Vec<f32>,
    /// For a what-if: the model's outputs for the edited values.
    pub what_if: Option<Vec<f32>>,
    /// Where each value stands among the reference rows, overall and per class; its
    /// `percentile` is the value's rank among them.
    pub ranges: Vec<Range>,
    /// Who played: `explanation`'s values are one per player.
    pub players: Players,
}

/// The name of Integrated Gradients' base value on a waterfall: the output at the mean of the
/// background rows.
pub const IG_BASE: &str = "f at the background mean";

/// The population percentiles and ranges are measured in, for labels on screen and paper.
pub fn reference_population(data: &Dataset) -> &'static str {
    if data.reference_is_training() {
        "the training rows"
    } else {
        "all rows"
    }
}

impl Session {
    fn dataset(&self) -> Result<(&Dataset, &Predictions), SessionError> {
        match (&self.data, &self.predictions) {
            (Some(d), Some(p)) => Ok((d, p)),
            _ => Err(SessionError::NoData(
                "open a dataset to explain its rows".into(),
            )),
        }
    }

    /// The background `settings` ask for: every row of `file`, else rows of the reference
    /// rows.
    pub fn background(
        &self,
        settings: &ExplainSettings,
        file: Option<&Dataset>,
    ) -> Result<Background, SessionError> {
        let (data, _) = self.dataset()?;
        Ok(settings.background(data, file)?)
    }

    /// Explains `rows` of the session's data with `settings` against `background`.
    pub fn explain(
        &self,
        rows: &[usize],
        settings: &ExplainSettings,
        background: &Background,
        progress: &dyn Progress,
    ) -> Result<Vec<RowExplanation>, SessionError> {
        let (data, predictions) = self.dataset()?;
        let targets_of = |row: usize| settings.targets_for(&predictions.predicted, row);
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
    ) -> Result<Vec<RowExplanation>, SessionError> {
        let (data, _) = self.dataset()?;
        settings.validate(self.model.task())?;
        let explainer = settings.explainer(&self.model, data, background)?;
        let players = settings.players(&data.feature_names)?;
        let game = RowsGame {
            model: &*self.model,
            background,
            link: settings.link,
            players: players.as_ref(),
        };
        Ok(explain_rows_of(
            &game,
            x,
            rows,
            targets_of,
            &*explainer,
            settings.seed,
            progress,
        )?)
    }

    /// "Why `a` and not `b`?" for `row`: both classes explained in one game, then subtracted.
    pub fn explain_versus(
        &self,
        row: usize,
        (a, b): (usize, usize),
        settings: &ExplainSettings,
        background: &Background,
        progress: &dyn Progress,
    ) -> Result<RowExplanation, SessionError> {
        let settings = ExplainSettings {
            targets: Targets::Classes(vec![a, b]),
            ..settings.clone()
        };
        let both = self.explain(&[row], &settings, background, progress)?;
        match both.as_slice() {
            [x, y] => Ok(RowExplanation::versus(x, y)),
            _ => Err(SessionError::Other(anyhow::anyhow!(
                "expected two explanations of row {row}"
            ))),
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
    ) -> Result<(Vec<f32>, RowExplanation), SessionError> {
        let m = self.model.n_features();
        if x.len() != m {
            return Err(SessionError::NoData(format!(
                "the model takes {m} values, got {}",
                x.len()
            )));
        }
        let xs = ndarray::Array2::from_shape_vec((1, m), x.to_vec())
            .map_err(|e| SessionError::Other(e.into()))?;
        let outputs = self.model.predict(xs.view())?;
        let predicted = Predictions::from_outputs(outputs.clone(), self.model.task());
        let targets = settings.targets_for(&predicted.predicted, 0);
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
            .ok_or_else(|| SessionError::Other(anyhow::anyhow!("no explanation")))?;
        e.row = row;
        Ok((outputs.row(0).to_vec(), e))
    }

    /// The Explain use case: `request`'s row explained (as recorded, edited, or "why A and
    /// not B") against `background_file` or the reference rows, with its waterfall and where
    /// each value stands among the reference rows.
    pub fn explain_row(
        &self,
        request: &RowRequest,
        background_file: Option<&Dataset>,
        progress: &dyn Progress,
    ) -> Result<RowResult, SessionError> {
        let started = Instant::now();
        let (data, _) = self.dataset()?;
        let RowRequest {
            row,
            settings,
            versus,
            edited,
            max_bars,
        } = request;
        let row = *row;
        if row >= data.len() {
            return Err(SessionError::NoData(format!(
                "row {row} is out of range: the data has {} rows",
                data.len()
            )));
        }
        let background = self.background(settings, background_file)?;
        let values: Vec<f32> = edited.clone().unwrap_or_else(|| data.x.row(row).to_vec());
        let (explanation, what_if) = match (edited, versus) {
            (Some(x), _) => {
                let (outputs, e) = self.explain_what_if(row, x, settings, &background, progress)?;
                (e, Some(outputs))
            }
            (None, Some(pair)) => (
                self.explain_versus(row, *pair, settings, &background, progress)?,
                None,
            ),
            (None, None) => (
                self.explain(&[row], settings, &background, progress)?
                    .pop()
                    .ok_or_else(|| SessionError::Other(anyhow::anyhow!("no explanation")))?,
                None,
            ),
        };
        let players = self.players(settings);
        let mut spec = self.waterfall_of(&explanation, &players, &values, settings, *max_bars);
        if what_if.is_some() {
            spec.title = format!("{} · what if (edited values)", spec.title);
        }
        Ok(RowResult {
            row,
            spec,
            method: settings.resolved_method(&self.model),
            background_rows: background.len(),
            background_file: background_file.map(|f| f.source.clone()),
            seconds: started.elapsed().as_secs_f64(),
            ranges: crate::report::ranges(data, self.model.task().class_names().len(), &values),
            settings: settings.clone(),
            explanation,
            values,
            what_if,
            players,
        })
    }

    /// The players of `settings`' games on this session's data: its columns, or the groups
    /// they declare (groups that do not fit the data leave every column alone).
    pub fn players(&self, settings: &ExplainSettings) -> Players {
        let names: Vec<String> = match &self.data {
            Some(d) => d.feature_names.clone(),
            None => (0..self.model.n_features())
                .map(|j| format!("feature {j}"))
                .collect(),
        };
        settings
            .players(&names)
            .ok()
            .flatten()
            .unwrap_or_else(|| Players::columns(&names))
    }

    /// The waterfall chart of one explanation made with `players`.
    pub fn waterfall(
        &self,
        explanation: &RowExplanation,
        players: &Players,
        settings: &ExplainSettings,
        max_bars: usize,
    ) -> Option<WaterfallSpec> {
        let data = self.data.as_ref()?;
        let row: Vec<f32> = data.x.row(explanation.row).to_vec();
        Some(self.waterfall_of(explanation, players, &row, settings, max_bars))
    }

    /// A player's value in `row` as text: a column's value (its category for a text column),
    /// or a group's columns' values joined.
    pub fn player_value(&self, players: &Players, p: usize, row: &[f32]) -> String {
        let text = |j: usize| match &self.data {
            Some(d) => d.value_text(j, row[j], |v| crate::plot::short_number(v as f64)),
            None => crate::plot::short_number(row[j] as f64),
        };
        players
            .members(p)
            .iter()
            .map(|&j| text(j))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// The waterfall chart of an explanation (made with `players`) of the values `row`.
    pub fn waterfall_of(
        &self,
        explanation: &RowExplanation,
        players: &Players,
        row: &[f32],
        settings: &ExplainSettings,
        max_bars: usize,
    ) -> WaterfallSpec {
        let link = settings.link;
        let a = &explanation.attribution;
        let names = players.names();
        // One value per player: a group's is drawn by its label below.
        let player_row: Vec<f32> = (0..players.len())
            .map(|p| match players.members(p) {
                &[j] => row[j],
                _ => f32::NAN,
            })
            .collect();
        let mut spec = WaterfallSpec::new(
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
            names,
            &player_row,
            &a.values,
            a.std_err.as_deref(),
            a.base_value,
            a.output_value,
            max_bars,
        );
        // A category reads as itself (`island = Dream`); a group as its columns' values.
        for bar in &mut spec.bars {
            if let Some(p) = bar.feature {
                let categorical = players.members(p).iter().any(|&j| {
                    self.data
                        .as_ref()
                        .is_some_and(|d| d.category_name(j, row[j]).is_some())
                });
                if categorical || players.members(p).len() > 1 {
                    bar.label = format!("{} = {}", names[p], self.player_value(players, p, row));
                }
            }
        }
        // Integrated Gradients start from the output at the background's mean row, not from
        // the mean output over the background.
        if settings.resolved_method(&self.model) == crate::explain::image::ig::IG {
            spec = spec.named(IG_BASE, "f(x)");
        }
        spec
    }
}
