//! Reverse-mode differentiation of a model's graph: the gradient of a score with respect to the
//! input (or to any intermediate tensor, for Grad-CAM), with no training framework.
//!
//! The graph is the prepared ONNX graph tract runs (ZipMap cut off, pruned to the score
//! output, Loupe's folds applied). [`Graph`] reads it once into a list of nodes whose operators
//! have a forward rule and a vector–Jacobian product; [`Graph::forward`] evaluates a batch and
//! keeps every intermediate value on a [`Tape`]; [`Graph::backward`] walks the nodes in reverse
//! from a seed on the output, only through values that depend on the input, and returns the
//! gradients asked for. An operator without a rule is refused when the graph is read, with its
//! name and node, so a model is either differentiated by exact rules or not at all.
//!
//! Everything is generic over the float type ([`Real`]): f32 for speed, f64 for the
//! finite-difference tests.
//!
//! - `ops`: the operators, read from nodes and their attributes.
//! - `forward` / `backward`: each operator's value and its vector–Jacobian product;
//!   `rules`: their shared pieces (shapes, axes, products, affine forms).
//! - `conv`: convolution and pooling (im2col + GEMM, transposed for the gradient).
//! - `head`: the score Loupe explains (a class's probability as the model's task defines it).

mod backward;
mod conv;
mod forward;
mod head;
mod ops;
mod rules;
mod tensor;

use std::collections::HashMap;
use std::sync::Arc;

use ndarray::ArrayD;
use tract_onnx::pb;

pub use head::Head;
use ops::Op;
pub use tensor::{Real, Value};

/// A graph ready to differentiate.
#[derive(Debug)]
pub struct Graph {
    nodes: Vec<Node>,
    /// Constant values (initializers and `Constant` nodes), by value id.
    constants: tensor::Constants,
    names: Vec<String>,
    input: usize,
    output: usize,
    /// Values that depend on the input (the only ones gradients flow through).
    live: Vec<bool>,
}

#[derive(Debug)]
struct Node {
    name: String,
    op: Op,
    inputs: Vec<Option<usize>>,
    outputs: Vec<usize>,
}

/// The values of one forward pass, by value id (the graph's constants shared, not copied).
pub struct Tape<T: Real> {
    values: Vec<Option<Value<T>>>,
    constants: Arc<Vec<Option<Value<T>>>>,
}

impl<T: Real> Tape<T> {
    /// The value `id`: computed by the pass, or a constant.
    fn get(&self, id: usize) -> Option<&Value<T>> {
        match self.values.get(id)? {
            Some(v) => Some(v),
            None => self.constants.get(id)?.as_ref(),
        }
    }

    /// The float value `id`.
    fn float(&self, id: usize) -> Option<&ArrayD<T>> {
        match self.get(id)? {
            Value::F(a) => Some(a),
            Value::I(_) => None,
        }
    }
}

impl Graph {
    /// Reads `graph` (of default-domain opset `opset`) for differentiating `output` with
    /// respect to its single non-constant input. Refuses, in one line naming the operator and its node, what has no rule.
    pub fn from_proto(graph: &pb::GraphProto, output: &str, opset: i64) -> Result<Graph, String> {
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut names: Vec<String> = Vec::new();
        let mut id_of = |name: &str, names: &mut Vec<String>| -> usize {
            *ids.entry(name.to_string()).or_insert_with(|| {
                names.push(name.to_string());
                names.len() - 1
            })
        };
        let mut constants: Vec<(usize, Value<f64>)> = Vec::new();
        for t in &graph.initializer {
            let id = id_of(&t.name, &mut names);
            constants.push((id, tensor::from_proto(t)?));
        }
        let initialised: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<&str> = graph
            .input
            .iter()
            .map(|i| i.name.as_str())
            .filter(|n| !initialised.contains(n))
            .collect();
        let [input] = inputs[..] else {
            return Err(format!(
                "the graph has {} inputs; gradients need one",
                inputs.len()
            ));
        };
        let input = id_of(input, &mut names);
        let mut nodes = Vec::new();
        for n in &graph.node {
            let label = if n.name.is_empty() {
                n.output.first().cloned().unwrap_or_default()
            } else {
                n.name.clone()
            };
            if n.op_type == "Constant" {
                let value = ops::constant(n).map_err(|e| format!("node `{label}`: {e}"))?;
                for o in &n.output {
                    let id = id_of(o, &mut names);
                    constants.push((id, value.clone()));
                }
                continue;
            }
            let op = ops::read(n, opset)
                .map_err(|why| format!("operator `{}` (node `{label}`) {why}", n.op_type))?;
            let node_inputs = n
                .input
                .iter()
                .map(|i| (!i.is_empty()).then(|| id_of(i, &mut names)))
                .collect();
            let outputs = n.output.iter().map(|o| id_of(o, &mut names)).collect();
            nodes.push(Node {
                name: label,
                op,
                inputs: node_inputs,
                outputs,
            });
        }
        let Some(&output) = ids.get(output) else {
            return Err(format!(
                "gradients: the output `{output}` is computed by no node"
            ));
        };
        let mut const_values = vec![None; names.len()];
        for (id, v) in constants {
            const_values[id] = Some(v);
        }
        let mut live = vec![false; names.len()];
        live[input] = true;
        for node in &nodes {
            if node.op.differentiable() && node.inputs.iter().flatten().any(|&i| live[i]) {
                for &o in &node.outputs {
                    live[o] = true;
                }
            }
        }
        if !live[output] {
            return Err("gradients: the output does not depend on the input".into());
        }
        Ok(Graph {
            nodes,
            constants: tensor::Constants::new(const_values),
            names,
            input,
            output,
            live,
        })
    }

