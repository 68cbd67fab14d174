//! Kernel and permutation SHAP with a background larger than the rows each coalition is
//! evaluated against: every coalition draws its own stratified sample of the background, and
//! the estimates are scored against exact enumeration over the whole background — small
//! errors, 95% intervals that cover, exact additivity, determinism and fewer model rows.

mod common;

use common::explain_first_output as run;

use common::{sample, sample_data};

use loupe::explain::game::{Game, NoProgress};
use loupe::explain::kernel::{Allocation, DEFAULT_SURROGATE, KernelSampler, kernel_cost};
use loupe::explain::permutation::PermutationShap;
use loupe::explain::{Background, BackgroundMethod, Explainer, Link, exact::Exact, row_rng};
use loupe::model::OnnxModel;

fn kernel(budget: usize, allocation: Allocation, background_rows: usize) -> Box<dyn Explainer> {
    Box::new(KernelSampler {
        budget,
        tolerance: None,
        allocation,
        background_rows,
        surrogate: DEFAULT_SURROGATE,
    })
}

fn permutation(budget: usize, background_rows: usize) -> Box<dyn Explainer> {
    Box::new(PermutationShap {
        budget,
        tolerance: None,
        background_rows,
    })
}

#[test]
fn sampled_background_is_close_to_exact_and_its_intervals_cover_it() {
    let model = OnnxModel::load(&sample("breast_cancer_mlp12.onnx")).unwrap();
    let data = sample_data(&model);
    // 300 rows, each coalition evaluated against 16 of them.
    let bg = Background::pick(data.x.view(), 300, BackgroundMethod::Random, 0).unwrap();
    let rows: Vec<usize> = (0..30).map(|i| i * 18 + 1).collect();
    let exact = run(&model, data.x.view(), &rows, &Exact, &bg, 0);
    let cases: [(&str, Box<dyn Explainer>, f64); 5] = [
        ("kernel", kernel(1200, Allocation::Leverage, 16), 0.03),
        (
            "kernel, shap's design",
            kernel(1200, Allocation::Kernel, 16),
            0.03,
        ),
        (
            "kernel, small budget",
            kernel(200, Allocation::Leverage, 16),
            0.06,
        ),
        (
            "kernel, 4 rows a coalition",
            kernel(1200, Allocation::Leverage, 4),
            0.06,
        ),
        ("permutation", permutation(1200, 16), 0.05),
    ];
    for (name, method, tolerance) in &cases {
        let got = run(&model, data.x.view(), &rows, method.as_ref(), &bg, 11);
        let (mut covered, mut total, mut worst) = (0, 0, 0.0f64);
        for (g, e) in got.iter().zip(&exact) {
            let a = &g.attribution;
            let additivity = a.values.iter().sum::<f64>() - (a.output_value - a.base_value);
            assert!(
                additivity.abs() < 1e-9,
                "{name}: additivity off by {additivity}"
            );
            assert!(
                (a.base_value - e.attribution.base_value).abs() < 1e-12,
                "{name}: the base value is the whole background's"
            );
            let err = a.std_err.as_ref().unwrap();
            for (j, err) in err.iter().enumerate() {
                let gap = (a.values[j] - e.attribution.values[j]).abs();
                worst = worst.max(gap);
                total += 1;
                covered += usize::from(gap <= 1.96 * err + 1e-12);
            }
        }
        let coverage = covered as f64 / total as f64;
        println!("{name}: worst error {worst:.5}, 95% interval coverage {coverage:.3}");
        assert!(worst < *tolerance, "{name}: worst error {worst}");
        assert!(
            coverage >= 0.9,
            "{name}: intervals cover exact for only {coverage:.3} of features"
        );
    }
}

#[test]
fn sampled_background_costs_fewer_model_rows_and_is_deterministic() {
    let model = OnnxModel::load(&sample("breast_cancer_mlp12.onnx")).unwrap();
    let data = sample_data(&model);
    let bg = Background::pick(data.x.view(), 300, BackgroundMethod::Random, 0).unwrap();
    let x = data.x.row(5);
    let calls = |method: &dyn Explainer, seed: u64| {
        let game = Game::new(&model, x, &bg, vec![0], Link::Identity, &NoProgress);
        let out = method.explain(&game, &mut row_rng(seed, 5)).unwrap();
        (game.model_calls(), out)
    };
    let sampled = kernel(1200, Allocation::Leverage, 16);
    let (rows, a) = calls(sampled.as_ref(), 3);
    assert_eq!(
        rows,
        kernel_cost(12, 1200, 300, 16),
        "the cost is what was run"
    );
    let (whole, _) = calls(kernel(1200, Allocation::Leverage, 300).as_ref(), 3);
    assert_eq!(whole, 1202 * 300);
    assert!(rows * 4 < whole, "{rows} model rows against {whole}");
    // Same (seed, row), same values; another seed, others.
    assert_eq!(calls(sampled.as_ref(), 3).1, a);
    assert_ne!(calls(sampled.as_ref(), 4).1, a);
    let perm = permutation(440, 16);
    let (perm_rows, p) = calls(perm.as_ref(), 3);
    // 20 antithetic pairs of walks, 22 inner prefixes each against 16 rows; the endpoints and
    // the rows' own outputs against all 300.
    assert_eq!(perm_rows, 20 * 22 * 16 + 3 * 300);
    assert_eq!(calls(perm.as_ref(), 3).1, p);
    // A row's values do not depend on the rows explained with it, so shards merge exactly.
    for method in [sampled.as_ref(), perm.as_ref()] {
        let together = run(&model, data.x.view(), &[3, 5, 8], method, &bg, 9);
        let alone = run(&model, data.x.view(), &[5], method, &bg, 9);
        assert_eq!(together[1], alone[0]);
    }
}
