//! Benchmark of the tabular explainers: time per row, model rows per row, error against exact
//! (when M ≤ 16), and the time of pure batched inference of the same number of model rows.
//! Same rows and background as `tools/bench_shap.py`: the first N test rows, the first 50
//! training rows, class 0 explained as a probability.
//!
//!     cargo run --release --example bench_explain -- sample_models/breast_cancer_mlp12.onnx \
//!         sample_models/breast_cancer.csv 20 50 [BUDGET]

use std::time::Instant;

use loupe::data::Split;
use loupe::explain::run::RowExplanation;
use loupe::explain::{BackgroundMethod, ExplainSettings, Method, NoProgress, Targets};
use loupe::session::{Session, Source};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, data, rows, background, budget) = match args.as_slice() {
        [m, d, r, b] => (m, d, r, b, None),
        [m, d, r, b, budget] => (m, d, r, b, Some(budget.parse::<usize>()?)),
        _ => anyhow::bail!("usage: bench_explain MODEL DATA ROWS BACKGROUND [BUDGET]"),
    };
    let session = Session::load(&Source::files(model.into(), Some(data.into()), None))?;
    let dataset = session
        .data
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no data"))?;
    let split = dataset.split.clone().unwrap_or_default();
    let rows: Vec<usize> = (0..dataset.len())
        .filter(|&r| split.get(r) == Some(&Split::Test))
        .take(rows.parse()?)
        .collect();
    let m = session.model.n_features();
    let base = ExplainSettings {
        background_rows: background.parse()?,
        background_method: BackgroundMethod::First,
        targets: Targets::Classes(vec![0]),
        samples: budget,
        ..ExplainSettings::default()
    };
    let bg = base.background(&dataset, None)?;
    println!(
        "model {model}: {m} features, {} rows, background {}, budget {}",
        rows.len(),
        bg.len(),
        Method::default_budget(m)
    );
    println!("threads: {}", rayon::current_num_threads());

    let timed = |method: Method| -> anyhow::Result<(f64, Vec<RowExplanation>)> {
        let settings = ExplainSettings {
            method,
            ..base.clone()
        };
        let start = Instant::now();
        let out = session.explain(&rows, &settings, &bg, &NoProgress)?;
        Ok((
            start.elapsed().as_secs_f64() * 1000.0 / rows.len() as f64,
            out,
        ))
    };
    let exact = if m <= 16 {
        Some(timed(loupe::explain::exact::EXACT)?)
    } else {
        None
    };
    if let Some((ms, out)) = &exact {
        println!(
            "exact        {ms:9.2} ms/row  {:>8} model rows/row",
            out[0].model_calls
        );
    }
    for method in [
        loupe::explain::kernel::KERNEL,
        loupe::explain::permutation::PERMUTATION,
    ] {
        let (ms, out) = timed(method)?;
        let calls = out[0].model_calls as usize;
        // Pure inference of as many rows as the method evaluated for one explained row.
        let x = dataset.x.select(
            ndarray::Axis(0),
            &(0..calls).map(|i| i % dataset.len()).collect::<Vec<_>>(),
        );
        // The median of 15 runs: single runs of a few milliseconds are noisy.
        let mut times: Vec<f64> = (0..15)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(session.model.predict(x.view()).ok());
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let inference = times[times.len() / 2];
        let mut line = format!(
            "{:<12} {ms:9.2} ms/row  {calls:>8} model rows/row  inference alone {inference:8.2} ms  ratio {:.2}",
            method.name(),
            ms / inference
        );
        if let Some((_, truth)) = &exact {
            let errors: Vec<f64> = out
                .iter()
                .zip(truth)
                .flat_map(|(a, b)| {
                    a.attribution
                        .values
                        .iter()
                        .zip(&b.attribution.values)
                        .map(|(x, y)| (x - y).abs())
                })
                .collect();
            let max = errors.iter().copied().fold(0.0, f64::max);
            let mean = errors.iter().sum::<f64>() / errors.len() as f64;
            let rmse = (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt();
            line.push_str(&format!(
                "  error vs exact: max {max:.5} mean {mean:.6} rmse {rmse:.6}"
            ));
        }
        println!("{line}");
    }
    Ok(())
}
