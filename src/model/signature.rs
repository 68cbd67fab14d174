//! What an ONNX file declares: its inputs, outputs, operators and producer, as `loupe info`
//! prints them.

use std::collections::BTreeMap;
use std::fmt;

use tract_onnx::pb::{self, GraphProto, ModelProto};

use super::ModelError;

/// One dimension of a declared tensor shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    Fixed(i64),
    Symbol(String),
    Unknown,
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbol(s) => write!(f, "{s}"),
            Dim::Unknown => write!(f, "?"),
        }
    }
}

/// A named tensor as the file declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// ONNX element type in lowercase (`float`, `int64`, …), or `unknown` for non-tensors.
    pub elem_type: String,
    /// `None` when the file gives no shape.
    pub shape: Option<Vec<Dim>>,
}

impl TensorInfo {
    pub(super) fn of(info: &pb::ValueInfoProto) -> TensorInfo {
        let tensor = info
            .r#type
            .as_ref()
            .and_then(|t| t.value.as_ref())
            .map(|v| match v {
                pb::type_proto::Value::TensorType(t) => t,
            });
        let elem_type = tensor
            .and_then(|t| pb::tensor_proto::DataType::try_from(t.elem_type).ok())
            .map(|d| d.as_str_name().to_ascii_lowercase())
            .unwrap_or_else(|| "unknown".into());
        let shape = tensor.and_then(|t| t.shape.as_ref()).map(|s| {
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(pb::tensor_shape_proto::dimension::Value::DimValue(n)) => Dim::Fixed(*n),
                    Some(pb::tensor_shape_proto::dimension::Value::DimParam(p))
                        if !p.is_empty() =>
                    {
                        Dim::Symbol(p.clone())
                    }
                    _ => Dim::Unknown,
                })
                .collect()
        });
        TensorInfo {
            name: info.name.clone(),
            elem_type,
            shape,
        }
    }
}

impl fmt::Display for TensorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.elem_type)?;
        match &self.shape {
            Some(dims) => {
                let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                write!(f, " [{}]", dims.join(", "))
            }
            None => write!(f, " (no shape)"),
        }
    }
}

/// The declared interface of a model file, before Loupe prepares it.
#[derive(Clone, Debug)]
pub struct Signature {
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    /// Operator type → number of nodes.
    pub operators: BTreeMap<String, usize>,
    /// Operator set imports as (domain, version); the default domain is `ai.onnx`.
    pub opsets: Vec<(String, i64)>,
    /// Producer name and version, e.g. `skl2onnx 1.20.0`.
    pub producer: String,
}

impl Signature {
    pub(super) fn of(proto: &ModelProto) -> Result<Signature, ModelError> {
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| ModelError::NotOnnx("the file holds no graph".into()))?;
        if graph.node.is_empty() && graph.output.is_empty() {
            return Err(ModelError::NotOnnx("the graph is empty".into()));
        }
        let initialised: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        Ok(Signature {
            inputs: graph
                .input
                .iter()
                .filter(|i| !initialised.contains(i.name.as_str()))
                .map(TensorInfo::of)
                .collect(),
            outputs: graph.output.iter().map(TensorInfo::of).collect(),
            operators: operator_counts(graph),
            opsets: proto
                .opset_import
                .iter()
                .map(|o| {
                    let domain = if o.domain.is_empty() {
                        "ai.onnx"
                    } else {
                        &o.domain
                    };
                    (domain.to_string(), o.version)
                })
                .collect(),
            producer: format!("{} {}", proto.producer_name, proto.producer_version)
                .trim()
                .to_string(),
        })
    }
}

/// Operators used by a graph, with how often each occurs.
fn operator_counts(graph: &GraphProto) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for node in &graph.node {
        *counts.entry(node.op_type.clone()).or_insert(0) += 1;
    }
    counts
}
