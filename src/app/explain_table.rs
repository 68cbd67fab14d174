//! The Explain tab's result: the waterfall, then a table of every feature with its value
//! (editable in a what-if), its percentile and reference range among the reference rows
//! (named on screen), and its attribution ± 95% interval.

use crate::session::Session;
use crate::session::row::{RowResult, reference_population};

use super::waterfall::waterfall_ui;
use super::{theme, widgets};

/// "What if: benign with probability 62% (the row as recorded: malignant, 92%)".
pub fn what_if_line(ui: &mut egui::Ui, session: &Session, row: usize, e: &RowResult) {
    let (Some(outputs), Some(p)) = (&e.what_if, &session.predictions) else {
        return;
    };
    let names = session.model.task().class_names();
    if names.is_empty() {
        ui.label(format!(
            "What if: {} (as recorded: {})",
            widgets::format_value(outputs[0]),
            widgets::format_value(p.outputs[[row, 0]])
        ));
        return;
    }
    let best = (0..outputs.len())
        .max_by(|&a, &b| outputs[a].total_cmp(&outputs[b]))
        .unwrap_or(0);
    let was = p.predicted.get(row).copied().unwrap_or(0);
    let text = format!(
        "What if: {} with probability {:.1}% (as recorded: {}, {:.1}%)",
        names[best],
        outputs[best] * 100.0,
        names[was],
        p.outputs[[row, was]] * 100.0
    );
    if best != was {
        ui.colored_label(theme::bad(ui.visuals()), egui::RichText::new(text).strong());
    } else {
        ui.label(egui::RichText::new(text).strong());
    }
}

/// Draws the result; with `editing` (the what-if's values) the values are editable, and the
/// edits made this frame are returned as (feature, value).
pub fn result_ui(
    ui: &mut egui::Ui,
    session: &Session,
    explained: &RowResult,
    editing: Option<&[f32]>,
) -> Vec<(usize, f32)> {
    waterfall_ui(ui, &explained.spec);
    ui.add_space(8.0);
    let Some(data) = &session.data else {
        return Vec::new();
    };
    let population = reference_population(data);
    let a = &explained.explanation.attribution;
    let mut order: Vec<usize> = (0..a.values.len()).collect();
    // While editing, rows keep their place so the value under the pointer does not move.
    if editing.is_none() {
        order.sort_by(|&x, &y| a.values[y].abs().total_cmp(&a.values[x].abs()));
    }
    let mut edits: Vec<(usize, f32)> = Vec::new();
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 4.0;
    // Wider than the tab (a narrow window, long names): the table scrolls sideways.
    egui::ScrollArea::horizontal()
        .id_salt("attribution_table_scroll")
        .show(ui, |ui| {
            egui_extras::TableBuilder::new(ui)
                .id_salt("attribution_table")
                .striped(true)
                .column(egui_extras::Column::auto().at_least(180.0))
                .column(egui_extras::Column::auto().at_least(64.0))
                .column(egui_extras::Column::auto().at_least(70.0))
                .column(egui_extras::Column::exact(110.0))
                .column(egui_extras::Column::remainder().at_least(130.0))
                .header(row_height, |mut h| {
                    for (title, hover) in [
                        ("Feature", None),
                        ("Value", None),
                        (
                            "Percentile",
                            Some(format!("The value's percentile among {population}")),
                        ),
                        (
                            "Reference range",
                            Some(format!("5th–95th percentile of {population}")),
                        ),
                        ("Attribution", None),
                    ] {
                        h.col(|ui| {
                            let r = ui.strong(title);
                            if let Some(hover) = hover {
                                r.on_hover_text(hover);
                            }
                        });
                    }
                })
                .body(|body| {
                    body.rows(row_height, order.len(), |mut r| {
                        let p = order[r.index()];
                        let attribution = |ui: &mut egui::Ui| {
                            let v = a.values[p];
                            let colour = if v >= 0.0 {
                                theme::up(ui.visuals())
                            } else {
                                theme::down(ui.visuals())
                            };
                            let text = match &a.std_err {
                                Some(e) => format!("{v:+.4} ± {:.4}", 1.96 * e[p]),
                                None => format!("{v:+.4}"),
                            };
                            ui.colored_label(colour, egui::RichText::new(text).monospace());
                        };
                        let players = &explained.players;
                        let &[j] = players.members(p) else {
                            // A group: one player, its columns' values side by side.
                            let columns: Vec<&str> = players
                                .members(p)
                                .iter()
                                .map(|&j| data.feature_names[j].as_str())
                                .collect();
                            r.col(|ui| {
                                ui.label(format!("{} (group)", players.names()[p]))
                                    .on_hover_text(format!(
                                        "{} play as one: the group's Shapley value, not a sum \
                                         of theirs",
                                        columns.join(", ")
                                    ));
                            });
                            r.col(|ui| {
                                let values = editing.unwrap_or(&explained.values);
                                ui.monospace(session.player_value(players, p, values))
                                    .on_hover_text(columns.join(" · "));
                            });
                            r.col(|_| {});
                            r.col(|_| {});
                            r.col(attribution);
                            return;
                        };
                        r.col(|ui| {
                            // The card's display name and unit, with the column's own name on hover.
                            let name = &data.feature_names[j];
                            let card = session.model.card();
                            let shown = match card.unit(name) {
                                Some(unit) => format!("{} ({unit})", card.display_name(name)),
                                None => card.display_name(name).to_string(),
                            };
                            // One line each: a long name is cut with an ellipsis, whole on hover.
                            let label = ui.add(egui::Label::new(&shown).truncate());
                            if shown != *name {
                                label.on_hover_text(format!("{shown}: column `{name}`"));
                            }
                        });
                        r.col(|ui| match &editing {
                            // A category: chosen among the categories the model knows.
                            Some(values) if data.categories.get(j).is_some_and(Option::is_some) => {
                                let mut v = values[j];
                                let shown = data.value_text(j, v, widgets::format_value);
                                egui::ComboBox::from_id_salt(("what-if category", j))
                                    .selected_text(shown)
                                    .show_ui(ui, |ui| {
                                        for (name, code) in
                                            data.categories[j].iter().flat_map(|c| c.0.iter())
                                        {
                                            ui.selectable_value(&mut v, *code, name);
                                        }
                                    });
                                if v != values[j] {
                                    edits.push((j, v));
                                }
                            }
                            Some(values) => {
                                let mut v = values[j];
                                // The range seen in the reference data, computed with the explanation.
                                let (lo, hi) =
                                    explained.ranges.get(j).map_or((v, v), |r| (r.min, r.max));
                                let speed = ((hi - lo) / 300.0).max(f32::EPSILON) as f64;
                                let response = ui
                                    .add(egui::DragValue::new(&mut v).speed(speed))
                                    .on_hover_text(format!(
                                        "recorded {} · seen from {} to {} in {population}",
                                        widgets::format_value(data.x[[explained.row, j]]),
                                        widgets::format_value(lo),
                                        widgets::format_value(hi)
                                    ));
                                response.widget_info(|| {
                                    egui::WidgetInfo::labeled(
                                        egui::Role::SpinButton,
                                        true,
                                        &data.feature_names[j],
                                    )
                                });
                                if response.changed() {
                                    edits.push((j, v));
                                }
                            }
                            None => {
                                ui.monospace(data.value_text(
                                    j,
                                    explained.values[j],
                                    widgets::format_value,
                                ));
                            }
                        });
                        r.col(|ui| {
                            if let Some(range) = explained.ranges.get(j) {
                                // A category's share of the reference rows; else a percentile.
                                ui.monospace(match range.category {
                                    Some(_) => format!("{:.0}% share", range.percentile),
                                    None => format!("{:.0}%", range.percentile),
                                })
                                .on_hover_text(
                                    match range.category {
                                        Some(_) => {
                                            format!("share of {population} with this category")
                                        }
                                        None => format!("percentile among {population}"),
                                    },
                                );
                            }
                        });
                        r.col(|ui| {
                            if let Some(range) =
                                explained.ranges.get(j).filter(|r| r.category.is_none())
                            {
                                widgets::range_bar(
                                    ui,
                                    range,
                                    session.model.task().class_names(),
                                    population,
                                );
                            }
                        });
                        r.col(attribution);
                    });
                });
        });
    edits
}

