//! The operators with a gradient rule, read from ONNX nodes and their attributes.

use tract_onnx::pb;

use super::tensor::{Value, from_proto};

/// A 2-D window: kernel, strides, pads (top, left, bottom, right), dilations.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub kernel: [usize; 2],
    pub strides: [usize; 2],
    pub pads: [usize; 4],
    pub dilations: [usize; 2],
    /// `auto_pad`: SAME_UPPER (1), SAME_LOWER (2) or explicit pads (0).
    pub auto_pad: u8,
    pub ceil_mode: bool,
}

/// Slice's starts, ends and axes when given as attributes (before opset 10).
pub type SliceAttrs = (Vec<i64>, Vec<i64>, Option<Vec<i64>>);

#[derive(Clone, Debug)]
pub enum Op {
    Conv {
        window: Window,
        group: usize,
    },
    Gemm {
        alpha: f64,
        beta: f64,
        trans_a: bool,
        trans_b: bool,
    },
    MatMul,
    Add,
    Sub,
    Mul,
    Div,
    Neg,
    Relu,
    LeakyRelu(f64),
    Elu(f64),
    Sigmoid,
    Tanh,
    Exp,
    Log,
    Sqrt,
    Abs,
    Erf,
    Softplus,
    Clip {
        min: f64,
        max: f64,
    },
    HardSigmoid {
        alpha: f64,
        beta: f64,
    },
    HardSwish,
    Gelu {
        tanh: bool,
    },
    Softmax {
        axis: i64,
        legacy: bool,
    },
    LogSoftmax {
        axis: i64,
        legacy: bool,
    },
    BatchNorm {
        epsilon: f64,
    },
    MaxPool(Window),
    AveragePool {
        window: Window,
        count_include_pad: bool,
    },
    GlobalAveragePool,
    GlobalMaxPool,
    Reduce {
        mean: bool,
        axes: Option<Vec<i64>>,
        keepdims: bool,
        noop_empty: bool,
    },
    Flatten(i64),
    Reshape {
        allowzero: bool,
    },
    Transpose(Option<Vec<i64>>),
    Squeeze(Option<Vec<i64>>),
    Unsqueeze(Option<Vec<i64>>),
    Concat(i64),
    Slice {
        attrs: Option<SliceAttrs>,
    },
    Pad {
        pads: Option<Vec<i64>>,
        value: f64,
    },
    Identity,
    Cast {
        to_float: bool,
    },
    Shape {
        start: i64,
        end: Option<i64>,
    },
    Gather(i64),
    Scaler {
        offset: Vec<f64>,
        scale: Vec<f64>,
    },
}

impl Op {
    pub fn name(&self) -> &'static str {
        match self {
            Op::Conv { .. } => "Conv",
            Op::Gemm { .. } => "Gemm",
            Op::MatMul => "MatMul",
            Op::Add => "Add",
            Op::Sub => "Sub",
            Op::Mul => "Mul",
            Op::Div => "Div",
            Op::Neg => "Neg",
            Op::Relu => "Relu",
            Op::LeakyRelu(_) => "LeakyRelu",
            Op::Elu(_) => "Elu",
            Op::Sigmoid => "Sigmoid",
            Op::Tanh => "Tanh",
            Op::Exp => "Exp",
            Op::Log => "Log",
            Op::Sqrt => "Sqrt",
            Op::Abs => "Abs",
            Op::Erf => "Erf",
            Op::Softplus => "Softplus",
            Op::Clip { .. } => "Clip",
            Op::HardSigmoid { .. } => "HardSigmoid",
            Op::HardSwish => "HardSwish",
            Op::Gelu { .. } => "Gelu",
            Op::Softmax { .. } => "Softmax",
            Op::LogSoftmax { .. } => "LogSoftmax",
            Op::BatchNorm { .. } => "BatchNormalization",
            Op::MaxPool(_) => "MaxPool",
            Op::AveragePool { .. } => "AveragePool",
            Op::GlobalAveragePool => "GlobalAveragePool",
            Op::GlobalMaxPool => "GlobalMaxPool",
            Op::Reduce { mean: true, .. } => "ReduceMean",
            Op::Reduce { mean: false, .. } => "ReduceSum",
            Op::Flatten(_) => "Flatten",
            Op::Reshape { .. } => "Reshape",
            Op::Transpose(_) => "Transpose",
            Op::Squeeze(_) => "Squeeze",
            Op::Unsqueeze(_) => "Unsqueeze",
            Op::Concat(_) => "Concat",
            Op::Slice { .. } => "Slice",
            Op::Pad { .. } => "Pad",
            Op::Identity => "Identity",
            Op::Cast { .. } => "Cast",
            Op::Shape { .. } => "Shape",
            Op::Gather(_) => "Gather",
            Op::Scaler { .. } => "Scaler",
        }
    }

    /// False for operators whose output carries no gradient (shapes, integer casts).
    pub fn differentiable(&self) -> bool {
        !matches!(self, Op::Shape { .. } | Op::Cast { to_float: false })
    }
}

