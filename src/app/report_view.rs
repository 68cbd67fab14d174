//! The Report tab: a preview of the one-page clinician report on the selected row, built on a
//! worker, and its export as HTML, PNG or PDF.

use std::sync::Arc;

use crate::explain::ExplainSettings;
use crate::report::image::{IMAGE_CAVEAT, ImageReport};
use crate::report::{Report, words};
use crate::session::Session;

use super::Command;
use super::dialogs::Export;
use super::jobs::{Keyed, Unit};
use super::notices::Notices;
use super::panel::{Panel, PanelCtx};
use super::waterfall::waterfall_ui;

/// Report formats (the engine's, named as the tab knows them).
pub use crate::report::Format as ReportFormat;

/// State of the Report tab.
pub struct ReportView {
    jobs: Keyed<Report>,
    images: Keyed<ImageReport>,
    /// Bars in the waterfall before the rest are pooled.
    pub max_bars: usize,
    /// The report shown, with its bars: (key, bars, report).
    shown: Option<(String, usize, Arc<Report>)>,
}

impl Default for ReportView {
    fn default() -> Self {
        ReportView {
            jobs: Keyed::new("Writing the report…", 8),
            images: Keyed::new("Writing the report…", 8),
            max_bars: crate::report::REPORT_BARS,
            shown: None,
        }
    }
}

impl Panel for ReportView {
    fn title(&self) -> &'static str {
        "Report"
    }

    fn unavailable(&self, session: &Session) -> Option<String> {
        match &session.data {
            None => Some("open a dataset to report on one of its rows".into()),
            Some(_) => None,
        }
    }

    fn on_session(&mut self, _session: &Session, _notices: &mut Notices) {
        self.jobs.clear();
        self.images.clear();
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        if cx.session.data.as_ref().is_some_and(|d| d.images.is_some()) {
            self.image_ui(ui, cx);
            return;
        }
        let row = cx.row;
        let settings: ExplainSettings = cx.shared.explain.clone();
        let key = format!("{row}|{settings:?}");
        if let Some((failed, message)) = self.jobs.poll() {
            cx.notices.error("report", &failed, message);
        }
        cx.notices.keep_only("report", &key);
        let session = cx.session.clone();
        self.jobs
            .ensure(ui.ctx(), &key, 0, Unit::ModelRows, move |progress| {
                Ok(Report::build(&session, row, &settings, &*progress)?)
            });
        let current = self.jobs.get(&key).map(|built| {
            if built.waterfall.bars.len() == self.max_bars
                || self.max_bars == crate::report::REPORT_BARS
            {
                return built;
            }
            match &self.shown {
                Some((k, bars, r)) if *k == key && *bars == self.max_bars => r.clone(),
                _ => {
                    let r = Arc::new((*built).clone().with_bars(cx.session, self.max_bars));
                    self.shown = Some((key.clone(), self.max_bars, r.clone()));
                    r
                }
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.heading(match cx.session.case_id(row).filter(|id| !id.is_empty()) {
                Some(id) => format!("Report on row {row} · {id}"),
                None => format!("Report on row {row}"),
            });
            if let Some(report) = &current {
                ui.separator();
                ui.label("Export");
                for format in ReportFormat::ALL {
                    if ui.button(format.extension().to_uppercase()).clicked() {
                        let ext = format.extension();
                        let stem = cx.model_stem();
                        let report = report.clone();
                        cx.commands.push(Command::Export(Export {
                            name: format!("{stem}_row{}_report.{ext}", report.row),
                            bytes: Box::new(move || format.bytes(&report)),
                        }));
                    }
                }
            }
            ui.separator();
            let label = ui.label("Show");
            let features = cx.session.model.n_features().max(1);
            ui.add(
                egui::DragValue::new(&mut self.max_bars)
                    .range(1..=features)
                    .suffix(" bars"),
            )
            .labelled_by(label.id)
            .on_hover_text(
                "Bars in the waterfall before the rest are pooled, on screen and in the exports",
            );
            if self.jobs.is_running() {
                ui.spinner();
                ui.weak("Explaining and searching the nearest change…");
            }
        });
        if self.jobs.stopped(&key).is_some() && ui.button("Try again").clicked() {
            self.jobs.retry();
        }
        if let Some(note) = current.as_ref().and_then(|r| r.note.as_ref()) {
            ui.add(egui::Label::new(format!("For this report: {note}.")).wrap());
        }
        ui.separator();
        if let Some(report) = current {
            egui::ScrollArea::vertical().show(ui, |ui| preview(ui, &report));
        }
    }
}

