//! Integrated Gradients for rows of features (Sundararajan et al. 2017), offered beside the
//! Shapley methods for networks whose graph Loupe can differentiate: the gradient of the
//! explained output averaged along the straight path from the background's mean x′ to the
//! row x, times x − x′. The values sum to g(x) − g(x′) up to the quadrature's error (the
//! completeness gap, written with every record); `base_value` is g(x′), the output at the
//! mean row — not the mean output over the background that Shapley values start from.
//!
//! On a linear model the gradient is the weight vector everywhere, and the values are exactly
//! w · (x − x′). The path integral is shared with the image method ([`super::image::ig`]).

use rand_chacha::ChaCha8Rng;

use super::image::ig::{Rule, STEPS_PARAM, path_average};
use super::registry::TabularBuild;
use super::{Attribution, ExplainError, Explainer, Game, Link};
use crate::model::{GradientModel, ModelError, Wrt};

/// Integrated Gradients of a row against the background's mean.
pub struct TabularIg {
    grads: GradientModel,
    steps: usize,
    rule: Rule,
}

/// The explainer for `build`'s model (refused with the reason when its graph has no
/// gradients).
pub fn build(build: &TabularBuild) -> Result<Box<dyn Explainer>, ExplainError> {
    Ok(Box::new(TabularIg {
        grads: build.model.gradient_model()?,
        steps: build.params.count(&STEPS_PARAM).max(2),
        rule: Rule::of(build.params),
    }))
}

/// The link's derivative at output `p`: 1, or 1 / (p (1 − p)) for the log-odds (with the
/// probability clamped as [`Link::apply`] clamps it).
fn link_slope(link: Link, p: f64) -> f64 {
    match link {
        Link::Identity => 1.0,
        Link::Logit => {
            let p = p.clamp(1e-12, 1.0 - 1e-12);
            1.0 / (p * (1.0 - p))
        }
    }
}

impl TabularIg {
    /// The path of `x` from `base` for output `target`: the attribution, and the graph's own
    /// g(x) (checked against the model's).
    fn one(
        &self,
        game: &Game,
        x: &[f32],
        base: &[f32],
        target: usize,
    ) -> Result<(Attribution, f64), ExplainError> {
        let m = x.len();
        let link = game.link();
        let direction: Vec<f64> = x
            .iter()
            .zip(base)
            .map(|(&v, &b)| v as f64 - b as f64)
            .collect();
        let point = |t: f64| -> Vec<f32> {
            x.iter()
                .zip(base)
                .map(|(&v, &b)| b + t as f32 * (v - b))
                .collect()
        };
        let mut eval = |ts: &[f64]| {
            if game.is_cancelled() {
                return Err(ExplainError::Cancelled);
            }
            let rows: Vec<f32> = ts.iter().flat_map(|&t| point(t)).collect();
            let mut g = self.grads.gradients(&rows, ts.len(), target, Wrt::Input)?;
            game.count_rows(ts.len() as u64);
            // Through the link: d link(p) = link′(p) dp.
            let mut scores = Vec::with_capacity(ts.len());
            for (grad, &p) in g.grads.chunks_exact_mut(m.max(1)).zip(&g.scores) {
                let slope = link_slope(link, p);
                grad.iter_mut()
                    .for_each(|v| *v = (*v as f64 * slope) as f32);
                scores.push(link.apply(p as f32));
            }
            Ok((scores, g.grads))
        };
        let avg = path_average(self.steps, self.rule, &direction, &mut eval)?;
        let values: Vec<f64> = avg.iter().zip(&direction).map(|(a, d)| a * d).collect();
        let ends: Vec<f32> = [point(0.0), x.to_vec()].concat();
        let g = self.grads.gradients(&ends, 2, target, Wrt::Input)?;
        game.count_rows(2);
        let [base_value, output_value] = [0, 1].map(|i| link.apply(g.scores[i] as f32));
        if !(base_value.is_finite() && output_value.is_finite())
            || values.iter().any(|v| !v.is_finite())
        {
            return Err(ExplainError::Invalid(format!(
                "the model's output is not a finite number on the path from the background \
                 mean ({base_value}) to the row ({output_value}); Integrated Gradients cannot \
                 explain it"
            )));
        }
        Ok((
            Attribution {
                base_value,
                output_value,
                values,
                std_err: None,
            },
            output_value,
        ))
    }
}

impl Explainer for TabularIg {
    fn explain(
        &self,
        game: &Game,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Attribution>, ExplainError> {
        if game.is_grouped() {
            return Err(ExplainError::Invalid(
                "Integrated Gradients integrates along each column; groups of columns need \
                 exact, kernel or permutation"
                    .into(),
            ));
        }
        let x = game.x().to_vec();
        let base: Vec<f32> = game.background().mean().iter().map(|&v| v as f32).collect();
        // The model's own output for the row, every feature taken from it (one pass over the
        // background): the graph differentiated must compute the same function.
        let all = ndarray::Array2::from_elem((1, x.len()), true);
        let model = game.values(all.view())?;
        game.targets()
            .iter()
            .enumerate()
            .map(|(k, &target)| {
                let (attribution, ours) = self.one(game, &x, &base, target)?;
                let theirs = model[[0, k]];
                if (theirs - ours).abs() > 1e-3 * theirs.abs().max(1.0) {
                    return Err(ExplainError::Model(ModelError::Invalid(format!(
                        "the differentiated graph gives this row {ours:.6} where the model \
                         gives {theirs:.6}; its gradients would explain another function"
                    ))));
                }
                Ok(attribution)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_odds_slope_is_its_derivative() {
        let p = 0.3f64;
        let h = 1e-6;
        let numeric =
            (Link::Logit.apply((p + h) as f32) - Link::Logit.apply((p - h) as f32)) / (2.0 * h);
        assert!((link_slope(Link::Logit, p) - numeric).abs() < 1e-2 * numeric);
        assert_eq!(link_slope(Link::Identity, p), 1.0);
    }
}
