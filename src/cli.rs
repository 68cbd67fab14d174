//! The command line: parses arguments with clap and calls the library. Thin by design.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};

use loupe::analysis::ConfusionMatrix;
use loupe::analysis::failures::{Failures, Population, RELIABILITY_BINS};
use loupe::analysis::metrics::MetricsReport;
use loupe::data::{Labels, Split};
use loupe::explain::run::RowExplanation;
use loupe::explain::settings::parse_targets;
use loupe::explain::{BackgroundMethod, ExplainSettings, Link, Method, Progress, TreeMode};
use loupe::export::attributions::{AttributionsFile, BackgroundSource};
use loupe::model::{OnnxModel, ScoreKind, Task};
use loupe::plot::render;
use loupe::session::{Origin, Session, Source};

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
        /// auto, exact, kernel, permutation or tree.
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
    /// auto (tree for a tree ensemble in its margin space, else exact up to 12 features, else
    /// kernel), exact, kernel, permutation or tree.
    #[arg(long, default_value = "auto")]
    method: Method,
    /// TreeSHAP's treatment of absent features: interventional (against the background) or
    /// path-dependent (along the trees' splits, weighted by the training rows).
    #[arg(long, default_value = "interventional")]
    tree_mode: TreeMode,
    /// Images: what replaces hidden pixels: zero (in the model's input space), mean or blur.
    #[arg(long, default_value = "blur")]
    baseline: String,
    /// Images, occlusion: window side in pixels.
    #[arg(long, default_value_t = 4)]
    window: usize,
    /// Images, occlusion: stride in pixels.
    #[arg(long, default_value_t = 2)]
    stride: usize,
    /// Images, RISE: number of random masks.
    #[arg(long, default_value_t = 2000)]
    masks: usize,
    /// Images, superpixel SHAP: grid cells per side.
    #[arg(long, default_value_t = 8)]
    cells: usize,
    /// Coalitions evaluated per row by kernel and permutation (default 2·M + 2048).
    #[arg(long)]
    samples: Option<usize>,
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
    /// Write attributions.json|csv (and plots/) into this folder (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// json or csv.
    #[arg(long, default_value = "json", value_parser = ["json", "csv"])]
    format: String,
    /// Also draw each row's waterfall as png or svg into OUT/plots.
    #[arg(long, value_parser = ["png", "svg"], requires = "out")]
    plots: Option<String>,
    /// Explain only shard i of n (rows i, i+n, i+2n, … of the selection); merge the shards'
    /// JSON with `loupe merge`.
    #[arg(long)]
    shard: Option<String>,
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
                may_write(&out)?;
                loupe::export::atomic_write(&out, |w| {
                    loupe::export::write_predictions_csv(w, session.model.task(), data, predictions)
                })
                .with_context(|| format!("writing {}", out.display()))?;
                println!("wrote {}", out.display());
            }
            Ok(Action::Done)
        }
        Some(Command::Explain(args)) => {
            explain(*args)?;
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
            let kind = out
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .filter(|e| ["html", "htm", "png", "pdf"].contains(&e.as_str()))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "--out {}: the report is written as .html, .png or .pdf",
                        out.display()
                    )
                })?;
            let session = Session::load(&Source::files(model, Some(data), label))?;
            let settings = ExplainSettings {
                method,
                background_rows: background,
                seed,
                ..ExplainSettings::default()
            };
            let report = loupe::report::Report::build(
                &session,
                row,
                &settings,
                &loupe::explain::NoProgress,
            )?;
            let bytes = match kind.as_str() {
                "png" => loupe::report::page::png(&report, 2)?,
                "pdf" => loupe::report::page::pdf(&report)?,
                _ => loupe::report::page::html(&report)?.into_bytes(),
            };
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

/// The rows `--rows`, `--errors` and `--shard` select.
fn selected_rows(args: &ExplainArgs, session: &Session) -> anyhow::Result<Vec<usize>> {
    let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
        anyhow::bail!("no data");
    };
    let mut rows = match (&args.rows, args.errors) {
        (Some(spec), _) => parse_rows(spec, data.len())?,
        (None, true) => {
            let truth = data
                .classes()
                .context("--errors needs labelled data (no label column found)")?;
            (0..data.len())
                .filter(|&r| predictions.is_correct(r, Some(truth)) == Some(false))
                .collect()
        }
        (None, false) => (0..data.len()).collect(),
    };
    if let Some(shard) = &args.shard {
        let (i, n) = parse_shard(shard)?;
        rows = rows
            .into_iter()
            .enumerate()
            .filter(|(j, _)| j % n == i)
            .map(|(_, r)| r)
            .collect();
    }
    Ok(rows)
}

