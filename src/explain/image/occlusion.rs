//! Occlusion: a `window × window` patch slides over the image with `stride`; each position is
//! replaced by the baseline and the drop of the class's score is credited to the pixels it
//! covered (averaged over the windows covering each pixel). One batch holds the image and every
//! occluded copy.

use super::{SaliencyMap, scores};
use crate::data::ImageShape;
use crate::explain::registry::{
    Fit, ImageExplainer, ImageInput, Kind, Method, MethodSpec, Param, ParamValues,
};
use crate::explain::{ExplainError, Progress};
use crate::model::OnnxModel;

/// The registry's handle on occlusion.
pub const OCCLUSION: Method = Method::new(&Spec);

const WINDOW: Param = Param {
    name: "window",
    label: "Window",
    help: "window side in pixels",
    default: 4.0,
    min: 1.0,
    max: 4096.0,
    integer: true,
};
const STRIDE: Param = Param {
    name: "stride",
    label: "Stride",
    help: "stride in pixels",
    default: 2.0,
    min: 1.0,
    max: 4096.0,
    integer: true,
};

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "occlusion"
    }
    fn summary(&self) -> &'static str {
        "images: slide a window over the image and measure the score's drop"
    }
    fn kind(&self) -> Kind {
        Kind::Image
    }
    fn params(&self) -> &'static [Param] {
        &[WINDOW, STRIDE]
    }
    fn cost(&self, fit: &Fit, params: &ParamValues, _budget: usize, _background: usize) -> u64 {
        let Some(spec) = fit.model.image() else {
            return 0;
        };
        let nhwc = spec
            .layout
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case("NHWC"));
        let (h, w) = match (fit.model.row_shape(), nhwc) {
            ([_, h, w], false) | ([h, w, _], true) => (*h, *w),
            _ => return 0,
        };
        let occlusion = Occlusion::from_params(params);
        let along =
            |size: usize| positions(size, occlusion.window.min(size), occlusion.stride).len();
        (along(h) * along(w) + 2) as u64
    }
    fn image(
        &self,
        params: &ParamValues,
        _shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Ok(Box::new(Occlusion::from_params(params)))
    }
}

/// Occlusion with a `window × window` patch moved by `stride` pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occlusion {
    pub window: usize,
    pub stride: usize,
}

impl Occlusion {
    fn from_params(params: &ParamValues) -> Self {
        Occlusion {
            window: params.count(&WINDOW).max(1),
            stride: params.count(&STRIDE).max(1),
        }
    }
}

impl ImageExplainer for Occlusion {
    fn explain(
        &self,
        model: &OnnxModel,
        input: &ImageInput,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        occlusion(model, input, *self, progress)
    }
}

/// Window positions along one side: every `stride`, plus one flush with the far edge.
pub fn positions(size: usize, window: usize, stride: usize) -> Vec<usize> {
    let window = window.min(size).max(1);
    let mut p: Vec<usize> = (0..=size - window).step_by(stride.max(1)).collect();
    if p.last() != Some(&(size - window)) {
        p.push(size - window);
    }
    p
}

fn occlusion(
    model: &dyn crate::explain::Predict,
    input: &ImageInput,
    Occlusion { window, stride }: Occlusion,
    progress: &dyn Progress,
) -> Result<SaliencyMap, ExplainError> {
    let (x, shape, target) = (input.x, input.shape, input.target);
    let (h, w) = (shape.height, shape.width);
    let k = window.min(h).min(w).max(1);
    let base = input.baseline.image(x, shape);
    let ys = positions(h, k, stride);
    let xs = positions(w, k, stride);
    let windows: Vec<(usize, usize)> = ys
        .iter()
        .flat_map(|&y| xs.iter().map(move |&x| (y, x)))
        .collect();
    // Image 0 is the original, image 1 the baseline, then one per window.
    let n = windows.len() + 2;
    let fill = |r: usize, image: &mut [f32]| {
        if r == 1 {
            image.copy_from_slice(&base);
            return;
        }
        image.copy_from_slice(x);
        if r >= 2 {
            let (y0, x0) = windows[r - 2];
            for c in 0..shape.channels {
                for y in y0..y0 + k {
                    for xx in x0..x0 + k {
                        let i = shape.index(y, xx, c);
                        image[i] = base[i];
                    }
                }
            }
        }
    };
    let s = scores(model, n, shape.len(), target, &fill, progress)?;
    let mut sum = vec![0f64; h * w];
    let mut count = vec![0u32; h * w];
    for (i, &(y0, x0)) in windows.iter().enumerate() {
        let drop = s[0] - s[i + 2];
        for y in y0..y0 + k {
            for xx in x0..x0 + k {
                sum[y * w + xx] += drop;
                count[y * w + xx] += 1;
            }
        }
    }
    Ok(SaliencyMap {
        height: h,
        width: w,
        values: sum
            .iter()
            .zip(&count)
            .map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 })
            .collect(),
        base_value: s[1],
        output_value: s[0],
        model_calls: n as u64,
        completeness_gap: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_pixel_including_the_far_edge() {
        assert_eq!(positions(10, 4, 2), vec![0, 2, 4, 6]);
        assert_eq!(positions(9, 4, 2), vec![0, 2, 4, 5]);
        assert_eq!(positions(3, 4, 2), vec![0]);
    }
}
