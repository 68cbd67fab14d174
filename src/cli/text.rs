//! Text the command line prints: a model's signature (`loupe info`) and the predictions
//! summary (`loupe predict`): accuracy, the confusion matrix, per-class metrics, calibration
//! and the worst error slices.

use crate::analysis::ConfusionMatrix;
use crate::analysis::failures::{Failures, Population, RELIABILITY_BINS};
use crate::analysis::metrics::MetricsReport;
use crate::data::{Labels, Split};
use crate::model::{OnnxModel, ScoreKind, Task};
use crate::session::Session;

/// `loupe info`: the model's signature, operators, card and task.
pub fn info(model: &OnnxModel) -> String {
    let sig = model.signature();
    let mut s = String::new();
    let mut line = |key: &str, value: String| s.push_str(&format!("{key:<10} {value}\n"));
    line(
        "model",
        format!("{} (sha256 {})", model.name(), model.sha256()),
    );
    let opsets: Vec<String> = sig.opsets.iter().map(|(d, v)| format!("{d} {v}")).collect();
    line(
        "producer",
        format!(
            "{} (opsets: {})",
            or_unknown(&sig.producer),
            opsets.join(", ")
        ),
    );
    for (i, input) in sig.inputs.iter().enumerate() {
        line(if i == 0 { "input" } else { "" }, input.to_string());
    }
    for (i, output) in sig.outputs.iter().enumerate() {
        line(if i == 0 { "outputs" } else { "" }, output.to_string());
    }
    let ops: Vec<String> = sig
        .operators
        .iter()
        .map(|(op, n)| {
            if *n == 1 {
                op.clone()
            } else {
                format!("{op} ×{n}")
            }
        })
        .collect();
    line("operators", ops.join(", "));
    let task = match model.task() {
        Task::Classification {
            class_names,
            positive_class,
        } => format!(
            "classification, {} classes: {}{}",
            class_names.len(),
            class_names.join(", "),
            positive_class
                .map(|p| format!(" (positive: {})", class_names[p]))
                .unwrap_or_default()
        ),
        Task::Regression { outputs } => format!("regression, {outputs} output(s)"),
    };
    line("task", task);
    let kind = match model.score_kind() {
        ScoreKind::Probabilities => "class probabilities",
        ScoreKind::PositiveProbability => "probability of the second class",
        ScoreKind::Logits => "logits (softmax applied)",
        ScoreKind::PositiveLogit => "logit of the second class (sigmoid applied)",
        ScoreKind::Regression => "regression values",
    };
    line("scores", format!("`{}`: {kind}", model.score_output()));
    for note in model.notes() {
        line("note", note.clone());
    }
    let named_by = if model.card().feature_names.is_some() {
        "the card"
    } else {
        "the graph's inputs"
    };
    let features = match model.feature_names() {
        Some(names) => format!(
            "{} (named by {named_by}): {}",
            names.len(),
            names.join(", ")
        ),
        None => format!("{} (matched to data columns by order)", model.n_features()),
    };
    line("features", features);
    if let Some(image) = model.image() {
        line("images", image_line(model, image));
    }
    for (i, column) in model.input_columns().unwrap_or_default().iter().enumerate() {
        line(
            if i == 0 { "inputs" } else { "" },
            input_column(model, i, column),
        );
    }
    if let Some(d) = &model.card().description {
        line("about", d.clone());
    }
    s
}

/// How images become the input: size, layout, resize and normalisation, or what is missing.
fn image_line(model: &OnnxModel, image: &crate::model::card::ImageSpec) -> String {
    let size = match model.row_shape() {
        [a, b, c] if image.layout.as_deref() == Some("NHWC") => {
            format!("{a}×{b}, {c} channel(s), NHWC")
        }
        [a, b, c] => format!("{b}×{c}, {a} channel(s), NCHW"),
        other => format!("{other:?}"),
    };
    if model.image_from_graph() {
        return format!(
            "{size}, read from the graph; pixels fed as 0–1 with no normalisation, photos of \
             other sizes stretched: if the model was trained otherwise, give `image.mean`, \
             `image.std` and `image.resize` in a card"
        );
    }
    let resize = match (image.resize.as_deref(), image.resize_shorter) {
        (Some(r), Some(n)) => format!("{r} from {n}"),
        (Some(r), None) => r.to_string(),
        (None, _) => "stretch".into(),
    };
    let numbers = |v: &Option<Vec<f32>>, default: &str| match v {
        Some(v) => format!("{v:?}"),
        None => default.to_string(),
    };
    format!(
        "{size}; resize {resize} ({}); mean {}, std {}",
        image.interpolation.as_deref().unwrap_or("bilinear"),
        numbers(&image.mean, "0"),
        numbers(&image.std, "1")
    )
}

