//! Tree ensembles: Loupe's evaluator against onnxruntime's committed outputs (probabilities to
//! 1e-6, labels exact, values exactly on thresholds), and TreeSHAP against brute-force
//! enumeration of the same game, additivity, and how `auto` picks it.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::sample;
use loupe::analysis::Predictions;
use loupe::data::{Dataset, Table};
use loupe::explain::game::NoProgress;
use loupe::explain::run::explain_rows;
use loupe::explain::{
    Background, BackgroundMethod, ExplainSettings, Link, Method, TreeMode, TreeShap, exact::Exact,
};
use loupe::model::OnnxModel;
use loupe::model::trees::TreeEnsemble;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/trees")
        .join(name)
}

/// A model from `sample_models/` or `tests/data/trees/`.
fn model_path(name: &str) -> PathBuf {
    let bundled = sample(&format!("{name}.onnx"));
    if bundled.exists() {
        bundled
    } else {
        fixture(&format!("{name}.onnx"))
    }
}

fn load(model: &str, data: &Path) -> (OnnxModel, Dataset) {
    let model = OnnxModel::load(&model_path(model)).unwrap();
    let table = Table::from_path(data).unwrap();
    let data = Dataset::from_table(&table, loupe::session::schema_for(&model, None)).unwrap();
    (model, data)
}

/// onnxruntime's outputs: the label (if any) and the score columns of every row.
fn expected(path: &Path) -> Vec<(Option<usize>, Vec<f64>)> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    let has_label = &header[1] == "label";
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let label = has_label.then(|| r[1].parse().unwrap());
            let first = if has_label { 2 } else { 1 };
            let scores = (first..r.len()).map(|i| r[i].parse().unwrap()).collect();
            (label, scores)
        })
        .collect()
}

/// Every row's scores within 1e-6 of onnxruntime's (relative to the value for a regressor,
/// whose leaves onnxruntime sums in float32 where Loupe sums in f64) and every predicted class
/// its label.
fn assert_matches_onnxruntime(model: &str, data: &Path, reference: &Path) {
    let (m, d) = load(model, data);
    assert!(m.trees().is_some(), "{model}: {}", m.tree_note());
    let p = m.predict(d.x.view()).unwrap();
    let predictions = Predictions::compute(&m, &d).unwrap();
    let want = expected(reference);
    assert_eq!(p.nrows(), want.len(), "{model}: rows");
    let mut worst = 0f64;
    for (row, (label, scores)) in want.iter().enumerate() {
        assert_eq!(p.ncols(), scores.len(), "{model}: columns");
        for (c, &s) in scores.iter().enumerate() {
            worst = worst.max((p[[row, c]] as f64 - s).abs() / s.abs().max(1.0));
        }
        if let Some(label) = label {
            assert_eq!(
                predictions.predicted[row], *label,
                "{model} row {row}: label differs from onnxruntime"
            );
        }
    }
    assert!(worst < 1e-6, "{model}: largest difference {worst:e}");
}

#[test]
fn every_tree_model_matches_onnxruntime() {
    let breast = sample("breast_cancer.csv");
    for (model, data) in [
        ("breast_cancer_gbt", breast.clone()),
        ("breast_cancer_rf", breast.clone()),
        ("breast_cancer_hgb", breast.clone()),
        ("breast_cancer_gbt10", breast.clone()),
        ("wine_gbt", fixture("wine.csv")),
        ("wine_rf", fixture("wine.csv")),
        ("diabetes_gbr", fixture("diabetes.csv")),
    ] {
        let reference = if sample(&format!("{model}.onnx")).exists() {
            sample(&format!("expected/{model}.csv"))
        } else {
            fixture(&format!("{model}.expected.csv"))
        };
        assert_matches_onnxruntime(model, &data, &reference);
    }
}

