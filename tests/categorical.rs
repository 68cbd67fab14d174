//! The mixed-type sample (penguins: island and sex as text, four measurements; a scikit-learn
//! ColumnTransformer pipeline exported from a DataFrame): predictions against onnxruntime's,
//! raw-column Shapley values against brute-force enumeration over the raw columns, sampled
//! methods' intervals against exact, and the Parquet copy against the CSV.

mod common;

// Brute force over the raw columns: each hybrid row takes the explained row's value (a
// category's code, whatever the graph encodes it as) for the subset, a background row's for
// the rest.
use common::{brute_force, sample};

use loupe::data::{Dataset, Table};
use loupe::explain::exact::Exact;
use loupe::explain::game::NoProgress;
use loupe::explain::kernel::{DEFAULT_BACKGROUND_ROWS, KernelShap};
use loupe::explain::permutation::PermutationShap;
use loupe::explain::run::{RowExplanation, explain_rows};
use loupe::explain::{Background, BackgroundMethod, Explainer, Link};
use loupe::model::OnnxModel;

fn model() -> OnnxModel {
    OnnxModel::load(&sample("penguins_pipeline.onnx")).unwrap()
}

fn data(model: &OnnxModel, file: &str) -> Dataset {
    let table = Table::from_path(&sample(file)).unwrap();
    Dataset::from_table(&table, loupe::session::schema_for(model, None)).unwrap()
}

fn explain(
    model: &OnnxModel,
    data: &Dataset,
    rows: &[usize],
    explainer: &dyn Explainer,
    bg: &Background,
    seed: u64,
) -> Vec<RowExplanation> {
    explain_rows(
        model,
        data.x.view(),
        rows,
        &|_| vec![1],
        explainer,
        bg,
        Link::Identity,
        seed,
        &NoProgress,
    )
    .unwrap()
}

#[test]
fn the_pipeline_predicts_as_onnxruntime_on_text_categories() {
    let model = model();
    let data = data(&model, "penguins.csv");
    assert_eq!(data.feature_names[..2], ["island", "sex"]);
    let island = data.categories[0].as_ref().expect("island is a category");
    assert_eq!(island.name(data.x[[0, 0]]), Some("Torgersen"));
    let got = model.predict(data.x.view()).unwrap();
    let text = std::fs::read_to_string(sample("penguins_pipeline.expected.csv")).unwrap();
    let mut worst = 0f64;
    for (r, line) in text.lines().skip(1).enumerate() {
        for (c, v) in line.split(',').skip(1).enumerate() {
            worst = worst.max((got[[r, c]] as f64 - v.parse::<f64>().unwrap()).abs());
        }
    }
    assert!(worst < 1e-5, "{worst}");
}

#[test]
fn exact_raw_column_shapley_values_equal_brute_force_and_add_up() {
    let model = model();
    let data = data(&model, "penguins.csv");
    let bg = Background::pick(data.x.view(), 30, BackgroundMethod::Random, 3).unwrap();
    // Rows from each island and species.
    let rows = [0, 60, 150, 220, 300];
    for e in explain(&model, &data, &rows, &Exact, &bg, 0) {
        let truth = brute_force(&model, data.x.row(e.row).as_slice().unwrap(), &bg, 1);
        for (j, (a, b)) in e.attribution.values.iter().zip(&truth).enumerate() {
            assert!((a - b).abs() < 1e-6, "row {} column {j}: {a} vs {b}", e.row);
        }
        let a = &e.attribution;
        let gap = a.values.iter().sum::<f64>() - (a.output_value - a.base_value);
        assert!(gap.abs() < 1e-6, "row {}: additivity off by {gap}", e.row);
    }
}

