//! Integrated Gradients (Sundararajan et al. 2017): the gradient averaged along the straight
//! path from a baseline image x′ to the image x, times x − x′, summed over channels. The map
//! is complete — it sums to f(x) − f(x′) — up to the error of the quadrature; that error, the
//! completeness gap f(x) − f(x′) − Σφ, is reported with every map.
//!
//! The path integral is a Riemann-trapezoid sum over `steps` evenly spaced points (ends
//! included) or a Gauss–Legendre rule with `steps` nodes; the points are differentiated in
//! batches.

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
    help: "points on the path from the baseline to the image",
    default: 32.0,
    min: 2.0,
    max: 100_000.0,
    integer: true,
};
const RULE: Param = Param {
    name: "rule",
    label: "Rule",
    help: "0: Riemann trapezoid (ends included), 1: Gauss–Legendre",
    default: 0.0,
    min: 0.0,
    max: 1.0,
    integer: true,
};

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "ig"
    }
    fn summary(&self) -> &'static str {
        "images: Integrated Gradients from the baseline to the image (with its completeness gap)"
    }
    fn kind(&self) -> Kind {
        Kind::Image
    }
    fn params(&self) -> &'static [Param] {
        &[STEPS, RULE]
    }
    fn applies(&self, fit: &Fit) -> Result<(), String> {
        applies(fit)
    }
    fn cost(&self, _fit: &Fit, params: &ParamValues, _budget: usize, _background: usize) -> u64 {
        params.count(&STEPS) as u64 + 2
    }
    fn image(
        &self,
        params: &ParamValues,
        _shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Ok(Box::new(IntegratedGradients {
            steps: params.count(&STEPS),
            gauss_legendre: params.count(&RULE) == 1,
        }))
    }
}

/// Integrated Gradients with `steps` points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntegratedGradients {
    pub steps: usize,
    pub gauss_legendre: bool,
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
        let points = quadrature(self.steps, self.gauss_legendre);
        // The image itself first (for the score check), then the path.
        let fill = |i: usize, image: &mut [f32]| {
            let a = if i == 0 { 1.0 } else { points[i - 1].0 as f32 };
            for ((o, &v), &b) in image.iter_mut().zip(x).zip(&base) {
                *o = b + a * (v - b);
            }
        };
        let len = x.len();
        let g = gradients(
            model,
            points.len() + 1,
            len,
            input.target,
            Wrt::Input,
            &fill,
            progress,
        )?;
        let mut avg = vec![0f64; len];
        for (draw, &(_, w)) in g.grads.chunks_exact(len).skip(1).zip(&points) {
            for (a, &d) in avg.iter_mut().zip(draw) {
                *a += w * d as f64;
            }
        }
        let phi: Vec<f64> = avg
            .iter()
            .zip(x.iter().zip(&base))
            .map(|(a, (&v, &b))| a * (v as f64 - b as f64))
            .collect();
        let values = per_pixel(&phi, shape, |it| it.sum());
        let (base_value, output_value) =
            checked_scores(model, x, &base, input.target, g.scores[0], progress)?;
        let total: f64 = values.iter().sum();
        Ok(SaliencyMap {
            height: shape.height,
            width: shape.width,
            values,
            base_value,
            output_value,
            model_calls: points.len() as u64 + 3,
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
}