#[test]
fn values_exactly_on_thresholds_are_routed_as_onnxruntime_routes_them() {
    let ties = fixture("ties.csv");
    let (m, d) = load("breast_cancer_gbt", &ties);
    // The fixture really puts values on the model's thresholds.
    let trees = m.trees().unwrap();
    let on_threshold = (0..d.len())
        .filter(|&r| {
            trees
                .nodes
                .iter()
                .any(|n| !n.is_leaf() && d.x[[r, n.feature as usize]] as f64 == n.threshold)
        })
        .count();
    assert_eq!(on_threshold, d.len(), "rows with a value on a threshold");
    assert_matches_onnxruntime(
        "breast_cancer_gbt",
        &ties,
        &fixture("breast_cancer_gbt.ties.expected.csv"),
    );
}

/// The margin of score column `c` for row `x`: what TreeSHAP explains.
fn margin(trees: &TreeEnsemble, x: &[f32], c: usize) -> f64 {
    let m = trees.column_margin(c);
    m.offset + m.scale * trees.raw(x)[m.slot]
}

/// Interventional Shapley values of the margin by enumerating every coalition, in f64.
fn brute_force(trees: &TreeEnsemble, x: &[f32], bg: &Background, c: usize) -> Vec<f64> {
    let m = x.len();
    let factorial = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    let v: Vec<f64> = (0..1usize << m)
        .map(|s| {
            bg.rows
                .rows()
                .into_iter()
                .zip(&bg.weights)
                .map(|(z, w)| {
                    let h: Vec<f32> = (0..m)
                        .map(|j| if s >> j & 1 == 1 { x[j] } else { z[j] })
                        .collect();
                    w * margin(trees, &h, c)
                })
                .sum()
        })
        .collect();
    (0..m)
        .map(|i| {
            (0..1usize << m)
                .filter(|s| s >> i & 1 == 0)
                .map(|s| {
                    let k = s.count_ones() as usize;
                    factorial(k) * factorial(m - k - 1) / factorial(m) * (v[s | 1 << i] - v[s])
                })
                .sum()
        })
        .collect()
}

#[test]
fn interventional_tree_shap_equals_brute_force_on_a_ten_feature_model() {
    let (m, d) = load("breast_cancer_gbt10", &sample("breast_cancer.csv"));
    let trees = m.trees().unwrap().clone();
    assert_eq!(trees.margin_link(), Some(Link::Logit));
    let bg = Background::pick(d.x.view(), 20, BackgroundMethod::Random, 3).unwrap();
    let shap = TreeShap::interventional(trees.clone(), &bg, Link::Logit).unwrap();
    for row in [0usize, 7, 300] {
        let x = d.x.row(row).to_vec();
        for c in [0, 1] {
            let got = &shap.attribution(d.x.row(row), &[c])[0];
            let want = brute_force(&trees, &x, &bg, c);
            for (j, want) in want.iter().enumerate().take(10) {
                assert!(
                    (got.values[j] - want).abs() < 1e-9,
                    "row {row} class {c} feature {j}: {} vs {want}",
                    got.values[j],
                );
            }
            let sum: f64 = got.values.iter().sum();
            assert!((got.base_value + sum - got.output_value).abs() < 1e-9);
            assert!((got.output_value - margin(&trees, &x, c)).abs() < 1e-12);
        }
    }
    // The same quantity as Loupe's exact explainer on the ONNX model in log-odds (which goes
    // through float32 probabilities, hence the looser tolerance).
    let rows = [0usize, 7];
    let exact = explain_rows(
        &m,
        d.x.view(),
        &rows,
        &|_| vec![0],
        &Exact,
        &bg,
        Link::Logit,
        0,
        &NoProgress,
    )
    .unwrap();
    for e in exact {
        let tree = &shap.attribution(d.x.row(e.row), &[0])[0];
        for j in 0..10 {
            let diff = (tree.values[j] - e.attribution.values[j]).abs();
            assert!(diff < 1e-4, "row {} feature {j}: {diff:e}", e.row);
        }
    }
}

