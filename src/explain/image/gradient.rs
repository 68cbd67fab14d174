//! Gradient maps: the gradient of the class's score with respect to the pixels, computed by
//! reverse-mode differentiation of the model's own graph ([`OnnxModel::gradients`]).
//!
//! - [`SALIENCY`]: |∂f/∂x|, the largest over channels (Simonyan et al. 2014).
//! - [`GRADXINPUT`]: x · ∂f/∂x summed over channels (Shrikumar et al. 2016).
//! - [`SMOOTHGRAD`]: gradients averaged over noisy copies of the image (Smilkov et al. 2017),
//!   or their mean square (SmoothGrad²) or variance (VarGrad, Adebayo et al. 2018).
//!
//! Integrated Gradients and Grad-CAM are in [`super::ig`] and [`super::gradcam`]. Every map
//! checks that the score the graph computes is the one tract computes for the image.

use rand::{Rng, SeedableRng};

use super::{SaliencyMap, scores};
use crate::data::ImageShape;
use crate::explain::registry::{
    Fit, ImageExplainer, ImageInput, Kind, Method, MethodSpec, Param, ParamValues,
};
use crate::explain::{ExplainError, Progress};
use crate::model::{Gradients, ModelError, OnnxModel, Wrt};

/// Images differentiated per call, so that progress moves and cancelling is quick.
const CHUNK: usize = 8;

/// Why gradient methods cannot explain `fit`, if they cannot.
pub(super) fn applies(fit: &Fit) -> Result<(), String> {
    if !fit.images {
        return Err("explains images; these data are tabular".into());
    }
    fit.model
        .gradient_support()
        .map_err(|why| format!("needs the model's gradients, and {why}"))
}

/// The gradients of `target`'s score for `n` images that `fill(i, image)` writes, chunk by
/// chunk, with progress and cancelling.
pub(super) fn gradients(
    model: &OnnxModel,
    n: usize,
    len: usize,
    target: usize,
    wrt: Wrt,
    fill: &dyn Fn(usize, &mut [f32]),
    progress: &dyn Progress,
) -> Result<Gradients, ExplainError> {
    let mut all = Gradients::default();
    for start in (0..n).step_by(CHUNK) {
        if progress.is_cancelled() {
            return Err(ExplainError::Cancelled);
        }
        let k = CHUNK.min(n - start);
        let mut x = vec![0f32; k * len];
        for (i, image) in x.chunks_exact_mut(len).enumerate() {
            fill(start + i, image);
        }
        let g = model.gradients(&x, k, target, wrt)?;
        all.scores.extend(g.scores);
        all.grads.extend(g.grads);
        all.activations.extend(g.activations);
        all.shape = g.shape;
        all.of = g.of;
        progress.advance(k as u64);
    }
    Ok(all)
}

/// The class's scores on `x` and on `baseline` as tract computes them, checked against the
/// score the differentiated graph gave for `x` (`ours`): a mismatch means the gradients
/// would explain another function, and no map is made.
/// The input gradient of the image itself, with the model's scores of the baseline and the
/// image (checked against the differentiated graph's by [`checked_scores`]).
fn gradient_at_image(
    model: &OnnxModel,
    input: &ImageInput,
    progress: &dyn Progress,
) -> Result<(Gradients, f64, f64), ExplainError> {
    let x = input.x;
    let g = gradients(
        model,
        1,
        x.len(),
        input.target,
        Wrt::Input,
        &|_, im| im.copy_from_slice(x),
        progress,
    )?;
    let base = input.baseline.image(x, input.shape);
    let (base_value, output_value) =
        checked_scores(model, x, &base, input.target, g.scores[0], progress)?;
    Ok((g, base_value, output_value))
}

