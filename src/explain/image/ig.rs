//! Integrated Gradients (Sundararajan et al. 2017): the gradient averaged along the straight
//! path from a baseline image x′ to the image x, times x − x′, summed over channels. The map
//! is complete — it sums to f(x) − f(x′) — up to the error of the quadrature; that error, the
//! completeness gap f(x) − f(x′) − Σφ, is reported with every map.
//!
//! The path integral takes `steps` gradients by one of three rules: a Riemann-trapezoid sum
//! over evenly spaced points (ends included), a Gauss–Legendre rule, or (the default) an
//! adaptive trapezoid. A classifier's probability often saturates within a few percent of the
//! path (a digit's class appears early on the way from a black image), and even steps then
//! miss the part of the path that holds most of f(x) − f(x′). The adaptive rule spends a
//! quarter of its steps evenly, measures on each interval how far the trapezoid of the
//! directional derivatives is from the score's actual change there (both known from those
//! gradients and scores), and spends the rest splitting the intervals where that error is
//! largest, in two rounds (the second measures the intervals the first made) — the same
//! number of gradients, placed where the score moves.
//!
//! [`path_average`] is shared with the tabular Integrated Gradients
//! ([`crate::explain::integrated`]).

use super::SaliencyMap;
use super::gradient::{applies, checked_scores, gradients, per_pixel};
use crate::data::ImageShape;
use crate::explain::registry::{
    Fit, ImageExplainer, ImageInput, Kind, Method, MethodSpec, Param, ParamValues,
};
use crate::explain::{ExplainError, Progress};
use crate::model::{OnnxModel, Wrt};

/// The registry's handle on Integrated Gradients.
pub const IG: Method = Method::new(&Spec);

const STEPS: Param = Param {
    name: "steps",
    label: "Steps",
    help: "gradients along the path from the baseline (an image, or the rows' mean)",
    default: 64.0,
    min: 2.0,
    max: 100_000.0,
    integer: true,
    choices: &[],
};
pub(crate) const STEPS_PARAM: Param = STEPS;
const RULE: Param = Param {
    name: "rule",
    label: "Rule",
    help: "0: Riemann trapezoid (ends included), 1: Gauss–Legendre, 2: adaptive trapezoid \
           (a quarter of the steps evenly, the rest where the score changes fastest)",
    default: 2.0,
    min: 0.0,
    max: 2.0,
    integer: true,
    choices: &["trapezoid", "Gauss–Legendre", "adaptive"],
};

/// How the path integral is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Trapezoid,
    GaussLegendre,
    Adaptive,
}

impl Rule {
    /// The rule a `rule` parameter value names.
    pub fn of(params: &ParamValues) -> Rule {
        match params.count(&RULE) {
            0 => Rule::Trapezoid,
            1 => Rule::GaussLegendre,
            _ => Rule::Adaptive,
        }
    }

    /// The name written in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Trapezoid => "trapezoid",
            Rule::GaussLegendre => "gauss-legendre",
            Rule::Adaptive => "adaptive",
        }
    }
}

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "ig"
    }
    fn summary(&self) -> &'static str {
        "Integrated Gradients, for images from the baseline, for rows from the background mean \
         (with the completeness gap)"
    }
    fn kind(&self) -> Kind {
        Kind::Both
    }
    fn params(&self) -> &'static [Param] {
        &[STEPS, RULE]
    }
    fn applies(&self, fit: &Fit) -> Result<(), String> {
        if fit.images {
            return applies(fit);
        }
        if fit.grouped {
            return Err(
                "integrates along each column; for groups of columns, exact, kernel or \
                 permutation play each group as one"
                    .into(),
            );
        }
        fit.model
            .gradient_support()
            .map_err(|why| format!("needs the model's gradients, and {why}"))
    }
    fn cost(&self, fit: &Fit, params: &ParamValues, _budget: usize, background: usize) -> u64 {
        match fit.images {
            true => params.count(&STEPS) as u64 + 3,
            // The path's gradients, and the row's output checked over the background.
            false => params.count(&STEPS) as u64 + 2 + background as u64,
        }
    }
    fn tabular(
        &self,
        build: &crate::explain::registry::TabularBuild,
    ) -> Result<Box<dyn crate::explain::Explainer>, ExplainError> {
        crate::explain::integrated::build(build)
    }
    fn image(
        &self,
        params: &ParamValues,
        _shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Ok(Box::new(IntegratedGradients {
            steps: params.count(&STEPS),
            rule: Rule::of(params),
        }))
    }
}

