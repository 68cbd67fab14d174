//! The case identifier: a column naming each case is shown beside the row number (browser,
//! row header, report title) and is never a feature.

use egui_kittest::kittest::Queryable;
use loupe::session::{Session, Source};

use super::app_on;

fn models() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models")
}

/// The sample CSV with a `patient_id` column (`P-0000`, `P-0001`, …) in front.
fn with_ids(dir: &std::path::Path, column: &str) -> std::path::PathBuf {
    let sample = std::fs::read_to_string(models().join("breast_cancer.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in sample.lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("{column},{line}\n"));
        } else if !line.is_empty() {
            out.push_str(&format!("P-{:04},{line}\n", i - 1));
        }
    }
    let path = dir.join("with_ids.csv");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn a_patient_id_column_names_the_rows_and_is_not_a_feature() {
    let dir = tempfile::tempdir().unwrap();
    let csv = with_ids(dir.path(), "patient_id");
    let source = Source::files(models().join("breast_cancer_mlp.onnx"), Some(csv), None);
    let session = Session::load(&source).unwrap();
    let ids = session
        .ids
        .as_ref()
        .expect("the id column is found by its name");
    assert_eq!(ids.column, "patient_id");
    assert_eq!(ids.values.len(), 569);
    assert_eq!(session.case_id(7), Some("P-0007"));
    let data = session.data.as_ref().unwrap();
    assert_eq!(data.feature_names.len(), 30);
    assert!(!data.feature_names.iter().any(|f| f == "patient_id"));
    // The same predictions as without the column: it took no part in them.
    let plain = Session::load(&Source::sample()).unwrap();
    assert_eq!(
        session.predictions.as_ref().unwrap().outputs,
        plain.predictions.as_ref().unwrap().outputs
    );
    assert!(plain.ids.is_none(), "the sample has no id column");

    let mut harness = app_on(source);
    harness.get_by_label("P-0007");
    harness.get_by_label("#7").click();
    harness.run();
    harness.get_by_label("Row 7 · patient_id P-0007");

    let report = loupe::report::Report::build(
        &session,
        7,
        &loupe::explain::ExplainSettings::default(),
        &loupe::explain::NoProgress,
    )
    .unwrap();
    assert!(
        report.title().starts_with("Patient P-0007 (row 7) · "),
        "{}",
        report.title()
    );
}

#[test]
fn a_card_naming_a_missing_id_column_gets_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let csv = with_ids(dir.path(), "case");
    // Found by its name without a card entry …
    let source = Source::files(
        models().join("breast_cancer_mlp.onnx"),
        Some(csv.clone()),
        None,
    );
    assert_eq!(Session::load(&source).unwrap().ids.unwrap().column, "case");
    // … and a card naming a column the file lacks is refused with the reason.
    let card: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(models().join("breast_cancer_mlp.card.json")).unwrap(),
    )
    .unwrap();
    let mut card = card;
    card["id_column"] = "record".into();
    std::fs::copy(
        models().join("breast_cancer_mlp.onnx"),
        dir.path().join("m.onnx"),
    )
    .unwrap();
    std::fs::write(dir.path().join("m.card.json"), card.to_string()).unwrap();
    let e = Session::load(&Source::files(dir.path().join("m.onnx"), Some(csv), None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("id_column `record` is not a column"), "{e}");
}
