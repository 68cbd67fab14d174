//! Gradients against ground truth: central finite differences in float64 on small random
//! graphs of every covered operator (each graph's forward pass also matches tract's), and an
//! operator without a rule refused by name.

mod common;

use common::onnx::{info, node, tensor};
use loupe::model::grad::Graph;
use loupe::model::{ModelCard, OnnxModel};
use ndarray::{ArrayD, IxDyn};
use prost::Message;
use rand::{Rng, SeedableRng};
use tract_onnx::pb;

fn ints(name: &str, v: Vec<i64>) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        ints: v,
        r#type: 7,
        ..Default::default()
    }
}
fn int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        i: v,
        r#type: 2,
        ..Default::default()
    }
}
fn float(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        f: v,
        r#type: 1,
        ..Default::default()
    }
}
fn int64s(name: &str, v: Vec<i64>) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: vec![v.len() as i64],
        data_type: 7,
        int64_data: v,
        ..Default::default()
    }
}
fn random(name: &str, dims: Vec<i64>, seed: u64) -> pb::TensorProto {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n: i64 = dims.iter().product();
    let v = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
    tensor(name, dims, v)
}

/// A one-input graph: `nodes` from `x` (shape `dims`, batch first) to `y`, flattened to
/// `out` for the comparison with tract.
struct Case {
    name: &'static str,
    dims: Vec<usize>,
    nodes: Vec<pb::NodeProto>,
    init: Vec<pb::TensorProto>,
    /// Inputs kept away from kinks (|x| ≥ 0.05) and, for Sqrt/Log, positive.
    positive: bool,
}

impl Case {
    fn new(name: &'static str, dims: &[usize], nodes: Vec<pb::NodeProto>) -> Case {
        Case {
            name,
            dims: dims.to_vec(),
            nodes,
            init: vec![],
            positive: false,
        }
    }
    fn with(mut self, t: pb::TensorProto) -> Case {
        self.init.push(t);
        self
    }
    fn graph(&self) -> pb::GraphProto {
        let mut nodes = self.nodes.clone();
        nodes.push(node("Flatten", &["y"], "out", vec![int("axis", 1)]));
        let mut dims: Vec<Option<i64>> = vec![None];
        dims.extend(self.dims[1..].iter().map(|&d| Some(d as i64)));
        pb::GraphProto {
            name: self.name.into(),
            node: nodes,
            initializer: self.init.clone(),
            input: vec![info("x", dims)],
            output: vec![pb::ValueInfoProto {
                name: "out".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }
    fn bytes(&self) -> Vec<u8> {
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            }],
            graph: Some(self.graph()),
            ..Default::default()
        }
        .encode_to_vec()
    }
    fn input(&self, seed: u64) -> ArrayD<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        ArrayD::from_shape_fn(IxDyn(&self.dims), |_| {
            let v: f64 = rng.random::<f64>() * 2.0 - 1.0;
            let v = if v.abs() < 0.05 {
                v.signum() * 0.05 + v
            } else {
                v
            };
            if self.positive { v.abs() + 0.1 } else { v }
        })
    }
}

