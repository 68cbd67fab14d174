//! Benchmark of tree ensembles: prediction time per row (Loupe's evaluator inside the tract
//! plan, every row of the data in one call), and TreeSHAP time per explained row, interventional
//! and path-dependent. Same rows and background as `tools/bench_trees.py`: rows 0..N of the
//! data, the first B training rows as the background, class 1's margin (log-odds) explained.
//!
//!     cargo run --release --example bench_trees -- sample_models/breast_cancer_gbt.onnx \
//!         sample_models/breast_cancer.csv 100 50 [SHAP_JSON]
//!
//! With SHAP_JSON (written by `tools/bench_trees.py --out`), also prints the largest difference
//! between Loupe's interventional values and shap's.

use std::time::Instant;

use loupe::explain::run::RowExplanation;
use loupe::explain::{BackgroundMethod, ExplainSettings, Link, NoProgress, Targets, TreeMode};
use loupe::session::{Session, Source};

/// Median of `repeats` timings of `f`, each run repeated until it takes ≥ `min_seconds`;
/// returns seconds per call.
fn median_time(repeats: usize, min_seconds: f64, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            let mut calls = 0u32;
            while calls == 0 || start.elapsed().as_secs_f64() < min_seconds {
                f();
                calls += 1;
            }
            start.elapsed().as_secs_f64() / calls as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, data, rows, background, shap_json) = match args.as_slice() {
        [m, d, r, b] => (m, d, r, b, None),
        [m, d, r, b, j] => (m, d, r, b, Some(j)),
        _ => anyhow::bail!("usage: bench_trees MODEL DATA ROWS BACKGROUND [SHAP_JSON]"),
    };
    let session = Session::load(&Source::files(model.into(), Some(data.into()), None))?;
    let dataset = session
        .data
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no data"))?;
    let trees = session
        .model
        .trees()
        .ok_or_else(|| anyhow::anyhow!("{model}: {}", session.model.tree_note()))?;
    let rows: Vec<usize> = (0..dataset.len().min(rows.parse()?)).collect();
    println!(
        "model {model}: {} trees, {} nodes, {} features; {} rows; threads {}",
        trees.n_trees(),
        trees.nodes.len(),
        session.model.n_features(),
        dataset.len(),
        rayon::current_num_threads()
    );

    let x = dataset.x.view();
    let predict = median_time(5, 1.0, || {
        session.model.predict(x).expect("predict");
    });
    println!(
        "predict: {:.3} µs/row ({} rows per call)",
        predict * 1e6 / dataset.len() as f64,
        dataset.len()
    );

    let link = trees.margin_link().unwrap_or(Link::Identity);
    let base = ExplainSettings {
        method: loupe::explain::tree_method::TREE,
        background_rows: background.parse()?,
        background_method: BackgroundMethod::First,
        targets: Targets::Classes(vec![1.min(session.model.n_outputs() - 1)]),
        link,
        ..ExplainSettings::default()
    };
    let bg = base.background(&dataset, None)?;
    let mut interventional: Vec<RowExplanation> = Vec::new();
    for mode in [TreeMode::Interventional, TreeMode::PathDependent] {
        let settings = ExplainSettings {
            tree_mode: mode,
            ..base.clone()
        };
        let mut out = Vec::new();
        let seconds = median_time(3, 0.5, || {
            out = session
                .explain(&rows, &settings, &bg, &NoProgress)
                .expect("explain");
        });
        println!(
            "tree shap ({}, background {}): {:.1} µs/row",
            mode.name(),
            bg.len(),
            seconds * 1e6 / rows.len() as f64
        );
        if mode == TreeMode::Interventional {
            interventional = out;
        }
    }

    if let Some(path) = shap_json {
        let text = std::fs::read_to_string(path)?;
        let json: serde_json::Value = serde_json::from_str(&text)?;
        let values = json
            .pointer("/shap_values/interventional")
            .or_else(|| json.get("shap_values"))
            .and_then(|v| v.as_array())
            .ok_or_else(|| anyhow::anyhow!("{path}: no shap_values"))?;
        let mut worst = 0f64;
        for (e, theirs) in interventional.iter().zip(values) {
            let theirs = theirs.as_array().cloned().unwrap_or_default();
            for (a, b) in e.attribution.values.iter().zip(theirs) {
                worst = worst.max((a - b.as_f64().unwrap_or(f64::NAN)).abs());
            }
        }
        println!("largest difference from shap's interventional values: {worst:.3e}");
    }
    Ok(())
}
