//! The command line, thin by design: arguments (clap, with the methods' flags and help
//! derived from the registry) → a validated plan → one session call. Text output lives in
//! [`text`], `loupe explain` in [`explain`].

mod explain;
mod rows;
mod text;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::explain::image::Baseline;
use crate::explain::methods::{all_params, method_help};
use crate::explain::registry::{Method, ParamValues};
use crate::explain::{BackgroundMethod, ExplainSettings, Link, Setting, TreeMode};
use crate::export::attributions::AttributionsFile;
use crate::session::{Origin, Session, SessionError, Source};

/// Loupe: open an ONNX model and a dataset and see why the model predicts what it does.
///
/// With no command, opens the window on the bundled sample model and data.
#[derive(Debug, Parser)]
#[command(name = "loupe", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Replace output files that already exist (without it, Loupe refuses to overwrite them).
    #[arg(long, global = true)]
    pub force: bool,
}

/// `--force` was given: existing output files may be replaced.
static FORCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Refuses to replace an existing file unless `--force` was given.
fn may_write(path: &Path) -> anyhow::Result<()> {
    if path.exists() && !FORCE.load(std::sync::atomic::Ordering::Relaxed) {
        anyhow::bail!(
            "{} already exists; add --force to replace it",
            path.display()
        );
    }
    Ok(())
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
    /// Explain rows: how much each feature pushed the model's output (Shapley values), or
    /// which pixels made an image model predict its class (saliency maps).
    Explain(Box<ExplainArgs>),
    /// Write a one-page report on one row for a clinician: the prediction, its explanation in
    /// words and as a chart, reference ranges, the nearest change that would flip it.
    Report {
        /// The ONNX model.
        model: PathBuf,
        /// A CSV dataset with a header.
        data: PathBuf,
        /// The row to report on (0-based).
        #[arg(long)]
        row: usize,
        /// The report file: .html (self-contained), .png or .pdf.
        #[arg(long)]
        out: PathBuf,
        /// The label column (default: found by name).
        #[arg(long)]
        label: Option<String>,
        /// The explanation method: auto, or a tabular method (see `loupe explain --help`).
        #[arg(long, default_value = "auto")]
        method: Method,
        /// Background rows from the training split.
        #[arg(long, default_value_t = 50)]
        background: usize,
        /// Seed of every random choice.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Join the JSON files of sharded `explain --shard i/n` runs into one, rows in order.
    Merge {
        /// Attributions JSON files written by `loupe explain --format json`.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the merged JSON here (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Arguments of `loupe explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The ONNX model.
    model: PathBuf,
    /// A CSV dataset with a header.
    data: PathBuf,
    /// Rows to explain: `0..20`, `7`, `3,5,9` or `100..` (default: all rows).
    #[arg(long, conflicts_with = "errors")]
    rows: Option<String>,
    /// Explain only the rows the model gets wrong.
    #[arg(long)]
    errors: bool,
    /// The explanation method (the list is in the full help, `--help`).
    #[arg(long, default_value = "auto")]
    method: Method,
    /// TreeSHAP's treatment of absent features: interventional (against the background) or
    /// path-dependent (along the trees' splits, weighted by the training rows).
    #[arg(long, default_value = "interventional")]
    tree_mode: TreeMode,
    /// Images: what replaces hidden pixels: zero (in the model's input space), mean or blur.
    #[arg(long, default_value = "blur")]
    baseline: Baseline,
    /// Images: also run the cascading randomisation check — the map again under the model
    /// with its layers randomised from the output down, one more per step — and write each
    /// step's rank correlation with the map (one more map per weighted layer).
    #[arg(long)]
    cascade: bool,
    /// The methods' own parameters (`--window`, `--masks`, …), added from the registry.
    #[arg(skip)]
    params: ParamValues,
    /// Coalitions evaluated per row by kernel and permutation (default 2·M + 2048), or per
    /// image by superpixel (default 1000).
    #[arg(long)]
    samples: Option<usize>,
    /// The budget in model rows instead: kernel and permutation take the largest number of
    /// coalitions whose evaluations fit in this many model rows per explained row (each
    /// coalition is evaluated against a sample of at most 64 background rows).
    #[arg(long, conflicts_with = "samples")]
    model_rows: Option<u64>,
    /// Stop sampling a row once max std err / value range is below this (e.g. 0.01).
    #[arg(long)]
    tolerance: Option<f64>,
    /// Background rows (reference population) taken from the training split.
    #[arg(long, default_value_t = 50)]
    background: usize,
    /// How background rows are picked: first, random or kmeans.
    #[arg(long, default_value = "random")]
    background_method: BackgroundMethod,
    /// Use every row of this CSV as the background instead.
    #[arg(long)]
    background_data: Option<PathBuf>,
    /// Seed of every random choice; the same seed gives the same output.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Class(es) to explain, by name or index, comma-separated, or `all` (default: each row's
    /// predicted class).
    #[arg(long)]
    target: Vec<String>,
    /// Explain the probability (identity) or its log-odds (logit).
    #[arg(long, default_value = "identity")]
    link: Link,
    /// The label column (default: found by name).
    #[arg(long)]
    label: Option<String>,
    /// Columns that play as one, NAME=COLUMN,COLUMN (repeat for more groups; default: the
    /// card's `groups`). Not for TreeSHAP.
    #[arg(long, value_name = "NAME=COLUMNS")]
    group: Vec<String>,
    /// Write attributions.json|csv (and plots/) into this folder (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// json or csv.
    #[arg(long, default_value = "json", value_parser = ["json", "csv"])]
    format: String,
    /// Also draw each row's waterfall as png or svg into OUT/plots.
    #[arg(long, value_parser = ["png", "svg"], requires = "out")]
    plots: Option<String>,
    /// Colours of image overlays in OUT/plots: red-blue, green-magenta or orange-purple
    /// (default: the card's `image.palette`, else red-blue).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(
        crate::plot::overlay::Palette::ALL.map(|p| p.name())
    ))]
    palette: Option<String>,
    /// Explain only shard i of n (rows i, i+n, i+2n, … of the selection); merge the shards'
    /// JSON with `loupe merge`.
    #[arg(long)]
    shard: Option<String>,
}

