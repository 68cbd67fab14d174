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

#[test]
fn a_dataset_batch_merges_with_command_line_files_of_the_same_settings() {
    // Both record the background rows asked for (not those found), so `loupe merge` joins them.
    let session = Session::load(&Source::sample()).unwrap();
    let settings = ExplainSettings {
        method: loupe::explain::exact::EXACT,
        background_rows: 10_000,
        targets: Targets::Classes(vec![1]),
        ..Default::default()
    };
    let batch = session.explain_dataset(
        &DatasetRequest {
            settings: &settings,
            background_file: None,
            rows: &[0, 1],
            cache: None,
        },
        &NoProgress,
    );
    // The sample's MLP has 30 features: exact is refused, by name.
    let err = batch.err().unwrap().to_string();
    assert!(
        err.contains("exact enumerates at most 20 features"),
        "{err}"
    );
    let settings = ExplainSettings {
        method: loupe::explain::permutation::PERMUTATION,
        samples: Some(64),
        ..settings
    };
    let batch = session
        .explain_dataset(
            &DatasetRequest {
                settings: &settings,
                background_file: None,
                rows: &[0, 1],
                cache: None,
            },
            &NoProgress,
        )
        .unwrap();
    assert_eq!(batch.explanation.file.params.background, 10_000);
    let background = session.background(&settings, None).unwrap();
    let rows = session
        .explain(&[2], &settings, &background, &NoProgress)
        .unwrap();
    let shard = loupe::export::attributions::AttributionsFile::build(
        &session,
        &settings,
        &loupe::export::attributions::BackgroundSource::of(&settings, None),
        &session.data_name,
        &rows,
    );
    let merged =
        loupe::export::attributions::AttributionsFile::merge(vec![batch.explanation.file, shard])
            .unwrap();
    assert_eq!(merged.rows.len(), 3);
}
