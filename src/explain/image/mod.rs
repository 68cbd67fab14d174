//! Saliency maps for image models: which pixels made the model predict a class. Each method is
//! one file; all of them send their perturbed images to the model in large batches, are seeded,
//! cancellable and report progress.
//!
//! - [`occlusion`]: slide a window, replace it with a baseline, measure the drop.
//! - [`rise`]: random masks, weighted by the score they leave (Petsiuk et al. 2018).
//! - [`superpixel`]: KernelSHAP over a grid of superpixels — additive, through the same game
//!   and estimator as tabular KernelSHAP.
//! - [`scorecam`]: Score-CAM — a convolutional layer's activation maps used as masks, each
//!   weighted by the score it keeps (Wang et al. 2020); no gradients needed.
//!
//! - [`gradient`]: gradient maps — Saliency, Gradient × Input, SmoothGrad; [`ig`]: Integrated
//!   Gradients; [`gradcam`]: Grad-CAM — through the reverse-mode differentiation of the
//!   model's graph.
//!
//! Hidden pixels are replaced by a [`Baseline`] computed in the model's input space.

pub mod gradcam;
pub mod gradient;
pub mod ig;
pub mod occlusion;
pub mod rise;
pub mod scorecam;
pub mod superpixel;

use crate::data::ImageShape;
use crate::explain::registry::{Fit, ImageExplainer, ImageInput, Method, ParamValues};
use crate::explain::{ExplainError, Predict, Progress};
use crate::model::{ModelError, OnnxModel};

/// What replaces a hidden pixel.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Baseline {
    /// Zero in the model's input space: the dataset's mean colour for a normalised input.
    Zero,
    /// The image's own mean of each channel.
    Mean,
    /// A blurred copy of the image (box blur over an eighth of its size).
    #[default]
    Blur,
    /// Black: pixel value 0 in every channel, normalised as the model's input is.
    Black,
    /// Uniform noise over the pixel range [0, 1] (seeded), normalised as the input is.
    Noise,
}

impl Baseline {
    /// Every baseline, in the order offered.
    pub const ALL: [Baseline; 5] = [
        Baseline::Blur,
        Baseline::Mean,
        Baseline::Zero,
        Baseline::Black,
        Baseline::Noise,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Baseline::Zero => "zero",
            Baseline::Mean => "mean",
            Baseline::Blur => "blur",
            Baseline::Black => "black",
            Baseline::Noise => "noise",
        }
    }

    /// The baseline image for `x`.
    pub fn image(self, x: &[f32], shape: &ImageShape) -> Vec<f32> {
        match self {
            Baseline::Zero => vec![0.0; x.len()],
            Baseline::Mean => {
                let mut out = vec![0f32; x.len()];
                let n = (shape.width * shape.height) as f32;
                for c in 0..shape.channels {
                    let mut sum = 0f32;
                    for y in 0..shape.height {
                        for xx in 0..shape.width {
                            sum += x[shape.index(y, xx, c)];
                        }
                    }
                    for y in 0..shape.height {
                        for xx in 0..shape.width {
                            out[shape.index(y, xx, c)] = sum / n;
                        }
                    }
                }
                out
            }
            Baseline::Blur => blur(x, shape, (shape.width.min(shape.height) / 8).max(1)),
            Baseline::Black | Baseline::Noise => {
                use rand::{Rng, SeedableRng};
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5EED);
                let mut out = vec![0f32; x.len()];
                let norm = |v: &[f32], c: usize, d: f32| match v.len() {
                    0 => d,
                    1 => v[0],
                    _ => v.get(c).copied().unwrap_or(d),
                };
                for y in 0..shape.height {
                    for xx in 0..shape.width {
                        for c in 0..shape.channels {
                            let pixel = if self == Baseline::Noise {
                                rng.random::<f32>()
                            } else {
                                0.0
                            };
                            let (m, s) = (norm(&shape.mean, c, 0.0), norm(&shape.std, c, 1.0));
                            out[shape.index(y, xx, c)] =
                                (pixel - m) / if s != 0.0 { s } else { 1.0 };
                        }
                    }
                }
                out
            }
        }
    }
}

/// A box blur of radius `r` (separable, edges clamped).
pub fn blur(x: &[f32], shape: &ImageShape, r: usize) -> Vec<f32> {
    let (h, w) = (shape.height, shape.width);
    let mut tmp = vec![0f32; x.len()];
    let mut out = vec![0f32; x.len()];
    for c in 0..shape.channels {
        for y in 0..h {
            for xx in 0..w {
                let (lo, hi) = (xx.saturating_sub(r), (xx + r).min(w - 1));
                let s: f32 = (lo..=hi).map(|k| x[shape.index(y, k, c)]).sum();
                tmp[shape.index(y, xx, c)] = s / (hi - lo + 1) as f32;
            }
        }
        for y in 0..h {
            for xx in 0..w {
                let (lo, hi) = (y.saturating_sub(r), (y + r).min(h - 1));
                let s: f32 = (lo..=hi).map(|k| tmp[shape.index(k, xx, c)]).sum();
                out[shape.index(y, xx, c)] = s / (hi - lo + 1) as f32;
            }
        }
    }
    out
}