impl ReportView {
    /// True while a report is being built.
    pub fn is_running(&self) -> bool {
        self.jobs.is_running() || self.images.is_running()
    }

    /// The image report last built.
    pub fn image_result(&self) -> Option<&std::sync::Arc<ImageReport>> {
        self.images.latest()
    }

    /// The report on the selected image, built on a worker, previewed and exported.
    fn image_ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        let row = cx.row;
        let key = format!("image {row}");
        if let Some((failed, message)) = self.images.poll() {
            cx.notices.error("report", &failed, message);
        }
        cx.notices.keep_only("report", &key);
        let session = cx.session.clone();
        self.images
            .ensure(ui.ctx(), &key, 0, Unit::ModelRows, move |progress| {
                Ok(ImageReport::build(&session, row, &*progress)?)
            });
        let current = self.images.get(&key);
        ui.horizontal(|ui| {
            ui.heading(format!("Report on image {row}"));
            if let Some(report) = &current {
                ui.separator();
                ui.label("Export");
                for format in ReportFormat::ALL {
                    if ui.button(format.extension().to_uppercase()).clicked() {
                        let report = report.clone();
                        cx.commands.push(Command::Export(Export {
                            name: format!(
                                "{}_image{row}_report.{}",
                                cx.model_stem(),
                                format.extension()
                            ),
                            bytes: Box::new(move || format.image_bytes(&report)),
                        }));
                    }
                }
            }
            if self.images.is_running() {
                ui.spinner();
                ui.weak("Making the map and its checks…");
            }
        });
        ui.separator();
        let Some(r) = current else {
            return;
        };
        let model = cx.session.model.sha256().to_string();
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading(r.title());
            ui.label(format!(
                "Prediction: {} with probability {}",
                r.predicted,
                words::percent(r.probability)
            ));
            if let Some(c) = &r.recorded {
                ui.label(format!("Recorded outcome: {c}"));
            }
            if let Some(c) = &r.calibration {
                ui.add(egui::Label::new(c.as_str()).wrap());
            }
            ui.add_space(6.0);
            ui.strong(format!("Where the model looked, for {}", r.explained));
            // The picture is decoded and uploaded once per report, then kept in egui's memory.
            let id = egui::Id::NULL.with(("report picture", row, model));
            let texture = ui
                .ctx()
                .data(|d| d.get_temp::<egui::TextureHandle>(id))
                .or_else(|| {
                    let picture = image::load_from_memory(&r.picture_png).ok()?.to_rgb8();
                    let t = ui.ctx().load_texture(
                        format!("report picture {row}"),
                        egui::ColorImage::from_rgb(
                            [picture.width() as usize, picture.height() as usize],
                            picture.as_raw(),
                        ),
                        egui::TextureOptions::LINEAR,
                    );
                    ui.ctx().data_mut(|d| d.insert_temp(id, t.clone()));
                    Some(t)
                });
            if let Some(t) = &texture {
                let size = t.size_vec2();
                let side = 320.0f32;
                ui.add(
                    egui::Image::new(t)
                        .fit_to_exact_size(egui::vec2(side, side * size.y / size.x.max(1.0))),
                );
            }
            // The picture's colour bar carries no numbers: its scale is said under it, as on
            // the printed page.
            ui.weak(format!("Colours: {}.", r.scale));
            for line in [&r.faithfulness, &r.sanity] {
                if !line.is_empty() {
                    ui.add(egui::Label::new(line.as_str()).wrap());
                }
            }
            ui.add(egui::Label::new(egui::RichText::new(IMAGE_CAVEAT).weak()).wrap());
            ui.weak(format!("Map made by {}.", r.method));
        });
    }

    /// The report on `row` with `settings`, once built.
    pub fn result(&self) -> Option<&std::sync::Arc<Report>> {
        self.jobs.latest()
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
            let by_class = r
                .by_class
                .iter()
                .map(|(c, p)| format!("{p:.0}% of {}", report.class_names[*c]))
                .collect::<Vec<_>>()
                .join(", ");
            // A category: its share of the reference rows, where a number has its band.
            let (shown, place) = match &r.category {
                Some(category) => {
                    ui.add_space(104.0);
                    (
                        category.clone(),
                        format!("{:.0}% of the reference", r.percentile),
                    )
                }
                None => {
                    super::widgets::range_bar(ui, r, &report.class_names, "the reference data");
                    (
                        words::number(r.value as f64),
                        format!("{:.0}th percentile", r.percentile),
                    )
                }
            };
            ui.weak(format!(
                "{shown} · {place}{}",
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
