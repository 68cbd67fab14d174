//! The Failure modes tab: where a classifier goes wrong. A confusion matrix whose cells filter
//! the browser, per-class metrics, a reliability diagram with its ECE, the most confident
//! mistakes, and the error slices — each leads back to its rows.

use std::sync::Arc;

use crate::analysis::ConfusionMatrix;
use crate::analysis::failures::{Failures, Population};
use crate::plot::global::{ConfusionSpec, ReliabilitySpec};
use crate::plot::render;
use crate::session::Session;

use super::Command;
use super::browser::Subset;
use super::dialogs::Export;
use super::jobs::Job;
use super::notices::Notices;
use super::panel::{Panel, PanelCtx};
use super::plots::reliability_ui;
use super::theme;

/// The tab's title.
pub const TITLE: &str = "Failure modes";

/// Mistakes listed.
const MISTAKES_SHOWN: usize = 12;

/// State of the Failure modes tab.
#[derive(Default)]
pub struct FailuresView {
    pub population: Population,
    /// Reliability of this class one-vs-rest; `None`: top-label.
    pub calibration_class: Option<usize>,
    running: Option<(Population, Job<Failures>)>,
    result: Option<(Population, Arc<Failures>)>,
}

impl Panel for FailuresView {
    fn title(&self) -> &'static str {
        TITLE
    }

    fn unavailable(&self, session: &Session) -> Option<String> {
        match &session.data {
            Some(d) if d.classes().is_some() => None,
            Some(_) => Some("the data has no class labels, so mistakes cannot be found".into()),
            None => Some("open a labelled dataset to see where the model fails".into()),
        }
    }

    fn on_session(&mut self, _session: &Session, _notices: &mut Notices) {
        self.running = None;
        self.result = None;
        self.calibration_class = None;
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        self.draw(ui, cx.session, cx.notices, cx.commands);
    }
}

impl FailuresView {
    /// The analysis shown, once computed.
    pub fn failures(&self) -> Option<&Arc<Failures>> {
        self.result
            .as_ref()
            .filter(|(p, _)| *p == self.population)
            .map(|(_, f)| f)
    }

