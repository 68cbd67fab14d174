//! `tree`: exact TreeSHAP on a tree ensemble (see [`super::tree`]), interventional against
//! the background or path-dependent along the trees' splits. It applies only to a tree
//! ensemble explained in the space where its scores are a sum over its trees.

use super::registry::{Fit, Kind, Method, MethodSpec, ParamValues, TabularBuild};
use super::{ExplainError, Explainer, Link, TreeMode, TreeShap};

/// The registry's handle on TreeSHAP.
pub const TREE: Method = Method::new(&Spec);

struct Spec;

/// The space `link` explains a tree model in, in words.
fn space(link: Link) -> &'static str {
    match link {
        Link::Identity => "the score itself (probability or value)",
        Link::Logit => "log-odds",
    }
}

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "tree"
    }
    fn summary(&self) -> &'static str {
        "exact TreeSHAP on a tree ensemble, in the trees' margin space (no model calls)"
    }
    fn kind(&self) -> Kind {
        Kind::Tabular
    }
    fn applies(&self, fit: &Fit) -> Result<(), String> {
        if fit.images {
            return Err("explains rows of features; these data are images".into());
        }
        let Some(trees) = fit.model.trees() else {
            return Err(format!("needs a tree ensemble; {}", fit.model.tree_note()));
        };
        if fit.grouped {
            return Err(
                "follows single columns down the trees; for groups of columns, exact, kernel or \
                 permutation play each group as one"
                    .into(),
            );
        }
        match trees.margin_link() {
            Some(l) if l == fit.link => Ok(()),
            Some(l) => Err(format!(
                "is exact only in the trees' margin, which is {} for this model (link {}); for \
                 {}, kernel or permutation sample",
                space(l),
                l.name(),
                space(fit.link)
            )),
            None => Err(
                "needs scores that are a sum over the trees in probability or log-odds; this \
                 ensemble's are not (softmax, probit or min/max): kernel or permutation sample"
                    .into(),
            ),
        }
    }
    fn cost(&self, _fit: &Fit, _params: &ParamValues, _budget: usize, _background: usize) -> u64 {
        0
    }
    fn tabular(&self, build: &TabularBuild) -> Result<Box<dyn Explainer>, ExplainError> {
        let Some(trees) = build.model.trees() else {
            return Err(ExplainError::setting(
                super::Setting::Method,
                "tree",
                format!("needs a tree ensemble; {}", build.model.tree_note()),
            ));
        };
        Ok(Box::new(match build.tree_mode {
            TreeMode::Interventional => {
                TreeShap::interventional(trees.clone(), build.background, build.link)?
            }
            TreeMode::PathDependent => TreeShap::path_dependent(
                trees.clone(),
                build.data.training_rows().view(),
                build.link,
            )?,
        }))
    }
}
