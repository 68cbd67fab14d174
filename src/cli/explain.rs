//! `loupe explain`: the arguments become a validated [`ExplainPlan`] (rows, settings, outputs)
//! before any model call, then one session call explains the rows (or images) and the files
//! are written.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{ExplainArgs, write_output};
use crate::explain::image::ImageSettings;
use crate::explain::run::RowExplanation;
use crate::explain::settings::parse_targets;
use crate::explain::{ExplainSettings, Group, Kind, Method, Progress};
use crate::export::attributions::{AttributionsFile, BackgroundSource};
use crate::plot::render;
use crate::session::image::ImageRequest;
use crate::session::{Origin, Session, Source};

/// What `loupe explain` will do, checked: the session, the rows, the settings and the outputs.
struct ExplainPlan<'a> {
    args: &'a ExplainArgs,
    session: Session,
    rows: Vec<usize>,
    settings: ExplainSettings,
}

impl<'a> ExplainPlan<'a> {
    /// Loads the files and checks every argument against them.
    fn new(args: &'a ExplainArgs) -> anyhow::Result<Self> {
        let source = Source::files(
            args.model.clone(),
            Some(args.data.clone()),
            args.label.clone(),
        );
        let session = Session::load(&source)?;
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
            groups: if args.group.is_empty() {
                Group::of_card(session.model.card())
            } else {
                args.group
                    .iter()
                    .map(|g| Group::parse(g))
                    .collect::<Result<_, _>>()?
            },
            params: args.params.clone(),
            targets: parse_targets(&args.target, task)?,
        };
        if let Some(data) = &session.data {
            settings.players(&data.feature_names)?;
        }
        settings.validate(task)?;
        let rows = selected_rows(args, &session)?;
        Ok(ExplainPlan {
            args,
            session,
            rows,
            settings,
        })
    }

    fn is_images(&self) -> bool {
        self.session
            .data
            .as_ref()
            .is_some_and(|d| d.images.is_some())
    }
}

/// Runs `loupe explain`.
pub fn explain(args: &ExplainArgs) -> anyhow::Result<()> {
    let plan = ExplainPlan::new(args)?;
    if plan.is_images() {
        explain_images(&plan)
    } else {
        explain_rows(&plan)
    }
}

