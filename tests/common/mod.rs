//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use loupe::data::{Dataset, Schema, Table};
use loupe::model::OnnxModel;

/// A file in `sample_models/`.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sample_models")
        .join(name)
}

/// The bundled breast cancer data, matched to `model`.
pub fn sample_data(model: &OnnxModel) -> Dataset {
    let table = Table::from_path(&sample("breast_cancer.csv")).unwrap();
    Dataset::from_table(&table, Schema::for_model(model, None)).unwrap()
}
