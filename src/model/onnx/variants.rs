//! Other models made from the same file: the model with its last weighted layer randomised,
//! for the model-randomisation sanity check.

use tract_onnx::prelude::*;

use super::OnnxModel;
use super::prepare::onnx_with_loupe_ops;
use crate::model::ModelError;

impl OnnxModel {
    /// The same model with the weights of its last weighted layer (the last node reading an
    /// initializer of two or more dimensions) replaced by seeded random values of the same
    /// spread: the model-randomisation sanity check (Adebayo et al. 2018).
    pub fn with_randomized_last_layer(&self, seed: u64) -> Result<OnnxModel, ModelError> {
        use rand::{Rng, SeedableRng};
        // Box–Muller: a standard normal draw.
        let normal = |rng: &mut rand_chacha::ChaCha8Rng| {
            let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let onnx = onnx_with_loupe_ops();
        let mut proto = onnx
            .proto_model_for_read(&mut &self.bytes[..])
            .map_err(|e| ModelError::NotOnnx(format!("{e:#}")))?;
        let graph = proto
            .graph
            .as_mut()
            .ok_or_else(|| ModelError::NotOnnx("the file holds no graph".into()))?;
        let weighted: std::collections::HashMap<String, usize> = graph
            .initializer
            .iter()
            .enumerate()
            .filter(|(_, t)| t.dims.len() >= 2 && t.data_type == 1)
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        let last = graph
            .node
            .iter()
            .rev()
            .find_map(|n| n.input.iter().find_map(|i| weighted.get(i).copied()))
            .ok_or_else(|| {
                ModelError::Invalid("the model has no weight matrix to randomise".into())
            })?;
        let t = &mut graph.initializer[last];
        let values: Vec<f32> = if !t.float_data.is_empty() {
            t.float_data.clone()
        } else {
            t.raw_data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        let n = values.len().max(1) as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let random: Vec<f32> = values
            .iter()
            .map(|_| (normal(&mut rng) * sd.max(1e-3)) as f32)
            .collect();
        t.float_data.clear();
        t.raw_data = random.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut bytes = Vec::new();
        prost::Message::encode(&proto, &mut bytes)
            .map_err(|e| ModelError::Invalid(e.to_string()))?;
        OnnxModel::from_bytes(&bytes, Some(self.card.clone()), &self.name, None)
    }
}
