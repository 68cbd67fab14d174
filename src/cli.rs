//! The command line: parses arguments with clap and calls the library. Thin by design.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use loupe::analysis::ConfusionMatrix;
use loupe::analysis::metrics::MetricsReport;
use loupe::data::{Labels, Split};
use loupe::model::{OnnxModel, ScoreKind, Task};
use loupe::session::{Origin, Session, Source};

/// Loupe: open an ONNX model and a dataset and see why the model predicts what it does.
///
/// With no command, opens the window on the bundled sample model and data.
#[derive(Debug, Parser)]
#[command(name = "loupe", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the window on a model and, optionally, a dataset.
    Open {
        /// The ONNX model.
        model: PathBuf,
        /// A CSV dataset.
        data: Option<PathBuf>,
        /// The label column (default: found by name: label, target, class, y, diagnosis).
        #[arg(long)]
        label: Option<String>,
    },
    /// Print a model's signature, operators, card and task.
    Info {
        /// The ONNX model.
        model: PathBuf,
    },
    /// Predict every row of a CSV; print accuracy, the confusion matrix and per-class metrics.
    Predict {
        /// The ONNX model.
        model: PathBuf,
        /// A CSV dataset with a header.
        data: PathBuf,
        /// The label column (default: found by name: label, target, class, y, diagnosis).
        #[arg(long)]
        label: Option<String>,
        /// Write the predictions CSV (row,label,predicted,confidence,correct,p_<class>…) here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// What `main` should do after parsing: run a headless command, or open the window.
pub enum Action {
    Done,
    OpenWindow(Source),
}

/// Runs a command. Errors are user errors (exit 2) and carry their context.
pub fn run(cli: Cli) -> anyhow::Result<Action> {
    match cli.command {
        None => Ok(Action::OpenWindow(Source::sample())),
        Some(Command::Open { model, data, label }) => {
            Ok(Action::OpenWindow(Source::files(model, data, label)))
        }
        Some(Command::Info { model }) => {
            let model = loupe::session::load_model(&Origin::File(model))?;
            print!("{}", info(&model));
            Ok(Action::Done)
        }
        Some(Command::Predict {
            model,
            data,
            label,
            out,
        }) => {
            let source = Source::files(model, Some(data), label);
            let session = Session::load(&source)?;
            print!("{}", predict_summary(&session));
            if let Some(out) = out {
                let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
                    unreachable!("predict always loads data")
                };
                loupe::export::atomic_write(&out, |w| {
                    loupe::export::write_predictions_csv(w, session.model.task(), data, predictions)
                })
                .with_context(|| format!("writing {}", out.display()))?;
                println!("wrote {}", out.display());
            }
            Ok(Action::Done)
        }
    }
}

fn info(model: &OnnxModel) -> String {
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
    let features = match model.feature_names() {
        Some(names) => format!("{} (named by the card): {}", names.len(), names.join(", ")),
        None => format!("{} (matched to data columns by order)", model.n_features()),
    };
    line("features", features);
    if let Some(d) = &model.card().description {
        line("about", d.clone());
    }
    s
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "unknown" } else { s }
}

fn predict_summary(session: &Session) -> String {
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

fn ratio(m: &ConfusionMatrix) -> String {
    format!("{:.4} ({}/{})", m.accuracy(), m.correct(), m.total())
}