fn attr<'a>(n: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}
fn int(n: &pb::NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}
fn float(n: &pb::NodeProto, name: &str, default: f64) -> f64 {
    attr(n, name).map_or(default, |a| a.f as f64)
}
fn ints(n: &pb::NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}
fn string(n: &pb::NodeProto, name: &str) -> Option<String> {
    attr(n, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

/// The value of a `Constant` node.
pub fn constant(n: &pb::NodeProto) -> Result<Value<f64>, String> {
    if let Some(t) = attr(n, "value").and_then(|a| a.t.as_ref()) {
        return from_proto(t);
    }
    let scalar = |v: Vec<f64>| ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[]), v);
    if let Some(a) = attr(n, "value_float") {
        return scalar(vec![a.f as f64])
            .map(Value::F)
            .map_err(|e| e.to_string());
    }
    if let Some(a) = attr(n, "value_floats") {
        let v: Vec<f64> = a.floats.iter().map(|&f| f as f64).collect();
        return Ok(Value::F(ndarray::Array1::from(v).into_dyn()));
    }
    if let Some(a) = attr(n, "value_int") {
        return Ok(Value::I(ndarray::arr0(a.i).into_dyn()));
    }
    if let Some(a) = attr(n, "value_ints") {
        return Ok(Value::I(ndarray::Array1::from(a.ints.clone()).into_dyn()));
    }
    Err("a Constant with no tensor, float or int value".into())
}

/// A 2-D window from a node's attributes (`kernel` from the weight when not given).
fn window(n: &pb::NodeProto, kernel_required: bool) -> Result<Window, String> {
    let pair = |name: &str, default: usize| -> Result<[usize; 2], String> {
        match ints(n, name) {
            None => Ok([default, default]),
            Some(v) if v.len() == 2 && v.iter().all(|&x| x >= 0) => {
                Ok([v[0] as usize, v[1] as usize])
            }
            Some(v) => Err(format!("has {name} {v:?}; gradients cover 2-D windows")),
        }
    };
    let kernel = match ints(n, "kernel_shape") {
        Some(v) if v.len() == 2 && v.iter().all(|&x| x > 0) => [v[0] as usize, v[1] as usize],
        Some(v) => return Err(format!("has kernel {v:?}; gradients cover 2-D windows")),
        None if kernel_required => return Err("has no kernel_shape".into()),
        None => [0, 0],
    };
    let pads = match ints(n, "pads") {
        None => [0; 4],
        Some(v) if v.len() == 4 && v.iter().all(|&x| x >= 0) => {
            [v[0] as usize, v[1] as usize, v[2] as usize, v[3] as usize]
        }
        Some(v) => return Err(format!("has pads {v:?}; gradients cover 2-D windows")),
    };
    let auto_pad = match string(n, "auto_pad").as_deref() {
        None | Some("NOTSET") | Some("") | Some("VALID") => 0,
        Some("SAME_UPPER") => 1,
        Some("SAME_LOWER") => 2,
        Some(other) => return Err(format!("has auto_pad {other}")),
    };
    Ok(Window {
        kernel,
        strides: pair("strides", 1)?,
        pads,
        dilations: pair("dilations", 1)?,
        auto_pad,
        ceil_mode: int(n, "ceil_mode", 0) != 0,
    })
}

