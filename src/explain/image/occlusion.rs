//! Occlusion: a `window × window` patch slides over the image with `stride`; each position is
//! replaced by the baseline and the drop of the class's score is credited to the pixels it
//! covered (averaged over the windows covering each pixel). One batch holds the image and every
//! occluded copy.
//!
//! The default window is an eighth of the image's shorter side (at least [`MIN_WINDOW`]
//! pixels) and the default stride half the window: 4 / 2 on a 28×28 digit, 28 / 14 on a
//! 224×224 photograph (225 windows, where a 4 / 2 window would need 12,000 model images).

use super::{SaliencyMap, scores};
use crate::data::ImageShape;
use crate::explain::registry::{
    Fit, ImageExplainer, ImageInput, Kind, Method, MethodSpec, Param, ParamValues,
};
use crate::explain::{ExplainError, Progress};
use crate::model::OnnxModel;

/// The registry's handle on occlusion.
pub const OCCLUSION: Method = Method::new(&Spec);

/// The smallest default window side.
pub const MIN_WINDOW: usize = 4;

const WINDOW: Param = Param {
    name: "window",
    label: "Window",
    help: "window side in pixels (default: 1/8 of the image's shorter side, at least 4)",
    default: MIN_WINDOW as f64,
    min: 1.0,
    max: 4096.0,
    integer: true,
    choices: &[],
};
const STRIDE: Param = Param {
    name: "stride",
    label: "Stride",
    help: "stride in pixels (default: half the window)",
    default: (MIN_WINDOW / 2) as f64,
    min: 1.0,
    max: 4096.0,
    integer: true,
    choices: &[],
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
        let occlusion = Occlusion::from_params(&params.for_image(OCCLUSION, h, w));
        let along =
            |size: usize| positions(size, occlusion.window.min(size), occlusion.stride).len();
        (along(h) * along(w) + 2) as u64
    }
    fn image_defaults(&self, params: &mut ParamValues, height: usize, width: usize) {
        if params.raw(WINDOW.name).is_none() {
            params.set(WINDOW.name, default_window(height, width).0 as f64);
        }
        if params.raw(STRIDE.name).is_none() {
            // Half the window in use, whether it is the default or the user's.
            let window = params.count(&WINDOW).max(1);
            params.set(STRIDE.name, (window / 2).max(1) as f64);
        }
    }
    fn image(
        &self,
        params: &ParamValues,
        shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Ok(Box::new(Occlusion::from_params(&params.for_image(
            OCCLUSION,
            shape.height,
            shape.width,
        ))))
    }
}

/// The default window side and stride for images of `height × width`: an eighth of the
/// shorter side (at least [`MIN_WINDOW`]), moved by half the window.
pub fn default_window(height: usize, width: usize) -> (usize, usize) {
    let side = height.min(width);
    let window = (side as f64 / 8.0).round() as usize;
    let window = window.max(MIN_WINDOW).min(side.max(1));
    (window, (window / 2).max(1))
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

    #[test]
    fn the_default_window_scales_with_the_image() {
        assert_eq!(default_window(224, 224), (28, 14));
        assert_eq!(default_window(28, 28), (4, 2));
        assert_eq!(default_window(64, 48), (6, 3));
        assert_eq!(default_window(3, 3), (3, 1));
        let shape = |h: usize, w: usize| {
            let p = ParamValues::default().for_image(OCCLUSION, h, w);
            Occlusion::from_params(&p)
        };
        assert_eq!(
            shape(224, 224),
            Occlusion {
                window: 28,
                stride: 14
            }
        );
        assert_eq!(
            shape(28, 28),
            Occlusion {
                window: 4,
                stride: 2
            }
        );
        // A window the user sets keeps the stride at half of it; a stride set is kept.
        let mut p = ParamValues::default();
        p.set("window", 16.0);
        assert_eq!(
            Occlusion::from_params(&p.for_image(OCCLUSION, 224, 224)),
            Occlusion {
                window: 16,
                stride: 8
            }
        );
        p.set("stride", 3.0);
        assert_eq!(
            Occlusion::from_params(&p.for_image(OCCLUSION, 224, 224)),
            Occlusion {
                window: 16,
                stride: 3
            }
        );
    }
}
