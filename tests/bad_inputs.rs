//! Every file of `tests/bad_inputs/` (made by `tools/make_bad_inputs.py`) through the loaders it
//! targets, via the command line: exit code 2 with one line naming the problem — or, for a
//! bit-flipped file that still happens to be a valid model, success — and never a panic (exit
//! code 101) or a hang.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::sample;

/// Longest a refusal may take.
const LIMIT: Duration = Duration::from_secs(20);

struct Run {
    code: Option<i32>,
    stderr: String,
    took: Duration,
}

fn loupe(args: &[&str]) -> Run {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_loupe"))
        .args(args)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            use std::io::Read;
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut stderr);
            }
            return Run {
                code: status.code(),
                stderr,
                took: started.elapsed(),
            };
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("loupe {args:?} took more than {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

fn files(prefix: &str, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(corpus())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .collect();
    out.sort();
    out
}

/// Refused with one line, or (when `may_pass`) accepted; never a crash.
fn check(what: &str, run: Run, may_pass: bool) -> bool {
    assert_ne!(run.code, Some(101), "{what}: panicked: {}", run.stderr);
    assert!(
        run.code.is_some(),
        "{what}: killed by a signal: {}",
        run.stderr
    );
    if run.code == Some(0) {
        assert!(may_pass, "{what}: accepted a bad input");
        return false;
    }
    assert_eq!(run.code, Some(2), "{what}: {}", run.stderr);
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "{what}: one line expected: {}",
        run.stderr
    );
    assert!(run.stderr.starts_with("loupe: "), "{what}: {}", run.stderr);
    assert!(run.took < LIMIT, "{what}: took {:?}", run.took);
    true
}