/// A saliency map of one image for one class: one value per pixel, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct SaliencyMap {
    pub height: usize,
    pub width: usize,
    pub values: Vec<f64>,
    /// The class's score on the baseline image and on the image (for additive methods the
    /// values sum to their difference).
    pub base_value: f64,
    pub output_value: f64,
    /// Images sent to the model.
    pub model_calls: u64,
    /// For Integrated Gradients, f(x) − f(x′) − Σ values: how far the quadrature is from
    /// complete.
    pub completeness_gap: Option<f64>,
}

impl SaliencyMap {
    pub fn at(&self, y: usize, x: usize) -> f64 {
        self.values[y * self.width + x]
    }

    /// The share of the map's positive mass that falls where `inside` is true.
    pub fn positive_share(&self, inside: impl Fn(usize, usize) -> bool) -> f64 {
        let (mut total, mut within) = (0.0, 0.0);
        for y in 0..self.height {
            for x in 0..self.width {
                let v = self.at(y, x).max(0.0);
                total += v;
                if inside(y, x) {
                    within += v;
                }
            }
        }
        if total > 0.0 { within / total } else { 0.0 }
    }

    /// The pixels in the top `fraction` of the map, as (y, x).
    pub fn top_pixels(&self, fraction: f64) -> Vec<(usize, usize)> {
        let mut order: Vec<usize> = (0..self.values.len()).collect();
        order.sort_by(|&a, &b| self.values[b].total_cmp(&self.values[a]).then(a.cmp(&b)));
        let k = ((self.values.len() as f64 * fraction).ceil() as usize).max(1);
        order
            .into_iter()
            .take(k)
            .map(|i| (i / self.width, i % self.width))
            .collect()
    }
}

/// The class scores of many images built in place: image `r` is written by `fill(r, buffer)`.
/// They go through the model in chunks, so the progress counts images as they are scored and a
/// cancel stops the run between two chunks.
pub fn scores(
    model: &dyn Predict,
    n: usize,
    len: usize,
    target: usize,
    fill: &(dyn Fn(usize, &mut [f32]) + Sync),
    progress: &dyn Progress,
) -> Result<Vec<f64>, ExplainError> {
    // About 50 progress steps, each large enough to keep every core busy.
    let chunk = n.div_ceil(50).max(16);
    let mut out = Vec::with_capacity(n);
    if progress.is_cancelled() {
        return Err(ExplainError::Cancelled);
    }
    for first in (0..n).step_by(chunk) {
        if progress.is_cancelled() {
            return Err(ExplainError::Cancelled);
        }
        let count = chunk.min(n - first);
        let part = model.predict_generated(count, len, &|start, buffer| {
            for (i, image) in buffer.chunks_exact_mut(len).enumerate() {
                fill(first + start + i, image);
            }
        })?;
        if target >= part.ncols() {
            return Err(ExplainError::Model(ModelError::Invalid(format!(
                "class {target} is not an output of the model ({} outputs)",
                part.ncols()
            ))));
        }
        out.extend(part.column(target).iter().map(|&v| v as f64));
        progress.advance(count as u64);
    }
    Ok(out)
}

/// Every choice that changes an image explanation: the method, what replaces hidden pixels,
/// the seed, and the method's own parameters (declared by its registry entry).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ImageSettings {
    pub method: Method,
    pub baseline: Baseline,
    pub seed: u64,
    pub params: ParamValues,
}

impl Default for ImageSettings {
    fn default() -> Self {
        ImageSettings {
            method: occlusion::OCCLUSION,
            baseline: Baseline::Blur,
            seed: 0,
            params: ParamValues::default(),
        }
    }
}

impl ImageSettings {
    /// The explainer these settings ask for, for images of `shape` under `model`: refused by
    /// name when the method does not apply or a parameter is out of range.
    pub fn explainer(
        &self,
        model: &OnnxModel,
        shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        let method = self
            .method
            .check(&Fit::new(model, crate::explain::Link::Identity, true))?;
        let params = self.params_for(shape);
        params.check(method)?;
        method.spec().image(&params, shape)
    }

    /// The map of `x` (an image in the model's input space) for class `target`.
    pub fn explain(
        &self,
        model: &OnnxModel,
        x: &[f32],
        shape: &ImageShape,
        target: usize,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        let input = self.input(x, shape, target);
        self.explainer(model, shape)?
            .explain(model, &input, progress)
    }

    /// These settings with parameter `name` set to `value`.
    pub fn with_param(mut self, name: &str, value: f64) -> Self {
        self.params.set(name, value);
        self
    }

    /// `x` for class `target`, with these settings' baseline and seed.
    pub fn input<'a>(&self, x: &'a [f32], shape: &'a ImageShape, target: usize) -> ImageInput<'a> {
        ImageInput {
            x,
            shape,
            target,
            baseline: self.baseline,
            seed: self.seed,
        }
    }

    /// The method's parameters for images of `shape`: those left unset take their defaults
    /// for that size.
    pub fn params_for(&self, shape: &ImageShape) -> ParamValues {
        self.params
            .for_image(self.method, shape.height, shape.width)
    }

    /// The parameters that matter for this method on images of `shape`, for outputs.
    pub fn params_json(&self, shape: &ImageShape) -> serde_json::Value {
        let mut p = self.params_for(shape).json(self.method);
        p.insert("baseline".into(), self.baseline.name().into());
        p.insert("seed".into(), self.seed.into());
        serde_json::Value::Object(p)
    }
}
