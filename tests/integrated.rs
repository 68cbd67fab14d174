//! Integrated Gradients of rows of features: exact on a linear model (closed form), complete
//! on the sample networks, refused for tree ensembles, and written in the attributions schema.

mod common;

use common::onnx::{info, node, tensor};
use common::{sample, sample_data};
use loupe::explain::image::ig::IG;
use loupe::explain::registry::Fit;
use loupe::explain::run::explain_rows;
use loupe::explain::{Background, ExplainSettings, Link, NoProgress, ParamValues};
use loupe::model::{ModelCard, OnnxModel};
use ndarray::Array2;
use prost::Message;
use std::process::Command;
use tract_onnx::pb;

/// `out = sigmoid?(x · w + b)` for rows of four features.
fn linear(w: &[f32], b: f32, sigmoid: bool) -> Vec<u8> {
    let mut nodes = vec![node("Gemm", &["x", "w", "b"], "z", vec![])];
    let out = if sigmoid {
        nodes.push(node("Sigmoid", &["z"], "p", vec![]));
        "p"
    } else {
        "z"
    };
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(pb::GraphProto {
            name: "linear".into(),
            node: nodes,
            initializer: vec![
                tensor("w", vec![w.len() as i64, 1], w.to_vec()),
                tensor("b", vec![1], vec![b]),
            ],
            input: vec![info("x", vec![None, Some(w.len() as i64)])],
            output: vec![info(out, vec![None, Some(1)])],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

fn rows(seed: u64, n: usize, m: usize) -> Array2<f32> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, m), |_| rng.random::<f32>() * 4.0 - 2.0)
}

fn ig_settings(link: Link, rule: f64) -> ExplainSettings {
    let mut params = ParamValues::default();
    params.set("rule", rule);
    ExplainSettings {
        method: IG,
        link,
        params,
        ..Default::default()
    }
}

/// On `f(x) = w · x + b` the gradient is `w` on the whole path, so IG is exactly
/// `w · (x − x̄)` with `x̄` the background's mean — by every rule — and `base_value` is
/// `f(x̄)`. Through the log-odds of a logistic model, the same closed form holds.
#[test]
fn on_a_linear_model_ig_is_the_weights_times_the_distance_to_the_mean() {
    let w = [0.5f32, -1.25, 2.0, 0.0];
    let b = 0.3f32;
    let x = rows(1, 6, 4);
    let background = Background::all(rows(2, 20, 4).view()).unwrap();
    let mean = background.mean();
    for (sigmoid, link, task) in [
        (false, Link::Identity, "regression"),
        (true, Link::Logit, "classification"),
    ] {
        let card = ModelCard {
            task: Some(task.into()),
            class_names: sigmoid.then(|| vec!["no".into(), "yes".into()]),
            ..Default::default()
        };
        let model = OnnxModel::from_bytes(&linear(&w, b, sigmoid), Some(card), "linear.onnx", None)
            .unwrap();
        let target = usize::from(sigmoid);
        for rule in [0.0, 1.0, 2.0] {
            let settings = ig_settings(link, rule);
            let data = sample_data_like(&model, &x);
            let explainer = settings.explainer(&model, &data, &background).unwrap();
            let out = explain_rows(
                &model,
                x.view(),
                &[0, 1, 2, 3, 4, 5],
                &|_| vec![target],
                &*explainer,
                &background,
                link,
                0,
                &NoProgress,
            )
            .unwrap();
            for e in &out {
                let a = &e.attribution;
                let f = |row: &[f64]| {
                    w.iter().zip(row).map(|(&w, &v)| w as f64 * v).sum::<f64>() + b as f64
                };
                let row: Vec<f64> = x.row(e.row).iter().map(|&v| v as f64).collect();
                for j in 0..4 {
                    let want = w[j] as f64 * (row[j] - mean[j]);
                    assert!(
                        (a.values[j] - want).abs() < 1e-4,
                        "{task} rule {rule} row {} feature {j}: {} vs {want}",
                        e.row,
                        a.values[j]
                    );
                }
                assert!((a.base_value - f(&mean)).abs() < 1e-4, "{task}: base value");
                assert!(
                    (a.output_value - f(&row)).abs() < 1e-4,
                    "{task}: output value"
                );
                assert!(
                    e.model_calls >= 32,
                    "model calls counted: {}",
                    e.model_calls
                );
            }
        }
    }
}