/// Integrated Gradients with `steps` gradients along the path, taken by `rule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntegratedGradients {
    pub steps: usize,
    pub rule: Rule,
}

/// The scores and gradients of the points `t` of the path (rows × values).
pub type PathPoints<'a> = dyn FnMut(&[f64]) -> Result<(Vec<f64>, Vec<f32>), ExplainError> + 'a;

/// The gradient averaged along the path from x′ to x, ∫₀¹ ∇f(x′ + t·(x − x′)) dt, for
/// each of the `len` input values, from `steps` gradients taken by `rule`; `direction` is
/// x − x′ (the adaptive rule reads the directional derivative from it) and `eval` the scores
/// and gradients of points of the path.
pub fn path_average(
    steps: usize,
    rule: Rule,
    direction: &[f64],
    eval: &mut PathPoints,
) -> Result<Vec<f64>, ExplainError> {
    let len = direction.len();
    let first = match rule {
        Rule::GaussLegendre | Rule::Trapezoid => {
            let points = quadrature(steps, rule == Rule::GaussLegendre);
            return weighted_eval(&points, eval, len);
        }
        Rule::Adaptive => (steps / 4).max(2),
    };
    if steps <= first {
        return weighted_eval(&quadrature(steps, false), eval, len);
    }
    // Every point so far: (t, score, df/dt), and its gradient.
    let mut points: Vec<(f64, f64, f64)> = Vec::with_capacity(steps);
    let mut grads: Vec<Vec<f32>> = Vec::with_capacity(steps);
    let mut add = |t: &[f64], points: &mut Vec<(f64, f64, f64)>| -> Result<(), ExplainError> {
        let (scores, g) = eval(t)?;
        for ((&t, s), g) in t.iter().zip(scores).zip(g.chunks_exact(len.max(1))) {
            let slope = g.iter().zip(direction).map(|(&g, &d)| g as f64 * d).sum();
            points.push((t, s, slope));
            grads.push(g.to_vec());
        }
        Ok(())
    };
    let coarse: Vec<f64> = quadrature(first, false).iter().map(|p| p.0).collect();
    add(&coarse, &mut points)?;
    // Two rounds of splitting, each measuring the error on the intervals the last one made.
    let mut left = steps - first;
    for round in 0..2 {
        let budget = if round == 1 { left } else { left / 2 };
        if budget == 0 {
            continue;
        }
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0));
        let sorted: Vec<(f64, f64, f64)> = order.iter().map(|&i| points[i]).collect();
        // How far the trapezoid of df/dt is from the score's change on each interval.
        let error: Vec<f64> = sorted
            .windows(2)
            .map(|w| {
                let ((a, fa, da), (b, fb, db)) = (w[0], w[1]);
                (fb - fa - (b - a) * (da + db) / 2.0).abs()
            })
            .collect();
        let pieces = split(&error, budget);
        let mut fine = Vec::with_capacity(budget);
        for (w, &n) in sorted.windows(2).zip(&pieces) {
            let (a, b) = (w[0].0, w[1].0);
            fine.extend((1..n).map(|i| a + (b - a) * i as f64 / n as f64));
        }
        add(&fine, &mut points)?;
        left -= budget;
    }
    // The trapezoid on every point, in order along the path.
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| points[a].0.total_cmp(&points[b].0));
    let mut avg = vec![0f64; len];
    for (k, &i) in order.iter().enumerate() {
        let t = points[i].0;
        let left = if k > 0 {
            t - points[order[k - 1]].0
        } else {
            0.0
        };
        let right = order.get(k + 1).map_or(0.0, |&j| points[j].0 - t);
        let w = (left + right) / 2.0;
        for (a, &d) in avg.iter_mut().zip(&grads[i]) {
            *a += w * d as f64;
        }
    }
    Ok(avg)
}