/// The pinned row beside the selected one: each feature's two values and two attributions,
/// features ordered by the larger difference of attribution.
pub fn compare_ui(ui: &mut egui::Ui, session: &Session, pinned: &RowResult, this: &RowResult) {
    if session.data.is_none() {
        return;
    }
    let (a, b) = (
        &pinned.explanation.attribution,
        &this.explanation.attribution,
    );
    if a.values.len() != b.values.len() || pinned.players != this.players {
        return;
    }
    let players = &this.players;
    ui.label(
        egui::RichText::new(format!(
            "Row {} (pinned) beside row {}: {} → {}",
            pinned.row,
            this.row,
            crate::plot::short_number(a.output_value),
            crate::plot::short_number(b.output_value)
        ))
        .strong(),
    );
    let mut order: Vec<usize> = (0..a.values.len()).collect();
    order.sort_by(|&x, &y| {
        (b.values[y] - a.values[y])
            .abs()
            .total_cmp(&(b.values[x] - a.values[x]).abs())
    });
    egui::Grid::new("compare_rows")
        .striped(true)
        .num_columns(5)
        .show(ui, |ui| {
            for h in [
                "Feature".to_string(),
                format!("Row {}", pinned.row),
                format!("Row {}", this.row),
                format!("Attribution {}", pinned.row),
                format!("Attribution {}", this.row),
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for &j in order.iter().take(8) {
                ui.label(&players.names()[j]);
                ui.monospace(session.player_value(players, j, &pinned.values));
                ui.monospace(session.player_value(players, j, &this.values));
                for v in [a.values[j], b.values[j]] {
                    let colour = if v >= 0.0 {
                        theme::up(ui.visuals())
                    } else {
                        theme::down(ui.visuals())
                    };
                    ui.colored_label(colour, egui::RichText::new(format!("{v:+.4}")).monospace());
                }
                ui.end_row();
            }
        });
}
