//! The sample models through tract against onnxruntime's committed outputs, and how model
//! loading fails on files it cannot use.

mod common;

use std::path::{Path, PathBuf};

use common::{sample, sample_data};

use loupe::data::{Dataset, Table};
use loupe::model::{ModelCard, OnnxModel, ScoreKind, Task};
use prost::Message;
use tract_onnx::pb;

/// (label, p_malignant, p_benign) per row from `expected/<model>.csv`.
fn expected(model: &str) -> Vec<(usize, f64, f64)> {
    let path = sample("expected").join(model.replace(".onnx", ".csv"));
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[1].parse().unwrap(),
                r[2].parse().unwrap(),
                r[3].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_sample_row_matches_onnxruntime() {
    for name in ["breast_cancer_mlp.onnx", "breast_cancer_logreg.onnx"] {
        let model = OnnxModel::load(&sample(name)).unwrap();
        let data = sample_data(&model);
        let p = model.predict(data.x.view()).unwrap();
        let want = expected(name);
        assert_eq!(p.nrows(), 569);
        assert_eq!(want.len(), 569);
        let mut worst = 0.0f64;
        for (row, &(label, p0, p1)) in want.iter().enumerate() {
            let (g0, g1) = (p[[row, 0]] as f64, p[[row, 1]] as f64);
            worst = worst.max((g0 - p0).abs()).max((g1 - p1).abs());
            if (p0 - p1).abs() > 1e-4 {
                assert_eq!(
                    usize::from(g1 > g0),
                    label,
                    "{name} row {row}: label differs"
                );
            }
        }
        assert!(
            worst < 1e-5,
            "{name}: largest difference from onnxruntime {worst:e}"
        );
    }
}

#[test]
fn default_sklearn_export_loads_zipmap_cut_and_scaler_run() {
    let model = OnnxModel::load(&sample("breast_cancer_logreg.onnx")).unwrap();
    let sig = model.signature();
    assert!(sig.operators.contains_key("Scaler"));
    assert!(sig.operators.contains_key("ZipMap"));
    assert_eq!(
        sig.outputs
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        ["output_label", "output_probability"]
    );
    assert_eq!(model.score_output(), "probabilities");
    assert_eq!(model.score_kind(), ScoreKind::Probabilities);
    assert_eq!(
        model.task(),
        &Task::Classification {
            class_names: vec!["malignant".into(), "benign".into()],
            positive_class: Some(0)
        }
    );
    assert_eq!(model.n_features(), 30);
}

#[test]
fn bundled_sample_is_the_file_on_disk() {
    let bundled = loupe::sample::model().unwrap();
    let file = OnnxModel::load(&sample("breast_cancer_mlp.onnx")).unwrap();
    assert_eq!(bundled.sha256(), file.sha256());
    let data = sample_data(&file);
    assert_eq!(
        bundled.predict(data.x.view()).unwrap(),
        file.predict(data.x.view()).unwrap()
    );
}

#[test]
fn batching_does_not_change_results() {
    let model = OnnxModel::load(&sample("breast_cancer_mlp.onnx")).unwrap();
    let data = sample_data(&model);
    let all = model.predict(data.x.view()).unwrap();
    for row in [0, 255, 256, 568] {
        let one = model
            .predict(data.x.slice(ndarray::s![row..row + 1, ..]))
            .unwrap();
        assert_eq!(one.row(0), all.row(row), "row {row}");
    }
    let none = model.predict(data.x.slice(ndarray::s![0..0, ..])).unwrap();
    assert_eq!(none.dim(), (0, 2));
    let err = model
        .predict(data.x.slice(ndarray::s![.., 0..29]))
        .unwrap_err();
    assert_eq!(err.to_string(), "the model takes 30 values per row, got 29");
}

fn copy_without_card(name: &str, dir: &Path) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(sample(name), &path).unwrap();
    path
}