/// The gradients of `points` (of `len` values each) weighted by the rule's weights.
fn weighted_eval(
    points: &[(f64, f64)],
    eval: &mut PathPoints,
    len: usize,
) -> Result<Vec<f64>, ExplainError> {
    let t: Vec<f64> = points.iter().map(|p| p.0).collect();
    let (_, grads) = eval(&t)?;
    let mut avg = vec![0f64; len];
    for (g, &(_, w)) in grads.chunks_exact(len.max(1)).zip(points) {
        for (a, &d) in avg.iter_mut().zip(g) {
            *a += w * d as f64;
        }
    }
    Ok(avg)
}

/// How many equal pieces to cut each interval into, spending `extra` more points: each goes
/// where it most reduces Σ error_k / pieces_k² (the trapezoid's error falls with the square
/// of the step). Intervals with no measured error share the points evenly.
pub fn split(error: &[f64], extra: usize) -> Vec<usize> {
    let total: f64 = error.iter().sum();
    let error: Vec<f64> = match total > 0.0 && total.is_finite() {
        true => error
            .iter()
            .map(|e| if e.is_finite() { *e } else { 0.0 })
            .collect(),
        false => vec![1.0; error.len()],
    };
    let mut pieces = vec![1usize; error.len()];
    for _ in 0..extra {
        let gain = |k: usize| {
            let n = pieces[k] as f64;
            error[k] * (1.0 / (n * n) - 1.0 / ((n + 1.0) * (n + 1.0)))
        };
        let Some(best) = (0..pieces.len()).max_by(|&a, &b| gain(a).total_cmp(&gain(b))) else {
            break;
        };
        pieces[best] += 1;
    }
    pieces
}

