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
//! Hidden pixels are replaced by a [`Baseline`] computed in the model's input space.

pub mod occlusion;
pub mod rise;
pub mod scorecam;
pub mod superpixel;

use crate::data::ImageShape;
use crate::explain::{ExplainError, Predict, Progress};
use crate::model::ModelError;

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
}

impl Baseline {
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Zero => "zero",
            Baseline::Mean => "mean",
            Baseline::Blur => "blur",
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
pub fn scores(
    model: &dyn Predict,
    n: usize,
    len: usize,
    target: usize,
    fill: &(dyn Fn(usize, &mut [f32]) + Sync),
    progress: &dyn Progress,
) -> Result<Vec<f64>, ExplainError> {
    if progress.is_cancelled() {
        return Err(ExplainError::Cancelled);
    }
    let out = model.predict_generated(n, len, &|first, buffer| {
        for (i, image) in buffer.chunks_exact_mut(len).enumerate() {
            fill(first + i, image);
        }
    })?;
    progress.advance(n as u64);
    if target >= out.ncols() {
        return Err(ExplainError::Model(ModelError::Invalid(format!(
            "class {target} is not an output of the model ({} outputs)",
            out.ncols()
        ))));
    }
    Ok(out.column(target).iter().map(|&v| v as f64).collect())
}

/// The method asked for on an image.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ImageMethod {
    #[default]
    Occlusion,
    Rise,
    Superpixel,
    Scorecam,
}

impl ImageMethod {
    pub fn name(self) -> &'static str {
        match self {
            ImageMethod::Occlusion => "occlusion",
            ImageMethod::Rise => "rise",
            ImageMethod::Superpixel => "superpixel",
            ImageMethod::Scorecam => "scorecam",
        }
    }

    pub const ALL: [ImageMethod; 4] = [
        ImageMethod::Occlusion,
        ImageMethod::Rise,
        ImageMethod::Superpixel,
        ImageMethod::Scorecam,
    ];
}

/// Every choice that changes an image explanation.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ImageSettings {
    pub method: ImageMethod,
    pub baseline: Baseline,
    /// Occlusion: window side and stride, in pixels.
    pub window: usize,
    pub stride: usize,
    /// RISE: masks, grid cells per side, keep probability.
    pub masks: usize,
    pub grid: usize,
    pub keep: f64,
    /// Superpixels: cells per side of the grid, and KernelSHAP's budget of coalitions.
    pub cells: usize,
    pub samples: usize,
    pub seed: u64,
}

impl Default for ImageSettings {
    fn default() -> Self {
        ImageSettings {
            method: ImageMethod::Occlusion,
            baseline: Baseline::Blur,
            window: 4,
            stride: 2,
            masks: 2000,
            grid: 7,
            keep: 0.5,
            cells: 8,
            samples: 1000,
            seed: 0,
        }
    }
}

/// RISE keeps every mask in memory: at most this many mask values (1 GB of f32).
const MAX_MASK_VALUES: usize = 1 << 28;

impl ImageSettings {
    /// Checks the budgets against what fits in memory for images of `shape`.
    pub fn validate(&self, shape: &ImageShape) -> Result<(), ExplainError> {
        if self.method == ImageMethod::Superpixel {
            crate::explain::settings::check_samples(Some(self.samples))?;
        }
        let pixels = (shape.width * shape.height).max(1);
        if self.method == ImageMethod::Rise && self.masks.saturating_mul(pixels) > MAX_MASK_VALUES {
            return Err(ExplainError::Invalid(format!(
                "--masks {} of {}×{} pixels is more than RISE holds in memory; use at most {}",
                self.masks,
                shape.width,
                shape.height,
                crate::thousands((MAX_MASK_VALUES / pixels) as u64)
            )));
        }
        Ok(())
    }

    /// The map of `x` (an image in the model's input space) for class `target`.
    pub fn explain(
        &self,
        model: &crate::model::OnnxModel,
        x: &[f32],
        shape: &ImageShape,
        target: usize,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        self.validate(shape)?;
        match self.method {
            ImageMethod::Occlusion => occlusion::occlusion(
                model,
                x,
                shape,
                target,
                self.window,
                self.stride,
                self.baseline,
                progress,
            ),
            ImageMethod::Rise => rise::rise(
                model,
                x,
                shape,
                target,
                self.masks,
                self.grid,
                self.keep,
                self.baseline,
                self.seed,
                progress,
            ),
            ImageMethod::Superpixel => superpixel::superpixel_shap(
                model,
                x,
                shape,
                target,
                self.cells,
                self.samples,
                self.baseline,
                self.seed,
                progress,
            ),
            ImageMethod::Scorecam => {
                scorecam::score_cam(model, x, shape, target, self.baseline, progress)
            }
        }
    }

    /// The parameters that matter for this method, for outputs.
    pub fn params(&self) -> serde_json::Value {
        let mut p = serde_json::json!({"baseline": self.baseline.name(), "seed": self.seed});
        let extra = match self.method {
            ImageMethod::Occlusion => {
                serde_json::json!({"window": self.window, "stride": self.stride})
            }
            ImageMethod::Rise => {
                serde_json::json!({"masks": self.masks, "grid": self.grid, "keep": self.keep})
            }
            ImageMethod::Superpixel => {
                serde_json::json!({"cells": self.cells, "samples": self.samples})
            }
            ImageMethod::Scorecam => serde_json::json!({}),
        };
        if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(extra.clone());
        }
        p
    }
}
