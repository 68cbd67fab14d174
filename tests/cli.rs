//! The `loupe` command line, run as a subprocess the way scripts run it.

mod common;

use std::path::{Path, PathBuf};

use common::sample;
use std::process::{Command, Output};

fn loupe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loupe"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A bad input: exit code 2 and exactly one line on stderr.
fn assert_refused(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(err.starts_with("loupe: "), "{err}");
    err
}

/// The accuracy PROVENANCE.md records for `model` over all rows, e.g. `0.9859 (561/569)`.
fn recorded_accuracy(model: &str) -> (String, String) {
    let provenance = std::fs::read_to_string(sample("PROVENANCE.md")).unwrap();
    let line = provenance
        .lines()
        .find(|l| l.starts_with(&format!("| `{model}`")))
        .unwrap();
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    (cells[2].to_string(), cells[3].to_string())
}

#[test]
fn info_shows_signature_task_and_operators() {
    let o = loupe(&["info", sample("breast_cancer_mlp.onnx").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("input      input: float [?, 30]"), "{out}");
    assert!(out.contains("output_probability: unknown"), "{out}");
    assert!(
        out.contains("Scaler") && out.contains("ZipMap") && out.contains("MatMul ×3"),
        "{out}"
    );
    assert!(
        out.contains(
            "task       classification, 2 classes: malignant, benign (positive: malignant)"
        ),
        "{out}"
    );
    assert!(
        out.contains("scores     `probabilities`: class probabilities"),
        "{out}"
    );
}

#[test]
fn predict_reports_the_recorded_accuracy_and_writes_the_csv() {
    for model in ["breast_cancer_mlp.onnx", "breast_cancer_logreg.onnx"] {
        let dir = tempfile::tempdir().unwrap();
        let out_csv = dir.path().join("preds.csv");
        let o = loupe(&[
            "predict",
            sample(model).to_str().unwrap(),
            sample("breast_cancer.csv").to_str().unwrap(),
            "--out",
            out_csv.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = stdout(&o);
        let (test, all) = recorded_accuracy(model);
        assert!(
            out.contains(&format!("accuracy {all}\n")),
            "{model}: want {all} in\n{out}"
        );
        assert!(
            out.contains(&format!("test  split {test}\n")),
            "{model}: want {test} in\n{out}"
        );
        assert!(
            out.contains("precision") && out.contains("malignant"),
            "{out}"
        );

        let mut reader = csv::Reader::from_path(&out_csv).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            header,
            [
                "row",
                "label",
                "predicted",
                "confidence",
                "correct",
                "p_malignant",
                "p_benign"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 569);
        let correct = rows.iter().filter(|r| &r[4] == "true").count();
        let wanted: usize = all.split(['(', '/']).nth(1).unwrap().parse().unwrap();
        assert_eq!(correct, wanted);
        for r in &rows {
            assert_eq!(&r[4] == "true", r[1] == r[2]);
            let p: f32 = r[3].parse().unwrap();
            let column = if &r[2] == "malignant" { 5 } else { 6 };
            assert_eq!(r[column].parse::<f32>().unwrap(), p);
        }
    }
}

#[test]
fn predict_without_labels_leaves_label_and_correct_empty() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(sample("breast_cancer.csv")).unwrap();
    let unlabelled: String = text
        .lines()
        .map(|l| l.rsplitn(3, ',').nth(2).unwrap().to_string() + "\n")
        .collect();
    let data = dir.path().join("unlabelled.csv");
    std::fs::write(&data, unlabelled).unwrap();
    let out_csv = dir.path().join("p.csv");
    let o = loupe(&[
        "predict",
        sample("breast_cancer_mlp.onnx").to_str().unwrap(),
        data.to_str().unwrap(),
        "--out",
        out_csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("no labels"), "{}", stdout(&o));
    let csv = std::fs::read_to_string(&out_csv).unwrap();
    assert!(
        csv.lines().nth(1).unwrap().starts_with("0,,malignant,"),
        "{csv}"
    );
}

#[test]
fn bad_inputs_exit_2_with_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"this is not a model at all, just text pretending").unwrap();
    let err = assert_refused(&loupe(&["info", junk.to_str().unwrap()]));
    assert!(
        err.contains("junk.onnx") && err.contains("not an ONNX model"),
        "{err}"
    );

    let err = assert_refused(&loupe(&["info", "does-not-exist.onnx"]));
    assert!(err.contains("does-not-exist.onnx"), "{err}");

    let text = std::fs::read_to_string(sample("breast_cancer.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut cells: Vec<&str> = lines[4].split(',').collect();
    cells[3] = "";
    lines[4] = cells.join(",");
    let holey = dir.path().join("holey.csv");
    std::fs::write(&holey, lines.join("\n")).unwrap();
    let model = sample("breast_cancer_mlp.onnx");
    let err = assert_refused(&loupe(&[
        "predict",
        model.to_str().unwrap(),
        holey.to_str().unwrap(),
    ]));
    assert_eq!(
        err.trim_end(),
        "loupe: holey.csv: row 3 (line 5), column `mean area`: missing value"
    );

    let err = assert_refused(&loupe(&[
        "predict",
        model.to_str().unwrap(),
        sample("breast_cancer.csv").to_str().unwrap(),
        "--label",
        "truth",
    ]));
    assert!(err.contains("no label column `truth`"), "{err}");

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let err = assert_refused(&loupe(&[
        "predict",
        model.to_str().unwrap(),
        empty.to_str().unwrap(),
    ]));
    assert!(err.contains("empty.csv: the file is empty"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let o = loupe(&["predict"]);
    assert_eq!(o.status.code(), Some(2));
}

#[cfg(feature = "gui")]
#[test]
fn window_without_a_display_gives_a_hint_not_a_panic() {
    let err = assert_refused(&loupe(&[]));
    assert!(
        err.contains("no display") && err.contains("loupe predict"),
        "{err}"
    );
}

/// The attributions JSON schema users' scripts validate against.
fn attributions_schema() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/attributions.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn explain_json(args: &[&str]) -> serde_json::Value {
    let o = loupe(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn explain_json_follows_the_schema_and_reports_the_method_auto_chose() {
    let schema = attributions_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let data = sample("breast_cancer.csv");
    let cases = [
        ("breast_cancer_mlp12.onnx", "exact", "identity"),
        ("breast_cancer_mlp.onnx", "kernel", "identity"),
        ("breast_cancer_gbt.onnx", "tree", "logit"),
        ("breast_cancer_rf.onnx", "tree", "identity"),
    ];
    for (model, method, link) in cases {
        let json = explain_json(&[
            "explain",
            sample(model).to_str().unwrap(),
            data.to_str().unwrap(),
            "--rows",
            "0..2",
            "--samples",
            "200",
            "--background",
            "10",
            "--link",
            link,
        ]);
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{model}: {errors:?}");
        assert_eq!(json["method"], method);
        assert_eq!(json["rows"].as_array().unwrap().len(), 2);
        let row = &json["rows"][0];
        let sum: f64 = row["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .sum();
        let gap = row["output_value"].as_f64().unwrap() - row["base_value"].as_f64().unwrap();
        assert!(
            (sum - gap).abs() < 1e-5,
            "{model}: values sum to f(x) − E[f]"
        );
        assert_eq!(row["std_err"].is_null(), method != "kernel");
        assert_eq!(json["link"], link);
        if method == "tree" {
            assert_eq!(json["params"]["tree_mode"], "interventional");
            assert!(json["params"].get("samples").is_none());
            assert_eq!(row["model_calls"], 0);
        }
        assert_eq!(
            row["target"], row["prediction"]["class"],
            "default target: the predicted class"
        );
    }
}

#[test]
fn sharded_runs_merge_into_exactly_the_unsharded_output() {
    let dir = tempfile::tempdir().unwrap();
    let model = sample("breast_cancer_mlp.onnx");
    let data = sample("breast_cancer.csv");
    let common = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "explain",
            model.to_str().unwrap(),
            data.to_str().unwrap(),
            "--rows",
            "10..17",
            "--method",
            "permutation",
            "--samples",
            "300",
            "--background",
            "8",
            "--seed",
            "9",
            "--out",
            out.to_str().unwrap(),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = loupe(&refs);
        assert!(o.status.success(), "{}", stderr(&o));
        out.join("attributions.json")
    };
    let whole = common(&dir.path().join("whole"), &[]);
    let shards: Vec<PathBuf> = (0..3)
        .map(|i| {
            common(
                &dir.path().join(format!("s{i}")),
                &["--shard", &format!("{i}/3")],
            )
        })
        .collect();
    let merged = dir.path().join("merged.json");
    let mut args = vec!["merge".to_string()];
    args.extend(shards.iter().rev().map(|p| p.display().to_string()));
    args.extend(["--out".to_string(), merged.display().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = loupe(&refs);
    assert!(o.status.success(), "{}", stderr(&o));
    let (merged, whole_text) = (
        std::fs::read_to_string(&merged).unwrap(),
        std::fs::read_to_string(&whole).unwrap(),
    );
    assert!(
        merged == whole_text,
        "merged shards differ from the unsharded run"
    );

    let o = loupe(&[
        "merge",
        whole.to_str().unwrap(),
        shards[0].to_str().unwrap(),
    ]);
    let err = assert_refused(&o);
    assert!(err.contains("appears in more than one file"), "{err}");
}

#[test]
fn explain_writes_csv_and_waterfall_images() {
    let dir = tempfile::tempdir().unwrap();
    let o = loupe(&[
        "explain",
        sample("breast_cancer_mlp12.onnx").to_str().unwrap(),
        sample("breast_cancer.csv").to_str().unwrap(),
        "--errors",
        "--background",
        "10",
        "--target",
        "malignant,benign",
        "--format",
        "csv",
        "--plots",
        "png",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("with exact (auto)"), "{}", stderr(&o));
    let mut reader = csv::Reader::from_path(dir.path().join("attributions.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "row",
            "feature",
            "value",
            "attribution",
            "std_err",
            "target"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let rows: std::collections::BTreeSet<&str> =
        records.iter().map(|r| r.get(0).unwrap()).collect();
    assert!(!rows.is_empty());
    assert_eq!(
        records.len(),
        rows.len() * 12 * 2,
        "12 features × 2 targets per row"
    );
    for row in &rows {
        for target in ["malignant", "benign"] {
            let png = dir
                .path()
                .join("plots")
                .join(format!("row_{row}_{target}.png"));
            let image = image::open(&png).unwrap();
            assert!(image.width() >= 1800, "{} is drawn at 2×", png.display());
        }
    }
}

#[test]
fn explain_refuses_bad_settings_with_one_line() {
    let model = sample("breast_cancer_mlp.onnx");
    let data = sample("breast_cancer.csv");
    let run = |extra: &[&str]| {
        let mut args = vec!["explain", model.to_str().unwrap(), data.to_str().unwrap()];
        args.extend_from_slice(extra);
        assert_refused(&loupe(&args))
    };
    assert!(
        run(&["--method", "exact", "--rows", "0"])
            .contains("--method exact enumerates at most 20 features")
    );
    assert!(run(&["--rows", "600"]).contains("row 600 is out of range"));
    assert!(run(&["--rows", "a..b"]).contains("expected a range like 0..20"));
    assert!(
        run(&["--target", "tumour"])
            .contains("`tumour` is not a class of this model (malignant, benign)")
    );
    assert!(run(&["--shard", "3/3"]).contains("expected i/n"));
    assert!(run(&["--method", "trees"]).contains("unknown method `trees`"));
    assert!(
        run(&["--method", "tree", "--rows", "0"])
            .contains("--method tree needs a tree ensemble; the model has no tree ensemble")
    );
    assert!(run(&["--plots", "png"]).contains("--out"));
}

#[test]
fn report_writes_html_png_and_pdf_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let model = sample("breast_cancer_gbt.onnx");
    let data = sample("breast_cancer.csv");
    for ext in ["html", "png", "pdf"] {
        let out = dir.path().join(format!("r.{ext}"));
        let o = loupe(&[
            "report",
            model.to_str().unwrap(),
            data.to_str().unwrap(),
            "--row",
            "7",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let bytes = std::fs::read(&out).unwrap();
        match ext {
            "html" => assert!(String::from_utf8(bytes).unwrap().contains("Loupe report")),
            "png" => {
                image::load_from_memory(&bytes).unwrap();
            }
            _ => assert!(bytes.starts_with(b"%PDF-")),
        }
    }
    let run = |row: &str, out: &str| {
        assert_refused(&loupe(&[
            "report",
            model.to_str().unwrap(),
            data.to_str().unwrap(),
            "--row",
            row,
            "--out",
            dir.path().join(out).to_str().unwrap(),
        ]))
    };
    assert!(run("7", "r.docx").contains("the report is written as .html, .png or .pdf"));
    assert!(run("9999", "r.html").contains("row 9999 is out of range"));
}

#[test]
fn explain_on_images_writes_maps_that_follow_the_schema_and_overlays() {
    let schema = attributions_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let o = loupe(&[
        "explain",
        sample("digits_cnn.onnx").to_str().unwrap(),
        sample("digits/digits.csv").to_str().unwrap(),
        "--rows",
        "0..2",
        "--method",
        "occlusion",
        "--out",
        dir.path().to_str().unwrap(),
        "--plots",
        "png",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("attributions.json")).unwrap(),
    )
    .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(json["method"], "occlusion");
    assert_eq!(json["image_shape"], serde_json::json!([28, 28]));
    let row = &json["rows"][0];
    assert_eq!(row["values"].as_array().unwrap().len(), 28 * 28);
    assert!(row["faithfulness"]["deletion_auc"].is_number());
    let plots: Vec<_> = std::fs::read_dir(dir.path().join("plots"))
        .unwrap()
        .collect();
    assert_eq!(plots.len(), 2);
    // The overlay's colour bar is painted in the palette asked for: full colour at its ends
    // (a 28×28 map drawn 8× is 224 high; the bar is 14 high, half a bar below it).
    let colour_bar_ends = |palette: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let (model, data) = (sample("digits_cnn.onnx"), sample("digits/digits.csv"));
        let mut args = vec![
            "explain",
            model.to_str().unwrap(),
            data.to_str().unwrap(),
            "--rows",
            "3",
            "--method",
            "saliency",
            "--out",
            dir.path().to_str().unwrap(),
            "--plots",
            "png",
        ];
        args.extend_from_slice(palette);
        let o = loupe(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let path = std::fs::read_dir(dir.path().join("plots"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let png = image::open(path).unwrap().to_rgb8();
        png.get_pixel(png.width() - 1, 224 + 14).0
    };
    use loupe::plot::overlay::Palette;
    let (r, g, b) = Palette::OrangePurple.up();
    assert_eq!(colour_bar_ends(&["--palette", "orange-purple"]), [r, g, b]);
    let (r, g, b) = Palette::RedBlue.up();
    assert_eq!(colour_bar_ends(&[]), [r, g, b], "the card names no palette");
    // A tabular method on images is refused with the reason.
    let refused = assert_refused(&loupe(&[
        "explain",
        sample("digits_cnn.onnx").to_str().unwrap(),
        sample("digits/digits.csv").to_str().unwrap(),
        "--rows",
        "0",
        "--method",
        "kernel",
    ]));
    assert!(
        refused.contains("for images use one of: occlusion, rise"),
        "{refused}"
    );
}

#[test]
fn an_existing_output_is_replaced_only_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("preds.csv");
    std::fs::write(&out, "keep me").unwrap();
    let args = |force: bool| {
        let mut a = vec![
            "predict".to_string(),
            sample("breast_cancer_logreg.onnx").display().to_string(),
            sample("breast_cancer.csv").display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let refused = assert_refused(&loupe(
        &args(false).iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert!(
        refused.contains("already exists; add --force to replace it"),
        "{refused}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    let o = loupe(&args(true).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("row,label,predicted")
    );
}

fn conformance(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/conformance")
        .join(name)
}

#[test]
fn predict_feeds_missing_cells_to_a_tree_model_and_reads_no_yes_labels_as_classes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("preds.csv");
    let model = conformance("xgboost_binary.onnx");
    let data = conformance("breast_cancer_missing.csv");
    let o = loupe(&[
        "predict",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(
            "note: labels `no`/`yes` in column `label` read as the model's classes 0 and 1"
        ),
        "{}",
        stdout(&o)
    );
    let mut got = csv::Reader::from_path(&out).unwrap();
    let header = got.headers().unwrap().clone();
    let p0 = header.iter().position(|h| h == "p_0").unwrap();
    let mut want =
        csv::Reader::from_path(conformance("xgboost_binary_missing.expected.csv")).unwrap();
    let mut rows = 0;
    for (g, w) in got.records().zip(want.records()) {
        let (g, w) = (g.unwrap(), w.unwrap());
        for c in 0..2 {
            let (g, w): (f64, f64) = (g[p0 + c].parse().unwrap(), w[c].parse().unwrap());
            assert!((g - w).abs() <= 1e-5, "row {rows}: {g} vs onnxruntime {w}");
        }
        rows += 1;
    }
    assert_eq!(rows, 60);
}

#[test]
fn a_missing_cell_for_a_model_without_missing_value_handling_names_row_and_column() {
    let model = conformance("logreg_string_labels_binary.onnx");
    let data = conformance("breast_cancer_missing.csv");
    let o = loupe(&["predict", model.to_str().unwrap(), data.to_str().unwrap()]);
    let err = assert_refused(&o);
    assert!(
        err.contains("row 0 (line 2), column `mean compactness`: missing value"),
        "{err}"
    );
}

#[test]
fn explaining_rows_with_missing_cells_writes_null_by_the_schema_and_reads_back() {
    let schema = attributions_schema();
    let model = conformance("xgboost_binary.onnx");
    let data = conformance("breast_cancer_missing.csv");
    let json = explain_json(&[
        "explain",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        "--rows",
        "0..2",
        "--method",
        "tree",
        "--link",
        "logit",
    ]);
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&json), "{json}");
    // Row 0 has a blank cell in column 5 and `NaN` in column 7 (tools/make_conformance.py).
    let row = &json["rows"][0];
    assert!(
        row["data"][5].is_null() && row["data"][7].is_null(),
        "{row}"
    );
    let values: Vec<f64> = serde_json::from_value(row["values"].clone()).unwrap();
    assert!(values.iter().all(|v| v.is_finite()));
    let file: loupe::export::attributions::AttributionsFile =
        serde_json::from_value(json.clone()).unwrap();
    assert!(file.rows[0].data[5].is_missing());
}

#[test]
fn predict_finds_the_label_column_by_its_values_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(conformance("iris.csv")).unwrap();
    let data = dir.path().join("iris.csv");
    std::fs::write(&data, text.replacen(",label\n", ",species\n", 1)).unwrap();
    let model = conformance("logreg_string_labels.onnx");
    let o = loupe(&["predict", model.to_str().unwrap(), data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("label column `species`"), "{out}");
    assert!(
        out.contains("took `species`, whose values are the model's classes"),
        "{out}"
    );
    assert!(out.contains("accuracy"), "{out}");
}

#[test]
fn report_on_an_image_writes_its_page_with_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("image.html");
    let o = loupe(&[
        "report",
        sample("lesions_cnn.onnx").to_str().unwrap(),
        sample("lesions/lesions.csv").to_str().unwrap(),
        "--row",
        "445",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("Where the model looked, for malignant"));
    assert!(html.contains("data:image/png;base64,"));
}

#[test]
fn a_folder_opened_with_a_model_without_an_image_card_gets_a_reason() {
    let o = loupe(&[
        "predict",
        sample("breast_cancer_mlp.onnx").to_str().unwrap(),
        sample("lesions").to_str().unwrap(),
    ]);
    let err = assert_refused(&o);
    assert!(
        err.contains("is a folder") && err.contains("`image` entry"),
        "{err}"
    );
    assert!(!err.contains("os error"), "{err}");
}

#[test]
fn a_text_feature_is_written_as_its_category_in_json_and_csv() {
    let schema = attributions_schema();
    let (model, data) = (sample("penguins_pipeline.onnx"), sample("penguins.parquet"));
    let json = explain_json(&[
        "explain",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        "--rows",
        "0",
        "--background",
        "10",
    ]);
    assert!(
        jsonschema::validator_for(&schema).unwrap().is_valid(&json),
        "{json}"
    );
    // Row 0 is a male penguin from Torgersen (sample_models/penguins.csv).
    let row = &json["rows"][0];
    assert_eq!(row["data"][0], "Torgersen");
    assert_eq!(row["data"][1], "male");
    assert!(row["data"][2].is_number());
    assert_eq!(json["method"], "exact");
    let o = loupe(&[
        "explain",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        "--rows",
        "0",
        "--background",
        "10",
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(
        csv.lines().any(|l| l.starts_with("0,island,Torgersen,")),
        "{csv}"
    );
}

#[test]
fn a_declared_group_is_one_feature_of_the_output_and_trees_refuse_groups() {
    let schema = attributions_schema();
    let (model, data) = (sample("penguins_pipeline.onnx"), sample("penguins.csv"));
    let (model, data) = (model.to_str().unwrap(), data.to_str().unwrap());
    let args = [
        "explain",
        model,
        data,
        "--rows",
        "0",
        "--background",
        "10",
        "--group",
        "bill=bill_length_mm,bill_depth_mm",
    ];
    let json = explain_json(&args);
    assert!(
        jsonschema::validator_for(&schema).unwrap().is_valid(&json),
        "{json}"
    );
    let names: Vec<&str> = json["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["island", "sex", "bill", "flipper_length_mm", "body_mass_g"]
    );
    assert_eq!(
        json["params"]["groups"]["bill"],
        serde_json::json!(["bill_length_mm", "bill_depth_mm"])
    );
    let row = &json["rows"][0];
    assert_eq!(row["values"].as_array().unwrap().len(), 5);
    assert_eq!(
        row["data"][2],
        "bill_length_mm = 39.1, bill_depth_mm = 18.7"
    );
    let o = loupe(&[&args[..], &["--format", "csv"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = String::from_utf8(o.stdout).unwrap();
    assert!(csv.lines().any(|l| l.starts_with("0,bill,")), "{csv}");

    let err = assert_refused(&loupe(&[
        "explain",
        model,
        data,
        "--group",
        "bill=bill_length_mm,beak",
    ]));
    assert!(
        err.contains("--group `bill` names `beak`, which is not one of the model's columns"),
        "{err}"
    );
    let gbt = sample("breast_cancer_gbt.onnx");
    let cancer = sample("breast_cancer.csv");
    let err = assert_refused(&loupe(&[
        "explain",
        gbt.to_str().unwrap(),
        cancer.to_str().unwrap(),
        "--method",
        "tree",
        "--group",
        "size=mean radius,mean area",
    ]));
    assert!(err.contains("for groups of columns"), "{err}");
}

#[test]
fn a_budget_in_model_rows_is_the_largest_coalition_budget_that_fits() {
    let (model, data) = (
        sample("breast_cancer_mlp.onnx"),
        sample("breast_cancer.csv"),
    );
    let run = |extra: &[&str]| {
        let mut args = vec![
            "explain",
            model.to_str().unwrap(),
            data.to_str().unwrap(),
            "--rows",
            "0..3",
            "--method",
            "kernel",
            "--background",
            "200",
        ];
        args.extend_from_slice(extra);
        loupe(&args)
    };
    let o = run(&["--model-rows", "50000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let samples = json["params"]["samples"].as_u64().unwrap() as usize;
    // The same as asking for that budget, and the next budget would not fit.
    let same = run(&["--samples", &samples.to_string()]);
    assert_eq!(stdout(&o), stdout(&same));
    let session = loupe::session::Session::load(&loupe::session::Source::files(
        model.clone(),
        Some(data.clone()),
        None,
    ))
    .unwrap();
    let cost = |samples: usize| {
        loupe::explain::ExplainSettings {
            method: loupe::explain::kernel::KERNEL,
            samples: Some(samples),
            ..Default::default()
        }
        .cost_per_row(&session.model, 200)
    };
    assert!(cost(samples) <= 50_000 && cost(samples + 1) > 50_000);
    // Each coalition costs a sample of the background, not all 200 rows.
    assert!(samples * 200 > 50_000, "{samples}");
    // Too few rows for any budget, a method with no budget, images, or both budgets: refused.
    for (extra, words) in [
        (
            vec!["--model-rows", "10"],
            "the smallest budget already takes",
        ),
        (
            vec!["--model-rows", "10000", "--samples", "100"],
            "cannot be used with",
        ),
    ] {
        let refused = assert_refused(&run(&extra));
        assert!(refused.contains(words), "{refused}");
    }
    let refused = assert_refused(&loupe(&[
        "explain",
        model.to_str().unwrap(),
        data.to_str().unwrap(),
        "--rows",
        "0",
        "--method",
        "exact",
        "--model-rows",
        "100000",
    ]));
    assert!(refused.contains("exact takes no budget"), "{refused}");
    let refused = assert_refused(&loupe(&[
        "explain",
        sample("digits_cnn.onnx").to_str().unwrap(),
        sample("digits/digits.csv").to_str().unwrap(),
        "--rows",
        "0",
        "--method",
        "occlusion",
        "--model-rows",
        "1000",
    ]));
    assert!(
        refused.contains("--model-rows sets the budget"),
        "{refused}"
    );
}