    /// The id of the tensor called `name`, if the graph has one.
    pub fn value_id(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The id of the graph's output.
    pub fn output_id(&self) -> usize {
        self.output
    }

    /// The name of value `id`.
    pub fn value_name(&self, id: usize) -> &str {
        &self.names[id]
    }

    /// Runs the graph on `x` (batch first) and keeps every value.
    pub fn forward<T: Real>(&self, x: ArrayD<T>) -> Result<Tape<T>, String> {
        let mut tape = Tape {
            values: vec![None; self.names.len()],
            constants: T::constants(&self.constants).clone(),
        };
        tape.values[self.input] = Some(Value::F(x));
        for node in &self.nodes {
            let args: Vec<Option<&Value<T>>> = node
                .inputs
                .iter()
                .map(|i| i.and_then(|i| tape.get(i)))
                .collect();
            if node
                .inputs
                .iter()
                .zip(&args)
                .any(|(i, a)| i.is_some() && a.is_none())
            {
                return Err(format!(
                    "node `{}` reads a value nothing computed",
                    node.name
                ));
            }
            let out = forward::eval(&node.op, &args)
                .map_err(|e| format!("node `{}` ({}): {e}", node.name, node.op.name()))?;
            for (&id, v) in node.outputs.iter().zip(out) {
                tape.values[id] = Some(v);
            }
        }
        Ok(tape)
    }

    /// The float value `id` of a forward pass.
    pub fn value<'t, T: Real>(&self, tape: &'t Tape<T>, id: usize) -> Option<&'t ArrayD<T>> {
        tape.float(id)
    }

    /// The gradients of `Σ seed · output` with respect to the values `wrt` (ids), from a
    /// forward pass `tape`. A value the output does not depend on gets zeros.
    pub fn backward<T: Real>(
        &self,
        tape: &Tape<T>,
        seed: ArrayD<T>,
        wrt: &[usize],
    ) -> Result<Vec<ArrayD<T>>, String> {
        let mut grads: Vec<Option<ArrayD<T>>> = vec![None; self.names.len()];
        grads[self.output] = Some(seed);
        // The walk stops at the earliest node a wanted value comes from.
        let first = wrt
            .iter()
            .map(|&id| {
                self.nodes
                    .iter()
                    .position(|n| n.outputs.contains(&id))
                    .unwrap_or(0)
            })
            .min()
            .unwrap_or(0);
        for node in self.nodes[first..].iter().rev() {
            let outs: Vec<Option<ArrayD<T>>> =
                node.outputs.iter().map(|&o| grads[o].take()).collect();
            // Put back the gradients of wanted values (complete: their readers came later).
            for (&o, g) in node.outputs.iter().zip(&outs) {
                if wrt.contains(&o)
                    && let Some(g) = g
                {
                    grads[o] = Some(g.clone());
                }
            }
            if outs.iter().all(Option::is_none) {
                continue;
            }
            let needed: Vec<bool> = node
                .inputs
                .iter()
                .map(|i| i.is_some_and(|i| self.live[i]))
                .collect();
            if !needed.iter().any(|&n| n) {
                continue;
            }
            let args: Vec<Option<&Value<T>>> = node
                .inputs
                .iter()
                .map(|i| i.and_then(|i| tape.get(i)))
                .collect();
            let results: Vec<Option<&Value<T>>> =
                node.outputs.iter().map(|&o| tape.get(o)).collect();
            let in_grads =
                backward::vjp(&node.op, &args, &results, outs, &needed).map_err(|e| {
                    format!("gradient of node `{}` ({}): {e}", node.name, node.op.name())
                })?;
            for ((i, g), need) in node.inputs.iter().zip(in_grads).zip(&needed) {
                if let (Some(i), Some(g), true) = (i, g, need) {
                    grads[*i] = Some(match grads[*i].take() {
                        Some(acc) => acc + g,
                        None => g,
                    });
                }
            }
        }
        wrt.iter()
            .map(|&id| match grads[id].take() {
                Some(g) => Ok(g),
                None => tape
                    .float(id)
                    .map(|v| ArrayD::zeros(v.raw_dim()))
                    .ok_or_else(|| format!("`{}` is not a float value", self.names[id])),
            })
            .collect()
    }

    /// The id of the graph's input.
    pub fn input_id(&self) -> usize {
        self.input
    }

    /// The last value of rank 4 with more than one row and column (a convolutional feature
    /// map) computed from the input, in node order: Grad-CAM's layer when the card names none.
    pub fn last_feature_map<T: Real>(&self, tape: &Tape<T>) -> Option<usize> {
        self.nodes
            .iter()
            .rev()
            .flat_map(|n| n.outputs.iter().rev().copied())
            .filter(|&o| self.live[o])
            .find(|&o| {
                tape.float(o)
                    .is_some_and(|v| v.ndim() == 4 && v.shape()[2] > 1 && v.shape()[3] > 1)
            })
    }
}
