//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use loupe::data::{Dataset, Table};
use loupe::explain::Background;
use loupe::explain::game::Predict;
use loupe::model::OnnxModel;
use ndarray::Array2;

/// A file in `sample_models/`.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample_models")
        .join(name)
}

/// The bundled breast cancer data, matched to `model`.
pub fn sample_data(model: &OnnxModel) -> Dataset {
    let table = Table::from_path(&sample("breast_cancer.csv")).unwrap();
    Dataset::from_table(&table, loupe::session::schema_for(model, None)).unwrap()
}

/// `explainer` on `rows` of `x` for the first output, on its probability, as `loupe explain`
/// runs it.
pub fn explain_first_output(
    model: &dyn Predict,
    x: ndarray::ArrayView2<f32>,
    rows: &[usize],
    explainer: &dyn loupe::explain::Explainer,
    bg: &Background,
    seed: u64,
) -> Vec<loupe::explain::run::RowExplanation> {
    loupe::explain::run::explain_rows(
        model,
        x,
        rows,
        &|_| vec![0],
        explainer,
        bg,
        loupe::explain::Link::Identity,
        seed,
        &loupe::explain::game::NoProgress,
    )
    .unwrap()
}

/// Shapley values by the definition: every subset, with factorial weights.
pub fn brute_force(model: &dyn Predict, x: &[f32], bg: &Background, target: usize) -> Vec<f64> {
    let singles: Vec<Vec<usize>> = (0..x.len()).map(|j| vec![j]).collect();
    brute_force_players(model, x, bg, target, &singles)
}

/// Shapley values of the game whose players bring the columns `players[p]`: every subset of
/// players, with factorial weights.
pub fn brute_force_players(
    model: &dyn Predict,
    x: &[f32],
    bg: &Background,
    target: usize,
    players: &[Vec<usize>],
) -> Vec<f64> {
    let (width, m) = (x.len(), players.len());
    let factorial = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    let value = |subset: usize| -> f64 {
        let mut from_x = vec![false; width];
        for (p, columns) in players.iter().enumerate() {
            for &j in columns {
                from_x[j] = subset >> p & 1 == 1;
            }
        }
        let rows = Array2::from_shape_fn((bg.len(), width), |(b, j)| {
            if from_x[j] { x[j] } else { bg.rows[[b, j]] }
        });
        let out = model.predict(rows.view()).unwrap();
        (0..bg.len())
            .map(|b| bg.weights[b] * out[[b, target]] as f64)
            .sum()
    };
    let v: Vec<f64> = (0..1usize << m).map(value).collect();
    (0..m)
        .map(|i| {
            (0..1usize << m)
                .filter(|s| s >> i & 1 == 0)
                .map(|s| {
                    let size = s.count_ones() as usize;
                    factorial(size) * factorial(m - size - 1) / factorial(m)
                        * (v[s | 1 << i] - v[s])
                })
                .sum()
        })
        .collect()
}

/// Small pieces for building ONNX graphs in tests.
pub mod onnx {
    use tract_onnx::pb;

    /// A float tensor input or output; `None` dimensions are the symbolic batch `N`.
    pub fn info(name: &str, dims: Vec<Option<i64>>) -> pb::ValueInfoProto {
        let dim = |v: Option<i64>| pb::tensor_shape_proto::Dimension {
            value: Some(match v {
                Some(n) => pb::tensor_shape_proto::dimension::Value::DimValue(n),
                None => pb::tensor_shape_proto::dimension::Value::DimParam("N".into()),
            }),
            ..Default::default()
        };
        pb::ValueInfoProto {
            name: name.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: 1,
                    shape: Some(pb::TensorShapeProto {
                        dim: dims.into_iter().map(dim).collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A float initializer.
    pub fn tensor(name: &str, dims: Vec<i64>, data: Vec<f32>) -> pb::TensorProto {
        pb::TensorProto {
            name: name.into(),
            dims,
            data_type: 1,
            float_data: data,
            ..Default::default()
        }
    }

    /// A node with one output, named after it.
    pub fn node(
        op: &str,
        inputs: &[&str],
        output: &str,
        attribute: Vec<pb::AttributeProto>,
    ) -> pb::NodeProto {
        pb::NodeProto {
            op_type: op.into(),
            name: output.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            attribute,
            ..Default::default()
        }
    }
}
