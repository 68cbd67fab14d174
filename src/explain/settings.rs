//! What the user chose for an explanation — method, budget, background, seed, link, targets —
//! shared by the command line and the window, with how it becomes a background and targets.

use std::str::FromStr;

use crate::data::Dataset;
use crate::model::{OnnxModel, Task};

use super::registry::{Fit, TabularBuild};
use super::{
    Background, BackgroundMethod, ExplainError, Explainer, Group, Link, Method, Players, Setting,
    TreeMode,
};

/// Which outputs are explained for a row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Targets {
    /// The row's predicted class (a regressor's only output).
    #[default]
    Predicted,
    /// These classes, for every row.
    Classes(Vec<usize>),
}

/// Every choice that changes an explanation. The window remembers them between runs (all but
/// the targets, which belong to one model).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ExplainSettings {
    pub method: Method,
    /// Coalition evaluations per row for sampled methods (default 2·M + 2048).
    pub samples: Option<usize>,
    /// Stop sampling early once max std err / value range is below this.
    pub tolerance: Option<f64>,
    pub background_rows: usize,
    pub background_method: BackgroundMethod,
    pub seed: u64,
    pub link: Link,
    /// TreeSHAP's treatment of absent features.
    pub tree_mode: TreeMode,
    /// Columns that play as one (from the card, `--group` or the window).
    pub groups: Vec<Group>,
    /// The method's own parameters (Integrated Gradients' steps and rule).
    pub params: super::ParamValues,
    #[serde(skip)]
    pub targets: Targets,
}

impl Default for ExplainSettings {
    fn default() -> Self {
        ExplainSettings {
            method: Method::default(),
            samples: None,
            tolerance: None,
            background_rows: 50,
            background_method: BackgroundMethod::Random,
            seed: 0,
            link: Link::Identity,
            tree_mode: TreeMode::Interventional,
            groups: Vec::new(),
            params: Default::default(),
            targets: Targets::Predicted,
        }
    }
}

/// The largest sampling budget (coalitions or permutations) accepted: past it, memory runs out
/// before the estimate improves.
pub const MAX_SAMPLES: usize = 1_000_000;

/// `--samples` is at least 1 and at most [`MAX_SAMPLES`].
pub fn check_samples(samples: Option<usize>) -> Result<(), ExplainError> {
    match samples {
        Some(0) => Err(ExplainError::setting(
            Setting::Samples,
            "0",
            "is too few: at least 1 coalition",
        )),
        Some(n) if n > MAX_SAMPLES => Err(ExplainError::setting(
            Setting::Samples,
            n.to_string(),
            format!(
                "is more than Loupe's limit of {}",
                crate::thousands(MAX_SAMPLES as u64)
            ),
        )),
        _ => Ok(()),
    }
}

impl ExplainSettings {
    /// Checks the settings against the model's task.
    pub fn validate(&self, task: &Task) -> Result<(), ExplainError> {
        if let Task::Regression { .. } = task {
            if self.link == Link::Logit {
                return Err(ExplainError::setting(
                    Setting::Link,
                    "logit",
                    "needs a classifier; this model is a regressor",
                ));
            }
            if let Targets::Classes(c) = &self.targets {
                return Err(ExplainError::setting(
                    Setting::Target,
                    format!("{c:?}"),
                    "names a class; this model is a regressor",
                ));
            }
        }
        check_samples(self.samples)?;
        self.params.check(self.method)
    }

    /// The background: `file` when given (every row), else `background_rows` rows of the
    /// training split (all rows when the data records no split) picked by `background_method`.
    pub fn background(
        &self,
        data: &Dataset,
        file: Option<&Dataset>,
    ) -> Result<Background, ExplainError> {
        if let Some(file) = file {
            return Background::all(file.x.view());
        }
        Background::pick(
            data.training_rows().view(),
            self.background_rows,
            self.background_method,
            self.seed,
        )
    }

    /// The method actually used for `model`'s rows (never `auto`).
    pub fn resolved_method(&self, model: &OnnxModel) -> Method {
        self.method.resolve(&self.fit(model))
    }