    fn draw(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        notices: &mut Notices,
        commands: &mut Vec<Command>,
    ) {
        let (Some(data), Some(predictions)) = (session.data.clone(), session.predictions.clone())
        else {
            ui.label("Open a labelled dataset to see where the model fails.");
            return;
        };
        if data.classes().is_none() {
            ui.label("The data has no class labels, so mistakes cannot be found.");
            return;
        }
        if let Some((p, job)) = &self.running
            && let Some(result) = job.poll()
        {
            let p = *p;
            self.running = None;
            match result {
                Ok(f) => self.result = Some((p, Arc::new(f))),
                Err(e) => notices.error("failures", "", format!("{e:#}")),
            }
        }
        if self.failures().is_none() && self.running.is_none() {
            let population = self.population;
            let (d, p) = (data.clone(), predictions.clone());
            self.running = Some((
                population,
                Job::spawn("Analysing failures…", ui.ctx(), move || {
                    Failures::compute(&d, &p, population)
                        .ok_or_else(|| anyhow::anyhow!("the data has no class labels"))
                }),
            ));
        }
        let class_names = session.model.task().class_names().to_vec();
        ui.horizontal(|ui| {
            ui.label("Rows");
            ui.selectable_value(&mut self.population, Population::Test, "test split");
            ui.selectable_value(&mut self.population, Population::All, "all rows");
            if let Some(f) = self.failures() {
                ui.weak(format!("({}: {} rows)", f.population, f.rows.len()));
            }
        });
        let Some(f) = self.failures().cloned() else {
            ui.spinner();
            return;
        };
        let truth = data.classes().unwrap_or_default();
        let matrix = ConfusionMatrix::new(
            class_names.len(),
            truth,
            &predictions.predicted,
            Some(&f.rows),
        );
        egui::ScrollArea::vertical().show(ui, |ui| {
            // Side by side while the matrix fits half the width; stacked beyond (many classes).
            let matrix_width = 150.0 + class_names.len() as f32 * 76.0;
            let stacked = matrix_width > ui.available_width() / 2.0;
            let matrix_ui = |ui: &mut egui::Ui, commands: &mut Vec<Command>| {
                ui.label(egui::RichText::new("Confusion matrix").strong());
                ui.weak("Click a cell to list its rows.");
                confusion_ui(ui, &matrix, &class_names, |t, p| {
                    let rows: Vec<usize> = f
                        .rows
                        .iter()
                        .copied()
                        .filter(|&r| truth[r] == t && predictions.predicted[r] == p)
                        .collect();
                    commands.push(Command::ShowRows(Subset {
                        label: format!(
                            "true {} predicted {} ({})",
                            class_names[t], class_names[p], f.population
                        ),
                        rows,
                    }));
                });
                ui.add_space(8.0);
                metrics_ui(ui, &matrix, &class_names);

            };
            let mut calibration_ui = |ui: &mut egui::Ui, commands: &mut Vec<Command>| {
                ui.horizontal(|ui| {
                    ui.label(egui::RichText::new("Calibration").strong());
                    let label = ui.label("of");
                    egui::ComboBox::from_id_salt("calibration_class")
                        .selected_text(match self.calibration_class {
                            Some(c) => class_names[c].clone(),
                            None => "the predicted class".into(),
                        })
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut self.calibration_class, None, "the predicted class");
                            for (c, name) in class_names.iter().enumerate() {
                                ui.selectable_value(&mut self.calibration_class, Some(c), name);
                            }
                        })
                        .response
                        .labelled_by(label.id);
                });
                let reliability = match self.calibration_class {
                    Some(c) => &f.per_class[c],
                    None => &f.reliability,
                };
                let title = match self.calibration_class {
                    Some(c) => format!("Calibration of P({}) · {}", class_names[c], f.population),
                    None => format!("Calibration of the predicted class · {}", f.population),
                };
                let spec = ReliabilitySpec::new(title.clone(), reliability);
                ui.label(format!(
                    "Expected calibration error {:.4} over {} rows",
                    reliability.ece, reliability.total
                ));
                let bins: Vec<Vec<usize>> = reliability
                    .bins
                    .iter()
                    .filter(|b| !b.rows.is_empty())
                    .map(|b| b.rows.clone())
                    .collect();
                let events = reliability_ui(ui, &spec, &bins);
                if let Some(rows) = events.boxed {
                    commands.push(Command::ShowRows(Subset {
                        label: format!("{} rows of one calibration bin", rows.len()),
                        rows,
                    }));
                }
                ui.horizontal(|ui| {
                    ui.weak("bars: observed frequency · dots: mean prediction");
                });
                let confusion = ConfusionSpec {
                    title: format!("Confusion matrix · {}", f.population),
                    class_names: class_names.clone(),
                    counts: matrix.counts.clone(),
                };
                export_buttons(ui, session, &spec, &confusion, &f, commands);
            };
            let mistakes_ui = |ui: &mut egui::Ui, commands: &mut Vec<Command>| {
                ui.label(egui::RichText::new("Most confident mistakes").strong());
                if f.confident_mistakes.is_empty() {
                    ui.weak("No mistakes in these rows.");
                }
                if let Some(images) = &data.images {
                    // For images the mistakes are the pictures themselves: click one to explain it.
                    // As many pictures a line as fit; lines of them, so none is cut at the edge.
                    let per_line = ((ui.available_width() / 112.0).floor() as usize).max(1);
                    let shown: Vec<usize> = f
                        .confident_mistakes
                        .iter()
                        .copied()
                        .take(2 * MISTAKES_SHOWN)
                        .collect();
                    for line in shown.chunks(per_line) {
                        ui.horizontal(|ui| {
                            for &r in line {
                            ui.vertical(|ui| {
                                ui.set_width(104.0);
                                let response = super::widgets::thumbnail(ui, images, r, 96.0)
                                    .on_hover_text(format!(
                                        "#{r}: true {}, predicted {} ({:.1}%); click to explain",
                                        class_names[truth[r]],
                                        class_names[predictions.predicted[r]],
                                        predictions.confidence[r] * 100.0
                                    ));
                                if response.clicked() {
                                    commands.push(Command::Select(r, Some("Explain")));
                                }
                                ui.small(format!(
                                    "#{r} {} → {}",
                                    class_names[truth[r]],
                                    class_names[predictions.predicted[r]]
                                ));
                            });
                            }
                        });
                    }
                }
                egui::Grid::new("mistakes").striped(true).show(ui, |ui| {
                    for h in ["Row", "True", "Predicted", "Confidence", ""] {
                        ui.label(egui::RichText::new(h).strong());
                    }
                    ui.end_row();
                    for &r in f.confident_mistakes.iter().take(MISTAKES_SHOWN) {
                        ui.label(format!("#{r}"));
                        ui.label(&class_names[truth[r]]);
                        ui.colored_label(theme::bad(ui.visuals()), &class_names[predictions.predicted[r]]);
                        ui.label(format!("{:.1}%", predictions.confidence[r] * 100.0));
                        if ui.small_button("Why?").on_hover_text("Explain this row").clicked() {
                            commands.push(Command::Select(r, Some("Explain")));
                        }
                        ui.end_row();
                    }
                });
                if f.confident_mistakes.len() > MISTAKES_SHOWN {
                    let rows = f.confident_mistakes.clone();
                    if ui.button(format!("List all {} mistakes", rows.len())).clicked() {
                        commands.push(Command::ShowRows(Subset {
                            label: format!("mistakes ({})", f.population),
                            rows,
                        }));
                    }
                }
            };
            // The mistakes go under the matrix when the two sit side by side, so the
            // calibration plot's height leaves no empty band beside them.
            if stacked {
                matrix_ui(ui, commands);
                ui.add_space(10.0);
                calibration_ui(ui, commands);
                ui.add_space(10.0);
                mistakes_ui(ui, commands);
            } else {
                ui.columns(2, |cols| {
                    let (left, right) = cols.split_at_mut(1);
                    matrix_ui(&mut left[0], commands);
                    left[0].add_space(10.0);
                    mistakes_ui(&mut left[0], commands);
                    calibration_ui(&mut right[0], commands);
                });
            }