pub(super) fn checked_scores(
    model: &OnnxModel,
    x: &[f32],
    baseline: &[f32],
    target: usize,
    ours: f64,
    progress: &dyn Progress,
) -> Result<(f64, f64), ExplainError> {
    let fill =
        |r: usize, image: &mut [f32]| image.copy_from_slice(if r == 0 { x } else { baseline });
    let s = scores(model, 2, x.len(), target, &fill, progress)?;
    if !(s[0].is_finite() && s[1].is_finite() && ours.is_finite()) {
        return Err(ExplainError::Model(ModelError::Invalid(format!(
            "the model's score is not a finite number (image {:.6}, baseline {:.6}); a map \
             cannot explain it",
            s[0], s[1]
        ))));
    }
    if (s[0] - ours).abs() > 1e-3 * s[0].abs().max(1.0) {
        return Err(ExplainError::Model(ModelError::Invalid(format!(
            "the differentiated graph scores this image {ours:.6} where the model scores it \
             {:.6}; its gradients would explain another function",
            s[0]
        ))));
    }
    Ok((s[1], s[0]))
}

/// Per pixel, `reduce` over the channels of an image's `values` (in the model's layout).
pub(super) fn per_pixel(
    values: &[f64],
    shape: &ImageShape,
    reduce: impl Fn(&mut dyn Iterator<Item = f64>) -> f64,
) -> Vec<f64> {
    let (h, w) = (shape.height, shape.width);
    let mut out = vec![0f64; h * w];
    for y in 0..h {
        for x in 0..w {
            let mut it = (0..shape.channels).map(|c| values[shape.index(y, x, c)]);
            out[y * w + x] = reduce(&mut it);
        }
    }
    out
}

fn max_abs(it: &mut dyn Iterator<Item = f64>) -> f64 {
    it.fold(0.0, |m, v| m.max(v.abs()))
}
fn max_of(it: &mut dyn Iterator<Item = f64>) -> f64 {
    it.fold(f64::NEG_INFINITY, f64::max)
}
fn sum(it: &mut dyn Iterator<Item = f64>) -> f64 {
    it.sum()
}

/// Which of the plain gradient maps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Plain {
    Saliency,
    GradientTimesInput,
}

/// The registry's handle on the gradient magnitude map.
pub const SALIENCY: Method = Method::new(&PlainSpec(Plain::Saliency));
/// The registry's handle on Gradient × Input.
pub const GRADXINPUT: Method = Method::new(&PlainSpec(Plain::GradientTimesInput));

struct PlainSpec(Plain);

impl MethodSpec for PlainSpec {
    fn name(&self) -> &'static str {
        match self.0 {
            Plain::Saliency => "saliency",
            Plain::GradientTimesInput => "gradxinput",
        }
    }
    fn summary(&self) -> &'static str {
        match self.0 {
            Plain::Saliency => "images: gradient magnitude |∂f/∂x|, the largest over channels",
            Plain::GradientTimesInput => "images: gradient × input, summed over channels",
        }
    }
    fn kind(&self) -> Kind {
        Kind::Image
    }
    fn applies(&self, fit: &Fit) -> Result<(), String> {
        applies(fit)
    }
    fn cost(&self, _fit: &Fit, _params: &ParamValues, _budget: usize, _background: usize) -> u64 {
        3
    }
    fn image(
        &self,
        _params: &ParamValues,
        _shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Ok(Box::new(self.0))
    }
}

impl ImageExplainer for Plain {
    fn explain(
        &self,
        model: &OnnxModel,
        input: &ImageInput,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        let (x, shape) = (input.x, input.shape);
        let (g, base_value, output_value) = gradient_at_image(model, input, progress)?;
        let values: Vec<f64> = match self {
            Plain::Saliency => {
                let gv: Vec<f64> = g.grads.iter().map(|&v| v as f64).collect();
                per_pixel(&gv, shape, max_abs)
            }
            Plain::GradientTimesInput => {
                let gx: Vec<f64> = g
                    .grads
                    .iter()
                    .zip(x)
                    .map(|(&d, &v)| d as f64 * v as f64)
                    .collect();
                per_pixel(&gx, shape, sum)
            }
        };
        Ok(SaliencyMap {
            height: shape.height,
            width: shape.width,
            values,
            base_value,
            output_value,
            model_calls: 3,
            completeness_gap: None,
        })
    }
}

