//! KernelSHAP over superpixels: the image is cut into a `cells × cells` grid; each cell is a
//! player, present (the image's pixels) or absent (the baseline's). The coalition game is the
//! tabular one — players are a vector of ones against a single all-zero background row — played
//! through a model that turns each 0/1 vector into an image, so the same estimator, budget and
//! exact efficiency apply: the cells' values sum to f(image) − f(baseline). A cell's value is
//! spread evenly over its pixels, so the pixel map sums the same.

use ndarray::{Array2, ArrayView2};

use super::SaliencyMap;
use crate::data::ImageShape;
use crate::explain::kernel::KernelShap;
use crate::explain::registry::{
    Fit, ImageExplainer, ImageInput, Kind, Method, MethodSpec, Param, ParamValues,
};
use crate::explain::{Background, ExplainError, Explainer, Game, Link, Predict, Progress};
use crate::model::{ModelError, OnnxModel};

/// The registry's handle on superpixel SHAP.
pub const SUPERPIXEL: Method = Method::new(&Spec);

const CELLS: Param = Param {
    name: "cells",
    label: "Cells per side",
    help: "grid cells per side",
    default: 8.0,
    min: 1.0,
    max: 256.0,
    integer: true,
    choices: &[],
};
const SAMPLES: Param = Param {
    name: "samples",
    label: "Budget",
    help: "coalitions evaluated per image",
    default: 1000.0,
    min: 1.0,
    max: crate::explain::settings::MAX_SAMPLES as f64,
    integer: true,
    choices: &[],
};

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "superpixel"
    }
    fn summary(&self) -> &'static str {
        "images: KernelSHAP over a grid of superpixels (additive)"
    }
    fn kind(&self) -> Kind {
        Kind::Image
    }
    fn sampled(&self) -> bool {
        true
    }
    fn params(&self) -> &'static [Param] {
        &[CELLS, SAMPLES]
    }
    fn cost(&self, _fit: &Fit, params: &ParamValues, _budget: usize, _background: usize) -> u64 {
        params.count(&SAMPLES) as u64 + 2
    }
    fn image(
        &self,
        params: &ParamValues,
        _shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Ok(Box::new(Superpixel {
            cells: params.count(&CELLS).max(1),
            samples: params.count(&SAMPLES).max(1),
        }))
    }
}

/// KernelSHAP over `cells × cells` superpixels with a budget of `samples` coalitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Superpixel {
    pub cells: usize,
    pub samples: usize,
}

impl ImageExplainer for Superpixel {
    fn explain(
        &self,
        model: &OnnxModel,
        input: &ImageInput,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        superpixel_shap(model, input, *self, progress)
    }
}

/// The grid cell of each pixel, row-major.
pub fn grid_segments(shape: &ImageShape, cells: usize) -> Vec<usize> {
    let (h, w) = (shape.height, shape.width);
    let (gy, gx) = (cells.clamp(1, h), cells.clamp(1, w));
    (0..h * w)
        .map(|i| {
            let (y, x) = (i / w, i % w);
            (y * gy / h) * gx + x * gx / w
        })
        .collect()
}

/// A model of superpixel coalitions: each row of 0/1 (absent/present) becomes an image.
pub struct SegmentModel<'a> {
    pub model: &'a dyn Predict,
    pub x: &'a [f32],
    pub baseline: Vec<f32>,
    pub segment_of: Vec<usize>,
    pub n_segments: usize,
    pub shape: &'a ImageShape,
}

impl SegmentModel<'_> {
    fn write(&self, present: &[f32], image: &mut [f32]) {
        let s = self.shape;
        for c in 0..s.channels {
            for y in 0..s.height {
                for x in 0..s.width {
                    let i = s.index(y, x, c);
                    image[i] = if present[self.segment_of[y * s.width + x]] > 0.5 {
                        self.x[i]
                    } else {
                        self.baseline[i]
                    };
                }
            }
        }
    }
}

impl Predict for SegmentModel<'_> {
    fn predict(&self, masks: ArrayView2<f32>) -> Result<Array2<f32>, ModelError> {
        let m = self.n_segments;
        self.predict_generated(masks.nrows(), m, &|first, buffer| {
            for (i, row) in buffer.chunks_exact_mut(m).enumerate() {
                row.iter_mut()
                    .zip(masks.row(first + i))
                    .for_each(|(d, s)| *d = *s);
            }
        })
    }

    fn predict_generated(
        &self,
        rows: usize,
        width: usize,
        fill: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) -> Result<Array2<f32>, ModelError> {
        if width != self.n_segments {
            return Err(ModelError::Invalid(format!(
                "{width} players for {} superpixels",
                self.n_segments
            )));
        }
        let len = self.shape.len();
        self.model.predict_generated(rows, len, &|first, images| {
            let n = images.len() / len;
            let mut masks = vec![0f32; n * width];
            fill(first, &mut masks);
            for (i, image) in images.chunks_exact_mut(len).enumerate() {
                self.write(&masks[i * width..(i + 1) * width], image);
            }
        })
    }
}

fn superpixel_shap(
    model: &dyn Predict,
    input: &ImageInput,
    Superpixel { cells, samples }: Superpixel,
    progress: &dyn Progress,
) -> Result<SaliencyMap, ExplainError> {
    let (x, shape, target, baseline) = (input.x, input.shape, input.target, input.baseline);
    let segment_of = grid_segments(shape, cells);
    let m = segment_of.iter().copied().max().map_or(0, |v| v + 1);
    let segments = SegmentModel {
        model,
        x,
        baseline: baseline.image(x, shape),
        segment_of,
        n_segments: m,
        shape,
    };
    let players = ndarray::Array1::<f32>::ones(m);
    let absent = Background::all(Array2::<f32>::zeros((1, m)).view())?;
    let game = Game::new(
        &segments,
        players.view(),
        &absent,
        vec![target],
        Link::Identity,
        progress,
    );
    let explainer = KernelShap {
        budget: samples.max(2 * m + 2),
        tolerance: None,
    };
    let mut rng = crate::explain::row_rng(input.seed, 0);
    let a = explainer
        .explain(&game, &mut rng)?
        .pop()
        .ok_or_else(|| ExplainError::Invalid("no attribution".into()))?;
    let mut area = vec![0usize; m];
    for &s in &segments.segment_of {
        area[s] += 1;
    }
    Ok(SaliencyMap {
        height: shape.height,
        width: shape.width,
        values: segments
            .segment_of
            .iter()
            .map(|&s| a.values[s] / area[s].max(1) as f64)
            .collect(),
        base_value: a.base_value,
        output_value: a.output_value,
        model_calls: game.model_calls(),
        completeness_gap: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_cuts_the_image_into_equal_cells() {
        let shape = ImageShape {
            width: 8,
            height: 8,
            channels: 1,
            channels_first: true,
            mean: vec![0.0],
            std: vec![1.0],
            resize: Default::default(),
            filter: Default::default(),
        };
        let s = grid_segments(&shape, 4);
        assert_eq!(s.iter().copied().max(), Some(15));
        assert_eq!(s[0], 0);
        assert_eq!(s[7], 3);
        assert_eq!(s[63], 15);
        for k in 0..16 {
            assert_eq!(s.iter().filter(|&&v| v == k).count(), 4);
        }
    }
}
