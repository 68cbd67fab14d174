//! Attributions against ground truth that could fail: a closed form for a linear ONNX model,
//! brute-force enumeration written here independently, additivity, interval coverage,
//! determinism.

mod common;

use common::{brute_force, sample, sample_data};

use loupe::explain::game::{NoProgress, Predict};
use loupe::explain::kernel::{
    Allocation, DEFAULT_BACKGROUND_ROWS, DEFAULT_SURROGATE, KernelSampler, KernelShap,
};
use loupe::explain::permutation::PermutationShap;
use loupe::explain::run::{RowExplanation, explain_rows};
use loupe::explain::{Background, BackgroundMethod, Explainer, Link, exact::Exact};
use loupe::model::{ModelCard, ModelError, OnnxModel};
use ndarray::{Array2, ArrayView2};
use prost::Message;
use tract_onnx::pb;

#[allow(clippy::too_many_arguments)]
fn run(
    model: &dyn Predict,
    x: ArrayView2<f32>,
    rows: &[usize],
    targets: Vec<usize>,
    explainer: &dyn Explainer,
    bg: &Background,
    link: Link,
    seed: u64,
) -> Vec<RowExplanation> {
    explain_rows(
        model,
        x,
        rows,
        &|_| targets.clone(),
        explainer,
        bg,
        link,
        seed,
        &NoProgress,
    )
    .unwrap()
}

