//! Other models made from the same file, for the model-randomisation sanity checks (Adebayo
//! et al. 2018): the model with its last weighted layer randomised, and the cascade that
//! randomises the weighted layers from the output down, one more at each step.
//!
//! A weighted layer is a node reading a float initializer of two or more dimensions (a
//! convolution's kernel, a dense layer's matrix); its weights are replaced by seeded normal
//! draws of the same mean spread (standard deviation), its biases and normalisation
//! statistics kept.

use tract_onnx::pb;
use tract_onnx::prelude::*;

use super::OnnxModel;
use super::prepare::onnx_with_loupe_ops;
use crate::model::ModelError;

/// One weighted layer: its node's name and the initializers holding its weights.
pub(super) struct Layer {
    name: String,
    weights: Vec<usize>,
}

/// The weighted layers of `graph`, from the output down.
pub(super) fn weighted_layers(graph: &pb::GraphProto) -> Vec<Layer> {
    let weighted: std::collections::HashMap<&str, usize> = graph
        .initializer
        .iter()
        .enumerate()
        .filter(|(_, t)| t.dims.len() >= 2 && t.data_type == 1)
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let mut seen = std::collections::HashSet::new();
    graph
        .node
        .iter()
        .rev()
        .filter_map(|n| {
            let weights: Vec<usize> = n
                .input
                .iter()
                .filter_map(|i| weighted.get(i.as_str()).copied())
                .filter(|&i| seen.insert(i))
                .collect();
            (!weights.is_empty()).then(|| Layer {
                name: match n.name.is_empty() {
                    true => format!(
                        "{} `{}`",
                        n.op_type,
                        n.output.first().cloned().unwrap_or_default()
                    ),
                    false => n.name.clone(),
                },
                weights,
            })
        })
        .collect()
}

/// Replaces the values of float initializer `t` with seeded normal draws of their spread.
fn randomise(t: &mut pb::TensorProto, seed: u64) {
    use rand::{Rng, SeedableRng};
    // Box–Muller: a standard normal draw.
    let normal = |rng: &mut rand_chacha::ChaCha8Rng| {
        let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
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
}

impl OnnxModel {
    /// The file's graph, parsed again.
    fn proto(&self) -> Result<pb::ModelProto, ModelError> {
        let mut proto = onnx_with_loupe_ops()
            .proto_model_for_read(&mut &self.bytes[..])
            .map_err(|e| ModelError::NotOnnx(format!("{e:#}")))?;
        graph_of(&mut proto)?;
        Ok(proto)
    }

    /// `proto` loaded as a model with this model's card and name.
    fn variant(&self, proto: &pb::ModelProto) -> Result<OnnxModel, ModelError> {
        let mut bytes = Vec::new();
        prost::Message::encode(proto, &mut bytes)
            .map_err(|e| ModelError::Invalid(e.to_string()))?;
        OnnxModel::from_bytes(&bytes, Some(self.card.clone()), &self.name, None)
    }

    /// The same model with the weights of its last weighted layer replaced by seeded random
    /// values of the same spread: the model-randomisation sanity check.
    pub fn with_randomized_last_layer(&self, seed: u64) -> Result<OnnxModel, ModelError> {
        let mut proto = self.proto()?;
        let graph = graph_of(&mut proto)?;
        let last = weighted_layers(graph)
            .into_iter()
            .next()
            .ok_or_else(no_weights)?;
        randomise(&mut graph.initializer[last.weights[0]], seed);
        self.variant(&proto)
    }

    /// The steps the cascading randomisation takes on this model (its weighted layers, at
    /// most `max_layers`): 0 when it has none.
    pub fn cascade_steps(&self, max_layers: usize) -> usize {
        self.weighted_layers.min(max_layers)
    }

    /// The cascading randomisation: for each weighted layer from the output down, its name
    /// and the model with that layer and every layer above it randomised (seeded; step k
    /// randomises the layers of step k − 1 the same way, and one more). At most `max_layers`
    /// steps.
    pub fn cascading_randomisation(
        &self,
        seed: u64,
        max_layers: usize,
    ) -> Result<Vec<(String, OnnxModel)>, ModelError> {
        let mut proto = self.proto()?;
        let layers = weighted_layers(graph_of(&mut proto)?);
        if layers.is_empty() {
            return Err(no_weights());
        }
        let mut out = Vec::new();
        for (k, layer) in layers.iter().enumerate().take(max_layers) {
            let graph = graph_of(&mut proto)?;
            for (j, &i) in layer.weights.iter().enumerate() {
                randomise(
                    &mut graph.initializer[i],
                    seed.wrapping_add((k as u64) << 8 | j as u64),
                );
            }
            out.push((layer.name.clone(), self.variant(&proto)?));
        }
        Ok(out)
    }
}

/// The graph of a model read by [`OnnxModel::proto`].
fn graph_of(proto: &mut pb::ModelProto) -> Result<&mut pb::GraphProto, ModelError> {
    proto
        .graph
        .as_mut()
        .ok_or_else(|| ModelError::NotOnnx("the file holds no graph".into()))
}

fn no_weights() -> ModelError {
    ModelError::Invalid("the model has no weight matrix to randomise".into())
}