#[test]
fn the_corpus_is_large() {
    let n = walk(&corpus());
    assert!(n >= 80, "{n} files");
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn bad_models_are_refused_by_info_and_predict() {
    let data = sample("breast_cancer.csv");
    let mut refused = 0;
    let models = files("model_", ".onnx");
    assert!(models.len() >= 40);
    for m in &models {
        let name = m.file_name().unwrap().to_string_lossy().into_owned();
        // A flipped bit in a weight leaves a valid model.
        let may_pass = name.contains("bitflip");
        // Inputs no data column feeds are refused once there are data, naming the columns.
        let unfed = name.contains("unfed");
        refused += check(
            &format!("info {name}"),
            loupe(&["info", m.to_str().unwrap()]),
            may_pass || unfed,
        ) as usize;
        check(
            &format!("predict {name}"),
            loupe(&["predict", m.to_str().unwrap(), data.to_str().unwrap()]),
            may_pass,
        );
    }
    assert!(
        refused >= models.len() - 12,
        "{refused} of {} refused",
        models.len()
    );
}

#[test]
fn external_data_outside_the_model_folder_is_refused() {
    for m in files("model_external_escape", ".onnx") {
        let run = loupe(&["info", m.to_str().unwrap()]);
        let name = m.display().to_string();
        assert!(check(&name, run, false));
    }
}

#[test]
fn bad_data_is_refused_by_predict_and_explain() {
    let model = sample("breast_cancer_mlp.onnx");
    let data = files("data_", ".csv");
    assert!(data.len() >= 15);
    for d in &data {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        check(
            &format!("predict {name}"),
            loupe(&["predict", model.to_str().unwrap(), d.to_str().unwrap()]),
            false,
        );
        check(
            &format!("explain {name}"),
            loupe(&[
                "explain",
                model.to_str().unwrap(),
                d.to_str().unwrap(),
                "--rows",
                "0",
            ]),
            false,
        );
    }
}

#[test]
fn refusals_name_the_reason() {
    for (file, reason) in [
        (
            "model_dangling_output.onnx",
            "the graph's output `y` is computed by no node",
        ),
        (
            "model_huge_tile.onnx",
            "makes a tensor of 4,000,000,000 values per row, more than Loupe's limit of 268,435,456",
        ),
        (
            "model_tree_huge_outputs.onnx",
            "has 12,897,270,972 outputs, more than Loupe's limit of 65,536",
        ),
        (
            "model_huge_constant.onnx",
            "node `big` makes a tensor of 10,000,000,000 values, more than Loupe's limit",
        ),
        (
            "model_huge_range.onnx",
            "node `r` makes a tensor of 10,000,000,000 values, more than Loupe's limit",
        ),
        ("model_unknown_op.onnx", "FrobnicateXYZ"),
    ] {
        let path = corpus().join(file);
        let run = loupe(&["info", path.to_str().unwrap()]);
        let message = run.stderr.clone();
        assert!(check(file, run, false));
        assert!(message.contains(file), "{message}");
        assert!(message.contains(reason), "{file}: {message}");
    }
}

#[test]
fn absurd_budgets_are_refused_not_run_out_of_memory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
    let out = std::env::temp_dir().join(format!("loupe-budget-{}.json", std::process::id()));
    for (model, data, args, reason) in [
        (
            "breast_cancer_mlp.onnx",
            "breast_cancer.csv",
            &["--method", "kernel", "--samples", "100000000000"][..],
            "--samples 100000000000 is more than Loupe's limit of 1,000,000",
        ),
        (
            "lesions_cnn.onnx",
            "lesions/lesions.csv",
            &["--method", "rise", "--masks", "1000000000"][..],
            "--masks 1000000000 of 64×64 pixels is more than RISE holds in memory; use at most 65,536",
        ),
        (
            "lesions_cnn.onnx",
            "lesions/lesions.csv",
            &["--method", "superpixel", "--samples", "10000000"][..],
            "--samples 10000000 is more than Loupe's limit",
        ),
    ] {
        let (model, data) = (root.join(model), root.join(data));
        let mut all = vec![
            "explain",
            model.to_str().unwrap(),
            data.to_str().unwrap(),
            "--rows",
            "0",
            "--out",
            out.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let run = loupe(&all);
        let message = run.stderr.clone();
        assert!(check(&format!("{args:?}"), run, false));
        assert!(message.contains(reason), "{message}");
    }
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_csv_larger_than_loupe_holds_in_memory_is_refused_before_reading() {
    // A sparse file: 2 GB and one byte on paper, no disk used.
    let dir = std::env::temp_dir().join(format!("loupe-huge-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let huge = dir.join("huge.csv");
    let file = std::fs::File::create(&huge).unwrap();
    file.set_len(loupe::data::Limits::DEFAULT.bytes + 1)
        .unwrap();
    drop(file);
    let model = sample("breast_cancer_mlp.onnx");
    let run = loupe(&["predict", model.to_str().unwrap(), huge.to_str().unwrap()]);
    let message = run.stderr.clone();
    assert!(check("predict huge.csv", run, false));
    assert!(
        message.contains("huge.csv: the file is 2.0 GB") && message.contains("in memory"),
        "{message}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_cards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.onnx");
    std::fs::copy(sample("breast_cancer_mlp.onnx"), &model).unwrap();
    for card in files("card_", ".card.json") {
        std::fs::copy(&card, dir.path().join("m.card.json")).unwrap();
        let name = card.file_name().unwrap().to_string_lossy().into_owned();
        check(
            &format!("info with {name}"),
            loupe(&["info", model.to_str().unwrap()]),
            false,
        );
    }
}

#[test]
fn broken_images_are_skipped_and_all_broken_is_refused() {
    let model = sample("lesions_cnn.onnx");
    let lists = files("images_", ".csv");
    assert!(lists.len() >= 10);
    for list in &lists {
        let name = list.file_name().unwrap().to_string_lossy().into_owned();
        check(
            &format!("predict {name}"),
            loupe(&["predict", model.to_str().unwrap(), list.to_str().unwrap()]),
            false,
        );
    }
}

/// Networks that load and predict but whose graphs gradients cannot (or must not) go
/// through: `--method ig` exits 2 with one line naming the operator and its node, or why the
/// gradients would be wrong — never a panic, never a file of numbers that explain nothing.
#[test]
fn hostile_gradient_graphs_are_refused_in_one_line() {
    // The sample's 30 features without the label (these networks are regressors).
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("features.csv");
    let text = std::fs::read_to_string(sample("breast_cancer.csv")).unwrap();
    let rows: Vec<String> = text
        .lines()
        .take(8)
        .map(|l| l.split(',').take(30).collect::<Vec<_>>().join(","))
        .collect();
    std::fs::write(&data, rows.join("\n") + "\n").unwrap();
    let cases = [
        (
            "grad_round.onnx",
            "--method ig needs the model's gradients, and operator `Round` (node `rounding`) \
             has no gradient rule",
        ),
        (
            "grad_argmax.onnx",
            "operator `ArgMax` (node `pick`) has no gradient rule",
        ),
        // Each row's output depends on the other rows of the batch (x · xᵀ): the graph's
        // output on the path differs from the model's on the row.
        (
            "grad_input_weights.onnx",
            "its gradients would explain another function",
        ),
        ("grad_log_negative.onnx", "is not a finite number"),
    ];
    assert_eq!(files("grad_", ".onnx").len(), cases.len());
    for (file, reason) in cases {
        let path = corpus().join(file);
        check(
            &format!("predict {file}"),
            loupe(&["predict", path.to_str().unwrap(), data.to_str().unwrap()]),
            true,
        );
        let run = loupe(&[
            "explain",
            path.to_str().unwrap(),
            data.to_str().unwrap(),
            "--method",
            "ig",
            "--rows",
            "0..2",
        ]);
        let message = run.stderr.clone();
        assert!(check(file, run, false), "{file}: {message}");
        assert!(message.contains(reason), "{file}: {message}");
    }
}
