//! Gradients of real PyTorch exports against PyTorch's autograd (goldens made by
//! tools/make_gradients.py): input gradients, Integrated Gradients and Grad-CAM maps of a
//! small CNN with BatchNorm, pooling and Concat, a MobileNetV3-Small and a ResNet-18 layout;
//! and Integrated Gradients' completeness on Loupe's sample CNNs.

use std::path::{Path, PathBuf};

use loupe::data::ImageShape;
use loupe::explain::NoProgress;
use loupe::explain::image::gradcam;
use loupe::explain::image::ig::IG;
use loupe::explain::image::{Baseline, ImageSettings};
use loupe::model::{OnnxModel, Wrt};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gradients")
}

struct Goldens {
    index: serde_json::Value,
    blob: Vec<f32>,
}

impl Goldens {
    fn load() -> Goldens {
        let index: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir().join("goldens.json")).unwrap())
                .unwrap();
        let bytes = std::fs::read(dir().join("goldens.bin")).unwrap();
        let blob = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Goldens { index, blob }
    }
    fn array(&self, entry: &serde_json::Value) -> (Vec<usize>, Vec<f32>) {
        let offset = entry["offset"].as_u64().unwrap() as usize;
        let shape: Vec<usize> = entry["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let n: usize = shape.iter().product();
        (shape, self.blob[offset..offset + n].to_vec())
    }
}

/// max |a − b| / max |b|.
fn relative_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs()));
    let worst = a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
    worst / scale
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

const MODELS: [&str; 3] = ["small_cnn", "mobilenet_v3_small", "resnet18"];

#[test]
fn input_gradients_match_pytorch_autograd() {
    let goldens = Goldens::load();
    for name in MODELS {
        let model = OnnxModel::load(&dir().join(format!("{name}.onnx"))).unwrap();
        model.gradient_support().unwrap();
        for case in goldens.index["models"][name].as_array().unwrap() {
            let target = case["target"].as_u64().unwrap() as usize;
            let (_, x) = goldens.array(&case["input"]);
            let (_, want) = goldens.array(&case["gradient"]);
            let got = model.gradients(&x, 1, target, Wrt::Input).unwrap();
            let score = case["score"].as_f64().unwrap();
            assert!(
                (got.scores[0] - score).abs() < 1e-5,
                "{name}: score {} vs {score}",
                got.scores[0]
            );
            let err = relative_error(&f64s(&got.grads), &f64s(&want));
            eprintln!("{name} class {target}: input gradient relative error {err:.2e}");
            assert!(err <= 1e-3, "{name}: relative error {err:.2e}");
        }
    }
}

fn shape_of(model: &OnnxModel) -> ImageShape {
    ImageShape::from_layout(None, None, None, model.row_shape()).unwrap()
}

#[test]
fn integrated_gradients_match_pytorch() {
    let goldens = Goldens::load();
    let steps = goldens.index["ig_steps"].as_f64().unwrap();
    for name in MODELS {
        let model = OnnxModel::load(&dir().join(format!("{name}.onnx"))).unwrap();
        let shape = shape_of(&model);
        let settings = ImageSettings {
            method: IG,
            baseline: Baseline::Black,
            ..Default::default()
        }
        .with_param("steps", steps)
        .with_param("rule", 0.0);
        for case in goldens.index["models"][name].as_array().unwrap() {
            let target = case["target"].as_u64().unwrap() as usize;
            let (_, x) = goldens.array(&case["input"]);
            let (_, want) = goldens.array(&case["ig"]);
            let map = settings
                .explain(&model, &x, &shape, target, &NoProgress)
                .unwrap();
            let err = relative_error(&map.values, &f64s(&want));
            eprintln!(
                "{name} class {target}: IG relative error {err:.2e}, gap {:.2e}",
                map.completeness_gap.unwrap()
            );
            assert!(err <= 1e-3, "{name}: IG relative error {err:.2e}");
        }
    }
}