/// The operator of node `n`, or why it has no gradient rule.
pub fn read(n: &pb::NodeProto, opset: i64) -> Result<Op, String> {
    let opset_axis = |default| int(n, "axis", default);
    let op = match n.op_type.as_str() {
        "Conv" => Op::Conv {
            window: window(n, false)?,
            group: int(n, "group", 1).max(1) as usize,
        },
        "Gemm" => Op::Gemm {
            alpha: float(n, "alpha", 1.0),
            beta: float(n, "beta", 1.0),
            trans_a: int(n, "transA", 0) != 0,
            trans_b: int(n, "transB", 0) != 0,
        },
        "MatMul" => Op::MatMul,
        "Add" | "Sum" if n.input.len() == 2 => Op::Add,
        "Sub" => Op::Sub,
        "Mul" => Op::Mul,
        "Div" => Op::Div,
        "Neg" => Op::Neg,
        "Relu" => Op::Relu,
        "LeakyRelu" => Op::LeakyRelu(float(n, "alpha", 0.01)),
        "Elu" => Op::Elu(float(n, "alpha", 1.0)),
        "Sigmoid" => Op::Sigmoid,
        "Tanh" => Op::Tanh,
        "Exp" => Op::Exp,
        "Log" => Op::Log,
        "Sqrt" => Op::Sqrt,
        "Abs" => Op::Abs,
        "Erf" => Op::Erf,
        "Softplus" => Op::Softplus,
        "Clip" => Op::Clip {
            min: float(n, "min", f64::NEG_INFINITY),
            max: float(n, "max", f64::INFINITY),
        },
        "HardSigmoid" => Op::HardSigmoid {
            alpha: float(n, "alpha", 0.2),
            beta: float(n, "beta", 0.5),
        },
        "HardSwish" => Op::HardSwish,
        "Gelu" => Op::Gelu {
            tanh: string(n, "approximate").as_deref() == Some("tanh"),
        },
        // Before opset 13 Softmax flattens the tensor from `axis` (default 1) to a matrix.
        "Softmax" => Op::Softmax {
            axis: opset_axis(if opset < 13 { 1 } else { -1 }),
            legacy: opset < 13,
        },
        "LogSoftmax" => Op::LogSoftmax {
            axis: opset_axis(if opset < 13 { 1 } else { -1 }),
            legacy: opset < 13,
        },
        "BatchNormalization" => {
            if int(n, "training_mode", 0) != 0 {
                return Err("runs in training mode".into());
            }
            Op::BatchNorm {
                epsilon: float(n, "epsilon", 1e-5),
            }
        }
        "MaxPool" => {
            if n.output.len() > 1 {
                return Err("returns indices".into());
            }
            if int(n, "storage_order", 0) != 0 {
                return Err("has a column-major storage order".into());
            }
            Op::MaxPool(window(n, true)?)
        }
        "AveragePool" => Op::AveragePool {
            window: window(n, true)?,
            count_include_pad: int(n, "count_include_pad", 0) != 0,
        },
        "GlobalAveragePool" => Op::GlobalAveragePool,
        "GlobalMaxPool" => Op::GlobalMaxPool,
        "ReduceMean" | "ReduceSum" => Op::Reduce {
            mean: n.op_type == "ReduceMean",
            axes: ints(n, "axes"),
            keepdims: int(n, "keepdims", 1) != 0,
            noop_empty: int(n, "noop_with_empty_axes", 0) != 0,
        },
        "Flatten" => Op::Flatten(opset_axis(1)),
        "Reshape" => Op::Reshape {
            allowzero: int(n, "allowzero", 0) != 0,
        },
        "Transpose" => Op::Transpose(ints(n, "perm")),
        "Squeeze" => Op::Squeeze(ints(n, "axes")),
        "Unsqueeze" => Op::Unsqueeze(ints(n, "axes")),
        "Concat" => Op::Concat(opset_axis(0)),
        "Slice" => Op::Slice {
            attrs: ints(n, "starts")
                .map(|s| (s, ints(n, "ends").unwrap_or_default(), ints(n, "axes"))),
        },
        "Pad" => {
            let mode = string(n, "mode").unwrap_or_else(|| "constant".into());
            if mode != "constant" {
                return Err(format!(
                    "pads in mode `{mode}`; gradients cover constant padding"
                ));
            }
            Op::Pad {
                pads: ints(n, "pads"),
                value: float(n, "value", 0.0),
            }
        }
        "Identity" | "Dropout" => Op::Identity,
        "Cast" => {
            let to = int(n, "to", 1);
            Op::Cast {
                to_float: matches!(to, 1 | 10 | 11 | 16),
            }
        }
        "Shape" => Op::Shape {
            start: int(n, "start", 0),
            end: attr(n, "end").map(|a| a.i),
        },
        "Gather" => Op::Gather(opset_axis(0)),
        "Scaler" => Op::Scaler {
            offset: attr(n, "offset")
                .map(|a| a.floats.iter().map(|&v| v as f64).collect())
                .unwrap_or_default(),
            scale: attr(n, "scale")
                .map(|a| a.floats.iter().map(|&v| v as f64).collect())
                .unwrap_or_default(),
        },
        _ => return Err("has no gradient rule".into()),
    };
    if n.op_type == "Dropout" && n.output.len() > 1 {
        return Err("returns its mask".into());
    }
    Ok(op)
}