fn explain_rows(plan: &ExplainPlan) -> anyhow::Result<()> {
    let (args, session, settings) = (plan.args, &plan.session, &plan.settings);
    if args.method.kind() == Kind::Image {
        anyhow::bail!(
            "--method {} explains images; for rows use one of: {}",
            args.method,
            method_names(Kind::Tabular)
        );
    }
    if args.cascade {
        anyhow::bail!("--cascade checks saliency maps of images; these data are rows of features");
    }
    let background_file = match &args.background_data {
        Some(path) => Some(
            crate::session::load_data(
                &session.model,
                &Origin::File(path.clone()),
                args.label.as_deref(),
            )
            .with_context(|| format!("background data {}", path.display()))?,
        ),
        None => None,
    };
    let background = session.background(settings, background_file.as_ref())?;
    let budgeted;
    let settings = match args.model_rows {
        Some(rows) => {
            let samples = settings
                .samples_within(&session.model, background.len(), rows)
                .map_err(anyhow::Error::msg)?;
            budgeted = ExplainSettings {
                samples: Some(samples),
                ..settings.clone()
            };
            eprintln!(
                "note: --model-rows {}: a budget of {} coalitions ({} model rows a row)",
                crate::thousands(rows),
                crate::thousands(samples as u64),
                crate::thousands(budgeted.cost_per_row(&session.model, background.len()))
            );
            &budgeted
        }
        None => settings,
    };
    let method = settings.method.check(&settings.fit(&session.model))?;
    if let Some(crate::session::policy::TreeScale::Sampled { exact_link, .. }) =
        session.tree_scale(method, settings.link)
    {
        eprintln!(
            "note: exact TreeSHAP is available for this model with --link {}",
            exact_link.name()
        );
    }
    if let Some(algorithm) = session.tree_algorithm(settings, &background) {
        eprintln!("note: interventional TreeSHAP by {}", algorithm.describe());
    }
    let started = std::time::Instant::now();
    let bar = TerminalProgress::new(plan.rows.len() as u64);
    let explanations = session.explain(&plan.rows, settings, &background, &bar)?;
    bar.finish();

    let mut source = BackgroundSource::of(settings, background_file.as_ref());
    source.file = args
        .background_data
        .as_ref()
        .map(|p| p.display().to_string());
    let file = AttributionsFile::build(
        session,
        settings,
        &source,
        &session.data_name,
        &explanations,
    );
    let plots = write_attributions(args, |w, csv| {
        if csv {
            file.write_csv(w)
        } else {
            file.write_json(w)
        }
    })?;
    if let (Some(dir), Some(kind)) = (plots, &args.plots) {
        write_plots(session, &explanations, settings, &dir, kind)?;
    }
    let calls: u64 = explanations.iter().map(|e| e.model_calls).sum::<u64>();
    eprintln!(
        "explained {} row(s) with {}{} against {} background rows, seed {}: {} model rows in {:.2} s",
        plan.rows.len(),
        method.name(),
        if args.method == Method::default() {
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

/// The names of the methods of `kind`, for messages.
fn method_names(kind: Kind) -> String {
    Method::all_for(kind)
        .filter(|m| m.kind() != Kind::Any)
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `loupe explain` on image data: saliency maps, their faithfulness, overlays.
fn explain_images(plan: &ExplainPlan) -> anyhow::Result<()> {
    let (args, session) = (plan.args, &plan.session);
    if args.method.kind() == Kind::Tabular {
        anyhow::bail!(
            "--method {} explains tabular data; for images use one of: {}",
            args.method,
            method_names(Kind::Image)
        );
    }
    if args.model_rows.is_some() {
        anyhow::bail!(
            "--model-rows sets the budget of kernel and permutation SHAP on rows; an image \
             method's own parameters set its cost"
        );
    }
    if args.plots.as_deref() == Some("svg") {
        anyhow::bail!("--plots svg: image overlays are written as png");
    }
    let settings = ImageSettings {
        method: args.method,
        baseline: args.baseline,
        seed: args.seed,
        params: args.params.clone(),
    };
    let request = ImageRequest {
        settings,
        faithfulness: true,
        sanity: false,
        cascade: args.cascade,
    };
    let predictions = session.predictions.clone().context("no predictions")?;
    let targets_of = |row: usize| plan.settings.targets_for(&predictions.predicted, row);
    let started = std::time::Instant::now();
    let bar = TerminalProgress::new(plan.rows.len() as u64);
    let explanations = session.explain_images(&plan.rows, &request, &targets_of, &bar)?;
    bar.finish();
    let method = explanations
        .first()
        .map_or(args.method, |e| e.settings.method);
    let file = crate::export::image_attributions::ImageAttributionsFile::build(
        session,
        &request.settings,
        &plan.settings.targets,
        &session.data_name,
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
        let palette = match &args.palette {
            Some(name) => crate::plot::overlay::Palette::parse(name).map_err(anyhow::Error::msg)?,
            None => crate::session::map_palette(&session.model).map_err(anyhow::Error::msg)?,
        };
        let style = crate::plot::overlay::OverlayStyle {
            palette,
            ..Default::default()
        };
        let images = session
            .data
            .as_ref()
            .and_then(|d| d.images.clone())
            .context("no images")?;
        for e in &explanations {
            let picture =
                crate::plot::overlay::overlay_with_legend(&images.images[e.row], &e.map, style);
            let bytes = crate::plot::overlay::png_bytes(&picture)?;
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
        plan.rows.len(),
        method.name(),
        calls,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The rows `--rows`, `--errors` and `--shard` select.
fn selected_rows(args: &ExplainArgs, session: &Session) -> anyhow::Result<Vec<usize>> {
    let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
        anyhow::bail!("no data");
    };
    let mut rows = match (&args.rows, args.errors) {
        (Some(spec), _) => super::rows::parse_rows(spec, data.len())?,
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
        let (i, n) = super::rows::parse_shard(shard)?;
        rows = rows
            .into_iter()
            .enumerate()
            .filter(|(j, _)| j % n == i)
            .map(|(_, r)| r)
            .collect();
    }
    Ok(rows)
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
    settings: &ExplainSettings,
    dir: &Path,
    kind: &str,
) -> anyhow::Result<()> {
    let players = session.players(settings);
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let per_row = explanations
        .iter()
        .filter(|e| e.row == explanations[0].row)
        .count();
    for e in explanations {
        let Some(spec) = session.waterfall(e, &players, settings, 12) else {
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
        crate::export::atomic_write(&path, |w| w.write_all(&bytes))
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

/// A progress bar over rows on standard error, hidden when it is not a terminal.
pub struct TerminalProgress(indicatif::ProgressBar);

impl TerminalProgress {
    pub fn new(rows: u64) -> Self {
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

    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for TerminalProgress {
    fn row_done(&self) {
        self.0.inc(1);
    }
}
