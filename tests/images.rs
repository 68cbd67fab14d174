//! Image explanations against ground truth: a model built here whose output depends only on a
//! known region of the image, so every method's map must point at that region; superpixel SHAP
//! is additive; deletion beats random orders; a model with a random last layer gives another
//! map.

mod common;

use loupe::analysis::faithfulness::{Faithfulness, map_correlation};
use loupe::data::ImageShape;
use loupe::explain::Method;
use loupe::explain::NoProgress;
use loupe::explain::image::gradcam::GRADCAM;
use loupe::explain::image::gradient::{GRADXINPUT, SALIENCY, SMOOTHGRAD};
use loupe::explain::image::ig::IG;
use loupe::explain::image::occlusion::OCCLUSION;
use loupe::explain::image::rise::RISE;
use loupe::explain::image::scorecam::SCORECAM;
use loupe::explain::image::superpixel::SUPERPIXEL;
use loupe::explain::image::{Baseline, ImageSettings, SaliencyMap};
use loupe::explain::registry::ImageInput;
use loupe::model::card::ImageSpec;
use loupe::model::{ModelCard, OnnxModel};
use prost::Message;
use rand::{Rng, SeedableRng};
use tract_onnx::pb;

const SIDE: usize = 32;
/// The region the model reads: rows and columns [lo, hi), on the superpixel grid (4 px).
const REGION: (usize, usize, usize, usize) = (8, 20, 12, 24);

fn inside(y: usize, x: usize) -> bool {
    (REGION.0..REGION.1).contains(&y) && (REGION.2..REGION.3).contains(&x)
}

/// p(on) = sigmoid(0.1 · Σ_region mean-over-channels(x) − 7): nothing outside the region
/// matters. The masked grey image is the `act` tensor (Score-CAM's layer).
fn region_model() -> OnnxModel {
    use common::onnx::{info, node, tensor};
    let ints = |name: &str, v: Vec<i64>| pb::AttributeProto {
        name: name.into(),
        ints: v,
        r#type: 7,
        ..Default::default()
    };
    let int = |name: &str, v: i64| pb::AttributeProto {
        name: name.into(),
        i: v,
        r#type: 2,
        ..Default::default()
    };
    let n = SIDE * SIDE;
    let mask: Vec<f32> = (0..n)
        .map(|i| inside(i / SIDE, i % SIDE) as u8 as f32)
        .collect();
    let graph = pb::GraphProto {
        name: "region".into(),
        node: vec![
            node(
                "ReduceMean",
                &["x"],
                "grey",
                vec![ints("axes", vec![1]), int("keepdims", 1)],
            ),
            node("Mul", &["grey", "mask"], "act", vec![]),
            node("Flatten", &["act"], "flat", vec![int("axis", 1)]),
            node("MatMul", &["flat", "w"], "z", vec![]),
            node("Add", &["z", "b"], "logit", vec![]),
            node("Sigmoid", &["logit"], "p", vec![]),
        ],
        initializer: vec![
            tensor("mask", vec![1, 1, SIDE as i64, SIDE as i64], mask),
            tensor("w", vec![n as i64, 1], vec![0.1; n]),
            tensor("b", vec![1], vec![-7.0]),
        ],
        input: vec![info(
            "x",
            vec![None, Some(3), Some(SIDE as i64), Some(SIDE as i64)],
        )],
        output: vec![info("p", vec![None, Some(1)])],
        ..Default::default()
    };
    let bytes = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec();
    let card = ModelCard {
        task: Some("classification".into()),
        class_names: Some(vec!["off".into(), "on".into()]),
        image: Some(ImageSpec {
            width: Some(SIDE as u32),
            height: Some(SIDE as u32),
            channels: Some(3),
            layout: Some("NCHW".into()),
            ..Default::default()
        }),
        cam_layer: Some("act".into()),
        ..Default::default()
    };
    OnnxModel::from_bytes(&bytes, Some(card), "region.onnx", None).unwrap()
}

fn shape() -> ImageShape {
    ImageShape::from_layout(None, None, None, &[3, SIDE, SIDE]).unwrap()
}

/// Noise images with a bright region (so the class is "on").
fn images(n: usize) -> Vec<Vec<f32>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let s = shape();
    (0..n)
        .map(|_| {
            let mut x = vec![0f32; s.len()];
            for c in 0..3 {
                for y in 0..SIDE {
                    for xx in 0..SIDE {
                        let v: f32 = rng.random();
                        x[s.index(y, xx, c)] = if inside(y, xx) { 0.5 + 0.5 * v } else { v };
                    }
                }
            }
            x
        })
        .collect()
}

