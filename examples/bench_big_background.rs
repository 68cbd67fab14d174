//! A large background against its k-means summary: KernelSHAP (the default design and budget)
//! with 1,000 background rows used whole, with a 100-row k-means summary of them used whole,
//! and with the 1,000 rows sampled per coalition (BACKGROUND_ROWS rows each, at the default
//! budget and at BUDGETS), all scored against a long run on the 1,000-row game (the values a
//! user asks for when passing 1,000 rows).
//!
//!     cargo run --release --example bench_big_background -- sample_models/breast_cancer_mlp.onnx \
//!         sample_models/breast_cancer.csv 4 5 16,64 4096
//!
//! The 1,000 rows are drawn with replacement from the training rows (seed 0; the data set has
//! 426); the explained rows are the first ROWS test rows, class 0's probability; SEEDS seeds.

use std::time::Instant;

use loupe::data::Split;
use loupe::explain::kernel::{
    DEFAULT_ALLOCATION, DEFAULT_BACKGROUND_ROWS, DEFAULT_SURROGATE, KernelSampler,
};
use loupe::explain::permutation::PermutationShap;
use loupe::explain::run::explain_rows;
use loupe::explain::{Background, BackgroundMethod, Explainer, Link, NoProgress};
use loupe::session::{Session, Source};
use rand::{Rng, SeedableRng};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, data, rows, seeds, per_coalition, budgets] = args.as_slice() else {
        anyhow::bail!(
            "usage: bench_big_background MODEL DATA ROWS SEEDS BACKGROUND_ROWS,… BUDGETS,…"
        );
    };
    let list = |s: &str| -> anyhow::Result<Vec<usize>> {
        Ok(s.split(',')
            .filter(|x| !x.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()?)
    };
    let (per_coalition, budgets) = (list(per_coalition)?, list(budgets)?);
    let session = Session::load(&Source::files(model.into(), Some(data.into()), None))?;
    let dataset = session
        .data
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no data"))?;
    let split = dataset.split.clone().unwrap_or_default();
    let train: Vec<usize> = (0..dataset.len())
        .filter(|&r| split.get(r) == Some(&Split::Train))
        .collect();
    let test: Vec<usize> = (0..dataset.len())
        .filter(|&r| split.get(r) == Some(&Split::Test))
        .take(rows.parse()?)
        .collect();
    let seeds: u64 = seeds.parse()?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let picks: Vec<usize> = (0..1000)
        .map(|_| train[rng.random_range(0..train.len())])
        .collect();
    let big = Background::all(dataset.x.select(ndarray::Axis(0), &picks).view())?;
    let summary = Background::pick(big.rows.view(), 100, BackgroundMethod::Kmeans, 0)?;
    let m = session.model.n_features();
    let budget = 2 * m + 2048;
    let x = dataset.x.view();
    let kernel = |budget: usize, background_rows: usize| -> Box<dyn Explainer> {
        Box::new(KernelSampler {
            budget,
            tolerance: None,
            allocation: DEFAULT_ALLOCATION,
            background_rows,
            surrogate: DEFAULT_SURROGATE,
        })
    };
    let permutation = |budget: usize, background_rows: usize| -> Box<dyn Explainer> {
        Box::new(PermutationShap {
            budget,
            tolerance: None,
            background_rows,
        })
    };
    let run = |bg: &Background, explainer: &dyn Explainer, seed: u64| {
        let start = Instant::now();
        let out = explain_rows(
            session.model.as_ref(),
            x,
            &test,
            &|_| vec![0],
            explainer,
            bg,
            Link::Identity,
            seed,
            &NoProgress,
        )
        .expect("explain");
        (start.elapsed().as_secs_f64() / test.len() as f64, out)
    };
    let long = 1 << 17;
    let (t_truth, truth) = run(&big, kernel(long, usize::MAX).as_ref(), 1000);
    let worst_se = truth
        .iter()
        .flat_map(|e| e.attribution.std_err.clone().unwrap_or_default())
        .fold(0.0f64, f64::max);
    println!(
        "{m} features, {} explained rows, background 1000 rows; reference: budget {long} \
         ({t_truth:.1} s/row, largest std err {worst_se:.2e}); budget {budget}",
        test.len()
    );
    let mut cases: Vec<(String, &Background, Box<dyn Explainer>)> = vec![
        ("1000 rows, whole".into(), &big, kernel(budget, usize::MAX)),
        (
            "100-row k-means, whole".into(),
            &summary,
            kernel(budget, usize::MAX),
        ),
    ];
    for &r in &per_coalition {
        for &b in std::iter::once(&budget).chain(&budgets) {
            cases.push((
                format!("1000 rows, {r} a coalition, budget {b}"),
                &big,
                kernel(b, r),
            ));
        }
    }
    cases.push((
        "permutation, 1000 rows, whole".into(),
        &big,
        permutation(budget, usize::MAX),
    ));
    cases.push((
        "permutation, 100-row k-means, whole".into(),
        &summary,
        permutation(budget, usize::MAX),
    ));
    cases.push((
        format!("permutation, 1000 rows, {DEFAULT_BACKGROUND_ROWS} a walk"),
        &big,
        permutation(budget, DEFAULT_BACKGROUND_ROWS),
    ));
    for (name, bg, explainer) in cases {
        let (mut times, mut errors, mut model_rows) = (Vec::new(), Vec::new(), 0);
        let mut covered = 0;
        for seed in 0..seeds {
            let (t, out) = run(bg, explainer.as_ref(), seed);
            times.push(t);
            for (e, r) in out.iter().zip(&truth) {
                model_rows += e.model_calls;
                let se = e.attribution.std_err.clone().unwrap_or_default();
                for (j, (a, b)) in e
                    .attribution
                    .values
                    .iter()
                    .zip(&r.attribution.values)
                    .enumerate()
                {
                    errors.push((a - b).abs());
                    covered +=
                        usize::from((a - b).abs() <= 1.96 * se.get(j).copied().unwrap_or(0.0));
                }
            }
        }
        times.sort_by(f64::total_cmp);
        let mae = errors.iter().sum::<f64>() / errors.len() as f64;
        let max = errors.iter().copied().fold(0.0, f64::max);
        println!(
            "{name:<40} {:8.1} ms/row (median of {seeds})  {:>9} model rows/row  mean abs error \
             {mae:.2e}  max {max:.2e}  95% coverage {:.2}",
            times[times.len() / 2] * 1e3,
            model_rows / (seeds * test.len() as u64),
            covered as f64 / errors.len() as f64,
        );
    }
    Ok(())
}