#[test]
fn tree_shap_is_additive_on_every_tree_model_and_both_modes() {
    let breast = sample("breast_cancer.csv");
    for (model, data, link) in [
        ("breast_cancer_gbt", breast.clone(), Link::Logit),
        ("breast_cancer_rf", breast.clone(), Link::Identity),
        ("breast_cancer_hgb", breast.clone(), Link::Logit),
        ("wine_rf", fixture("wine.csv"), Link::Identity),
        ("diabetes_gbr", fixture("diabetes.csv"), Link::Identity),
    ] {
        let (m, d) = load(model, &data);
        let outputs = m.predict(d.x.view()).unwrap();
        for mode in [TreeMode::Interventional, TreeMode::PathDependent] {
            let settings = ExplainSettings {
                method: Method::default(),
                link,
                tree_mode: mode,
                ..Default::default()
            };
            assert_eq!(
                settings.resolved_method(&m),
                loupe::explain::tree_method::TREE,
                "{model}"
            );
            let bg = settings.background(&d, None).unwrap();
            let explainer = settings.explainer(&m, &d, &bg).unwrap();
            let columns: Vec<usize> = (0..m.n_outputs()).collect();
            let rows: Vec<usize> = (0..d.len()).step_by(37).collect();
            let explained = explain_rows(
                &m,
                d.x.view(),
                &rows,
                &|_| columns.clone(),
                &*explainer,
                &bg,
                link,
                0,
                &NoProgress,
            )
            .unwrap();
            for e in explained {
                let a = &e.attribution;
                let sum: f64 = a.values.iter().sum();
                assert!(
                    (a.base_value + sum - a.output_value).abs() < 1e-9,
                    "{model} {mode:?} row {}: not additive",
                    e.row
                );
                assert_eq!(e.model_calls, 0);
                // The explained output is the model's own score in that space.
                let score = outputs[[e.row, e.target]];
                let want = link.apply(score);
                let tolerance = if link == Link::Logit {
                    1e-3
                } else {
                    1e-4 * want.abs().max(1.0)
                };
                assert!(
                    (a.output_value - want).abs() < tolerance,
                    "{model} row {} class {}: output {} but the model says {want}",
                    e.row,
                    e.target,
                    a.output_value
                );
            }
        }
    }
}

#[test]
fn auto_picks_tree_shap_only_where_it_is_exact() {
    let breast = sample("breast_cancer.csv");
    let (gbt, _) = load("breast_cancer_gbt", &breast);
    assert_eq!(
        Method::default().resolve_for(&gbt, Link::Logit),
        loupe::explain::tree_method::TREE
    );
    // Probabilities of a boosted model are a sigmoid of the trees: sampled.
    assert_eq!(
        Method::default().resolve_for(&gbt, Link::Identity),
        loupe::explain::kernel::KERNEL
    );
    let (rf, _) = load("breast_cancer_rf", &breast);
    assert_eq!(
        Method::default().resolve_for(&rf, Link::Identity),
        loupe::explain::tree_method::TREE
    );
    let (mlp, _) = load("breast_cancer_mlp", &breast);
    assert!(mlp.trees().is_none());
    assert_eq!(
        Method::default().resolve_for(&mlp, Link::Logit),
        loupe::explain::kernel::KERNEL
    );

    // A softmax over classes has no additive margin: `tree` is refused with the reason.
    let (wine, d) = load("wine_gbt", &fixture("wine.csv"));
    assert!(wine.trees().is_some());
    assert_eq!(
        Method::default().resolve_for(&wine, Link::Identity),
        loupe::explain::kernel::KERNEL
    );
    let settings = ExplainSettings {
        method: loupe::explain::tree_method::TREE,
        ..Default::default()
    };
    let bg = settings.background(&d, None).unwrap();
    let err = settings
        .explainer(&wine, &d, &bg)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("softmax"), "{err}");
    // Asking for tree in the wrong space says which space works.
    let settings = ExplainSettings {
        method: loupe::explain::tree_method::TREE,
        link: Link::Identity,
        ..Default::default()
    };
    let (_, d) = load("breast_cancer_gbt", &breast);
    let bg = settings.background(&d, None).unwrap();
    let err = settings.explainer(&gbt, &d, &bg).err().unwrap().to_string();
    assert!(err.contains("(link logit)"), "{err}");
    // An MLP has no trees.
    let err = settings.explainer(&mlp, &d, &bg).err().unwrap().to_string();
    assert!(err.contains("needs a tree ensemble"), "{err}");
    let _ = Arc::strong_count(gbt.trees().unwrap());
}