impl ExplainArgs {
    /// The method asked for.
    pub fn method(&self) -> Method {
        self.method
    }
}

/// What `main` should do after parsing: run a headless command, or open the window.
pub enum Action {
    Done,
    /// Open the window on this source; `true`: reopen the last session instead when there is
    /// one (plain `loupe`).
    OpenWindow(Source, bool),
}

/// Runs a command. Errors are user errors (exit 2) and carry their context.
pub fn run(cli: Cli) -> anyhow::Result<Action> {
    FORCE.store(cli.force, std::sync::atomic::Ordering::Relaxed);
    match cli.command {
        None => Ok(Action::OpenWindow(Source::sample(), true)),
        Some(Command::Open { model, data, label }) => {
            Ok(Action::OpenWindow(Source::files(model, data, label), false))
        }
        Some(Command::Info { model }) => {
            let model = crate::session::load_model(&Origin::File(model))?;
            print!("{}", text::info(&model));
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
            print!("{}", text::predict_summary(&session));
            if let Some(out) = out {
                let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
                    anyhow::bail!("no data to predict");
                };
                may_write(&out)?;
                crate::export::atomic_write(&out, |w| {
                    crate::export::write_predictions_csv(w, session.model.task(), data, predictions)
                })
                .with_context(|| format!("writing {}", out.display()))?;
                println!("wrote {}", out.display());
            }
            Ok(Action::Done)
        }
        Some(Command::Explain(args)) => {
            explain::explain(&args)?;
            Ok(Action::Done)
        }
        Some(Command::Report {
            model,
            data,
            row,
            out,
            label,
            method,
            background,
            seed,
        }) => {
            let format = crate::report::Format::of_path(&out).ok_or_else(|| {
                anyhow::anyhow!(
                    "--out {}: the report is written as .html, .png or .pdf",
                    out.display()
                )
            })?;
            let session = Session::load(&Source::files(model, Some(data), label))?;
            if session.data.as_ref().is_some_and(|d| d.images.is_some()) {
                let report = crate::report::image::ImageReport::build(
                    &session,
                    row,
                    &crate::explain::NoProgress,
                )?;
                let bytes = format.image_bytes(&report)?;
                write_output(Some(&out), |w| w.write_all(&bytes))?;
                eprintln!("wrote {} (image {row}, {})", out.display(), report.method);
                return Ok(Action::Done);
            }
            let settings = ExplainSettings {
                method,
                background_rows: background,
                seed,
                ..ExplainSettings::default()
            };
            let report = crate::report::Report::build(
                &session,
                row,
                &settings,
                &crate::explain::NoProgress,
            )?;
            let bytes = format.bytes(&report)?;
            write_output(Some(&out), |w| w.write_all(&bytes))?;
            eprintln!("wrote {} (row {row}, {})", out.display(), report.method);
            Ok(Action::Done)
        }
        Some(Command::Merge { files, out }) => {
            let parts = files
                .iter()
                .map(|f| {
                    let text = std::fs::read_to_string(f)
                        .with_context(|| format!("reading {}", f.display()))?;
                    serde_json::from_str::<AttributionsFile>(&text)
                        .with_context(|| format!("{} is not an attributions JSON", f.display()))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let merged = AttributionsFile::merge(parts).map_err(anyhow::Error::msg)?;
            write_output(out.as_deref(), |w| merged.write_json(w))?;
            Ok(Action::Done)
        }
    }
}

/// Writes to `path` atomically, or to standard output.
fn write_output(
    path: Option<&Path>,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    match path {
        Some(p) => {
            may_write(p)?;
            crate::export::atomic_write(p, fill).with_context(|| format!("writing {}", p.display()))
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            fill(&mut lock).context("writing to standard output")
        }
    }
}

/// The command with what the registry adds: `--method`'s list of methods and every method
/// parameter as a flag of `explain` (a flag the command already has, like `--samples`, serves
/// the parameter of the same name).
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("explain", |explain| {
        let mut explain = explain.mut_arg("method", |a| a.long_help(method_help()));
        for (param, users) in all_params() {
            if explain.get_arguments().any(|a| a.get_id() == param.name) {
                continue;
            }
            explain = explain.arg(
                clap::Arg::new(param.name)
                    .long(param.name)
                    .value_name(if param.integer { "N" } else { "X" })
                    .value_parser(clap::value_parser!(f64))
                    .help(if param.help.contains("default") {
                        // A default that depends on the data is worded in the help itself.
                        format!("{}: {}", users.join(", "), param.help)
                    } else {
                        format!(
                            "{}: {} (default {})",
                            users.join(", "),
                            param.help,
                            param.default
                        )
                    }),
            );
        }
        explain
    })
}

