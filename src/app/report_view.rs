//! The Report tab: a preview of the one-page clinician report on the selected row, built on a
//! worker, and its export as HTML, PNG or PDF.

use std::sync::Arc;

use crate::explain::ExplainSettings;
use crate::report::{Report, page, words};
use crate::session::Session;

use super::jobs::{Export, Job, JobProgress, Unit, poll_export};
use super::waterfall::waterfall_ui;

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Html,
    Png,
    Pdf,
}

impl ReportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Png => "png",
            ReportFormat::Pdf => "pdf",
        }
    }

    /// The report in this format.
    pub fn bytes(self, report: &Report) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            ReportFormat::Html => page::html(report)?.into_bytes(),
            ReportFormat::Png => page::png(report, 2)?,
            ReportFormat::Pdf => page::pdf(report)?,
        })
    }
}

/// State of the Report tab.
#[derive(Default)]
pub struct ReportView {
    running: Option<(String, Job<Report>, Arc<JobProgress>)>,
    pub result: Option<(String, Arc<Report>)>,
    failed: Option<String>,
    exporting: Option<Export>,
    pub message: Option<String>,
}

impl ReportView {
    /// Forgets results (a new model or dataset was opened).
    pub fn clear(&mut self) {
        if let Some((_, _, cancel)) = self.running.take() {
            cancel.stop();
        }
        self.result = None;
        self.failed = None;
    }

    /// True while a report is being built.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        row: usize,
        settings: &ExplainSettings,
    ) {
        let key = format!("{row}|{settings:?}");
        if let Some((k, job, _)) = &self.running
            && let Some(done) = job.poll()
        {
            let k = k.clone();
            self.running = None;
            match done {
                Ok(report) => self.result = Some((k, Arc::new(report))),
                Err(e) => {
                    self.failed = Some(k);
                    self.message = Some(format!("{e:#}"));
                }
            }
        }
        if self.running.as_ref().is_some_and(|(k, _, _)| *k != key)
            && let Some((_, _, cancel)) = self.running.take()
        {
            cancel.stop();
        }
        let current = self
            .result
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, r)| r.clone());
        if current.is_none() && self.running.is_none() && self.failed.as_deref() != Some(&key) {
            let cancel = JobProgress::new(ui.ctx(), 0, Unit::ModelRows);
            let (session, settings, worker_cancel) =
                (session.clone(), settings.clone(), cancel.clone());
            let job = Job::spawn("Writing the report…", ui.ctx(), move || {
                Report::build(&session, row, &settings, &*worker_cancel)
            });
            self.running = Some((key.clone(), job, cancel));
        }

        ui.horizontal(|ui| {
            ui.heading(format!("Report on row {row}"));
            if let Some(report) = &current {
                ui.separator();
                ui.label("Export");
                for format in [ReportFormat::Html, ReportFormat::Png, ReportFormat::Pdf] {
                    let button = egui::Button::new(format.extension().to_uppercase());
                    if ui.add_enabled(self.exporting.is_none(), button).clicked() {
                        self.export(ui.ctx(), session, report.clone(), format);
                    }
                }
            }
            if self.running.is_some() {
                ui.spinner();
                ui.weak("Explaining and searching the nearest change…");
            }
        });
        poll_export(&mut self.exporting, &mut self.message);
        if let Some(message) = self.message.clone() {
            ui.horizontal(|ui| {
                ui.label(message);
                if ui.small_button("Dismiss").clicked() {
                    self.message = None;
                }
            });
        }
        ui.separator();
        if let Some(report) = current {
            egui::ScrollArea::vertical().show(ui, |ui| preview(ui, &report));
        }
    }

    fn export(
        &mut self,
        ctx: &egui::Context,
        session: &Session,
        report: Arc<Report>,
        format: ReportFormat,
    ) {
        let ext = format.extension();
        let stem = session.model.name().trim_end_matches(".onnx").to_string();
        let name = format!("{stem}_row{}_report.{ext}", report.row);
        self.exporting = Some(Export::spawn(ctx, name, move || format.bytes(&report)));
    }
}

/// The report as it will print, drawn with egui.
fn preview(ui: &mut egui::Ui, report: &Report) {
    ui.label(egui::RichText::new(format!("Loupe report · {}", report.title())).size(20.0));
    ui.weak(format!("Model {} · {}", report.model_name, report.date));
    ui.add_space(6.0);
    let probability = report
        .probability
        .map(|p| format!(" with probability {}", words::percent(p)))
        .unwrap_or_default();
    ui.label(
        egui::RichText::new(format!("Prediction: {}{probability}", report.predicted))
            .size(16.0)
            .strong(),
    );
    if let Some(r) = &report.recorded {
        ui.label(format!("Recorded outcome: {r}"));
    }
    if let Some(c) = &report.calibration {
        ui.label(c);
    }
    ui.add_space(8.0);
    ui.label(egui::RichText::new("In words").strong());
    ui.label(&report.summary);
    ui.add_space(8.0);
    waterfall_ui(ui, &report.waterfall);
    ui.add_space(8.0);
    ui.label(egui::RichText::new("How unusual the values are").strong());
    ui.weak("Band: 5th–95th percentile of the reference data; the mark is this row's value (red when outside the band).");
    for (name, r) in &report.ranges {
        ui.horizontal(|ui| {
            ui.add_sized([200.0, 18.0], egui::Label::new(name).truncate());
            super::explain_view::range_bar(ui, r, &report.class_names);
            let by_class = r
                .by_class
                .iter()
                .map(|(c, p)| format!("{p:.0}% of {}", report.class_names[*c]))
                .collect::<Vec<_>>()
                .join(", ");
            ui.weak(format!(
                "{} · {:.0}th percentile{}",
                words::number(r.value as f64),
                r.percentile,
                if by_class.is_empty() {
                    String::new()
                } else {
                    format!(" ({by_class})")
                }
            ));
        });
    }
    if let Some(c) = &report.counterfactual {
        ui.add_space(8.0);
        ui.label(egui::RichText::new("What would change the prediction").strong());
        ui.label(c);
    }
    ui.add_space(8.0);
    ui.label(egui::RichText::new("The model").strong());
    if let Some(d) = &report.model_description {
        ui.label(d);
    }
    ui.weak(format!("Explained with {}.", report.method));
}
