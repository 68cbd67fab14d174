//! The `loupe` command line, run as a subprocess the way scripts run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample_models")
        .join(name)
}

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