/// Parses `args` (the program name first) into the command and its method parameters.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let (Some(Command::Explain(args)), Some(("explain", sub))) =
        (&mut cli.command, matches.subcommand())
    {
        for (param, _) in all_params() {
            let raw = sub
                .get_raw(param.name)
                .and_then(|mut v| v.next())
                .and_then(|v| v.to_str());
            if let Some(raw) = raw {
                let value: f64 = raw.parse().map_err(|_| {
                    command().error(
                        clap::error::ErrorKind::ValueValidation,
                        format!("invalid value '{raw}' for '--{}': not a number", param.name),
                    )
                })?;
                args.params.set(param.name, value);
            }
        }
    }
    Ok(cli)
}

/// A setting error worded for the command line: the flag that sets it, its value, and what is
/// wrong (`--samples 0 is too few: …`).
pub fn word_setting(setting: Setting, value: &str, problem: &str) -> String {
    format!("--{} {value} {problem}", setting.name())
}

/// The `loupe` binary: parse, run, exit 2 with one line on bad input. `open_window` opens the
/// window when the command asks for it.
pub fn main(open_window: impl FnOnce(Source, bool) -> anyhow::Result<()>) -> ExitCode {
    let cli = match parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap explains over several lines; a script gets one: everything before "Usage:".
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("loupe: {}", message.join(" ").trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = run(cli).and_then(|action| match action {
        Action::Done => Ok(()),
        Action::OpenWindow(source, restore) => open_window(source, restore),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("loupe: {}", SessionError::render(&err, word_setting));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_parameters_are_flags_of_explain() {
        let cli = parse_from([
            "loupe", "explain", "m.onnx", "d.csv", "--method", "rise", "--masks", "300", "--keep",
            "0.25",
        ])
        .unwrap();
        let Some(Command::Explain(args)) = cli.command else {
            panic!("not explain");
        };
        assert_eq!(args.method.name(), "rise");
        assert_eq!(args.params.raw("masks"), Some(300.0));
        assert_eq!(args.params.raw("keep"), Some(0.25));
        let err =
            parse_from(["loupe", "explain", "m.onnx", "d.csv", "--window", "big"]).unwrap_err();
        assert!(err.to_string().contains("--window"), "{err}");
    }

    #[test]
    fn a_setting_error_names_its_flag() {
        let err = anyhow::Error::from(crate::explain::ExplainError::setting(
            Setting::Samples,
            "0",
            "is too few: at least 1 coalition",
        ))
        .context("explaining rows");
        assert_eq!(
            SessionError::render(&err, word_setting),
            "explaining rows: --samples 0 is too few: at least 1 coalition"
        );
    }
}