    /// What the method is checked against: `model`'s rows through these settings' link, with
    /// these settings' players.
    pub fn fit<'a>(&self, model: &'a OnnxModel) -> Fit<'a> {
        let fit = Fit::new(model, self.link, false);
        if self.groups.is_empty() {
            return fit;
        }
        // Each group of k columns is one player instead of k; the groups themselves are
        // checked against the data's columns by `players`.
        let merged: usize = self.groups.iter().map(|g| g.columns.len().max(1) - 1).sum();
        Fit {
            players: fit.players.saturating_sub(merged).max(1),
            grouped: true,
            ..fit
        }
    }

    /// The game's players for data columns `names` when columns are grouped (`None`: every
    /// column plays alone).
    pub fn players(&self, names: &[String]) -> Result<Option<Players>, ExplainError> {
        if self.groups.is_empty() {
            return Ok(None);
        }
        Players::grouped(names, &self.groups).map(Some)
    }

    /// The coalition budget of a sampled method for `n_features` features.
    pub fn budget(&self, n_features: usize) -> usize {
        self.samples
            .unwrap_or_else(|| Method::default_budget(n_features))
    }

    /// The largest sampling budget whose explanation of one row costs at most `model_rows`
    /// model rows against `background_rows` rows (a budget stated in model rows, where a
    /// coalition costs a sample of the background rather than all of it). Refused, with the
    /// reason, for a method that takes no budget or when even the smallest budget costs more.
    pub fn samples_within(
        &self,
        model: &OnnxModel,
        background_rows: usize,
        model_rows: u64,
    ) -> Result<usize, String> {
        let fit = self.fit(model);
        let method = self.method.resolve(&fit);
        if !method.is_sampled() {
            return Err(format!(
                "--model-rows sets the budget of kernel and permutation SHAP; {method} takes no budget"
            ));
        }
        let cost = |budget: usize| {
            method
                .spec()
                .cost(&fit, &self.params, budget, background_rows)
        };
        if cost(1) > model_rows {
            return Err(format!(
                "--model-rows {}: the smallest budget already takes {} model rows with {} \
                 background rows",
                crate::thousands(model_rows),
                crate::thousands(cost(1)),
                background_rows
            ));
        }
        // The cost grows with the budget: the largest budget that fits, by bisection.
        let (mut fits, mut over) = (1, MAX_SAMPLES + 1);
        while over - fits > 1 {
            let mid = fits + (over - fits) / 2;
            if cost(mid) <= model_rows {
                fits = mid;
            } else {
                over = mid;
            }
        }
        Ok(fits)
    }

    /// Model rows one row's explanation costs against `background_rows` rows (for progress).
    pub fn cost_per_row(&self, model: &OnnxModel, background_rows: usize) -> u64 {
        let fit = self.fit(model);
        let method = self.method.resolve(&fit);
        method.spec().cost(
            &fit,
            &self.params,
            self.budget(fit.players),
            background_rows,
        )
    }

    /// The explainer these settings ask for, prepared for `model`, its `data` and the
    /// `background`; a method that does not apply is refused with its reason.
    pub fn explainer(
        &self,
        model: &OnnxModel,
        data: &Dataset,
        background: &Background,
    ) -> Result<Box<dyn Explainer>, ExplainError> {
        let fit = self.fit(model);
        let method = self.method.check(&fit)?;
        method.spec().tabular(&TabularBuild {
            model,
            data,
            background,
            link: self.link,
            budget: self.budget(fit.players),
            tolerance: self.tolerance,
            tree_mode: self.tree_mode,
            params: &self.params,
        })
    }

    /// Makes these settings apply to `model`'s rows: a method that cannot explain them falls
    /// back to `auto`, and a log-odds scale on a regressor to the value itself. Returns what
    /// was changed, in words, for a visible note.
    pub fn fit_to(&mut self, model: &OnnxModel) -> Option<String> {
        let mut notes = Vec::new();
        if let Some(names) = model.feature_names()
            && let Err(why) = self.players(names)
        {
            notes.push(format!("{why}: columns play alone"));
            self.groups.clear();
        }
        if matches!(model.task(), Task::Regression { .. }) && self.link == Link::Logit {
            self.link = Link::Identity;
            notes.push(
                "the log-odds scale needs a classifier: showing the value itself".to_string(),
            );
        }
        if let Some(why) = self.method.unavailable(&self.fit(model)) {
            notes.push(format!("method {why}: using auto"));
            self.method = Method::default();
        }
        if let Targets::Classes(c) = &self.targets
            && c.iter().any(|&c| c >= model.task().class_names().len())
        {
            self.targets = Targets::Predicted;
        }
        (!notes.is_empty()).then(|| notes.join("; "))
    }

    /// The outputs explained for `row`.
    pub fn targets_for(&self, predicted: &[usize], row: usize) -> Vec<usize> {
        match &self.targets {
            Targets::Predicted => vec![predicted.get(row).copied().unwrap_or(0)],
            Targets::Classes(c) => c.clone(),
        }
    }
}