/// Checks the gradient of a random projection of the output against central differences,
/// and the forward pass against tract's.
fn check(case: &Case) {
    let graph = Graph::from_proto(&case.graph(), "out", 17)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let x = case.input(1);
    let tape = graph.forward(x.clone()).unwrap();
    let y = graph.value(&tape, graph.output_id()).unwrap().clone();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let r = ArrayD::from_shape_fn(y.raw_dim(), |_| rng.random::<f64>() * 2.0 - 1.0);
    let g = graph
        .backward(&tape, r.clone(), &[graph.input_id()])
        .unwrap()
        .remove(0);
    let loss = |x: &ArrayD<f64>| -> f64 {
        let t = graph.forward(x.clone()).unwrap();
        (graph.value(&t, graph.output_id()).unwrap() * &r).sum()
    };
    let h = 1e-6;
    let mut worst: f64 = 0.0;
    let scale = g.iter().fold(0f64, |m, v| m.max(v.abs())).max(1e-3);
    for i in 0..x.len() {
        let (mut up, mut down) = (x.clone(), x.clone());
        up.as_slice_mut().unwrap()[i] += h;
        down.as_slice_mut().unwrap()[i] -= h;
        let numeric = (loss(&up) - loss(&down)) / (2.0 * h);
        worst = worst.max((numeric - g.as_slice().unwrap()[i]).abs() / scale);
    }
    eprintln!(
        "{}: worst error {worst:.2e} of max |g| {scale:.3}",
        case.name
    );
    assert!(
        worst < 1e-6,
        "{}: finite differences differ by {worst:.2e}",
        case.name
    );

    // The forward pass is tract's: the same graph run by the model.
    let card = ModelCard {
        task: Some("regression".into()),
        ..Default::default()
    };
    let model = OnnxModel::from_bytes(&case.bytes(), Some(card), "case.onnx", None)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let x32 = x.mapv(|v| v as f32);
    let rows = x32.shape()[0];
    let flat = x32
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((rows, x.len() / rows))
        .unwrap();
    let tract = model.predict(flat.view()).unwrap();
    let ours = graph.forward(x32.clone()).unwrap();
    let ours = graph.value(&ours, graph.output_id()).unwrap();
    assert_eq!(tract.len(), ours.len(), "{}", case.name);
    let err = tract
        .iter()
        .zip(ours.iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err < 1e-4,
        "{}: forward differs from tract's by {err}",
        case.name
    );
}

#[test]
fn convolutions_match_finite_differences() {
    let conv = |name, group, w: Vec<i64>, attrs: Vec<pb::AttributeProto>| {
        Case::new(
            name,
            &[2, 4, 7, 8],
            vec![node("Conv", &["x", "w", "b"], "y", {
                let mut a = attrs;
                a.push(int("group", group));
                a
            })],
        )
        .with(random("w", w.clone(), 3))
        .with(random("b", vec![w[0]], 4))
    };
    check(&conv(
        "conv groups strides pads dilations",
        2,
        vec![6, 2, 3, 2],
        vec![
            ints("strides", vec![2, 1]),
            ints("pads", vec![1, 0, 1, 2]),
            ints("dilations", vec![2, 1]),
        ],
    ));
    check(&conv(
        "conv depthwise",
        4,
        vec![4, 1, 3, 3],
        vec![ints("pads", vec![1, 1, 1, 1]), ints("strides", vec![2, 2])],
    ));
    check(&conv("conv 1x1", 1, vec![5, 4, 1, 1], vec![]));
    check(&conv(
        "conv same",
        1,
        vec![3, 4, 3, 3],
        vec![pb::AttributeProto {
            name: "auto_pad".into(),
            s: b"SAME_UPPER".to_vec(),
            r#type: 3,
            ..Default::default()
        }],
    ));
}

#[test]
fn pools_match_finite_differences() {
    let pool =
        |name, op: &str, attrs| Case::new(name, &[2, 3, 7, 6], vec![node(op, &["x"], "y", attrs)]);
    check(&pool(
        "maxpool",
        "MaxPool",
        vec![
            ints("kernel_shape", vec![3, 3]),
            ints("strides", vec![2, 2]),
            ints("pads", vec![1, 1, 1, 1]),
            int("ceil_mode", 1),
        ],
    ));
    check(&pool(
        "maxpool overlapping",
        "MaxPool",
        vec![
            ints("kernel_shape", vec![2, 3]),
            ints("strides", vec![1, 2]),
        ],
    ));
    check(&pool(
        "avgpool",
        "AveragePool",
        vec![
            ints("kernel_shape", vec![3, 3]),
            ints("strides", vec![2, 2]),
            ints("pads", vec![1, 1, 1, 1]),
        ],
    ));
    check(&pool(
        "avgpool counting pads",
        "AveragePool",
        vec![
            ints("kernel_shape", vec![3, 2]),
            ints("strides", vec![2, 2]),
            ints("pads", vec![1, 0, 1, 1]),
            int("count_include_pad", 1),
        ],
    ));
    check(&pool(
        "avgpool ceil",
        "AveragePool",
        vec![
            ints("kernel_shape", vec![2, 2]),
            ints("strides", vec![2, 2]),
            int("ceil_mode", 1),
        ],
    ));
    check(&pool("global average", "GlobalAveragePool", vec![]));
    check(&pool("global max", "GlobalMaxPool", vec![]));
}