#[test]
fn without_a_card_classes_come_from_the_graph() {
    let dir = tempfile::tempdir().unwrap();
    let model =
        OnnxModel::load(&copy_without_card("breast_cancer_logreg.onnx", dir.path())).unwrap();
    assert_eq!(model.task().class_names(), ["0", "1"]);
    assert!(model.feature_names().is_none());
    // Columns then match by order: the 30 numeric columns, diagnosis as label… which is a
    // class name, not 0/1, so it must be refused with the row and column.
    let table = Table::from_path(&sample("breast_cancer.csv")).unwrap();
    let err = Dataset::from_table(&table, loupe::session::schema_for(&model, None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "breast_cancer.csv: row 0 (line 2), column `diagnosis`: label `malignant` is not one of the model's classes (0, 1)"
    );
}

fn edit_model(name: &str, dir: &Path, edit: impl FnOnce(&mut pb::ModelProto)) -> PathBuf {
    let bytes = std::fs::read(sample(name)).unwrap();
    let mut proto = pb::ModelProto::decode(&bytes[..]).unwrap();
    edit(&mut proto);
    let path = dir.join(name);
    std::fs::write(&path, proto.encode_to_vec()).unwrap();
    path
}

#[test]
fn unsupported_operator_is_named_with_its_node() {
    let dir = tempfile::tempdir().unwrap();
    let path = edit_model("breast_cancer_logreg.onnx", dir.path(), |m| {
        let graph = m.graph.as_mut().unwrap();
        let node = graph
            .node
            .iter_mut()
            .find(|n| n.op_type == "LinearClassifier")
            .unwrap();
        node.op_type = "FancyClassifier".into();
        node.name = "clf".into();
    });
    let err = OnnxModel::load(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        "unsupported operator `FancyClassifier` (node `clf`): re-export the model with standard ONNX operators"
    );
}

#[test]
fn a_second_input_takes_columns_beside_the_first_and_changes_nothing_it_does_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = edit_model("breast_cancer_logreg.onnx", dir.path(), |m| {
        let graph = m.graph.as_mut().unwrap();
        let mut extra = graph.input[0].clone();
        extra.name = "mask".into();
        graph.input.push(extra);
    });
    let two = OnnxModel::load(&path).unwrap();
    let one = OnnxModel::load(&sample("breast_cancer_logreg.onnx")).unwrap();
    assert_eq!(two.n_features(), 60);
    let columns = two.input_columns().unwrap();
    assert_eq!(
        (
            columns[0].name.as_str(),
            columns[30].name.as_str(),
            columns[59].input.as_str()
        ),
        ("input[0]", "mask[0]", "mask")
    );
    // Matched to data by order: several columns per input have no names of their own.
    assert!(two.feature_names().is_none());
    let x = sample_data(&one).x;
    let mut wide = ndarray::Array2::from_elem((x.nrows(), 60), 7.0f32);
    wide.slice_mut(ndarray::s![.., ..30]).assign(&x);
    let (got, want) = (
        two.predict(wide.view()).unwrap(),
        one.predict(x.view()).unwrap(),
    );
    let worst = (&got - &want).iter().fold(0f32, |m, d| m.max(d.abs()));
    // The scaler is not folded into the weights behind a `Gather`: float32 rounding differs.
    assert!(worst < 1e-5, "{worst}");
}

