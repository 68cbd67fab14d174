//! Error against model evaluations of Loupe's sampled explainers, for `tools/bench_sampling.py`:
//! explains every row of X.csv against the rows of BG.csv (equal weights, output TARGET as is)
//! with each method, budget and seed, and writes one CSV line per explained row:
//! `method,budget,seed,row,model_rows,micros,value_0,…`. `exact` is written once (budget 0).
//!
//!     cargo run --release --example bench_sampling -- MODEL X.csv BG.csv TARGET \
//!         kernel,leverage,permutation 256,512,1024 20 > out.csv

use std::time::Instant;

use loupe::explain::kernel::{
    Allocation, DEFAULT_BACKGROUND_ROWS, DEFAULT_SURROGATE, KernelSampler, Surrogate,
};
use loupe::explain::permutation::PermutationShap;
use loupe::explain::run::explain_rows;
use loupe::explain::{Background, Explainer, Link, NoProgress, exact::Exact};
use loupe::model::OnnxModel;
use ndarray::Array2;

fn read_matrix(path: &str) -> anyhow::Result<Array2<f32>> {
    let text = std::fs::read_to_string(path)?;
    let rows: Vec<Vec<f32>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse::<f32>()).collect())
        .collect::<Result<_, _>>()?;
    let m = rows.first().map_or(0, Vec::len);
    anyhow::ensure!(rows.iter().all(|r| r.len() == m), "{path}: ragged rows");
    Ok(Array2::from_shape_vec((rows.len(), m), rows.concat())?)
}

fn explainer(name: &str, budget: usize) -> anyhow::Result<Box<dyn Explainer>> {
    let sampler = |allocation, surrogate| -> Box<dyn Explainer> {
        Box::new(KernelSampler {
            budget,
            tolerance: None,
            allocation,
            background_rows: DEFAULT_BACKGROUND_ROWS,
            surrogate,
        })
    };
    Ok(match name {
        "kernel" => Box::new(loupe::explain::kernel::KernelShap {
            budget,
            tolerance: None,
        }),
        "kernel-shap-design" => sampler(Allocation::Kernel, DEFAULT_SURROGATE),
        "kernel-proportional" => sampler(Allocation::Proportional, DEFAULT_SURROGATE),
        "kernel-leverage" => sampler(Allocation::Leverage, DEFAULT_SURROGATE),
        "kernel-linear" => sampler(Allocation::Leverage, Surrogate::Linear),
        "kernel-dense" => sampler(Allocation::Leverage, Surrogate::OddCubic),
        "kernel-sparse" => sampler(Allocation::Leverage, Surrogate::Sparse),
        "kernel-kriging" => sampler(Allocation::Leverage, Surrogate::Kriging),
        // A long run standing in for exact enumeration past 20 features.
        "reference" => sampler(Allocation::Leverage, Surrogate::Linear),
        "permutation" => Box::new(PermutationShap {
            budget,
            tolerance: None,
            background_rows: DEFAULT_BACKGROUND_ROWS,
        }),
        "exact" => Box::new(Exact),
        other => anyhow::bail!("unknown method {other}"),
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, x, bg, target, methods, budgets, seeds] = args.as_slice() else {
        anyhow::bail!("usage: bench_sampling MODEL X.csv BG.csv TARGET METHODS BUDGETS SEEDS");
    };
    let model = OnnxModel::load(std::path::Path::new(model))?;
    let x = read_matrix(x)?;
    let background = Background::all(read_matrix(bg)?.view())?;
    let target: usize = target.parse()?;
    let budgets: Vec<usize> = budgets
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let seeds: u64 = seeds.parse()?;
    let rows: Vec<usize> = (0..x.nrows()).collect();
    for method in methods.split(',') {
        let runs: Vec<(usize, u64)> = if method == "exact" {
            vec![(0, 0)]
        } else {
            budgets
                .iter()
                .flat_map(|&b| (0..seeds).map(move |s| (b, s)))
                .collect()
        };
        for (budget, seed) in runs {
            let explainer = explainer(method, budget)?;
            let start = Instant::now();
            let out = explain_rows(
                &model,
                x.view(),
                &rows,
                &|_| vec![target],
                explainer.as_ref(),
                &background,
                Link::Identity,
                seed,
                &NoProgress,
            )?;
            let micros = start.elapsed().as_secs_f64() * 1e6 / rows.len() as f64;
            for e in out {
                let values: Vec<String> = e
                    .attribution
                    .values
                    .iter()
                    .map(|v| format!("{v:.9e}"))
                    .collect();
                println!(
                    "{method},{budget},{seed},{},{},{micros:.1},{}",
                    e.row,
                    e.model_calls / background.len() as u64,
                    values.join(",")
                );
            }
        }
    }
    Ok(())
}
