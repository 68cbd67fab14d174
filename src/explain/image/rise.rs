//! RISE (Petsiuk et al. 2018): `masks` random masks, each a `grid × grid` field of cells kept
//! with probability `keep`, smoothed by bilinear upsampling and shifted by a random offset. The
//! map is E[score | pixel kept] − E[score]: the score the pixel's presence brings, centred so
//! that pixels the model ignores sit near zero.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{SaliencyMap, scores};
use crate::data::ImageShape;
use crate::explain::registry::{
    Fit, ImageExplainer, ImageInput, Kind, Method, MethodSpec, Param, ParamValues,
};
use crate::explain::{ExplainError, Progress, Setting};
use crate::model::OnnxModel;

/// The registry's handle on RISE.
pub const RISE: Method = Method::new(&Spec);

const MASKS: Param = Param {
    name: "masks",
    label: "Masks",
    help: "number of random masks",
    default: 2000.0,
    min: 1.0,
    max: 1e9,
    integer: true,
    choices: &[],
};
const GRID: Param = Param {
    name: "grid",
    label: "Grid",
    help: "mask cells per side",
    default: 7.0,
    min: 1.0,
    max: 256.0,
    integer: true,
    choices: &[],
};
const KEEP: Param = Param {
    name: "keep",
    label: "Keep",
    help: "probability that a mask cell keeps its pixels",
    default: 0.5,
    min: 0.0,
    max: 1.0,
    integer: false,
    choices: &[],
};

/// RISE keeps every mask in memory: at most this many mask values (1 GB of f32).
const MAX_MASK_VALUES: usize = 1 << 28;

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "rise"
    }
    fn summary(&self) -> &'static str {
        "images: random masks weighted by the score they keep (Petsiuk et al. 2018)"
    }
    fn kind(&self) -> Kind {
        Kind::Image
    }
    fn sampled(&self) -> bool {
        true
    }
    fn params(&self) -> &'static [Param] {
        &[MASKS, GRID, KEEP]
    }
    fn cost(&self, _fit: &Fit, params: &ParamValues, _budget: usize, _background: usize) -> u64 {
        params.count(&MASKS) as u64 + 2
    }
    fn image(
        &self,
        params: &ParamValues,
        shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        let rise = Rise {
            masks: params.count(&MASKS).max(1),
            grid: params.count(&GRID).max(1),
            keep: params.get(&KEEP),
        };
        let pixels = (shape.width * shape.height).max(1);
        if rise.masks.saturating_mul(pixels) > MAX_MASK_VALUES {
            return Err(ExplainError::setting(
                Setting::Param("masks"),
                rise.masks.to_string(),
                format!(
                    "of {}×{} pixels is more than RISE holds in memory; use at most {}",
                    shape.width,
                    shape.height,
                    crate::thousands((MAX_MASK_VALUES / pixels) as u64)
                ),
            ));
        }
        Ok(Box::new(rise))
    }
}

/// RISE with `masks` masks of `grid × grid` cells, each kept with probability `keep`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rise {
    pub masks: usize,
    pub grid: usize,
    pub keep: f64,
}

impl ImageExplainer for Rise {
    fn explain(
        &self,
        model: &OnnxModel,
        input: &ImageInput,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        rise(model, input, *self, progress)
    }
}

/// One smooth mask of `h × w` values in 0..1.
fn mask(rng: &mut ChaCha8Rng, h: usize, w: usize, grid: usize, keep: f64) -> Vec<f32> {
    let g = grid.max(1);
    let (cell_h, cell_w) = (h.div_ceil(g) as f32, w.div_ceil(g) as f32);
    let cells: Vec<f32> = (0..(g + 1) * (g + 1))
        .map(|_| rng.random_bool(keep.clamp(0.0, 1.0)) as u8 as f32)
        .collect();
    // A random shift within one cell, so cell borders fall everywhere; cells of one pixel are
    // independent pixels and need none.
    let shift = |rng: &mut ChaCha8Rng, cell: f32| {
        if cell > 1.0 {
            rng.random::<f32>() * cell
        } else {
            0.0
        }
    };
    let (dy, dx) = (shift(rng, cell_h), shift(rng, cell_w));
    let mut m = vec![0f32; h * w];
    for y in 0..h {
        let fy = (y as f32 + dy) / cell_h;
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        let y0 = y0.min(g - 1);
        for x in 0..w {
            let fx = (x as f32 + dx) / cell_w;
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let x0 = x0.min(g - 1);
            let at = |yy: usize, xx: usize| cells[yy * (g + 1) + xx];
            let top = at(y0, x0) * (1.0 - tx) + at(y0, x0 + 1) * tx;
            let bottom = at(y0 + 1, x0) * (1.0 - tx) + at(y0 + 1, x0 + 1) * tx;
            m[y * w + x] = top * (1.0 - ty) + bottom * ty;
        }
    }
    m
}

fn rise(
    model: &dyn crate::explain::Predict,
    input: &ImageInput,
    Rise { masks, grid, keep }: Rise,
    progress: &dyn Progress,
) -> Result<SaliencyMap, ExplainError> {
    let (x, shape, target) = (input.x, input.shape, input.target);
    let (h, w) = (shape.height, shape.width);
    let n = masks.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(input.seed);
    let all: Vec<Vec<f32>> = (0..n).map(|_| mask(&mut rng, h, w, grid, keep)).collect();
    let base = input.baseline.image(x, shape);
    // Image 0 is the original, 1 the baseline, then one per mask.
    let fill = |r: usize, image: &mut [f32]| match r {
        0 => image.copy_from_slice(x),
        1 => image.copy_from_slice(&base),
        _ => {
            let m = &all[r - 2];
            for c in 0..shape.channels {
                for y in 0..h {
                    for xx in 0..w {
                        let i = shape.index(y, xx, c);
                        let k = m[y * w + xx];
                        image[i] = x[i] * k + base[i] * (1.0 - k);
                    }
                }
            }
        }
    };
    let s = scores(model, n + 2, shape.len(), target, &fill, progress)?;
    let mean_score: f64 = s[2..].iter().sum::<f64>() / n as f64;
    let mut weighted = vec![0f64; h * w];
    let mut kept = vec![0f64; h * w];
    for (m, &score) in all.iter().zip(&s[2..]) {
        for (i, &k) in m.iter().enumerate() {
            weighted[i] += score * k as f64;
            kept[i] += k as f64;
        }
    }
    Ok(SaliencyMap {
        height: h,
        width: w,
        values: weighted
            .iter()
            .zip(&kept)
            .map(|(s, &k)| if k > 0.0 { s / k - mean_score } else { 0.0 })
            .collect(),
        base_value: s[1],
        output_value: s[0],
        model_calls: (n + 2) as u64,
        completeness_gap: None,
    })
}