/// One fed column: the graph input it reaches, the data column that feeds it, its type.
fn input_column(model: &OnnxModel, i: usize, column: &crate::model::InputColumn) -> String {
    let source = match model.feature_names() {
        Some(names) => format!("data column `{}`", names[i]),
        None => format!("feature column {} by order", i + 1),
    };
    let kind = match &column.categories {
        Some(cats) => {
            let names: Vec<&str> = cats.iter().take(8).map(|(n, _)| n.as_str()).collect();
            let more = if cats.len() > 8 { ", …" } else { "" };
            format!(
                "text, {} categories: {}{more}",
                cats.len(),
                names.join(", ")
            )
        }
        None => column.elem_type.clone(),
    };
    format!("{} ← {source} ({kind})", column.name)
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "unknown" } else { s }
}

/// `loupe predict`: the data, accuracy (overall and per split), metrics and failures.
pub fn predict_summary(session: &Session) -> String {
    let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
        return String::new();
    };
    let mut s = format!(
        "{}: {} rows, {} features, {}\n",
        data.source,
        data.len(),
        data.feature_names.len(),
        match &data.label_column {
            Some(c) => format!("label column `{c}`"),
            None => "no label column".into(),
        }
    );
    for note in session.model.notes().iter().chain(&data.notes) {
        s.push_str(&format!("note: {note}\n"));
    }
    let class_names = session.model.task().class_names();
    match &data.labels {
        Some(Labels::Classes(truth)) => {
            let all = ConfusionMatrix::new(class_names.len(), truth, &predictions.predicted, None);
            s.push_str(&format!("accuracy {}\n", ratio(&all)));
            if let Some(split) = &data.split {
                for (which, name) in [(Split::Train, "train"), (Split::Test, "test")] {
                    let rows: Vec<usize> =
                        (0..split.len()).filter(|&r| split[r] == which).collect();
                    if !rows.is_empty() {
                        let m = ConfusionMatrix::new(
                            class_names.len(),
                            truth,
                            &predictions.predicted,
                            Some(&rows),
                        );
                        s.push_str(&format!("  {name:<5} split {}\n", ratio(&m)));
                    }
                }
            }
            s.push_str(
                &MetricsReport {
                    matrix: &all,
                    class_names,
                }
                .to_string(),
            );
            if let Some(f) = Failures::compute(data, predictions, Population::Test) {
                s.push_str(&failures_text(&f, &data.feature_names, &data.categories));
            }
        }
        Some(Labels::Values(truth)) => {
            let n = truth.len() as f64;
            let mse = truth
                .iter()
                .zip(predictions.outputs.column(0))
                .map(|(t, p)| (*t as f64 - *p as f64).powi(2))
                .sum::<f64>()
                / n;
            s.push_str(&format!("RMSE {:.6}\n", mse.sqrt()));
        }
        None => s.push_str("no labels: accuracy cannot be computed\n"),
    }
    s
}

/// Calibration and the top error slices, for `loupe predict`.
fn failures_text(
    f: &Failures,
    feature_names: &[String],
    categories: &[Option<crate::data::Categories>],
) -> String {
    let mut s = format!(
        "calibration ({}): expected calibration error {:.4} over {} bins\n",
        f.population, f.reliability.ece, RELIABILITY_BINS
    );
    if f.slices.is_empty() {
        s.push_str(&format!(
            "error slices ({}): none where errors are significantly more frequent\n",
            f.population
        ));
        return s;
    }
    s.push_str(&format!(
        "error slices ({}, where the model is wrong most often):\n",
        f.population
    ));
    for (i, slice) in f.slices.iter().take(5).enumerate() {
        s.push_str(&format!(
            "  {}. {}: {} of {} rows wrong ({:.0}%), {:.0}% of all errors\n",
            i + 1,
            slice.describe(feature_names, categories),
            slice.errors,
            slice.rows.len(),
            100.0 * slice.error_rate,
            100.0 * slice.share_of_errors
        ));
    }
    s
}

fn ratio(m: &ConfusionMatrix) -> String {
    format!("{:.4} ({}/{})", m.accuracy(), m.correct(), m.total())
}
