//! Score-CAM (Wang et al. 2020): the activation maps of a convolutional layer (the card's
//! `cam_layer`), each upsampled to the image and scaled to 0..1, serve as masks; each map is
//! weighted by how much of the class's score the image keeps under it (above the baseline's),
//! and the map is the rectified weighted sum. Gradient-free: one batch of forward passes.

use super::{SaliencyMap, scores};
use crate::data::ImageShape;
use crate::explain::registry::{
    Fit, ImageExplainer, ImageInput, Kind, Method, MethodSpec, ParamValues,
};
use crate::explain::{ExplainError, Progress};
use crate::model::OnnxModel;

/// The registry's handle on Score-CAM.
pub const SCORECAM: Method = Method::new(&Spec);

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "scorecam"
    }
    fn summary(&self) -> &'static str {
        "images: Score-CAM, the card's `cam_layer` activations as masks (no gradients)"
    }
    fn kind(&self) -> Kind {
        Kind::Image
    }
    fn applies(&self, fit: &Fit) -> Result<(), String> {
        if !fit.images {
            return Err("explains images; these data are tabular".into());
        }
        if fit.model.card().cam_layer.is_none() {
            return Err(
                "needs the card's `cam_layer`: the tensor of the last convolutional \
                        activations (channels × height × width)"
                    .into(),
            );
        }
        Ok(())
    }
    fn cost(&self, _fit: &Fit, _params: &ParamValues, _budget: usize, _background: usize) -> u64 {
        // One image per activation channel; the channels are known once the layer has run.
        0
    }
    fn image(
        &self,
        _params: &ParamValues,
        _shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Ok(Box::new(ScoreCam))
    }
}

/// Score-CAM over the card's `cam_layer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreCam;

impl ImageExplainer for ScoreCam {
    fn explain(
        &self,
        model: &OnnxModel,
        input: &ImageInput,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        score_cam(model, input, progress)
    }
}

/// Bilinear upsampling of an `h × w` map to `to_h × to_w` (align corners).
pub fn upsample(map: &[f32], h: usize, w: usize, to_h: usize, to_w: usize) -> Vec<f32> {
    let scale = |i: usize, from: usize, to: usize| {
        if to <= 1 || from <= 1 {
            0.0
        } else {
            i as f32 * (from - 1) as f32 / (to - 1) as f32
        }
    };
    let mut out = vec![0f32; to_h * to_w];
    for y in 0..to_h {
        let fy = scale(y, h, to_h);
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        let y1 = (y0 + 1).min(h - 1);
        for x in 0..to_w {
            let fx = scale(x, w, to_w);
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let x1 = (x0 + 1).min(w - 1);
            let v = |yy: usize, xx: usize| map[yy * w + xx];
            out[y * to_w + x] = (v(y0, x0) * (1.0 - tx) + v(y0, x1) * tx) * (1.0 - ty)
                + (v(y1, x0) * (1.0 - tx) + v(y1, x1) * tx) * ty;
        }
    }
    out
}

fn score_cam(
    model: &OnnxModel,
    input: &ImageInput,
    progress: &dyn Progress,
) -> Result<SaliencyMap, ExplainError> {
    let (x, shape, target, baseline) = (input.x, input.shape, input.target, input.baseline);
    let (h, w) = (shape.height, shape.width);
    let row = ndarray::ArrayView2::from_shape((1, x.len()), x)
        .map_err(|e| ExplainError::Invalid(e.to_string()))?;
    let Some((act_shape, act)) = model.activations(row)? else {
        return Err(ExplainError::Invalid(
            "Score-CAM needs the card's `cam_layer`: the tensor of the last convolutional \
             activations (channels × height × width)"
                .into(),
        ));
    };
    let [k, ah, aw] = act_shape[..] else {
        return Err(ExplainError::Invalid(format!(
            "cam_layer has shape {act_shape:?} per image; Score-CAM needs channels × height × width"
        )));
    };
    // Each channel upsampled and scaled to 0..1; constant channels carry no location.
    let masks: Vec<Option<Vec<f32>>> = (0..k)
        .map(|c| {
            let up = upsample(&act[c * ah * aw..(c + 1) * ah * aw], ah, aw, h, w);
            let (lo, hi) = up
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            (hi > lo).then(|| up.iter().map(|v| (v - lo) / (hi - lo)).collect())
        })
        .collect();
    let kept: Vec<usize> = (0..k).filter(|&c| masks[c].is_some()).collect();
    let base = baseline.image(x, shape);
    let fill = |r: usize, image: &mut [f32]| match r {
        0 => image.copy_from_slice(x),
        1 => image.copy_from_slice(&base),
        _ => {
            let m = masks[kept[r - 2]].as_deref().unwrap_or_default();
            for ch in 0..shape.channels {
                for y in 0..h {
                    for xx in 0..w {
                        let i = shape.index(y, xx, ch);
                        let v = m[y * w + xx];
                        image[i] = x[i] * v + base[i] * (1.0 - v);
                    }
                }
            }
        }
    };
    let s = scores(model, kept.len() + 2, shape.len(), target, &fill, progress)?;
    let mut cam = vec![0f64; h * w];
    for (j, &c) in kept.iter().enumerate() {
        let weight = s[j + 2] - s[1];
        if let Some(m) = &masks[c] {
            for (v, &mv) in cam.iter_mut().zip(m) {
                *v += weight * mv as f64;
            }
        }
    }
    Ok(SaliencyMap {
        height: h,
        width: w,
        values: cam.into_iter().map(|v| v.max(0.0)).collect(),
        base_value: s[1],
        output_value: s[0],
        model_calls: (kept.len() + 2) as u64,
        completeness_gap: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsampling_keeps_corners_and_interpolates() {
        let up = upsample(&[0.0, 1.0, 2.0, 3.0], 2, 2, 3, 3);
        assert_eq!(up, vec![0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 2.0, 2.5, 3.0]);
    }
}