/// A dataset holding `x` (IG reads only the model and the background from it).
fn sample_data_like(model: &OnnxModel, x: &Array2<f32>) -> loupe::data::Dataset {
    let names: Vec<String> = (0..x.ncols()).map(|j| format!("f{j}")).collect();
    let mut csv = names.join(",") + "\n";
    for r in x.outer_iter() {
        let line: Vec<String> = r.iter().map(|v| v.to_string()).collect();
        csv += &(line.join(",") + "\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("linear.csv");
    std::fs::write(&path, csv).unwrap();
    let table = loupe::data::Table::from_path(&path).unwrap();
    loupe::data::Dataset::from_table(&table, loupe::session::schema_for(model, None)).unwrap()
}

/// On the sample MLPs (30 and 12 features, softmax outputs), the values sum to
/// f(x) − f(x̄) within 1% at the default 64 steps (adaptive rule), and agree with 1,024 steps
/// (the integral itself, complete to 0.1%) to 1% of the largest value.
#[test]
fn on_the_sample_mlps_ig_is_complete_and_converged() {
    for name in ["breast_cancer_mlp.onnx", "breast_cancer_mlp12.onnx"] {
        let model = OnnxModel::load(&sample(name)).unwrap();
        let data = sample_data(&model);
        let background = Background::pick(
            data.x.view(),
            50,
            loupe::explain::BackgroundMethod::Random,
            0,
        )
        .unwrap();
        let rows: Vec<usize> = (0..80).step_by(4).collect();
        let run = |settings: &ExplainSettings| {
            let explainer = settings.explainer(&model, &data, &background).unwrap();
            explain_rows(
                &model,
                data.x.view(),
                &rows,
                &|_| vec![1],
                &*explainer,
                &background,
                settings.link,
                0,
                &NoProgress,
            )
            .unwrap()
        };
        let default = run(&ExplainSettings {
            method: IG,
            ..Default::default()
        });
        let mut fine = ig_settings(Link::Identity, 2.0);
        fine.params.set("steps", 1024.0);
        let fine = run(&fine);
        let mut measured = 0;
        for (d, f) in default.iter().zip(&fine) {
            let a = &d.attribution;
            let delta = a.output_value - a.base_value;
            let gap = delta - a.values.iter().sum::<f64>();
            let scale = f
                .attribution
                .values
                .iter()
                .fold(0f64, |m, v| m.max(v.abs()));
            let worst = a
                .values
                .iter()
                .zip(&f.attribution.values)
                .fold(0f64, |m, (p, q)| m.max((p - q).abs()));
            let fa = &f.attribution;
            let fine_gap = fa.output_value - fa.base_value - fa.values.iter().sum::<f64>();
            eprintln!(
                "{name} row {}: Δ {delta:.4}, gap {gap:.2e} ({fine_gap:.1e} at 1,024 steps), \
                 against 1,024 steps {worst:.2e}",
                d.row
            );
            assert!(
                fine_gap.abs() <= 1e-3 * delta.abs().max(0.01),
                "{name} row {}",
                d.row
            );
            assert!(worst <= 1e-2 * scale.max(1e-3), "{name} row {}", d.row);
            if delta.abs() >= 0.05 {
                measured += 1;
                assert!(
                    gap.abs() <= 0.01 * delta.abs(),
                    "{name} row {}: gap {gap}",
                    d.row
                );
            }
        }
        assert!(
            measured >= 3,
            "{name}: {measured} rows far from the mean's output"
        );
    }
}

/// A tree ensemble has no gradients: IG is unavailable, with the reason.
#[test]
fn ig_is_unavailable_for_tree_ensembles_with_the_reason() {
    for name in ["breast_cancer_gbt.onnx", "breast_cancer_rf.onnx"] {
        let model = OnnxModel::load(&sample(name)).unwrap();
        let why = IG
            .unavailable(&Fit::new(&model, Link::Identity, false))
            .unwrap();
        assert!(
            why.starts_with("ig needs the model's gradients, and ") && why.contains("operator"),
            "{name}: {why}"
        );
    }
    let mlp = OnnxModel::load(&sample("breast_cancer_mlp.onnx")).unwrap();
    assert_eq!(IG.unavailable(&Fit::new(&mlp, Link::Identity, false)), None);
}

/// `loupe explain --method ig` on rows writes the attributions schema, with the
/// completeness gap and the method's parameters; the CSV has the long header.
#[test]
fn the_command_line_writes_ig_in_the_attributions_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("schemas/attributions.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let run = |format: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_loupe"))
            .args([
                "explain",
                sample("breast_cancer_mlp.onnx").to_str().unwrap(),
                sample("breast_cancer.csv").to_str().unwrap(),
                "--method",
                "ig",
                "--rows",
                "0..3",
                "--format",
                format,
            ])
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    let json: serde_json::Value = serde_json::from_slice(&run("json")).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(json["method"], "ig");
    assert_eq!(json["params"]["steps"], 64);
    assert_eq!(json["params"]["rule"], 2);
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let values: Vec<f64> = row["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(values.len(), 30);
        let gap = row["completeness_gap"].as_f64().unwrap();
        let delta = row["output_value"].as_f64().unwrap() - row["base_value"].as_f64().unwrap();
        assert!((delta - values.iter().sum::<f64>() - gap).abs() < 1e-9);
        assert!(
            gap.abs() <= 0.01 * delta.abs().max(0.05),
            "gap {gap}, Δ {delta}"
        );
    }
    let csv = String::from_utf8(run("csv")).unwrap();
    assert!(
        csv.starts_with("row,feature,value,attribution,std_err,target"),
        "{}",
        &csv[..csv.len().min(80)]
    );
    assert_eq!(csv.lines().count(), 1 + 3 * 30);
}
