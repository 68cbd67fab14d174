//! Grad-CAM (Selvaraju et al. 2017): a convolutional layer's activation maps A_k weighted by
//! the mean gradient of the class's score over each map, summed and rectified:
//! ReLU(Σ_k mean(∂f/∂A_k) · A_k), upsampled to the image — the formula of pytorch-grad-cam.
//! Grad-CAM++ (Chattopadhay et al. 2018) weights each map by its positive gradients instead,
//! with the second- and third-order terms of the same library. The layer is the card's
//! `cam_layer`, or the last convolutional feature map of the graph.

use super::SaliencyMap;
use super::gradient::{applies, checked_scores, gradients};
use super::scorecam::upsample;
use crate::data::ImageShape;
use crate::explain::registry::{
    Fit, ImageExplainer, ImageInput, Kind, Method, MethodSpec, Param, ParamValues,
};
use crate::explain::{ExplainError, Progress};
use crate::model::{OnnxModel, Wrt};

/// The registry's handle on Grad-CAM.
pub const GRADCAM: Method = Method::new(&Spec);

const PLUSPLUS: Param = Param {
    name: "plusplus",
    label: "Grad-CAM++",
    help: "0: Grad-CAM (mean gradient per map), 1: Grad-CAM++ (positive gradients, higher orders)",
    default: 0.0,
    min: 0.0,
    max: 1.0,
    integer: true,
    choices: &[],
};

struct Spec;

impl MethodSpec for Spec {
    fn name(&self) -> &'static str {
        "gradcam"
    }
    fn summary(&self) -> &'static str {
        "images: Grad-CAM on the card's `cam_layer` or the last convolutional feature map"
    }
    fn kind(&self) -> Kind {
        Kind::Image
    }
    fn params(&self) -> &'static [Param] {
        &[PLUSPLUS]
    }
    fn applies(&self, fit: &Fit) -> Result<(), String> {
        applies(fit)
    }
    fn cost(&self, _fit: &Fit, _params: &ParamValues, _budget: usize, _background: usize) -> u64 {
        3
    }
    fn image(
        &self,
        params: &ParamValues,
        _shape: &ImageShape,
    ) -> Result<Box<dyn ImageExplainer>, ExplainError> {
        Ok(Box::new(GradCam {
            plusplus: params.count(&PLUSPLUS) == 1,
        }))
    }
}

/// Grad-CAM, or Grad-CAM++.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GradCam {
    pub plusplus: bool,
}

/// A class activation map at the layer's resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Cam {
    pub height: usize,
    pub width: usize,
    pub values: Vec<f64>,
    /// The layer's tensor.
    pub layer: String,
    /// The class's score, as the differentiated graph computes it.
    pub score: f64,
}

/// The Grad-CAM (or Grad-CAM++) map of `x` for `target` at the layer's resolution.
pub fn cam(
    model: &OnnxModel,
    x: &[f32],
    target: usize,
    plusplus: bool,
    progress: &dyn Progress,
) -> Result<Cam, ExplainError> {
    let layer = model.card().cam_layer.as_deref();
    let g = gradients(
        model,
        1,
        x.len(),
        target,
        Wrt::Layer(layer),
        &|_, im| im.copy_from_slice(x),
        progress,
    )?;
    let [k, h, w] = g.shape[..] else {
        return Err(ExplainError::Invalid(format!(
            "layer `{}` has shape {:?} per image; Grad-CAM needs channels × height × width",
            g.of, g.shape
        )));
    };
    let cells = h * w;
    let mut values = vec![0f64; cells];
    for c in 0..k {
        let a = &g.activations[c * cells..(c + 1) * cells];
        let d = &g.grads[c * cells..(c + 1) * cells];
        let weight = if plusplus {
            let sum_a: f64 = a.iter().map(|&v| v as f64).sum();
            d.iter()
                .map(|&gv| {
                    let gv = gv as f64;
                    let (g2, g3) = (gv * gv, gv * gv * gv);
                    let aij = if gv != 0.0 {
                        g2 / (2.0 * g2 + sum_a * g3 + 1e-7)
                    } else {
                        0.0
                    };
                    gv.max(0.0) * aij
                })
                .sum::<f64>()
        } else {
            d.iter().map(|&v| v as f64).sum::<f64>() / cells as f64
        };
        for (o, &av) in values.iter_mut().zip(a) {
            *o += weight * av as f64;
        }
    }
    for v in &mut values {
        *v = v.max(0.0);
    }
    Ok(Cam {
        height: h,
        width: w,
        values,
        layer: g.of,
        score: g.scores[0],
    })
}

impl ImageExplainer for GradCam {
    fn explain(
        &self,
        model: &OnnxModel,
        input: &ImageInput,
        progress: &dyn Progress,
    ) -> Result<SaliencyMap, ExplainError> {
        let (x, shape) = (input.x, input.shape);
        let c = cam(model, x, input.target, self.plusplus, progress)?;
        let base = input.baseline.image(x, shape);
        let (base_value, output_value) =
            checked_scores(model, x, &base, input.target, c.score, progress)?;
        let low: Vec<f32> = c.values.iter().map(|&v| v as f32).collect();
        let up = upsample(&low, c.height, c.width, shape.height, shape.width);
        Ok(SaliencyMap {
            height: shape.height,
            width: shape.width,
            values: up.into_iter().map(|v| v.max(0.0) as f64).collect(),
            base_value,
            output_value,
            model_calls: 3,
            completeness_gap: None,
        })
    }
}