#[test]
fn elementwise_operators_match_finite_differences() {
    let d = [2, 3, 4];
    for op in [
        "Relu",
        "Sigmoid",
        "Tanh",
        "HardSwish",
        "Erf",
        "Softplus",
        "Exp",
        "Abs",
        "Neg",
        "Identity",
    ] {
        check(&Case::new(op, &d, vec![node(op, &["x"], "y", vec![])]));
    }
    check(&Case::new(
        "LeakyRelu",
        &d,
        vec![node("LeakyRelu", &["x"], "y", vec![float("alpha", 0.1)])],
    ));
    check(&Case::new(
        "Elu",
        &d,
        vec![node("Elu", &["x"], "y", vec![float("alpha", 0.7)])],
    ));
    check(&Case::new(
        "HardSigmoid",
        &d,
        vec![node(
            "HardSigmoid",
            &["x"],
            "y",
            vec![float("alpha", 0.6), float("beta", 0.4)],
        )],
    ));
    check(
        &Case::new(
            "Clip",
            &d,
            vec![node("Clip", &["x", "lo", "hi"], "y", vec![])],
        )
        .with(tensor("lo", vec![], vec![-0.5]))
        .with(tensor("hi", vec![], vec![0.6])),
    );
    for op in ["Sqrt", "Log"] {
        let mut c = Case::new(op, &d, vec![node(op, &["x"], "y", vec![])]);
        c.positive = true;
        check(&c);
    }
    // Gelu as torch exports it: x · (erf(x / √2) + 1) / 2.
    check(
        &Case::new(
            "gelu (erf)",
            &d,
            vec![
                node("Div", &["x", "r2"], "a", vec![]),
                node("Erf", &["a"], "e", vec![]),
                node("Add", &["e", "one"], "e1", vec![]),
                node("Mul", &["x", "e1"], "m", vec![]),
                node("Mul", &["m", "half"], "y", vec![]),
            ],
        )
        .with(tensor("r2", vec![], vec![std::f32::consts::SQRT_2]))
        .with(tensor("one", vec![], vec![1.0]))
        .with(tensor("half", vec![], vec![0.5])),
    );
}

#[test]
fn arithmetic_and_products_match_finite_differences() {
    let d = [2, 3, 4];
    for op in ["Add", "Sub", "Mul", "Div"] {
        let mut c = Case::new(op, &d, vec![node(op, &["k", "x"], "y", vec![])]).with(random(
            "k",
            vec![3, 1],
            5,
        ));
        c.positive = op == "Div";
        check(&c);
        check(
            &Case::new(op, &d, vec![node(op, &["x", "k"], "y", vec![])]).with(random(
                "k",
                vec![4],
                6,
            )),
        );
    }
    // Both operands computed: x · sigmoid(x) (a Swish), x / (1 + x²).
    check(&Case::new(
        "swish",
        &d,
        vec![
            node("Sigmoid", &["x"], "s", vec![]),
            node("Mul", &["x", "s"], "y", vec![]),
        ],
    ));
    check(
        &Case::new(
            "x over 1 + x²",
            &d,
            vec![
                node("Mul", &["x", "x"], "x2", vec![]),
                node("Add", &["x2", "one"], "den", vec![]),
                node("Div", &["x", "den"], "y", vec![]),
            ],
        )
        .with(tensor("one", vec![], vec![1.0])),
    );
    check(
        &Case::new("matmul", &d, vec![node("MatMul", &["x", "w"], "y", vec![])]).with(random(
            "w",
            vec![4, 5],
            7,
        )),
    );
    check(&Case::new(
        "matmul of two computed",
        &[2, 3, 3],
        vec![
            node("Tanh", &["x"], "t", vec![]),
            node("MatMul", &["x", "t"], "y", vec![]),
        ],
    ));
    check(
        &Case::new(
            "gemm",
            &[3, 4],
            vec![node(
                "Gemm",
                &["x", "w", "c"],
                "y",
                vec![int("transB", 1), float("alpha", 0.7), float("beta", 1.3)],
            )],
        )
        .with(random("w", vec![5, 4], 8))
        .with(random("c", vec![5], 9)),
    );
    check(
        &Case::new(
            "gemm transposed input",
            &[4, 3],
            vec![
                node("Transpose", &["x"], "xt", vec![ints("perm", vec![1, 0])]),
                node("Gemm", &["xt", "w"], "y", vec![int("transA", 1)]),
            ],
        )
        .with(random("w", vec![3, 2], 10)),
    );
}