/// `loupe explain` on image data: saliency maps, their faithfulness, overlays.
fn explain_images(
    args: &ExplainArgs,
    session: &Session,
    tabular: &ExplainSettings,
) -> anyhow::Result<()> {
    let method = match args.method {
        Method::Auto => loupe::explain::image::ImageMethod::Occlusion,
        m => m.image_method().ok_or_else(|| {
            anyhow::anyhow!(
                "--method {} explains tabular data; for images use occlusion, rise, superpixel or scorecam",
                m.name()
            )
        })?,
    };
    let baseline = match args.baseline.as_str() {
        "zero" => loupe::explain::image::Baseline::Zero,
        "mean" => loupe::explain::image::Baseline::Mean,
        "blur" => loupe::explain::image::Baseline::Blur,
        other => anyhow::bail!("--baseline `{other}`: expected zero, mean or blur"),
    };
    if args.plots.as_deref() == Some("svg") {
        anyhow::bail!("--plots svg: image overlays are written as png");
    }
    let settings = loupe::explain::image::ImageSettings {
        method,
        baseline,
        window: args.window.max(1),
        stride: args.stride.max(1),
        masks: args.masks.max(1),
        cells: args.cells.max(1),
        samples: args.samples.unwrap_or(1000),
        seed: args.seed,
        ..Default::default()
    };
    let rows = selected_rows(args, session)?;
    let predictions = session.predictions.clone().context("no predictions")?;
    let targets_of = |row: usize| tabular.targets_for(&predictions, row);
    let started = std::time::Instant::now();
    let bar = TerminalProgress::new(rows.len() as u64);
    let explanations = session.explain_images(&rows, &settings, &targets_of, true, &bar)?;
    bar.finish();
    let target = match &tabular.targets {
        loupe::explain::Targets::Predicted => "predicted".to_string(),
        loupe::explain::Targets::Classes(c) => c
            .iter()
            .map(|&t| session.target_name(t))
            .collect::<Vec<_>>()
            .join(","),
    };
    let file = loupe::export::image_attributions::ImageAttributionsFile::build(
        session,
        &settings,
        &target,
        &args.data.display().to_string(),
        &explanations,
    );
    let plots = write_attributions(args, |w, csv| {
        if csv {
            file.write_csv(w)
        } else {
            file.write_json(w)
        }
    })?;
    if let Some(plots) = plots {
        let images = session
            .data
            .as_ref()
            .and_then(|d| d.images.clone())
            .context("no images")?;
        for e in &explanations {
            let picture = loupe::plot::overlay::overlay(
                &images.images[e.row],
                &e.map,
                loupe::plot::overlay::OverlayStyle::default(),
            );
            let bytes = loupe::plot::overlay::png_bytes(&picture)?;
            let path = plots.join(format!(
                "row_{}_{}.png",
                e.row,
                sanitize(&session.target_name(e.target))
            ));
            write_output(Some(&path), |w| w.write_all(&bytes))?;
        }
    }
    let calls: u64 = explanations.iter().map(|e| e.map.model_calls).sum();
    eprintln!(
        "explained {} image(s) with {}: {} model images in {:.2} s",
        rows.len(),
        method.name(),
        calls,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    let source = Source::files(
        args.model.clone(),
        Some(args.data.clone()),
        args.label.clone(),
    );
    let session = Session::load(&source)?;
    let (Some(data), Some(_)) = (&session.data, &session.predictions) else {
        unreachable!("explain always loads data")
    };
    let task = session.model.task();
    let settings = ExplainSettings {
        method: args.method,
        samples: args.samples,
        tolerance: args.tolerance,
        background_rows: args.background,
        background_method: args.background_method,
        seed: args.seed,
        link: args.link,
        tree_mode: args.tree_mode,
        targets: parse_targets(&args.target, task)?,
    };
    settings.validate(task)?;
    if data.images.is_some() {
        return explain_images(&args, &session, &settings);
    }

    let rows = selected_rows(&args, &session)?;

    let background_file = match &args.background_data {
        Some(path) => Some(
            loupe::session::load_data(
                &session.model,
                &Origin::File(path.clone()),
                args.label.as_deref(),
            )
            .with_context(|| format!("background data {}", path.display()))?,
        ),
        None => None,
    };
    let background = settings.background(data, background_file.as_ref())?;
    let method = settings.resolved_method(&session.model);
    if method != Method::Tree
        && let Some(trees) = session.model.trees()
        && let Some(link) = trees.margin_link().filter(|&l| l != settings.link)
    {
        eprintln!(
            "note: exact TreeSHAP is available for this model with --link {}",
            link.name()
        );
    }
    let started = std::time::Instant::now();
    let bar = TerminalProgress::new(rows.len() as u64);
    let explanations = session.explain(&rows, &settings, &background, &bar)?;
    bar.finish();

    let source_note = BackgroundSource {
        rows: background_file
            .as_ref()
            .map_or(args.background, |d| d.len()),
        file: args
            .background_data
            .as_ref()
            .map(|p| p.display().to_string()),
    };
    let file = AttributionsFile::build(
        &session,
        &settings,
        &source_note,
        &args.data.display().to_string(),
        &explanations,
    );
    let plots = write_attributions(&args, |w, csv| {
        if csv {
            file.write_csv(w)
        } else {
            file.write_json(w)
        }
    })?;
    if let (Some(dir), Some(kind)) = (plots, &args.plots) {
        write_plots(&session, &explanations, settings.link, &dir, kind)?;
    }
    let calls: u64 = explanations.iter().map(|e| e.model_calls).sum::<u64>();
    eprintln!(
        "explained {} row(s) with {}{} against {} background rows, seed {}: {} model rows in {:.2} s",
        rows.len(),
        method.name(),
        if args.method == Method::Auto {
            " (auto)"
        } else {
            ""
        },
        background.len(),
        settings.seed,
        calls,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes the attributions (`--format`: `write(w, csv)`) as `--out`/attributions.<format>, or
/// to standard output; returns the folder for plots when `--plots` asks for them.
fn write_attributions(
    args: &ExplainArgs,
    write: impl FnOnce(&mut dyn std::io::Write, bool) -> std::io::Result<()>,
) -> anyhow::Result<Option<PathBuf>> {
    let csv = args.format == "csv";
    let Some(dir) = &args.out else {
        write_output(None, |w| write(w, csv))?;
        return Ok(None);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_output(
        Some(&dir.join(format!("attributions.{}", args.format))),
        |w| write(w, csv),
    )?;
    let Some(_) = &args.plots else {
        return Ok(None);
    };
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).with_context(|| format!("creating {}", plots.display()))?;
    Ok(Some(plots))
}

fn write_plots(
    session: &Session,
    explanations: &[RowExplanation],
    link: Link,
    dir: &Path,
    kind: &str,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let per_row = explanations
        .iter()
        .filter(|e| e.row == explanations[0].row)
        .count();
    for e in explanations {
        let Some(spec) = session.waterfall(e, link, 12) else {
            continue;
        };
        let name = if per_row > 1 {
            format!(
                "row_{}_{}.{kind}",
                e.row,
                sanitize(&session.target_name(e.target))
            )
        } else {
            format!("row_{}.{kind}", e.row)
        };
        let bytes = if kind == "svg" {
            render::waterfall_svg(&spec)?.into_bytes()
        } else {
            render::waterfall_png(&spec, 2)?
        };
        let path = dir.join(name);
        loupe::export::atomic_write(&path, |w| w.write_all(&bytes))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A class name made safe for a file name.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes to `path` atomically, or to standard output.
fn write_output(
    path: Option<&Path>,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    match path {
        Some(p) => {
            may_write(p)?;
            loupe::export::atomic_write(p, fill).with_context(|| format!("writing {}", p.display()))
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            fill(&mut lock).context("writing to standard output")
        }
    }
}

/// `0..20`, `100..`, `7`, `3,5,9` — sorted, without duplicates, each checked against `n`.
fn parse_rows(spec: &str, n: usize) -> anyhow::Result<Vec<usize>> {
    let bad = || {
        anyhow::anyhow!(
            "--rows `{spec}`: expected a range like 0..20, a row like 7, or a list like 3,5,9"
        )
    };
    let mut rows = Vec::new();
    for part in spec.split(',').map(str::trim) {
        if let Some((a, b)) = part.split_once("..") {
            let start: usize = if a.is_empty() {
                0
            } else {
                a.parse().map_err(|_| bad())?
            };
            let end: usize = if b.is_empty() {
                n
            } else {
                b.parse().map_err(|_| bad())?
            };
            rows.extend(start..end.min(n.max(start)));
            if end > n && !b.is_empty() {
                anyhow::bail!("--rows `{spec}`: the data has {n} rows (0..{n})");
            }
        } else {
            let r: usize = part.parse().map_err(|_| bad())?;
            if r >= n {
                anyhow::bail!(
                    "--rows `{spec}`: row {r} is out of range, the data has {n} rows (0..{n})"
                );
            }
            rows.push(r);
        }
    }
    rows.sort_unstable();
    rows.dedup();
    Ok(rows)
}

/// `i/n` with i < n.
fn parse_shard(spec: &str) -> anyhow::Result<(usize, usize)> {
    let parsed = spec
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => anyhow::bail!("--shard `{spec}`: expected i/n with 0 ≤ i < n, e.g. 0/4"),
    }
}

/// A progress bar over rows on standard error, hidden when it is not a terminal.
struct TerminalProgress(indicatif::ProgressBar);

impl TerminalProgress {
    fn new(rows: u64) -> Self {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(rows),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} rows {elapsed} (eta {eta})",
        ) {
            bar.set_style(style);
        }
        TerminalProgress(bar)
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for TerminalProgress {
    fn row_done(&self) {
        self.0.inc(1);
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
            if let Some(f) = Failures::compute(data, predictions, Population::Test) {
                s.push_str(&failures_text(&f, &data.feature_names));
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
fn failures_text(f: &Failures, feature_names: &[String]) -> String {
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
            slice.describe(feature_names),
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
