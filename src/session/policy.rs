//! The named defaults of the use cases: which class is explained when the user has not chosen
//! one (one policy per purpose), which classes a chosen index may name, and the advice on the
//! scale a tree model is explained in.

use super::Session;
use crate::explain::tree::Algorithm;
use crate::explain::{Background, ExplainSettings, Link, Method, Targets, TreeMode, TreeShap};
use crate::model::Task;

/// What a class is explained for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// One row in the Explain tab or on the command line: the row's predicted class.
    Row,
    /// A whole dataset (Global tab): one class for every row — the card's positive class,
    /// else the last class (the "positive" one of a binary model).
    Dataset,
    /// The clinician's report: the card's positive class, else the row's predicted class.
    Report,
}

impl Session {
    /// The class explained for `purpose` on `row` when the user has not chosen one; `None`
    /// for a regressor.
    pub fn default_class(&self, purpose: Purpose, row: Option<usize>) -> Option<usize> {
        let Task::Classification {
            class_names,
            positive_class,
        } = self.model.task()
        else {
            return None;
        };
        let predicted = || {
            let row = row?;
            self.predictions.as_ref()?.predicted.get(row).copied()
        };
        match purpose {
            Purpose::Row => predicted().or(Some(0)),
            Purpose::Dataset => Some(positive_class.unwrap_or(class_names.len().saturating_sub(1))),
            Purpose::Report => positive_class.or_else(predicted).or(Some(0)),
        }
    }

    /// `class` when it is a class of this model; `None` otherwise (a class chosen under
    /// another model).
    pub fn valid_class(&self, class: Option<usize>) -> Option<usize> {
        class.filter(|&c| c < self.model.task().class_names().len())
    }

    /// The targets explained for `purpose` with the user's `chosen` class (if still valid).
    pub fn targets(&self, purpose: Purpose, chosen: Option<usize>, row: Option<usize>) -> Targets {
        match (self.valid_class(chosen), purpose) {
            (Some(c), _) => Targets::Classes(vec![c]),
            (None, Purpose::Row) => Targets::Predicted,
            (None, _) => match self.default_class(purpose, row) {
                Some(c) => Targets::Classes(vec![c]),
                None => Targets::Predicted,
            },
        }
    }

    /// The advice on a tree model's scale for `method` through `link`, if there is any to
    /// give: where TreeSHAP is exact, and whether this choice is it.
    pub fn tree_scale(&self, method: Method, link: Link) -> Option<TreeScale> {
        let trees = self.model.trees()?;
        let Some(margin) = trees.margin_link() else {
            return Some(TreeScale::NotASum);
        };
        let space = |l: Link| match (l, trees.is_classifier()) {
            (Link::Identity, true) => "probability",
            (Link::Identity, false) => "value",
            (Link::Logit, _) => "log-odds",
        };
        Some(if link == margin {
            TreeScale::Exact {
                space: space(margin),
                used: method.name() == "tree" || method.name() == "auto",
            }
        } else {
            TreeScale::Sampled {
                space: space(link),
                exact_space: space(margin),
                exact_link: margin,
            }
        })
    }
}

impl Session {
    /// The algorithm interventional TreeSHAP uses when `settings` explain rows against
    /// `background` (chosen from the sizes of the trees and the background); `None` when
    /// these settings do not run interventional TreeSHAP.
    pub fn tree_algorithm(
        &self,
        settings: &ExplainSettings,
        background: &Background,
    ) -> Option<Algorithm> {
        let trees = self.model.trees()?;
        let runs_tree = settings.resolved_method(&self.model).name() == "tree"
            && settings.tree_mode == TreeMode::Interventional
            && trees.margin_link() == Some(settings.link);
        runs_tree.then(|| TreeShap::interventional_algorithm(trees, background))
    }
}

/// Where TreeSHAP is exact for a tree model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeScale {
    /// The scores are not a sum over the trees: only sampling explains them.
    NotASum,
    /// This scale is the trees' own; `used` when TreeSHAP is the method.
    Exact { space: &'static str, used: bool },
    /// This scale is explained by sampling; TreeSHAP is exact through `exact_link`.
    Sampled {
        space: &'static str,
        exact_space: &'static str,
        exact_link: Link,
    },
}