/// Points in [0, 1] and their weights (summing to 1) for `n` points of a rule.
pub fn quadrature(n: usize, gauss_legendre: bool) -> Vec<(f64, f64)> {
    let n = n.max(1);
    if n == 1 {
        return vec![(1.0, 1.0)];
    }
    if !gauss_legendre {
        let h = 1.0 / (n - 1) as f64;
        return (0..n)
            .map(|i| {
                let w = if i == 0 || i == n - 1 { h / 2.0 } else { h };
                (i as f64 * h, w)
            })
            .collect();
    }
    // Newton's iteration on the Legendre polynomial P_n from Chebyshev-like guesses.
    let mut out = Vec::with_capacity(n);
    for i in 0..n.div_ceil(2) {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 1.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (1.0, 0.0);
            for j in 1..=n {
                let p3 = p2;
                p2 = p1;
                p1 = ((2 * j - 1) as f64 * z * p2 - (j - 1) as f64 * p3) / j as f64;
            }
            dp = n as f64 * (z * p1 - p2) / (z * z - 1.0);
            let step = p1 / dp;
            z -= step;
            if step.abs() < 1e-15 {
                break;
            }
        }
        let w = 2.0 / ((1.0 - z * z) * dp * dp);
        out.push(((1.0 - z) / 2.0, w / 2.0));
        if 2 * i + 1 != n {
            out.push(((1.0 + z) / 2.0, w / 2.0));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

impl ImageExplainer for IntegratedGradients {
    fn explain(
        &self,
        model: &OnnxModel,
        input: &ImageInput,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        let (x, shape) = (input.x, input.shape);
        let base = input.baseline.image(x, shape);
        let len = x.len();
        let direction: Vec<f64> = x
            .iter()
            .zip(&base)
            .map(|(&v, &b)| v as f64 - b as f64)
            .collect();
        // The image itself rides with the first batch, for the score check.
        let mut ours = None;
        let mut eval = |t: &[f64]| {
            let with_image = ours.is_none();
            let at = |i: usize| match with_image {
                true if i == 0 => 1.0,
                true => t[i - 1] as f32,
                false => t[i] as f32,
            };
            let fill = |i: usize, image: &mut [f32]| {
                let a = at(i);
                for ((o, &v), &b) in image.iter_mut().zip(x).zip(&base) {
                    *o = b + a * (v - b);
                }
            };
            let n = t.len() + usize::from(with_image);
            let mut g = gradients(model, n, len, input.target, Wrt::Input, &fill, progress)?;
            if with_image {
                ours = Some(g.scores[0]);
                g.scores.remove(0);
                g.grads.drain(..len);
            }
            Ok((g.scores, g.grads))
        };
        let avg = path_average(self.steps, self.rule, &direction, &mut eval)?;
        let phi: Vec<f64> = avg.iter().zip(&direction).map(|(a, d)| a * d).collect();
        let values = per_pixel(&phi, shape, |it| it.sum());
        let ours = ours.ok_or_else(|| ExplainError::Invalid("no point of the path".into()))?;
        let (base_value, output_value) =
            checked_scores(model, x, &base, input.target, ours, progress)?;
        let total: f64 = values.iter().sum();
        Ok(SaliencyMap {
            height: shape.height,
            width: shape.width,
            values,
            base_value,
            output_value,
            model_calls: self.steps.max(1) as u64 + 3,
            completeness_gap: Some(output_value - base_value - total),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadrature_rules_integrate_polynomials() {
        // Gauss–Legendre with n nodes is exact up to degree 2n − 1; the trapezoid for lines.
        let gl = quadrature(5, true);
        for k in 0..10 {
            let q: f64 = gl.iter().map(|&(t, w)| w * t.powi(k)).sum();
            assert!((q - 1.0 / (k + 1) as f64).abs() < 1e-13, "degree {k}: {q}");
        }
        let tr = quadrature(4, false);
        let q: f64 = tr.iter().map(|&(t, w)| w * (3.0 * t + 1.0)).sum();
        assert!((q - 2.5).abs() < 1e-13);
        let q2: f64 = tr.iter().map(|&(t, w)| w * t * t).sum();
        // The trapezoid's error for t² on 3 intervals: h²/6.
        assert!((q2 - 1.0 / 3.0 - 1.0 / 54.0).abs() < 1e-13);
    }

    /// A score that saturates early on the path, f(t) = 1 − e^(−30 t) with one input
    /// (direction 1): the adaptive rule puts its points near t = 0 and integrates f′ far
    /// better than even steps with as many gradients.
    #[test]
    fn the_adaptive_rule_follows_the_score() {
        let f = |t: f64| 1.0 - (-30.0 * t).exp();
        let df = |t: f64| 30.0 * (-30.0 * t).exp();
        let calls = std::cell::Cell::new(0);
        let mut eval = |t: &[f64]| {
            calls.set(calls.get() + t.len());
            Ok((
                t.iter().map(|&t| f(t)).collect(),
                t.iter().map(|&t| df(t) as f32).collect(),
            ))
        };
        let truth = f(1.0) - f(0.0);
        let adaptive = path_average(64, Rule::Adaptive, &[1.0], &mut eval).unwrap()[0];
        assert_eq!(calls.get(), 64);
        let even = path_average(64, Rule::Trapezoid, &[1.0], &mut eval).unwrap()[0];
        let (ea, ee) = ((adaptive - truth).abs(), (even - truth).abs());
        assert!(
            ea < ee / 10.0 && ea < 1e-3,
            "adaptive {ea:.2e}, even {ee:.2e}"
        );
        // A straight line is integrated exactly by any rule.
        let mut line = |t: &[f64]| Ok((t.to_vec(), vec![1f32; t.len()]));
        for rule in [Rule::Trapezoid, Rule::GaussLegendre, Rule::Adaptive] {
            let v = path_average(10, rule, &[1.0], &mut line).unwrap()[0];
            assert!((v - 1.0).abs() < 1e-12, "{rule:?}: {v}");
        }
    }

    #[test]
    fn points_go_where_the_error_is() {
        assert_eq!(split(&[0.0, 4.0, 0.0], 3), vec![1, 4, 1]);
        assert_eq!(split(&[1.0, 1.0], 2), vec![2, 2]);
        // No error measured: the points are shared evenly.
        assert_eq!(split(&[0.0, 0.0, 0.0], 3), vec![2, 2, 2]);
    }
}