#[test]
fn sampled_methods_cover_the_exact_raw_column_values() {
    let model = model();
    let data = data(&model, "penguins.csv");
    let bg = Background::pick(data.x.view(), 40, BackgroundMethod::Random, 0).unwrap();
    let rows: Vec<usize> = (0..30).map(|i| i * 11).collect();
    let exact = explain(&model, &data, &rows, &Exact, &bg, 0);
    // Budgets that sample (6 columns have 62 proper coalitions).
    let permutation = |budget| -> Box<dyn Explainer> {
        Box::new(PermutationShap {
            budget,
            tolerance: None,
            background_rows: DEFAULT_BACKGROUND_ROWS,
        })
    };
    let methods: [(&str, Box<dyn Explainer>); 4] = [
        (
            "kernel",
            Box::new(KernelShap {
                budget: 40,
                tolerance: None,
            }),
        ),
        ("permutation", permutation(120)),
        // A budget of 2 pairs of walks runs the minimum of 4 (2 pairs covered 0.77, 3 pairs
        // 0.86, with Student's quantiles); 6 pairs.
        ("permutation, budget 24", permutation(24)),
        ("permutation, 6 pairs", permutation(60)),
    ];
    for (name, method) in &methods {
        let got = explain(&model, &data, &rows, method.as_ref(), &bg, 7);
        let (mut covered, mut total) = (0, 0);
        for (g, e) in got.iter().zip(&exact) {
            let err = g.attribution.std_err.as_ref().unwrap();
            for (j, err) in err.iter().enumerate() {
                let gap = (g.attribution.values[j] - e.attribution.values[j]).abs();
                total += 1;
                covered += usize::from(gap <= 1.96 * err + 1e-9);
            }
        }
        let coverage = covered as f64 / total as f64;
        println!("{name}: 95% interval coverage {coverage:.3}");
        assert!(coverage >= 0.9, "{name}: coverage {coverage:.3}");
    }
}

#[test]
fn the_parquet_copy_gives_identical_rows_predictions_and_attributions() {
    let model = model();
    let (csv, parquet) = (
        data(&model, "penguins.csv"),
        data(&model, "penguins.parquet"),
    );
    assert_eq!(csv.x, parquet.x);
    assert_eq!(csv.labels, parquet.labels);
    assert_eq!(csv.split, parquet.split);
    assert_eq!(csv.categories, parquet.categories);
    assert_eq!(
        model.predict(csv.x.view()).unwrap(),
        model.predict(parquet.x.view()).unwrap()
    );
    let bg = Background::pick(csv.x.view(), 20, BackgroundMethod::Random, 1).unwrap();
    let a = explain(&model, &csv, &[5, 9], &Exact, &bg, 0);
    let b = explain(&model, &parquet, &[5, 9], &Exact, &bg, 0);
    for (a, b) in a.iter().zip(&b) {
        assert_eq!(a.attribution.values, b.attribution.values);
    }
}

#[test]
fn a_category_the_model_does_not_know_is_named_with_the_ones_it_does() {
    let model = model();
    let text = std::fs::read_to_string(sample("penguins.csv"))
        .unwrap()
        .replacen("Torgersen", "Atlantis", 1);
    let table = Table::from_reader("penguins.csv", text.as_bytes()).unwrap();
    let err = Dataset::from_table(&table, loupe::session::schema_for(&model, None))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "penguins.csv: row 0 (line 2), column `island`: `Atlantis` is not one of the \
         categories the model knows (Biscoe, Dream, Torgersen)"
    );
}

#[test]
fn trees_behind_an_encoder_say_so_and_auto_plays_the_raw_columns() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/conformance/penguins_ordinal_tree.onnx");
    let model = OnnxModel::load(&path).unwrap();
    let settings = loupe::explain::ExplainSettings::default();
    let fit = settings.fit(&model);
    let why = loupe::explain::tree_method::TREE
        .check(&fit)
        .unwrap_err()
        .to_string();
    assert!(
        why.contains("reads the columns through other operators inside the graph"),
        "{why}"
    );
    assert_eq!(settings.resolved_method(&model).name(), "exact");
}