/// Parses `--target`: class names or indices, comma-separated, or `all`.
pub fn parse_targets(specs: &[String], task: &Task) -> Result<Targets, ExplainError> {
    if specs.is_empty() {
        return Ok(Targets::Predicted);
    }
    let names = task.class_names();
    let mut classes = Vec::new();
    for spec in specs.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if spec.eq_ignore_ascii_case("all") {
            classes.extend(0..names.len());
            continue;
        }
        let found = names
            .iter()
            .position(|n| n == spec)
            .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(spec)))
            .or_else(|| spec.parse::<usize>().ok().filter(|&i| i < names.len()));
        match found {
            Some(c) if !classes.contains(&c) => classes.push(c),
            Some(_) => {}
            None => {
                return Err(ExplainError::setting(
                    Setting::Target,
                    format!("`{spec}`"),
                    format!(
                        "is not a class of this model ({})",
                        if names.is_empty() {
                            "a regressor has none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                ));
            }
        }
    }
    Ok(Targets::Classes(classes))
}

macro_rules! from_str_by_name {
    ($ty:ty, $what:literal, [$($variant:expr),+]) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let all = [$($variant),+];
                all.iter()
                    .copied()
                    .find(|v| v.name().eq_ignore_ascii_case(s))
                    .ok_or_else(|| {
                        let names: Vec<&str> = all.iter().map(|v| v.name()).collect();
                        format!("unknown {} `{s}` (one of: {})", $what, names.join(", "))
                    })
            }
        }
    };
}

from_str_by_name!(
    super::image::Baseline,
    "baseline",
    [
        super::image::Baseline::Zero,
        super::image::Baseline::Mean,
        super::image::Baseline::Blur,
        super::image::Baseline::Black,
        super::image::Baseline::Noise
    ]
);
from_str_by_name!(
    TreeMode,
    "tree mode",
    [TreeMode::Interventional, TreeMode::PathDependent]
);
from_str_by_name!(Link, "link", [Link::Identity, Link::Logit]);
from_str_by_name!(
    BackgroundMethod,
    "background method",
    [
        BackgroundMethod::First,
        BackgroundMethod::Random,
        BackgroundMethod::Kmeans
    ]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_name_index_or_all() {
        let task = Task::Classification {
            class_names: vec!["a".into(), "b".into(), "c".into()],
            positive_class: None,
        };
        assert_eq!(
            parse_targets(&["B,0".into()], &task).unwrap(),
            Targets::Classes(vec![1, 0])
        );
        assert_eq!(
            parse_targets(&["all".into()], &task).unwrap(),
            Targets::Classes(vec![0, 1, 2])
        );
        assert_eq!(parse_targets(&[], &task).unwrap(), Targets::Predicted);
        let err = parse_targets(&["z".into()], &task).unwrap_err().to_string();
        assert_eq!(err, "target `z` is not a class of this model (a, b, c)");
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            "Kernel".parse::<Method>().unwrap(),
            crate::explain::kernel::KERNEL
        );
        assert_eq!(
            "trees".parse::<Method>().unwrap_err(),
            "unknown method `trees` (one of: auto, exact, kernel, permutation, tree, occlusion, \
             rise, superpixel, scorecam, saliency, gradxinput, ig, smoothgrad, gradcam, dummy)"
        );
        assert_eq!(
            "path-dependent".parse::<TreeMode>().unwrap(),
            TreeMode::PathDependent
        );
        assert_eq!("logit".parse::<Link>().unwrap(), Link::Logit);
        assert_eq!(
            "kmeans".parse::<BackgroundMethod>().unwrap(),
            BackgroundMethod::Kmeans
        );
    }
}
