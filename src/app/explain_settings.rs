//! The Explain tab's settings form: the method (every tabular method of the registry; one
//! that cannot explain this model is disabled with its reason), its budget, the background,
//! the seed, the explained class and the scale, and the advice on a tree model's scale.

use crate::explain::{BackgroundMethod, Group, Kind, Link, Method, TreeMode};
use crate::session::policy::TreeScale;

use super::Command;
use super::dialogs::Purpose;
use super::panel::PanelCtx;
use super::widgets;

/// Draws the form; `target` is the explained class (`None`: each row's predicted class).
pub fn settings_ui(
    ui: &mut egui::Ui,
    cx: &mut PanelCtx,
    target: &mut Option<usize>,
    max_bars: &mut usize,
) {
    let session = cx.session;
    let m = session.model.n_features();
    let background_file = cx.shared.background_file.clone();
    let s = &mut cx.shared.explain;
    ui.heading("Explanation");
    egui::Grid::new("explain_settings_grid")
        .num_columns(2)
        .spacing([8.0, 6.0])
        .show(ui, |ui| {
            let resolved = s.resolved_method(&session.model);
            let fit = s.fit(&session.model);
            widgets::method_choice(
                ui,
                "method",
                Method::all_for(Kind::Tabular),
                &fit,
                &mut s.method,
            );
            ui.end_row();

            if resolved.name() == "tree" {
                let label = ui.label("Absent features");
                egui::ComboBox::from_id_salt("tree_mode")
                    .selected_text(s.tree_mode.name())
                    .show_ui(ui, |ui| {
                        for mode in [TreeMode::Interventional, TreeMode::PathDependent] {
                            ui.selectable_value(&mut s.tree_mode, mode, mode.name());
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_hover_text(
                        "interventional: taken from the background rows (the same values \
                         as exact); path-dependent: integrated out along the trees' \
                         splits, weighted by the training rows",
                    );
                ui.end_row();
            }

            // The method's own parameters (Integrated Gradients' steps and rule), as its
            // registry entry declares them, like the image form shows them.
            for p in resolved.params() {
                if let Some(v) = widgets::param_row(ui, p, s.params.get(p)) {
                    s.params.set(p.name, v);
                }
            }
            if resolved == crate::explain::image::ig::IG {
                ui.label("Baseline");
                ui.label("the background mean").on_hover_text(
                    "The path starts at the mean of the background rows: the values sum to \
                     the output at the row minus the output at that mean row (not the mean \
                     output over the background, which Shapley values start from)",
                );
                ui.end_row();
            }

            let label = ui.label("Budget");
            let sampled = resolved.is_sampled();
            let mut budget = s.budget(m);
            let r = ui
                .add_enabled(
                    sampled,
                    egui::DragValue::new(&mut budget)
                        .range(16..=crate::explain::settings::MAX_SAMPLES)
                        .speed(16),
                )
                .labelled_by(label.id)
                .on_hover_text("Coalitions evaluated per row (default 2·M + 2048)")
                .on_disabled_hover_text(format!("{resolved} does not sample"));
            if r.changed() {
                s.samples = Some(budget);
            }
            ui.end_row();

            let label = ui.label("Background");
            ui.add_enabled(
                background_file.is_none(),
                egui::DragValue::new(&mut s.background_rows)
                    .range(1..=1000)
                    .suffix(" rows"),
            )
            .labelled_by(label.id)
            .on_hover_text("Reference rows from the training split")
            .on_disabled_hover_text("Every row of the background file is used");
            ui.end_row();

            ui.label("");
            ui.horizontal(|ui| match &background_file {
                Some(file) => {
                    ui.label(format!("{} ({} rows)", file.source, file.len()));
                    if ui.small_button("Clear").clicked() {
                        cx.commands.push(Command::SetBackground(None));
                    }
                }
                None => {
                    if ui
                        .button("From file…")
                        .on_hover_text("Use every row of a CSV as the background")
                        .clicked()
                    {
                        cx.commands.push(Command::Choose(Purpose::Background));
                    }
                }
            });
            ui.end_row();

            let label = ui.label("Picked by");
            egui::ComboBox::from_id_salt("background_method")
                .selected_text(s.background_method.name())
                .show_ui(ui, |ui| {
                    for method in [
                        BackgroundMethod::Random,
                        BackgroundMethod::First,
                        BackgroundMethod::Kmeans,
                    ] {
                        ui.selectable_value(&mut s.background_method, method, method.name());
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();

            let label = ui.label("Seed");
            ui.add(egui::DragValue::new(&mut s.seed))
                .labelled_by(label.id);
            ui.end_row();

            let classes = session.model.task().class_names();
            if !classes.is_empty() {
                widgets::class_choice(ui, "target", classes, target, "predicted class");
                ui.end_row();

                ui.label("Scale");
                ui.horizontal(|ui| {
                    ui.selectable_value(&mut s.link, Link::Identity, "probability");
                    ui.selectable_value(&mut s.link, Link::Logit, "log-odds");
                });
                ui.end_row();
            }

            let label = ui.label("Groups");
            groups_ui(ui, s, session, label.id);
            ui.end_row();

            let label = ui.label("Show");
            ui.add(
                egui::DragValue::new(max_bars)
                    .range(2..=m.max(2))
                    .suffix(" bars"),
            )
            .labelled_by(label.id)
            .on_hover_text("Features drawn in the waterfall; the rest are pooled in one bar");
            ui.end_row();
        });
    tree_scale_note(ui, cx);
}

/// The columns that play as one: `name = column, column; …`, applied when the field loses
/// focus (or on Enter) once every group names the data's columns; else the reason is shown.
fn groups_ui(
    ui: &mut egui::Ui,
    s: &mut crate::explain::ExplainSettings,
    session: &crate::session::Session,
    label: egui::Id,
) {
    let (text_id, error_id) = (
        ui.make_persistent_id("explain_groups"),
        ui.make_persistent_id("explain_groups_error"),
    );
    let applied = Group::format_list(&s.groups);
    let mut text = ui
        .data(|d| d.get_temp::<String>(text_id))
        .unwrap_or_else(|| applied.clone());
    ui.vertical(|ui| {
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text("name = column, column; …")
                    .desired_width(240.0),
            )
            .labelled_by(label)
            .on_hover_text(
                "Columns that play as one player (dummies of one variable, measurements taken \
                 together): the group's Shapley value, not the sum of its columns'. Groups \
                 apply to this tab and `loupe explain`; the Global view, the report and \
                 TreeSHAP take each column alone.",
            );
        if r.changed() {
            ui.data_mut(|d| d.insert_temp(text_id, text.clone()));
        }
        if r.lost_focus() && text != applied {
            let names = session
                .data
                .as_ref()
                .map(|d| d.feature_names.clone())
                .unwrap_or_default();
            let checked = Group::parse_list(&text)
                .and_then(|g| crate::explain::Players::grouped(&names, &g).map(|_| g));
            match checked {
                Ok(groups) => {
                    s.groups = groups;
                    ui.data_mut(|d| {
                        d.remove::<String>(text_id);
                        d.remove::<String>(error_id);
                    });
                }
                Err(e) => {
                    ui.data_mut(|d| d.insert_temp(error_id, e.to_string()));
                }
            }
        }
        if let Some(error) = ui.data(|d| d.get_temp::<String>(error_id)) {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(error)
                        .small()
                        .color(ui.visuals().error_fg_color),
                )
                .wrap(),
            );
        }
    });
}

/// Says which scale a tree model is explained in, and offers the exact one.
fn tree_scale_note(ui: &mut egui::Ui, cx: &mut PanelCtx) {
    let s = &mut cx.shared.explain;
    match cx.session.tree_scale(s.method, s.link) {
        None => {}
        Some(TreeScale::NotASum) => {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(
                        "This ensemble's scores are not a sum over its trees: explained by \
                         sampling.",
                    )
                    .small(),
                )
                .wrap(),
            );
        }
        Some(TreeScale::Exact { space, used: true }) => {
            ui.small(format!("Exact TreeSHAP, in the trees' own {space} scale."));
        }
        Some(TreeScale::Exact { used: false, .. }) => {}
        Some(TreeScale::Sampled {
            space,
            exact_space,
            exact_link,
        }) => {
            ui.horizontal_wrapped(|ui| {
                ui.small(format!(
                    "The {space} of a tree model is explained by sampling; TreeSHAP is exact \
                     in {exact_space}."
                ));
                if ui.small_button(format!("Use {exact_space}")).clicked() {
                    s.link = exact_link;
                }
            });
        }
    }
}