#[test]
fn files_that_are_not_models_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let random = dir.path().join("random.onnx");
    std::fs::write(
        &random,
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let err = OnnxModel::load(&random).unwrap_err().to_string();
    assert!(err.starts_with("not an ONNX model"), "{err}");

    let truncated = dir.path().join("truncated.onnx");
    let bytes = std::fs::read(sample("breast_cancer_mlp.onnx")).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = OnnxModel::load(&truncated).unwrap_err().to_string();
    assert!(err.starts_with("not an ONNX model"), "{err}");

    let err = OnnxModel::load(&dir.path().join("missing.onnx"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot read") && err.contains("missing.onnx"),
        "{err}"
    );
}

#[test]
fn card_that_disagrees_with_the_model_is_refused() {
    let bytes = std::fs::read(sample("breast_cancer_mlp.onnx")).unwrap();
    let card = ModelCard {
        class_names: Some(vec!["a".into(), "b".into(), "c".into()]),
        ..Default::default()
    };
    let err = OnnxModel::from_bytes(&bytes, Some(card), "m.onnx", None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "model card: the card lists 3 class names but the model scores 2 classes"
    );

    let card = ModelCard {
        positive_class: Some("tumour".into()),
        ..Default::default()
    };
    let err = OnnxModel::from_bytes(&bytes, Some(card), "m.onnx", None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "model card: positive_class `tumour` is not one of the classes (0, 1)"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = copy_without_card("breast_cancer_mlp.onnx", dir.path());
    std::fs::write(
        dir.path().join("breast_cancer_mlp.card.json"),
        r#"{"class_names": 3}"#,
    )
    .unwrap();
    let err = OnnxModel::load(&path).unwrap_err().to_string();
    assert!(
        err.starts_with("model card: ") && err.contains("breast_cancer_mlp.card.json"),
        "{err}"
    );
}

#[test]
fn metadata_props_name_the_classes_when_there_is_no_card() {
    let dir = tempfile::tempdir().unwrap();
    let path = edit_model("breast_cancer_mlp.onnx", dir.path(), |m| {
        m.metadata_props.push(pb::StringStringEntryProto {
            key: "class_names".into(),
            value: r#"["M", "B"]"#.into(),
        });
    });
    let model = OnnxModel::load(&path).unwrap();
    assert_eq!(model.task().class_names(), ["M", "B"]);
}

/// A file in `tests/data/conformance/` (made by `tools/make_conformance.py`).
fn conformance(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/conformance")
        .join(name)
}

/// Every column of `<data>.csv` but the last (`label`), as float32 rows.
fn conformance_rows(data: &str) -> ndarray::Array2<f32> {
    csv_matrix(&conformance(&format!("{data}.csv")), true)
}

/// A CSV of numbers as a matrix (without its last column when `drop_last`).
fn csv_matrix(path: &Path, drop_last: bool) -> ndarray::Array2<f32> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let rows: Vec<Vec<f32>> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let n = r.len() - usize::from(drop_last);
            // A blank cell is a missing value, as `NaN` is.
            r.iter()
                .take(n)
                .map(|v| {
                    if v.is_empty() {
                        f32::NAN
                    } else {
                        v.parse().unwrap()
                    }
                })
                .collect()
        })
        .collect();
    let width = rows[0].len();
    ndarray::Array2::from_shape_fn((rows.len(), width), |(i, j)| rows[i][j])
}

/// Runs conformance case `name` (an entry of `cases.json`): Ok(largest difference from
/// onnxruntime, relative for values past 1) when it loads with the class names onnxruntime's labels give, else why not.
fn run_conformance_case(case: &serde_json::Value) -> Result<f64, String> {
    let name = case["name"].as_str().unwrap();
    let model =
        OnnxModel::load(&conformance(&format!("{name}.onnx"))).map_err(|e| e.to_string())?;
    let data = case["data"].as_str().unwrap();
    let x = if data.starts_with("penguins") {
        // Text and integer columns, bound to the model's inputs by the data layer.
        let table = Table::from_path(&conformance(&format!("{data}.csv"))).unwrap();
        Dataset::from_table(&table, loupe::session::schema_for(&model, None))
            .map_err(|e| e.to_string())?
            .x
    } else {
        conformance_rows(data)
    };
    let want = csv_matrix(&conformance(&format!("{name}.expected.csv")), false);
    let got = model.predict(x.view()).map_err(|e| e.to_string())?;
    if got.dim() != want.dim() {
        return Err(format!(
            "shape {:?}, onnxruntime {:?}",
            got.dim(),
            want.dim()
        ));
    }
    if let Some(names) = case["class_names"].as_array() {
        let names: Vec<&str> = names.iter().map(|n| n.as_str().unwrap()).collect();
        if model.task().class_names() != names {
            return Err(format!(
                "class names {:?}, want {names:?}",
                model.task().class_names()
            ));
        }
    }
    // Relative past 1: a regression value near 150 is only held to float32's ulp of 1.5e-5.
    Ok(got
        .iter()
        .zip(&want)
        .map(|(g, w)| (*g as f64 - *w as f64).abs() / (*w as f64).abs().max(1.0))
        .fold(0.0, f64::max))
}

