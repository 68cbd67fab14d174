//! The CSV loader: any bytes → `Table`, then matched to four kinds of model. A table that
//! matches must hold only finite features (NaN too for a model that handles missing values)
//! and one label and split per row.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loupe::data::{Dataset, Labels, Schema, Table};

fuzz_target!(|data: &[u8]| {
    loupe_fuzz::guard_aware_panics();
    let table = match Table::from_reader("fuzz.csv", data) {
        Ok(table) => table,
        Err(_) => return loupe_fuzz::note("table refused"),
    };
    let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let classes: Vec<String> = ["no", "yes"].map(String::from).to_vec();
    let schemas = [
        Schema {
            n_features: 3,
            feature_names: Some(&names),
            class_names: &classes,
            label_column: None,
            missing_values: false,
        },
        Schema {
            n_features: 3,
            feature_names: None,
            class_names: &classes,
            label_column: Some("label"),
            missing_values: false,
        },
        Schema {
            n_features: 2,
            feature_names: None,
            class_names: &[],
            label_column: None,
            missing_values: false,
        },
        Schema {
            n_features: 2,
            feature_names: None,
            class_names: &classes[..1],
            label_column: None,
            missing_values: true,
        },
    ];
    for schema in schemas {
        let Ok(d) = Dataset::from_table(&table, schema) else {
            loupe_fuzz::note("dataset refused");
            continue;
        };
        loupe_fuzz::note("dataset");
        assert_eq!(d.x.ncols(), schema.n_features);
        assert_eq!(d.feature_names.len(), schema.n_features);
        assert!(
            d.x.iter()
                .all(|v| v.is_finite() || (schema.missing_values && v.is_nan())),
            "a non-finite feature got through"
        );
        match &d.labels {
            Some(Labels::Classes(c)) => {
                assert_eq!(c.len(), d.len());
                assert!(c.iter().all(|&k| k < schema.class_names.len()));
            }
            Some(Labels::Values(v)) => assert_eq!(v.len(), d.len()),
            None => {}
        }
        if let Some(split) = &d.split {
            assert_eq!(split.len(), d.len());
        }
    }
});
