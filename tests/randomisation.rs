//! The cascading model-randomisation check on the sample CNNs: as the layers are randomised
//! from the output down, a gradient map's rank correlation with the trained model's map falls.

use std::path::Path;

use loupe::explain::NoProgress;
use loupe::explain::image::ImageSettings;
use loupe::explain::image::gradient::{GRADXINPUT, SALIENCY};
use loupe::session::image::ImageRequest;
use loupe::session::{Session, Source};

fn session(model: &str, data: &str) -> Session {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
    Session::load(&Source::files(
        root.join(format!("{model}.onnx")),
        Some(root.join(data)),
        None,
    ))
    .unwrap()
}

/// Each step randomises one more weighted layer, from the output down; averaged over a few
/// images, the rank correlation of |map| with the trained model's falls from the first step
/// (only the output layer random) to the last (every weighted layer random), and ends low.
#[test]
fn gradient_maps_fall_apart_as_layers_are_randomised_from_the_top() {
    for (model, data) in [
        ("digits_cnn", "digits/digits.csv"),
        ("lesions_cnn", "lesions/lesions.csv"),
    ] {
        let session = session(model, data);
        let predicted = session.predictions.as_ref().unwrap().predicted.clone();
        let rows: Vec<usize> = (0..8).collect();
        for method in [SALIENCY, GRADXINPUT] {
            let request = ImageRequest {
                settings: ImageSettings {
                    method,
                    ..Default::default()
                },
                faithfulness: false,
                sanity: false,
                cascade: true,
            };
            let maps = session
                .explain_images(&rows, &request, &|r| vec![predicted[r]], &NoProgress)
                .unwrap();
            let layers = maps[0].cascade.as_ref().unwrap().len();
            assert!(layers >= 2, "{model}: {layers} weighted layers");
            let mut mean = vec![0f64; layers];
            for e in &maps {
                let steps = e.cascade.as_ref().unwrap();
                assert_eq!(steps.len(), layers);
                for (k, s) in steps.iter().enumerate() {
                    assert_eq!(s.layers_randomised, k + 1);
                    mean[k] += s.rank_correlation / maps.len() as f64;
                }
            }
            let names: Vec<&str> = maps[0]
                .cascade
                .as_ref()
                .unwrap()
                .iter()
                .map(|s| s.layer.as_str())
                .collect();
            eprintln!("{model} {method}: {names:?} {mean:.3?}");
            assert_eq!(names[0], "/net/fc/Gemm", "{model}: the output layer first");
            for k in 1..layers {
                assert!(
                    mean[k] <= mean[k - 1] + 0.05,
                    "{model} {method}: step {} rises: {mean:.3?}",
                    k + 1
                );
            }
            assert!(
                mean[layers - 1] < mean[0] - 0.1,
                "{model} {method}: {mean:.3?}"
            );
            if method == SALIENCY {
                assert!(mean[layers - 1] < 0.3, "{model}: {mean:.3?}");
            }
        }
    }
}

/// `loupe explain --cascade` writes each step in the attributions schema.
#[test]
fn the_command_line_writes_the_cascade() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_loupe"))
        .args([
            "explain",
            root.join("sample_models/digits_cnn.onnx").to_str().unwrap(),
            root.join("sample_models/digits/digits.csv")
                .to_str()
                .unwrap(),
            "--method",
            "saliency",
            "--rows",
            "0..2",
            "--cascade",
        ])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schemas/attributions.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    for row in json["rows"].as_array().unwrap() {
        let steps = row["cascading_randomisation"].as_array().unwrap();
        assert_eq!(steps.len(), 4, "{row}");
        assert_eq!(steps[0]["layer"], "/net/fc/Gemm");
        assert_eq!(steps[3]["layers_randomised"], 4);
        let r = steps[3]["rank_correlation"].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&r));
    }
}

/// `--cascade` on rows of features is refused in one line.
#[test]
fn the_cascade_is_refused_for_rows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_loupe"))
        .args([
            "explain",
            root.join("breast_cancer_mlp.onnx").to_str().unwrap(),
            root.join("breast_cancer.csv").to_str().unwrap(),
            "--rows",
            "0",
            "--cascade",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "loupe: --cascade checks saliency maps of images; these data are rows of features"
    );
}

/// Counts the model images a run reports.
#[derive(Default)]
struct Counted(std::sync::atomic::AtomicU64);

impl loupe::explain::Progress for Counted {
    fn advance(&self, n: u64) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The progress a run reports counts every map — the image's, the random last layer's and
/// each cascade step's — and the curves, and the request's expected cost is that count.
#[test]
fn the_cascade_maps_count_in_the_progress_and_in_the_expected_cost() {
    let session = session("digits_cnn", "digits/digits.csv");
    let predicted = session.predictions.as_ref().unwrap().predicted.clone();
    let steps = session
        .model
        .cascade_steps(loupe::session::image::MAX_CASCADE_LAYERS);
    assert!(steps >= 2, "{steps} weighted layers");
    let fit =
        loupe::explain::registry::Fit::new(&session.model, loupe::explain::Link::Identity, true);
    for (sanity, cascade) in [(false, false), (true, false), (false, true), (true, true)] {
        let request = ImageRequest {
            settings: ImageSettings {
                method: SALIENCY,
                ..Default::default()
            },
            faithfulness: true,
            sanity,
            cascade,
        };
        let counted = Counted::default();
        let maps = session
            .explain_images(&[0, 1], &request, &|r| vec![predicted[r]], &counted)
            .unwrap();
        assert_eq!(maps.len(), 2);
        let map = SALIENCY.spec().cost(&fit, &request.settings.params, 0, 1);
        let reported = counted.0.into_inner();
        assert_eq!(
            reported,
            2 * request.cost(map, steps),
            "sanity {sanity}, cascade {cascade}"
        );
    }
}