fn conformance_cases() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(conformance("cases.json")).unwrap();
    serde_json::from_str::<Vec<serde_json::Value>>(&text).unwrap()
}

fn conformance_case(name: &str) -> serde_json::Value {
    conformance_cases()
        .into_iter()
        .find(|c| c["name"] == name)
        .unwrap()
}

#[test]
fn conformance_corpus_matches_onnxruntime_or_is_refused_by_operator() {
    let mut failures = Vec::new();
    let mut table = String::new();
    for case in conformance_cases() {
        let name = case["name"].as_str().unwrap();
        let outcome = run_conformance_case(&case);
        table.push_str(&format!(
            "{name:<42} {:<12} {outcome:?}\n",
            case["exporter"]
        ));
        match (case["expect"].as_str().unwrap(), &outcome) {
            ("works", Ok(worst)) if *worst <= 1e-5 => {}
            ("refused", Err(message)) => {
                let (op, node) = (
                    case["operator"].as_str().unwrap(),
                    case["node"].as_str().unwrap(),
                );
                let one_line = !message.contains('\n');
                if !(message.contains(&format!("`{op}`"))
                    && message.contains(&format!("`{node}`"))
                    && one_line)
                {
                    failures.push(format!(
                        "{name}: refused without naming `{op}` and node `{node}`: {message}"
                    ));
                }
            }
            (expect, _) => failures.push(format!("{name}: expected {expect}, got {outcome:?}")),
        }
    }
    eprintln!("{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn gbc_exported_without_zipmap_gives_onnxruntimes_probabilities_not_softmaxed_twice() {
    // The probabilities pass through an `Identity` to the graph output; read as logits, they
    // were softmaxed again (off by up to 0.27).
    for name in ["gbc_zipmap_off_binary", "gbc_zipmap_off_multiclass"] {
        let worst = run_conformance_case(&conformance_case(name)).unwrap();
        assert!(worst <= 1e-5, "{name}: {worst:e} from onnxruntime");
        let model = OnnxModel::load(&conformance(&format!("{name}.onnx"))).unwrap();
        assert_eq!(model.score_kind(), ScoreKind::Probabilities, "{name}");
        assert!(model.notes().is_empty(), "{name}: {:?}", model.notes());
    }
}

/// `info` with every symbolic dimension named `symbol` (exporters name the batch their own way).
fn info_with_batch(name: &str, dims: Vec<Option<i64>>, symbol: &str) -> pb::ValueInfoProto {
    let mut v = common::onnx::info(name, dims);
    if let Some(pb::type_proto::Value::TensorType(t)) =
        v.r#type.as_mut().and_then(|t| t.value.as_mut())
        && let Some(shape) = t.shape.as_mut()
    {
        for d in &mut shape.dim {
            if let Some(pb::tensor_shape_proto::dimension::Value::DimParam(p)) = d.value.as_mut() {
                *p = symbol.into();
            }
        }
    }
    v
}

/// x (N×2) → MatMul → `h` (N×3) → Add → `logits`, with `value_info` for `h` and `logits` as
/// given: torch's dynamo exporter writes facts like these, with its own symbols.
fn graph_with_value_info(
    value_info: Vec<pb::ValueInfoProto>,
    output: pb::ValueInfoProto,
) -> Vec<u8> {
    use common::onnx::{node, tensor};
    let graph = pb::GraphProto {
        name: "dynamo".into(),
        node: vec![
            node("MatMul", &["x", "w"], "h", vec![]),
            node("Add", &["h", "b"], "logits", vec![]),
        ],
        initializer: vec![
            tensor("w", vec![2, 3], vec![1.0, 0.0, -1.0, 0.5, 2.0, 0.0]),
            tensor("b", vec![3], vec![0.0, 0.25, -0.5]),
        ],
        input: vec![info_with_batch("x", vec![None, Some(2)], "batch")],
        output: vec![output],
        value_info,
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn value_info_that_tracts_analysis_rejects_is_ignored_and_the_model_loads() {
    // `h` declared with a symbol of its own (`s0`) where tract infers the batch: tract cannot
    // unify the two and rejects the graph while the facts stand.
    let bytes = graph_with_value_info(
        vec![info_with_batch("h", vec![None, Some(3)], "s0")],
        info_with_batch("logits", vec![None, Some(3)], "batch"),
    );
    let model = OnnxModel::from_bytes(&bytes, None, "dynamo.onnx", None).unwrap();
    assert_eq!(model.score_kind(), ScoreKind::Logits);
    let x = ndarray::array![[1.0f32, 2.0], [0.0, 0.0]];
    let p = model.predict(x.view()).unwrap();
    // Row 0: logits (2, 4.25, -1.5).
    let e = [2.0f32.exp(), 4.25f32.exp(), (-1.5f32).exp()];
    let sum: f32 = e.iter().sum();
    for (c, e) in e.iter().enumerate() {
        assert!((p[[0, c]] - e / sum).abs() < 1e-6, "class {c}");
    }
    // Batches of every size still run (the full-batch plan too).
    let many = ndarray::Array2::from_shape_fn((3000, 2), |(r, c)| (r * 2 + c) as f32 / 1000.0);
    assert_eq!(model.predict(many.view()).unwrap().nrows(), 3000);
    // The plan cut at the card's `cam_layer` drops the facts the same way.
    let card = ModelCard {
        cam_layer: Some("h".into()),
        ..Default::default()
    };
    let model = OnnxModel::from_bytes(&bytes, Some(card), "dynamo.onnx", None).unwrap();
    let (shape, values) = model.activations(x.view()).unwrap().unwrap();
    assert_eq!(shape, [3]);
    assert_eq!(values, [2.0, 4.0, -1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn a_score_width_that_disagrees_with_the_declared_one_is_refused() {
    // The output's own declaration lost its type (as a ZipMap cut leaves it); the value_info
    // still says 5 columns where the graph computes 3.
    let untyped = pb::ValueInfoProto {
        name: "logits".into(),
        ..Default::default()
    };
    let bytes = graph_with_value_info(
        vec![info_with_batch("logits", vec![None, Some(5)], "batch")],
        untyped,
    );
    let err = OnnxModel::from_bytes(&bytes, None, "wide.onnx", None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "output `logits` is declared with shape [batch, 5] but the graph computes 3 values per row"
    );
}

#[test]
fn catboosts_own_classifier_export_loads_and_matches_onnxruntime() {
    for name in ["catboost_binary", "catboost_multiclass"] {
        let worst = run_conformance_case(&conformance_case(name)).unwrap();
        assert!(worst <= 1e-5, "{name}: {worst:e} from onnxruntime");
    }
}

#[test]
fn scores_a_zipmap_calls_probabilities_that_are_not_are_refused() {
    use common::onnx::{info, node, tensor};
    let labels = pb::AttributeProto {
        name: "classlabels_int64s".into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: vec![0, 1, 2],
        ..Default::default()
    };
    let graph = pb::GraphProto {
        name: "zipmapped_logits".into(),
        node: vec![
            node("MatMul", &["x", "w"], "scores", vec![]),
            pb::NodeProto {
                domain: "ai.onnx.ml".into(),
                ..node("ZipMap", &["scores"], "zipped", vec![labels])
            },
        ],
        initializer: vec![tensor("w", vec![2, 3], vec![3.0, 0.0, -3.0, 1.0, 2.0, 0.0])],
        input: vec![info("x", vec![None, Some(2)])],
        output: vec![pb::ValueInfoProto {
            name: "zipped".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let bytes = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![
            pb::OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            },
            pb::OperatorSetIdProto {
                domain: "ai.onnx.ml".into(),
                version: 3,
            },
        ],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec();
    let err = OnnxModel::from_bytes(&bytes, None, "z.onnx", None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "output `scores` should hold probabilities (it feeds a ZipMap), but on probe row"
        ),
        "{err}"
    );
}

#[test]
fn probabilities_the_graph_does_not_call_so_are_read_as_such_with_a_note() {
    use common::onnx::{info, node};
    // p = |x| / Σ|x|: probabilities made by a `Div`, which says nothing of what they are.
    let axes = pb::TensorProto {
        name: "axes".into(),
        dims: vec![1],
        data_type: 7,
        int64_data: vec![1],
        ..Default::default()
    };
    let graph = pb::GraphProto {
        name: "normalised".into(),
        node: vec![
            node("Abs", &["x"], "a", vec![]),
            node("ReduceSum", &["a", "axes"], "s", vec![]),
            node("Div", &["a", "s"], "p", vec![]),
        ],
        initializer: vec![axes],
        input: vec![info("x", vec![None, Some(3)])],
        output: vec![info("p", vec![None, Some(3)])],
        ..Default::default()
    };
    let bytes = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 17,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec();
    let model = OnnxModel::from_bytes(&bytes, None, "n.onnx", None).unwrap();
    assert_eq!(model.score_kind(), ScoreKind::Probabilities);
    assert_eq!(model.notes().len(), 1);
    assert!(
        model.notes()[0].contains("no softmax applied"),
        "{:?}",
        model.notes()
    );
    let p = model
        .predict(ndarray::array![[1.0f32, -1.0, 2.0]].view())
        .unwrap();
    assert_eq!(p, ndarray::array![[0.25f32, 0.25, 0.5]]);
}

#[test]
fn torchs_dynamo_export_loads_and_matches_onnxruntime() {
    // It declares value_info with its own batch symbol: `Failed analyse for node "node_sub"`.
    let worst = run_conformance_case(&conformance_case("torch_dynamo_mlp")).unwrap();
    assert!(worst <= 1e-5, "{worst:e} from onnxruntime");
}

#[test]
fn an_image_model_without_a_card_is_read_as_images_of_its_input_size() {
    let bytes = std::fs::read(sample("lesions_cnn.onnx")).unwrap();
    let model = OnnxModel::from_bytes(&bytes, None, "lesions_cnn.onnx", None).unwrap();
    let image = model.image().expect("a 3×64×64 input is an image");
    assert!(model.image_from_graph());
    assert_eq!(
        (
            image.width,
            image.height,
            image.channels,
            image.layout.as_deref()
        ),
        (Some(64), Some(64), Some(3), Some("NCHW"))
    );
    let shape = loupe::session::image_shape(&model).unwrap().unwrap();
    assert_eq!(
        (shape.mean.clone(), shape.std.clone()),
        (vec![0.0; 3], vec![1.0; 3])
    );
    // A tabular model is not.
    let tabular = OnnxModel::load(&sample("breast_cancer_mlp.onnx")).unwrap();
    assert!(tabular.image().is_none() && !tabular.image_from_graph());
}

#[test]
fn a_card_names_the_colours_of_its_maps_and_an_unknown_palette_is_refused_by_name() {
    use loupe::plot::overlay::Palette;
    let bytes = std::fs::read(sample("lesions_cnn.onnx")).unwrap();
    let card_text = std::fs::read_to_string(sample("lesions_cnn.card.json")).unwrap();
    let card = loupe::model::card::ModelCard::from_json(&card_text).unwrap();
    let model =
        OnnxModel::from_bytes(&bytes, Some(card.clone()), "lesions_cnn.onnx", None).unwrap();
    assert_eq!(
        loupe::session::map_palette(&model),
        Ok(Palette::GreenMagenta),
        "the lesion sample's blue sticker is not painted in blue"
    );
    let mut bad = card;
    bad.image.as_mut().unwrap().palette = Some("rainbow".into());
    let model = OnnxModel::from_bytes(&bytes, Some(bad), "lesions_cnn.onnx", None).unwrap();
    let err = loupe::session::image_shape(&model).unwrap_err();
    assert!(
        err.contains("palette `rainbow`") && err.contains("green-magenta") && !err.contains('\n'),
        "{err}"
    );
    // No card: red and blue.
    let model = OnnxModel::from_bytes(&bytes, None, "lesions_cnn.onnx", None).unwrap();
    assert_eq!(loupe::session::map_palette(&model), Ok(Palette::RedBlue));
}