            ui.add_space(10.0);
            ui.label(egui::RichText::new("Error slices").strong());
            if data.images.is_some() {
                ui.weak(
                    "Error slices are regions of feature values; for images (whose features are \
                     pixels) use the confusion matrix's cells and the mistakes above.",
                );
                return;
            }
            ui.weak(format!(
                "Where the model is wrong far more often than its {:.1}% overall ({}). Click one to list its rows.",
                100.0 * f.confident_mistakes.len() as f64 / f.rows.len().max(1) as f64,
                f.population
            ));
            if f.slices.is_empty() {
                ui.weak("No slice has significantly more errors than the rest.");
            }
            egui::Grid::new("slices").striped(true).show(ui, |ui| {
                for h in ["Slice", "Rows", "Errors", "Error rate", "Share of errors"] {
                    ui.label(egui::RichText::new(h).strong());
                }
                ui.end_row();
                for s in &f.slices {
                    let text = s.describe(&data.feature_names, &data.categories);
                    if ui.link(&text).on_hover_text("List these rows").clicked() {
                        commands.push(Command::ShowRows(Subset {
                            label: text.clone(),
                            rows: s.rows.clone(),
                        }));
                    }
                    ui.label(s.rows.len().to_string());
                    ui.label(s.errors.to_string());
                    ui.colored_label(theme::bad(ui.visuals()), format!("{:.0}%", 100.0 * s.error_rate));
                    ui.label(format!("{:.0}%", 100.0 * s.share_of_errors));
                    ui.end_row();
                }
            });
        });
    }
}

