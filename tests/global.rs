//! Explaining a dataset as a whole: the batch is cached on disk under a key of everything that
//! changes it, reads back identical, and a change of settings misses the cache.

mod common;

use common::sample;
use loupe::explain::{ExplainSettings, NoProgress, Targets};
use loupe::session::dataset::{DatasetRequest, GlobalExplanation, sample_rows};
use loupe::session::{Session, Source};

#[test]
fn a_batch_is_cached_and_read_back_identical() {
    let session = Session::load(&Source::files(
        sample("breast_cancer_mlp12.onnx"),
        Some(sample("breast_cancer.csv")),
        None,
    ))
    .unwrap();
    let data = session.data.clone().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let settings = ExplainSettings {
        method: loupe::explain::exact::EXACT,
        background_rows: 10,
        targets: Targets::Classes(vec![0]),
        ..Default::default()
    };
    let rows = sample_rows(data.len(), 25, settings.seed);
    let run = |settings: &ExplainSettings| {
        session
            .explain_dataset(
                &DatasetRequest {
                    settings,
                    background_file: None,
                    rows: &rows,
                    cache: Some(cache.path()),
                },
                &NoProgress,
            )
            .unwrap()
    };
    let first = run(&settings);
    assert!(!first.from_cache);
    let again = run(&settings);
    assert!(again.from_cache, "the second run reads the cache");
    assert_eq!(again.explanation.file, first.explanation.file);
    assert_eq!(again.explanation.values, first.explanation.values);
    assert_eq!(first.explanation.rows, rows);
    // Each row's values are that row's explanation, in feature order, with its own data.
    let e: &GlobalExplanation = &first.explanation;
    assert_eq!(e.values.dim(), (25, 12));
    assert_eq!(e.features.row(3), data.x.row(rows[3]));
    // Other settings, other key.
    let other = ExplainSettings {
        seed: 1,
        ..settings.clone()
    };
    assert!(!run(&other).from_cache);
}