/// Occlusion's map is as coarse as its window: 2×2 windows on a stride of 2 tile the region
/// exactly (larger or overlapping windows spread credit one window's width around it). RISE
/// estimates each pixel's effect by Monte Carlo, and one pixel of this model moves the score
/// little: pixel-sized cells (no spill) and, where the map's mass is measured, many masks keep
/// the noise on ignored pixels small.
/// Every image method of the registry.
const IMAGE_METHODS: [Method; 9] = [
    OCCLUSION, RISE, SUPERPIXEL, SCORECAM, SALIENCY, GRADXINPUT, IG, SMOOTHGRAD, GRADCAM,
];

fn settings(method: Method) -> ImageSettings {
    ImageSettings {
        method,
        baseline: Baseline::Zero,
        ..Default::default()
    }
    .with_param("window", 2.0)
    .with_param("stride", 2.0)
    .with_param("masks", 4000.0)
    .with_param("grid", SIDE as f64)
    .with_param("cells", 8.0)
    .with_param("samples", 12000.0)
}

fn explain(model: &OnnxModel, x: &[f32], method: Method) -> SaliencyMap {
    settings(method)
        .explain(model, x, &shape(), 1, &NoProgress)
        .unwrap()
}

#[test]
fn every_method_points_at_the_only_region_the_model_reads() {
    let model = region_model();
    let region_share =
        ((REGION.1 - REGION.0) * (REGION.3 - REGION.2)) as f64 / (SIDE * SIDE) as f64;
    for method in IMAGE_METHODS {
        let (mut worst, mut worst_top): (f64, f64) = (1.0, 1.0);
        // Enough masks that RISE's Monte-Carlo noise on ignored pixels stays small.
        let settings = settings(method).with_param("masks", 128_000.0);
        for x in images(4) {
            let map = settings
                .explain(&model, &x, &shape(), 1, &NoProgress)
                .unwrap();
            assert_eq!((map.height, map.width), (SIDE, SIDE));
            worst = worst.min(map.positive_share(inside));
            let top = map.top_pixels(0.05);
            let hits = top.iter().filter(|&&(y, x)| inside(y, x)).count();
            worst_top = worst_top.min(hits as f64 / top.len() as f64);
        }
        eprintln!(
            "{}: worst share of positive mass inside the region {worst:.3} (region: {region_share:.3} of the image); top 5% inside {worst_top:.3}",
            method.name()
        );
        // RISE estimates each pixel's effect from random masks, so pixels the model ignores
        // still carry Monte-Carlo noise: it is held to its top pixels and a share well above
        // the region's area; the other methods to 90% of their positive mass.
        let needed = if method == RISE { 0.7 } else { 0.9 };
        assert!(
            worst >= needed,
            "{}: {worst:.3} of the positive mass inside",
            method.name()
        );
        assert!(
            worst_top >= 0.95,
            "{}: top pixels {worst_top:.3} inside",
            method.name()
        );
    }
}

#[test]
fn superpixel_shap_is_additive() {
    let model = region_model();
    for x in images(3) {
        let map = explain(&model, &x, SUPERPIXEL);
        let sum: f64 = map.values.iter().sum();
        assert!(
            (map.base_value + sum - map.output_value).abs() < 1e-5,
            "{} + {sum} vs {}",
            map.base_value,
            map.output_value
        );
    }
}

#[test]
fn deleting_salient_pixels_first_beats_random_orders() {
    let model = region_model();
    let x = &images(1)[0];
    for method in IMAGE_METHODS {
        let map = explain(&model, x, method);
        let shape = shape();
        let input = ImageInput {
            x,
            shape: &shape,
            target: 1,
            baseline: Baseline::Zero,
            seed: 0,
        };
        let f = Faithfulness::measure(&model, &input, &map, 20, &NoProgress).unwrap();
        assert_eq!(f.deletion.len(), 21);
        assert!(
            f.deletion_auc() < f.random_deletion_auc(),
            "{}: deletion {:.3} vs random {:.3}",
            method.name(),
            f.deletion_auc(),
            f.random_deletion_auc()
        );
        assert!(
            f.insertion_auc() > f.random_insertion_auc(),
            "{}: insertion {:.3} vs random {:.3}",
            method.name(),
            f.insertion_auc(),
            f.random_insertion_auc()
        );
    }
}

#[test]
fn a_random_last_layer_changes_the_map() {
    let model = region_model();
    let random = model.with_randomized_last_layer(1).unwrap();
    let x = &images(1)[0];
    for method in [OCCLUSION, RISE] {
        let a = explain(&model, x, method);
        let b = explain(&random, x, method);
        let r = map_correlation(&a, &b);
        assert!(r < 0.5, "{}: correlation {r:.3}", method.name());
    }
}