const DRAWS: Param = Param {
    name: "draws",
    label: "Noisy copies",
    help: "noisy copies of the image whose gradients are averaged",
    default: 32.0,
    min: 1.0,
    max: 100_000.0,
    integer: true,
    choices: &[],
};
const NOISE: Param = Param {
    name: "noise",
    label: "Noise σ",
    help: "standard deviation of the added noise, as a share of the image's value range",
    default: 0.15,
    min: 0.0,
    max: 10.0,
    integer: false,
    choices: &[],
};
const VARIANT: Param = Param {
    name: "variant",
    label: "Variant",
    help: "0: SmoothGrad (|mean gradient|), 1: SmoothGrad² (mean square), 2: VarGrad (variance)",
    default: 0.0,
    min: 0.0,
    max: 2.0,
    integer: true,
    choices: &["SmoothGrad", "SmoothGrad²", "VarGrad"],
};

/// The registry's handle on SmoothGrad.
pub const SMOOTHGRAD: Method = Method::new(&SmoothSpec);

struct SmoothSpec;

impl MethodSpec for SmoothSpec {
    fn name(&self) -> &'static str {
        "smoothgrad"
    }
    fn summary(&self) -> &'static str {
        "images: SmoothGrad, gradients averaged over noisy copies (also SmoothGrad², VarGrad)"
    }
    fn kind(&self) -> Kind {
        Kind::Image
    }
    fn sampled(&self) -> bool {
        false
    }
    fn params(&self) -> &'static [Param] {
        &[DRAWS, NOISE, VARIANT]
    }
    fn applies(&self, fit: &Fit) -> Result<(), String> {
        applies(fit)
    }
    fn cost(&self, _fit: &Fit, params: &ParamValues, _budget: usize, _background: usize) -> u64 {
        params.count(&DRAWS) as u64 + 2
    }
    fn image(
        &self,
        params: &ParamValues,
        _shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Ok(Box::new(SmoothGrad {
            draws: params.count(&DRAWS),
            noise: params.get(&NOISE),
            variant: params.count(&VARIANT),
        }))
    }
}

/// SmoothGrad with `draws` copies and noise σ = `noise` × the image's range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmoothGrad {
    pub draws: usize,
    pub noise: f64,
    /// 0: SmoothGrad, 1: SmoothGrad², 2: VarGrad.
    pub variant: usize,
}

impl ImageExplainer for SmoothGrad {
    fn explain(
        &self,
        model: &OnnxModel,
        input: &ImageInput,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        let (x, shape) = (input.x, input.shape);
        let (lo, hi) = x
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let sigma = self.noise * (hi - lo).max(0.0) as f64;
        let seed = input.seed;
        let fill = |i: usize, image: &mut [f32]| {
            let mut rng =
                rand_chacha::ChaCha8Rng::seed_from_u64(seed.wrapping_add(i as u64 * 0x9E37_79B9));
            for (o, &v) in image.iter_mut().zip(x) {
                // Box–Muller: a standard normal draw.
                let (u, w): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
                let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * w).cos();
                *o = (v as f64 + sigma * z) as f32;
            }
        };
        let n = self.draws.max(1);
        let g = gradients(model, n, x.len(), input.target, Wrt::Input, &fill, progress)?;
        let len = x.len();
        let (mut mean, mut square) = (vec![0f64; len], vec![0f64; len]);
        for draw in g.grads.chunks_exact(len) {
            for ((m, s), &d) in mean.iter_mut().zip(square.iter_mut()).zip(draw) {
                *m += d as f64 / n as f64;
                *s += (d as f64).powi(2) / n as f64;
            }
        }
        let values = match self.variant {
            0 => per_pixel(&mean, shape, max_abs),
            1 => per_pixel(&square, shape, max_of),
            _ => {
                let var: Vec<f64> = square
                    .iter()
                    .zip(&mean)
                    .map(|(s, m)| (s - m * m).max(0.0))
                    .collect();
                per_pixel(&var, shape, max_of)
            }
        };
        // The score on the image itself, checked as for every gradient map.
        let (_, base_value, output_value) = gradient_at_image(model, input, progress)?;
        Ok(SaliencyMap {
            height: shape.height,
            width: shape.width,
            values,
            base_value,
            output_value,
            model_calls: n as u64 + 3,
            completeness_gap: None,
        })
    }
}