/// Export buttons: each pushes an export of its chart or table.
fn export_buttons(
    ui: &mut egui::Ui,
    session: &Session,
    spec: &ReliabilitySpec,
    confusion: &ConfusionSpec,
    f: &Arc<Failures>,
    commands: &mut Vec<Command>,
) {
    let names = session
        .data
        .as_ref()
        .map(|d| d.feature_names.clone())
        .unwrap_or_default();
    let categories = session
        .data
        .as_ref()
        .map(|d| d.categories.clone())
        .unwrap_or_default();
    ui.horizontal_wrapped(|ui| {
        ui.label("Export");
        for (label, what, ext) in [
            ("Calibration PNG", "calibration", "png"),
            ("SVG", "calibration", "svg"),
            ("Confusion PNG", "confusion", "png"),
            ("SVG", "confusion", "svg"),
            ("Slices CSV", "error_slices", "csv"),
        ] {
            if ui.button(label).clicked() {
                let (spec, confusion) = (spec.clone(), confusion.clone());
                let f = f.clone();
                let names = names.clone();
                let categories = categories.clone();
                let stem = session.model.name().trim_end_matches(".onnx").to_string();
                commands.push(Command::Export(Export {
                    name: format!("{stem}_{what}.{ext}"),
                    bytes: Box::new(move || {
                        Ok(match (what, ext) {
                            ("calibration", "png") => render::png(&spec, 2)?,
                            ("calibration", _) => render::svg(&spec)?.into_bytes(),
                            ("confusion", "png") => render::png(&confusion, 2)?,
                            ("confusion", _) => render::svg(&confusion)?.into_bytes(),
                            _ => f.slices_csv(&names, &categories).into_bytes(),
                        })
                    }),
                }));
            }
        }
    });
}

/// The matrix as a grid of buttons: rows are true classes, columns predicted ones.
fn confusion_ui(
    ui: &mut egui::Ui,
    m: &ConfusionMatrix,
    class_names: &[String],
    mut on_click: impl FnMut(usize, usize),
) {
    let max = m.counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f32;
    // Cells shrink with the number of classes so the matrix fits its width (20 classes too).
    let n = class_names.len().max(1) as f32;
    let cell_w = ((ui.available_width() - 150.0) / n - 4.0).clamp(26.0, 72.0);
    let cell_h = (cell_w * 0.55).clamp(20.0, 40.0);
    let text_size = if cell_w < 44.0 { 12.0 } else { 16.0 };
    egui::Grid::new("confusion")
        .spacing([4.0, 4.0])
        .show(ui, |ui| {
            ui.weak("true ↓ · predicted →");
            for name in class_names {
                ui.label(egui::RichText::new(name).strong());
            }
            ui.end_row();
            for (t, row) in m.counts.iter().enumerate() {
                ui.label(egui::RichText::new(&class_names[t]).strong());
                for (p, &n) in row.iter().enumerate() {
                    let tint = if t == p {
                        theme::good(ui.visuals())
                    } else {
                        theme::bad(ui.visuals())
                    };
                    let fill = tint.gamma_multiply(0.15 + 0.6 * n as f32 / max);
                    let button = egui::Button::new(
                        egui::RichText::new(n.to_string()).size(text_size).strong(),
                    )
                    .fill(fill)
                    .min_size(egui::vec2(cell_w, cell_h));
                    let response = ui.add(button).on_hover_text(format!(
                        "{n} rows of true class {} predicted {}",
                        class_names[t], class_names[p]
                    ));
                    if response.clicked() {
                        on_click(t, p);
                    }
                }
                ui.end_row();
            }
        });
}

/// Precision, recall, F1 and support per class.
fn metrics_ui(ui: &mut egui::Ui, m: &ConfusionMatrix, class_names: &[String]) {
    egui::Grid::new("class_metrics")
        .striped(true)
        .show(ui, |ui| {
            for h in ["Class", "Precision", "Recall", "F1", "Support"] {
                ui.label(egui::RichText::new(h).strong());
            }
            ui.end_row();
            for (c, name) in class_names.iter().enumerate() {
                let k = m.class_metrics(c);
                ui.label(name);
                for v in [k.precision, k.recall, k.f1] {
                    ui.label(if v.is_nan() {
                        "–".into()
                    } else {
                        format!("{v:.3}")
                    });
                }
                ui.label(k.support.to_string());
                ui.end_row();
            }
            ui.label("accuracy");
            ui.label(format!("{:.3}", m.accuracy()));
            ui.label("");
            ui.label("");
            ui.label(m.total().to_string());
            ui.end_row();
        });
}