/// The images of the shortcut data that carry the marker against the training correlation
/// (benign lesions with a sticker, in the test split), with their marker masks.
fn swapped_with_marker() -> (loupe::session::Session, Vec<(usize, Vec<bool>)>) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
    let session = loupe::session::Session::load(&loupe::session::Source::files(
        root.join("lesions_cnn.onnx"),
        Some(root.join("lesions/lesions.csv")),
        None,
    ))
    .unwrap();
    let table = loupe::data::Table::from_path(&root.join("lesions/lesions.csv")).unwrap();
    let (path, split, marker, swapped) = (
        table.column("path").unwrap(),
        table.column("split").unwrap(),
        table.column("marker").unwrap(),
        table.column("swapped").unwrap(),
    );
    let picked = (0..table.n_rows())
        .filter(|&r| {
            table.cell(r, split) == "test"
                && table.cell(r, marker) == "1"
                && table.cell(r, swapped) == "1"
        })
        .map(|r| {
            let mask_path = root.join("lesions/masks/marker").join(table.cell(r, path));
            let mask = image::open(&mask_path).unwrap().to_luma8();
            (r, mask.pixels().map(|p| p.0[0] > 127).collect())
        })
        .collect();
    (session, picked)
}

#[test]
fn on_the_shortcut_model_occlusion_rise_ig_and_gradcam_point_at_the_marker() {
    let (session, picked) = swapped_with_marker();
    assert!(
        picked.len() >= 10,
        "{} swapped images with a marker",
        picked.len()
    );
    let data = session.data.clone().unwrap();
    let images = data.images.clone().unwrap();
    let w = images.shape.width;
    let malignant = 1;
    for method in [OCCLUSION, RISE, IG, GRADCAM] {
        // A 4-pixel stride and 500 masks keep the test quick (the defaults point the same way).
        let settings = ImageSettings {
            method,
            ..Default::default()
        }
        .with_param("stride", 4.0)
        .with_param("masks", 500.0);
        // A hit: the top 5% of the map covers most of the marker.
        let mut hits = 0;
        for (row, mask) in &picked {
            let x = data.x.row(*row).to_vec();
            let map = settings
                .explain(&session.model, &x, &images.shape, malignant, &NoProgress)
                .unwrap();
            let top = map.top_pixels(0.05);
            let covered = top.iter().filter(|&&(y, x)| mask[y * w + x]).count();
            let marker = mask.iter().filter(|&&m| m).count();
            if covered * 2 > marker {
                hits += 1;
            }
        }
        let score = hits as f64 / picked.len() as f64;
        eprintln!(
            "{}: pointing game on {} swapped images: {score:.2}",
            method.name(),
            picked.len()
        );
        assert!(score >= 0.8, "{}: {score:.2}", method.name());
    }
}

#[test]
fn image_models_read_through_loupe_match_onnxruntime() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
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
        let p = session.predictions.clone().unwrap();
        let mut reader =
            csv::Reader::from_path(root.join(format!("expected/{model}.csv"))).unwrap();
        let mut worst = 0f64;
        let mut n = 0;
        for (row, record) in reader.records().enumerate() {
            let record = record.unwrap();
            for c in 0..p.outputs.ncols() {
                let want: f64 = record[2 + c].parse().unwrap();
                worst = worst.max((p.outputs[[row, c]] as f64 - want).abs());
            }
            n += 1;
        }
        assert_eq!(n, p.len(), "{model}: every image");
        assert!(
            worst < 1e-4,
            "{model}: largest difference from onnxruntime {worst:e}"
        );
    }
}

/// Counts what a run reports, and asks it to stop once `stop_after` images were scored.
struct Watch {
    steps: std::sync::atomic::AtomicU64,
    images: std::sync::atomic::AtomicU64,
    stop_after: u64,
}

impl loupe::explain::Progress for Watch {
    fn advance(&self, n: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.steps.fetch_add(1, Relaxed);
        self.images.fetch_add(n, Relaxed);
    }
    fn is_cancelled(&self) -> bool {
        self.images.load(std::sync::atomic::Ordering::Relaxed) >= self.stop_after
    }
}

#[test]
fn rise_counts_its_images_as_they_are_scored_and_stops_between_chunks() {
    use std::sync::atomic::Ordering::Relaxed;
    let model = region_model();
    let x = &images(1)[0];
    let settings = settings(RISE).with_param("masks", 1000.0);
    let watch = Watch {
        steps: 0.into(),
        images: 0.into(),
        stop_after: u64::MAX,
    };
    let map = settings.explain(&model, x, &shape(), 1, &watch).unwrap();
    let (steps, images) = (watch.steps.load(Relaxed), watch.images.load(Relaxed));
    assert_eq!(
        images, map.model_calls,
        "every scored image is counted once"
    );
    assert_eq!(images, 1002, "the masks, the image and its baseline");
    assert!(steps >= 20, "the count moves during the run: {steps} steps");
    // Asked to stop early, it stops at the next chunk, long before the end.
    let watch = Watch {
        steps: 0.into(),
        images: 0.into(),
        stop_after: 100,
    };
    let stopped = settings.explain(&model, x, &shape(), 1, &watch);
    assert!(matches!(
        stopped,
        Err(loupe::explain::ExplainError::Cancelled)
    ));
    assert!(
        watch.images.load(Relaxed) < 200,
        "{}",
        watch.images.load(Relaxed)
    );
}