/// A linear regression as an ONNX graph: y = x·w + b (MatMul, Add), built here byte by byte.
fn linear_onnx(w: &[f32], b: f32) -> Vec<u8> {
    let m = w.len() as i64;
    use common::onnx::{info, node, tensor};
    let graph = pb::GraphProto {
        name: "linear".into(),
        node: vec![
            node("MatMul", &["x", "w"], "xw", vec![]),
            node("Add", &["xw", "b"], "y", vec![]),
        ],
        initializer: vec![
            tensor("w", vec![m, 1], w.to_vec()),
            tensor("b", vec![1], vec![b]),
        ],
        input: vec![info("x", vec![None, Some(m)])],
        output: vec![info("y", vec![None, Some(1)])],
        ..Default::default()
    };
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn exact_equals_the_closed_form_of_a_linear_onnx_model() {
    // Dyadic values keep every float32 product and sum exact, so any gap is the method's.
    let w = [0.5f32, -0.25, 1.0, 0.125, -0.75, 0.375, 0.0, 2.0];
    let card = ModelCard {
        task: Some("regression".into()),
        ..Default::default()
    };
    let model =
        OnnxModel::from_bytes(&linear_onnx(&w, 0.5), Some(card), "linear.onnx", None).unwrap();
    let m = w.len();
    let x = Array2::from_shape_fn((6, m), |(r, j)| ((r * 7 + j * 3) % 11) as f32 / 4.0 - 1.25);
    let bg_rows = Array2::from_shape_fn((5, m), |(r, j)| ((r * 5 + j * 2) % 9) as f32 / 8.0 - 0.5);
    let bg = Background {
        rows: bg_rows,
        weights: vec![0.1, 0.3, 0.2, 0.25, 0.15],
    };
    let mean = bg.mean();
    let out = run(
        &model,
        x.view(),
        &[0, 1, 2, 3, 4, 5],
        vec![0],
        &Exact,
        &bg,
        Link::Identity,
        0,
    );
    for e in out {
        for j in 0..m {
            let closed = w[j] as f64 * (x[[e.row, j]] as f64 - mean[j]);
            assert!(
                (e.attribution.values[j] - closed).abs() < 1e-6,
                "row {} feature {j}",
                e.row
            );
        }
    }
}

/// A small nonlinear model with interactions, written as a closure.
struct Nonlinear;
impl Predict for Nonlinear {
    fn predict(&self, x: ArrayView2<f32>) -> Result<Array2<f32>, ModelError> {
        Ok(Array2::from_shape_fn((x.nrows(), 2), |(r, k)| {
            let v = x.row(r);
            let z = v[0] * v[1] - (v[2] * 1.5).sin() + v[3].max(0.0) * v[4] + 0.3 * v[5] * v[5];
            let p = 1.0 / (1.0 + (-z).exp());
            if k == 0 { p } else { 1.0 - p }
        }))
    }
}

fn nonlinear_case() -> (Array2<f32>, Background) {
    let x = Array2::from_shape_fn((4, 7), |(r, j)| ((r * 13 + j * 7) % 10) as f32 / 3.0 - 1.5);
    let bg = Background::all(
        Array2::from_shape_fn((9, 7), |(r, j)| ((r * 3 + j * 5) % 8) as f32 / 4.0 - 1.0).view(),
    )
    .unwrap();
    (x, bg)
}

#[test]
fn exact_equals_brute_force_on_a_nonlinear_model() {
    let (x, bg) = nonlinear_case();
    let out = run(
        &Nonlinear,
        x.view(),
        &[0, 1, 2, 3],
        vec![0, 1],
        &Exact,
        &bg,
        Link::Identity,
        0,
    );
    assert_eq!(out.len(), 8, "one explanation per row and target");
    for e in &out {
        let truth = brute_force(&Nonlinear, x.row(e.row).as_slice().unwrap(), &bg, e.target);
        for (j, (a, b)) in e.attribution.values.iter().zip(&truth).enumerate() {
            assert!(
                (a - b).abs() < 1e-9,
                "row {} target {} feature {j}: {a} vs {b}",
                e.row,
                e.target
            );
        }
    }
    // The two classes' probabilities sum to one, so their attributions are opposite.
    for pair in out.chunks(2) {
        for (a, b) in pair[0]
            .attribution
            .values
            .iter()
            .zip(&pair[1].attribution.values)
        {
            assert!((a + b).abs() < 1e-6);
        }
    }
}

#[test]
fn exact_equals_brute_force_on_the_12_feature_mlp() {
    let model = OnnxModel::load(&sample("breast_cancer_mlp12.onnx")).unwrap();
    let data = sample_data(&model);
    let bg = Background::pick(data.x.view(), 20, BackgroundMethod::Random, 1).unwrap();
    let out = run(
        &model,
        data.x.view(),
        &[3, 40],
        vec![0],
        &Exact,
        &bg,
        Link::Identity,
        0,
    );
    for e in out {
        let truth = brute_force(&model, data.x.row(e.row).as_slice().unwrap(), &bg, 0);
        for (a, b) in e.attribution.values.iter().zip(&truth) {
            assert!((a - b).abs() < 1e-9, "row {}: {a} vs {b}", e.row);
        }
    }
}

fn additivity_error(e: &RowExplanation) -> f64 {
    let a = &e.attribution;
    (a.values.iter().sum::<f64>() - (a.output_value - a.base_value)).abs()
}

#[test]
fn every_method_is_additive() {
    let model = OnnxModel::load(&sample("breast_cancer_mlp.onnx")).unwrap();
    let data = sample_data(&model);
    let bg = Background::pick(data.x.view(), 30, BackgroundMethod::Kmeans, 0).unwrap();
    let methods: [(&str, Box<dyn Explainer>); 2] = [
        (
            "kernel",
            Box::new(KernelShap {
                budget: 600,
                tolerance: None,
            }),
        ),
        (
            "permutation",
            Box::new(PermutationShap {
                budget: 600,
                tolerance: None,
                background_rows: DEFAULT_BACKGROUND_ROWS,
            }),
        ),
    ];
    for (name, method) in &methods {
        for link in [Link::Identity, Link::Logit] {
            for e in run(
                &model,
                data.x.view(),
                &[0, 19, 200],
                vec![0, 1],
                method.as_ref(),
                &bg,
                link,
                5,
            ) {
                assert!(additivity_error(&e) < 1e-5, "{name} {link:?} row {}", e.row);
            }
        }
    }
    let (x, bg) = nonlinear_case();
    for e in run(
        &Nonlinear,
        x.view(),
        &[0, 1],
        vec![0],
        &Exact,
        &bg,
        Link::Logit,
        0,
    ) {
        assert!(additivity_error(&e) < 1e-9);
    }
}

/// Sampled methods against exact on the 12-feature MLP: small error, honest intervals.
#[test]
fn sampled_methods_are_close_to_exact_and_their_intervals_cover_it() {
    let model = OnnxModel::load(&sample("breast_cancer_mlp12.onnx")).unwrap();
    let data = sample_data(&model);
    let bg = Background::pick(data.x.view(), 50, BackgroundMethod::Random, 0).unwrap();
    let rows: Vec<usize> = (0..40).map(|i| i * 14).collect();
    let exact = run(
        &model,
        data.x.view(),
        &rows,
        vec![0],
        &Exact,
        &bg,
        Link::Identity,
        0,
    );
    let cases: [(&str, Box<dyn Explainer>, f64); 4] = [
        // Budgets below the default so sampling really happens for all.
        (
            "kernel",
            Box::new(KernelShap {
                budget: 1200,
                tolerance: None,
            }),
            0.015,
        ),
        (
            "kernel, shap's design",
            Box::new(KernelSampler {
                budget: 1200,
                tolerance: None,
                allocation: Allocation::Kernel,
                background_rows: DEFAULT_BACKGROUND_ROWS,
                surrogate: DEFAULT_SURROGATE,
            }),
            0.015,
        ),
        (
            "kernel, small budget",
            Box::new(KernelShap {
                budget: 200,
                tolerance: None,
            }),
            0.04,
        ),
        (
            "permutation",
            Box::new(PermutationShap {
                budget: 1200,
                tolerance: None,
                background_rows: DEFAULT_BACKGROUND_ROWS,
            }),
            0.04,
        ),
    ];
    for (name, method, tolerance) in &cases {
        let got = run(
            &model,
            data.x.view(),
            &rows,
            vec![0],
            method.as_ref(),
            &bg,
            Link::Identity,
            11,
        );
        let (mut covered, mut total, mut worst) = (0, 0, 0.0f64);
        for (g, e) in got.iter().zip(&exact) {
            let err = g.attribution.std_err.as_ref().unwrap();
            for (j, err) in err.iter().enumerate().take(12) {
                let gap = (g.attribution.values[j] - e.attribution.values[j]).abs();
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
fn same_seed_same_output_other_seed_other_output() {
    let model = OnnxModel::load(&sample("breast_cancer_mlp.onnx")).unwrap();
    let data = sample_data(&model);
    let bg = Background::pick(data.x.view(), 20, BackgroundMethod::Random, 0).unwrap();
    let kernel = KernelShap {
        budget: 300,
        tolerance: None,
    };
    let a = run(
        &model,
        data.x.view(),
        &[1, 2],
        vec![0],
        &kernel,
        &bg,
        Link::Identity,
        42,
    );
    let b = run(
        &model,
        data.x.view(),
        &[1, 2],
        vec![0],
        &kernel,
        &bg,
        Link::Identity,
        42,
    );
    let c = run(
        &model,
        data.x.view(),
        &[1, 2],
        vec![0],
        &kernel,
        &bg,
        Link::Identity,
        43,
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
    // A row's result does not depend on the other rows explained with it.
    let alone = run(
        &model,
        data.x.view(),
        &[2],
        vec![0],
        &kernel,
        &bg,
        Link::Identity,
        42,
    );
    assert_eq!(alone[0], a[1]);
}

#[test]
fn exact_refuses_more_than_twenty_features() {
    let bg = Background::all(Array2::<f32>::zeros((1, 21)).view()).unwrap();
    let x = Array2::<f32>::zeros((1, 21));
    let err = explain_rows(
        &Nonlinear,
        x.view(),
        &[0],
        &|_| vec![0],
        &Exact,
        &bg,
        Link::Identity,
        0,
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("method exact enumerates at most 20 features"),
        "{err}"
    );
}

#[test]
fn kernel_with_a_budget_covering_every_coalition_is_exact() {
    let (x, bg) = nonlinear_case();
    let exact = run(
        &Nonlinear,
        x.view(),
        &[0, 3],
        vec![0],
        &Exact,
        &bg,
        Link::Identity,
        0,
    );
    let kernel = KernelShap {
        budget: 1 << 7,
        tolerance: None,
    };
    let got = run(
        &Nonlinear,
        x.view(),
        &[0, 3],
        vec![0],
        &kernel,
        &bg,
        Link::Identity,
        0,
    );
    for (g, e) in got.iter().zip(&exact) {
        for (a, b) in g.attribution.values.iter().zip(&e.attribution.values) {
            assert!((a - b).abs() < 1e-9);
        }
    }
}

#[test]
fn tolerance_stops_sampling_early() {
    let model = OnnxModel::load(&sample("breast_cancer_mlp.onnx")).unwrap();
    let data = sample_data(&model);
    let bg = Background::pick(data.x.view(), 10, BackgroundMethod::First, 0).unwrap();
    let full = run(
        &model,
        data.x.view(),
        &[0],
        vec![0],
        &PermutationShap {
            budget: 20_000,
            tolerance: None,
            background_rows: DEFAULT_BACKGROUND_ROWS,
        },
        &bg,
        Link::Identity,
        0,
    );
    let early = run(
        &model,
        data.x.view(),
        &[0],
        vec![0],
        &PermutationShap {
            budget: 20_000,
            tolerance: Some(0.2),
            background_rows: DEFAULT_BACKGROUND_ROWS,
        },
        &bg,
        Link::Identity,
        0,
    );
    assert!(
        early[0].model_calls < full[0].model_calls / 2,
        "{} vs {}",
        early[0].model_calls,
        full[0].model_calls
    );
}

#[test]
fn why_a_not_b_is_the_difference_of_the_two_explanations_and_additive() {
    use loupe::explain::{ExplainSettings, Targets};
    use loupe::session::{Session, Source};
    let source = Source::files(
        sample("breast_cancer_mlp12.onnx"),
        Some(sample("breast_cancer.csv")),
        None,
    );
    let session = Session::load(&source).unwrap();
    let data = session.data.clone().unwrap();
    for (method, link) in [
        (loupe::explain::exact::EXACT, Link::Identity),
        (loupe::explain::kernel::KERNEL, Link::Logit),
    ] {
        let settings = ExplainSettings {
            method,
            link,
            background_rows: 20,
            ..Default::default()
        };
        let bg = settings.background(&data, None).unwrap();
        let row = 5;
        let why = session
            .explain_versus(row, (0, 1), &settings, &bg, &loupe::explain::NoProgress)
            .unwrap();
        assert_eq!((why.target, why.versus), (0, Some(1)));
        let a = &why.attribution;
        let sum: f64 = a.values.iter().sum();
        assert!(
            (a.base_value + sum - a.output_value).abs() < 1e-9,
            "{method:?}: additive"
        );
        if method == loupe::explain::exact::EXACT {
            let one = |class: usize| {
                let s = ExplainSettings {
                    targets: Targets::Classes(vec![class]),
                    ..settings.clone()
                };
                session
                    .explain(&[row], &s, &bg, &loupe::explain::NoProgress)
                    .unwrap()[0]
                    .attribution
                    .clone()
            };
            let (p, q) = (one(0), one(1));
            for j in 0..12 {
                assert!((a.values[j] - (p.values[j] - q.values[j])).abs() < 1e-12);
            }
            // With probabilities P(a) − P(b) = 2·P(a) − 1: twice a's explanation.
            for j in 0..12 {
                assert!((a.values[j] - 2.0 * p.values[j]).abs() < 1e-6);
            }
        }
    }
}
