//! What the user chose for an explanation — method, budget, background, seed, link, targets —
//! shared by the command line and the window, with how it becomes a background and targets.

use std::str::FromStr;

use crate::analysis::Predictions;
use crate::data::{Dataset, Split};
use crate::model::{OnnxModel, Task};

use super::{
    Background, BackgroundMethod, ExplainError, Explainer, Link, Method, TreeMode, TreeShap,
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
    #[serde(skip)]
    pub targets: Targets,
}

impl Default for ExplainSettings {
    fn default() -> Self {
        ExplainSettings {
            method: Method::Auto,
            samples: None,
            tolerance: None,
            background_rows: 50,
            background_method: BackgroundMethod::Random,
            seed: 0,
            link: Link::Identity,
            tree_mode: TreeMode::Interventional,
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
        Some(0) => Err(ExplainError::Invalid("--samples must be at least 1".into())),
        Some(n) if n > MAX_SAMPLES => Err(ExplainError::Invalid(format!(
            "--samples {n} is more than Loupe's limit of {}",
            crate::thousands(MAX_SAMPLES as u64)
        ))),
        _ => Ok(()),
    }
}

impl ExplainSettings {
    /// Checks the settings against the model's task.
    pub fn validate(&self, task: &Task) -> Result<(), ExplainError> {
        if let Task::Regression { .. } = task {
            if self.link == Link::Logit {
                return Err(ExplainError::Invalid(
                    "--link logit needs a classifier; this model is a regressor".into(),
                ));
            }
            if let Targets::Classes(_) = self.targets {
                return Err(ExplainError::Invalid(
                    "--target names a class; this model is a regressor".into(),
                ));
            }
        }
        check_samples(self.samples)
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
            training_rows(data).view(),
            self.background_rows,
            self.background_method,
            self.seed,
        )
    }

    /// The method actually used for `model` (never `Auto`).
    pub fn resolved_method(&self, model: &OnnxModel) -> Method {
        self.method.resolve_for(model, self.link)
    }

    /// The explainer these settings ask for, prepared for `model`, its `data` and the
    /// `background`.
    pub fn explainer(
        &self,
        model: &OnnxModel,
        data: &Dataset,
        background: &Background,
    ) -> Result<Box<dyn Explainer>, ExplainError> {
        let m = model.n_features();
        let method = self.resolved_method(model);
        if method.image_method().is_some() {
            return Err(ExplainError::Invalid(format!(
                "--method {} explains images; this data is tabular",
                method.name()
            )));
        }
        match method {
            Method::Tree => {
                let trees = model.trees().ok_or_else(|| {
                    ExplainError::Invalid(format!(
                        "--method tree needs a tree ensemble; {}",
                        model.tree_note()
                    ))
                })?;
                Ok(Box::new(match self.tree_mode {
                    TreeMode::Interventional => {
                        TreeShap::interventional(trees.clone(), background, self.link)?
                    }
                    TreeMode::PathDependent => TreeShap::path_dependent(
                        trees.clone(),
                        training_rows(data).view(),
                        self.link,
                    )?,
                }))
            }
            method => Ok(method.explainer(m, self.samples, self.tolerance)),
        }
    }

    /// The outputs explained for `row`.
    pub fn targets_for(&self, predictions: &Predictions, row: usize) -> Vec<usize> {
        match &self.targets {
            Targets::Predicted => vec![predictions.predicted.get(row).copied().unwrap_or(0)],
            Targets::Classes(c) => c.clone(),
        }
    }
}

/// The training split's rows, or every row when the data records no split.
pub fn training_rows(data: &Dataset) -> ndarray::Array2<f32> {
    let train: Vec<usize> = match &data.split {
        Some(split) => (0..split.len())
            .filter(|&r| split[r] == Split::Train)
            .collect(),
        None => Vec::new(),
    };
    if train.is_empty() {
        data.x.clone()
    } else {
        data.x.select(ndarray::Axis(0), &train)
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
                return Err(ExplainError::Invalid(format!(
                    "--target `{spec}` is not a class of this model ({})",
                    if names.is_empty() {
                        "a regressor has none".to_string()
                    } else {
                        names.join(", ")
                    }
                )));
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
    Method,
    "method",
    [
        Method::Auto,
        Method::Exact,
        Method::Kernel,
        Method::Permutation,
        Method::Tree,
        Method::Occlusion,
        Method::Rise,
        Method::Superpixel,
        Method::Scorecam
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
        assert_eq!(err, "--target `z` is not a class of this model (a, b, c)");
    }

    #[test]
    fn names_parse() {
        assert_eq!("Kernel".parse::<Method>().unwrap(), Method::Kernel);
        assert_eq!(
            "trees".parse::<Method>().unwrap_err(),
            "unknown method `trees` (one of: auto, exact, kernel, permutation, tree, occlusion, \
             rise, superpixel, scorecam)"
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