#[test]
fn grad_cam_matches_pytorch_grad_cam() {
    let goldens = Goldens::load();
    for name in MODELS {
        let model = OnnxModel::load(&dir().join(format!("{name}.onnx"))).unwrap();
        for case in goldens.index["models"][name].as_array().unwrap() {
            let target = case["target"].as_u64().unwrap() as usize;
            let (_, x) = goldens.array(&case["input"]);
            let (shape, want) = goldens.array(&case["gradcam"]);
            let cam = gradcam::cam(&model, &x, target, false, &NoProgress).unwrap();
            assert_eq!(
                [cam.height, cam.width],
                [shape[0], shape[1]],
                "{name}: layer {}",
                cam.layer
            );
            let r = correlation(&cam.values, &f64s(&want));
            let err = relative_error(&cam.values, &f64s(&want));
            eprintln!(
                "{name} class {target}: Grad-CAM on `{}` correlation {r:.6}, relative error {err:.2e}",
                cam.layer
            );
            assert!(r >= 0.999, "{name}: correlation {r:.6}");
        }
    }
}

/// Integrated Gradients' completeness gap at 64 steps by the default (adaptive) rule, on
/// the first 48 images of both sample CNNs, from a black and a blurred baseline: every map is within
/// 1% of f(x) − f(x′). On the digits CNN the probability of a black image's path saturates
/// within a few percent of the path; 64 even steps leave some maps at 1–2% (checked here too,
/// so that the test shows what the adaptive rule buys), and the adaptive rule puts its
/// gradients there. Maps whose f(x) − f(x′) is lost in float32 rounding (a saturated
/// probability moves by 1e-7) are not counted.
#[test]
fn integrated_gradients_are_complete_on_the_sample_cnns() {
    const IMAGES: usize = 48;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
    for (model, data) in [
        ("lesions_cnn", "lesions/lesions.csv"),
        ("digits_cnn", "digits/digits.csv"),
    ] {
        let session = loupe::session::Session::load(&loupe::session::Source::files(
            root.join(format!("{model}.onnx")),
            Some(root.join(data)),
            None,
        ))
        .unwrap();
        let data = session.data.clone().unwrap();
        let images = data.images.clone().unwrap();
        let predicted = &session.predictions.as_ref().unwrap().predicted;
        let mut worst_even = 0f64;
        let mut ratios: Vec<(f64, usize, Baseline)> = Vec::new();
        for baseline in [Baseline::Black, Baseline::Blur] {
            let settings = ImageSettings {
                method: IG,
                baseline,
                ..Default::default()
            }
            .with_param("steps", 64.0);
            let even = settings.clone().with_param("rule", 0.0);
            for (row, &class) in predicted.iter().enumerate().take(IMAGES) {
                let x = data.x.row(row).to_vec();
                let map = settings
                    .explain(&session.model, &x, &images.shape, class, &NoProgress)
                    .unwrap();
                assert_eq!(map.model_calls, 64 + 3);
                let delta = map.output_value - map.base_value;
                let gap = map.completeness_gap.unwrap();
                if delta.abs() >= 0.05 {
                    ratios.push((gap.abs() / delta.abs(), row, baseline));
                    let e = even
                        .explain(&session.model, &x, &images.shape, class, &NoProgress)
                        .unwrap();
                    worst_even = worst_even.max(e.completeness_gap.unwrap().abs() / delta.abs());
                }
            }
        }
        ratios.sort_by(|a, b| b.0.total_cmp(&a.0));
        eprintln!(
            "{model}: {} maps; worst {:.3}% (row {}, {}); 64 even steps: worst {:.3}%",
            ratios.len(),
            100.0 * ratios[0].0,
            ratios[0].1,
            ratios[0].2.name(),
            100.0 * worst_even
        );
        assert!(
            ratios.len() >= 20,
            "{model}: {} maps with a measurable difference",
            ratios.len()
        );
        assert!(
            ratios[0].0 <= 0.01,
            "{model}: worst gap {:.3}% (row {}, {})",
            100.0 * ratios[0].0,
            ratios[0].1,
            ratios[0].2.name()
        );
    }
}
