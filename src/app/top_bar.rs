//! The top bar: open model / open data, recent files, chips naming the model and dataset, and
//! the loading job with Cancel. Messages appear in the notices, not here.

use std::path::PathBuf;

use crate::session::Session;

use super::dialogs::Purpose;
use super::{Command, Recent};

/// What the top bar needs to know.
pub struct TopBar<'a> {
    pub session: Option<&'a Session>,
    pub recent: &'a [Recent],
    /// Label of the running job, if any.
    pub busy: Option<&'a str>,
    /// The theme chosen (changed here from the Theme menu).
    pub theme: &'a mut super::theme::ThemeChoice,
}

/// Draws the bar; user actions are pushed onto `commands`.
pub fn top_bar_ui(ui: &mut egui::Ui, bar: TopBar, commands: &mut Vec<Command>) {
    ui.horizontal_wrapped(|ui| {
        ui.strong("Loupe");
        ui.separator();
        if ui.button("Open model…").clicked() {
            commands.push(Command::Choose(Purpose::Model));
        }
        if ui.button("Open data…").clicked() {
            commands.push(Command::Choose(Purpose::Data));
        }
        ui.menu_button("Recent", |ui| {
            if bar.recent.is_empty() {
                ui.weak("Nothing opened yet");
            }
            for entry in bar.recent {
                if ui.button(entry.to_string()).clicked() {
                    commands.push(Command::OpenRecent(entry.clone()));
                    ui.close();
                }
            }
        });
        if ui
            .button("Sample")
            .on_hover_text("Open the bundled breast cancer model and data")
            .clicked()
        {
            commands.push(Command::OpenSample);
        }
        ui.menu_button("Session", |ui| {
            if ui
                .add_enabled(bar.session.is_some(), egui::Button::new("Save session…"))
                .on_hover_text("The model and data (with their SHA-256), settings, tab and row")
                .clicked()
            {
                commands.push(Command::SaveSession);
                ui.close();
            }
            if ui.button("Open session…").clicked() {
                commands.push(Command::Choose(Purpose::OpenSession));
                ui.close();
            }
        });
        let theme = &mut *bar.theme;
        ui.menu_button("View", |ui| {
            ui.label("Theme");
            for choice in super::theme::ThemeChoice::ALL {
                if ui.radio_value(theme, choice, choice.name()).clicked() {
                    ui.close();
                }
            }
        })
        .response
        .on_hover_text("Light or dark theme; by default the window follows the system");
        ui.separator();
        if let Some(session) = bar.session {
            model_chip(ui, session);
            data_chip(ui, session);
        }
        if let Some(label) = bar.busy {
            ui.separator();
            ui.spinner();
            ui.label(label);
            if ui.button("Cancel").clicked() {
                commands.push(Command::CancelJob);
            }
        }
    });
}

fn model_chip(ui: &mut egui::Ui, session: &Session) {
    let model = &session.model;
    let sig = model.signature();
    let classes = model.task().class_names();
    let input = match model.row_shape() {
        [c, h, w] if model.image().is_some() => format!("{h}×{w}×{c} images"),
        _ => format!("{} features", model.n_features()),
    };
    let summary = if classes.is_empty() {
        format!("{} · {input} → regression", model.name())
    } else {
        format!("{} · {input} → {} classes", model.name(), classes.len())
    };
    let mut details = String::new();
    for input in &sig.inputs {
        details.push_str(&format!("input  {input}\n"));
    }
    for output in &sig.outputs {
        details.push_str(&format!("output {output}\n"));
    }
    details.push_str(&format!("scores `{}`\n", model.score_output()));
    if !classes.is_empty() {
        details.push_str(&format!("classes {}\n", classes.join(", ")));
    }
    if !sig.producer.is_empty() {
        details.push_str(&format!("made by {}\n", sig.producer));
    }
    if let Some(d) = &model.card().description {
        details.push_str(d);
    }
    ui.label(egui::RichText::new(summary).strong())
        .on_hover_text(details.trim_end());
}

/// ` · accuracy 94.4% (test split)` for labelled classification data, else nothing.
fn accuracy_text(
    data: &crate::data::Dataset,
    predictions: &crate::analysis::Predictions,
) -> String {
    let Some(truth) = data.classes() else {
        return String::new();
    };
    // Accuracy on held-out rows when the data says which they are: training rows flatter.
    let (rows, population) = crate::analysis::failures::Population::Test.rows(data);
    let correct = rows
        .iter()
        .filter(|&&r| predictions.is_correct(r, Some(truth)) == Some(true))
        .count();
    format!(
        " · accuracy {:.1}% ({population})",
        100.0 * correct as f64 / rows.len().max(1) as f64
    )
}

fn data_chip(ui: &mut egui::Ui, session: &Session) {
    let Some(data) = &session.data else {
        ui.weak("no data");
        return;
    };
    ui.separator();
    let mut text = match &data.images {
        Some(images) => format!(
            "{} · {} images{}",
            data.source,
            data.len(),
            if images.skipped.is_empty() {
                String::new()
            } else {
                format!(" ({} unreadable, skipped)", images.skipped.len())
            }
        ),
        None => format!(
            "{} · {} rows × {} features",
            data.source,
            data.len(),
            data.feature_names.len()
        ),
    };
    if let Some(predictions) = &session.predictions {
        // Counted once per dataset and predictions (a million rows take milliseconds, too long
        // to spend on every frame).
        let key = (
            std::sync::Arc::as_ptr(data) as usize,
            std::sync::Arc::as_ptr(predictions) as usize,
        );
        let id = ui.make_persistent_id("accuracy_text");
        let cached: Option<((usize, usize), String)> = ui.data(|d| d.get_temp(id));
        let accuracy = match cached {
            Some((k, text)) if k == key => text,
            _ => {
                let text = accuracy_text(data, predictions);
                ui.data_mut(|d| d.insert_temp(id, (key, text.clone())));
                text
            }
        };
        text.push_str(&accuracy);
    }
    let mut hover = match &data.label_column {
        Some(c) => format!("label column `{c}`"),
        None => "no label column".to_string(),
    };
    if !data.ignored_columns.is_empty() {
        hover.push_str(&format!("\nnot used: {}", data.ignored_columns.join(", ")));
    }
    ui.label(egui::RichText::new(text).strong())
        .on_hover_text(hover);
}

/// Paths dropped onto the window, split into models and data.
pub fn dropped_paths(ctx: &egui::Context) -> (Option<PathBuf>, Option<PathBuf>) {
    let dropped: Vec<PathBuf> = ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    });
    let is = |p: &PathBuf, ext: &str| p.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext));
    let model = dropped.iter().find(|p| is(p, "onnx")).cloned();
    let data = dropped.iter().find(|p| !is(p, "onnx")).cloned();
    (model, data)
}