#[test]
fn normalisations_and_reductions_match_finite_differences() {
    check(&Case::new(
        "softmax axis 1",
        &[2, 3, 4],
        vec![node("Softmax", &["x"], "y", vec![int("axis", 1)])],
    ));
    check(&Case::new(
        "logsoftmax",
        &[2, 5],
        vec![node("LogSoftmax", &["x"], "y", vec![int("axis", -1)])],
    ));
    check(
        &Case::new(
            "batchnorm",
            &[2, 3, 2, 2],
            vec![node(
                "BatchNormalization",
                &["x", "s", "b", "m", "v"],
                "y",
                vec![float("epsilon", 1e-3)],
            )],
        )
        .with(random("s", vec![3], 11))
        .with(random("b", vec![3], 12))
        .with(random("m", vec![3], 13))
        .with(tensor("v", vec![3], vec![0.5, 1.5, 2.0])),
    );
    check(&Case::new(
        "reducemean",
        &[2, 3, 4],
        vec![node(
            "ReduceMean",
            &["x"],
            "y",
            vec![ints("axes", vec![1]), int("keepdims", 0)],
        )],
    ));
    check(
        &Case::new(
            "reducesum",
            &[2, 3, 4],
            vec![node(
                "ReduceSum",
                &["x", "axes"],
                "y",
                vec![int("keepdims", 1)],
            )],
        )
        .with(int64s("axes", vec![-1, 1])),
    );
}

#[test]
fn shape_operators_match_finite_differences() {
    let d = [2, 3, 4];
    check(
        &Case::new(
            "reshape",
            &d,
            vec![node("Reshape", &["x", "s"], "y", vec![])],
        )
        .with(int64s("s", vec![0, 4, -1])),
    );
    check(&Case::new(
        "transpose",
        &d,
        vec![node(
            "Transpose",
            &["x"],
            "y",
            vec![ints("perm", vec![0, 2, 1])],
        )],
    ));
    check(
        &Case::new(
            "unsqueeze squeeze",
            &d,
            vec![
                node("Unsqueeze", &["x", "a"], "u", vec![]),
                node("Tanh", &["u"], "t", vec![]),
                node("Squeeze", &["t", "a"], "y", vec![]),
            ],
        )
        .with(int64s("a", vec![2])),
    );
    check(&Case::new(
        "concat",
        &d,
        vec![
            node("Sigmoid", &["x"], "s", vec![]),
            node("Tanh", &["x"], "k", vec![]),
            node("Concat", &["x", "k", "s"], "y", vec![int("axis", 1)]),
        ],
    ));
    check(
        &Case::new(
            "slice",
            &[2, 5, 6],
            vec![node("Slice", &["x", "st", "en", "ax", "sp"], "y", vec![])],
        )
        .with(int64s("st", vec![1, -5]))
        .with(int64s("en", vec![5, 100]))
        .with(int64s("ax", vec![1, 2]))
        .with(int64s("sp", vec![2, 1])),
    );
    check(
        &Case::new(
            "pad",
            &[2, 3, 4],
            vec![node("Pad", &["x", "p", "v"], "y", vec![])],
        )
        .with(int64s("p", vec![0, 1, 0, 0, 2, 1]))
        .with(tensor("v", vec![], vec![0.3])),
    );
    check(
        &Case::new(
            "gather",
            &[2, 5],
            vec![node("Gather", &["x", "i"], "y", vec![int("axis", 1)])],
        )
        .with(int64s("i", vec![4, 0, 4])),
    );
    check(
        &Case::new(
            "shape-computed reshape",
            &[2, 3, 4],
            vec![
                node("Shape", &["x"], "sh", vec![]),
                node("Gather", &["sh", "zero"], "n", vec![int("axis", 0)]),
                node("Unsqueeze", &["n", "zero1"], "n1", vec![]),
                node("Concat", &["n1", "minus"], "target", vec![int("axis", 0)]),
                node("Reshape", &["x", "target"], "y", vec![]),
            ],
        )
        .with(pb::TensorProto {
            name: "zero".into(),
            dims: vec![],
            data_type: 7,
            int64_data: vec![0],
            ..Default::default()
        })
        .with(int64s("zero1", vec![0]))
        .with(int64s("minus", vec![-1])),
    );
}

#[test]
fn an_operator_without_a_rule_is_named_with_its_node() {
    let case = Case::new("topk", &[2, 4], vec![node("Round", &["x"], "y", vec![])]);
    let err = Graph::from_proto(&case.graph(), "out", 17).unwrap_err();
    assert_eq!(err, "operator `Round` (node `y`) has no gradient rule");
}

/// An image model whose graph runs in tract but has an operator without a gradient rule:
/// every gradient method is unavailable for it, with the operator and node named.
#[test]
fn gradient_methods_are_unavailable_with_the_operator_named() {
    use loupe::explain::image::gradcam::GRADCAM;
    use loupe::explain::image::gradient::{GRADXINPUT, SALIENCY, SMOOTHGRAD};
    use loupe::explain::image::ig::IG;
    use loupe::explain::registry::Fit;
    let case = Case::new(
        "round",
        &[1, 1, 4, 4],
        vec![
            node("Round", &["x"], "rounded", vec![]),
            node(
                "ReduceMean",
                &["rounded"],
                "y",
                vec![ints("axes", vec![1, 2, 3]), int("keepdims", 0)],
            ),
        ],
    );
    let card = ModelCard {
        task: Some("regression".into()),
        ..Default::default()
    };
    let model = OnnxModel::from_bytes(&case.bytes(), Some(card), "round.onnx", None).unwrap();
    let fit = Fit::new(&model, loupe::explain::Link::Identity, true);
    for m in [SALIENCY, GRADXINPUT, IG, SMOOTHGRAD, GRADCAM] {
        assert_eq!(
            m.unavailable(&fit).unwrap(),
            format!(
                "{} needs the model's gradients, and operator `Round` (node `rounded`) has no \
                 gradient rule",
                m.name()
            )
        );
    }
}

/// A convolution whose weights are computed from the input: the rule covers the input's
/// gradient only, so the backward pass refuses in one line rather than drop a term.
#[test]
fn a_gradient_no_rule_covers_is_refused_not_dropped() {
    let case = Case::new(
        "input-made weights",
        &[1, 1, 3, 3],
        vec![node("Conv", &["x", "x"], "y", vec![])],
    );
    let graph = Graph::from_proto(&case.graph(), "out", 17).unwrap();
    let tape = graph.forward(case.input(1)).unwrap();
    let seed = ArrayD::ones(IxDyn(&[1, 1]));
    let err = graph
        .backward(&tape, seed, &[graph.input_id()])
        .unwrap_err();
    assert_eq!(
        err,
        "gradient of node `y` (Conv): has no gradient rule for its input 1"
    );
}

/// Every model of the bad-input corpus that loads: gradients are computed or refused in one
/// line, never a panic.
#[test]
fn bad_input_models_never_panic_in_the_backward_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs");
    let mut loaded = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "onnx") {
            continue;
        }
        let Ok(model) = OnnxModel::load(&path) else {
            continue;
        };
        loaded += 1;
        if model.gradient_support().is_err() {
            continue;
        }
        let x = vec![0.5f32; model.n_features()];
        match model.gradients(&x, 1, 0, loupe::model::Wrt::Input) {
            Ok(g) => assert_eq!(g.grads.len(), x.len()),
            Err(e) => assert!(!e.to_string().contains('\n'), "{}: {e}", path.display()),
        }
    }
    assert!(loaded > 0);
}
