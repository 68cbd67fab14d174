//! The selected row's prediction card: predicted class and confidence, the true class, the
//! probability of every class as a bar, and the row's feature values.

use crate::session::Session;

use super::notices::Notices;
use super::panel::{Panel, PanelCtx};
use super::theme;

/// The Prediction tab (no state of its own).
#[derive(Default)]
pub struct PredictionPanel;

impl Panel for PredictionPanel {
    fn title(&self) -> &'static str {
        "Prediction"
    }
    fn on_session(&mut self, _session: &Session, _notices: &mut Notices) {}
    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        prediction_card_ui(ui, cx.session, cx.row);
    }
}

/// Draws the card for `row`.
pub fn prediction_card_ui(ui: &mut egui::Ui, session: &Session, row: usize) {
    let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
        return;
    };
    if row >= predictions.len() {
        return;
    }
    super::widgets::prediction_header(ui, session, row);
    ui.add_space(8.0);

    let class_names = session.model.task().class_names();
    let probabilities = |ui: &mut egui::Ui| {
        if class_names.is_empty() {
            return;
        }
        ui.label(egui::RichText::new("Class probabilities").strong());
        egui::Grid::new("class_probabilities")
            .num_columns(3)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                for (c, name) in class_names.iter().enumerate() {
                    let p = predictions.outputs[[row, c]];
                    ui.label(name);
                    probability_bar(ui, p, predictions.predicted.get(row) == Some(&c));
                    ui.monospace(format!("{:>6.2}%", p * 100.0));
                    ui.end_row();
                }
            });
        ui.add_space(8.0);
    };

    if let Some(images) = &data.images {
        // The image as large as the tab holds, its probabilities beside it.
        let side = (ui.available_height() - 48.0)
            .min(ui.available_width() - 420.0)
            .clamp(160.0, 512.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.label(egui::RichText::new("Image").strong());
                ui.weak(images.paths[row].display().to_string());
                super::widgets::thumbnail(ui, images, row, side);
            });
            ui.add_space(24.0);
            ui.vertical(probabilities);
        });
        return;
    }
    probabilities(ui);
    ui.label(egui::RichText::new("Values").strong());
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .show(ui, |ui| {
            // As many name/value pairs a line as the width holds, read down each pair of
            // columns, so the card uses its width.
            // A pair is as wide as the longest name, a value and the spacing between them.
            let widest = super::chart::names_width(ui, &data.feature_names);
            let pair = widest + 70.0 + 2.0 * 24.0;
            let pairs = ((ui.available_width() / pair).floor() as usize).clamp(1, 4);
            let m = data.feature_names.len();
            let per_column = m.div_ceil(pairs);
            egui::Grid::new("row_values")
                .num_columns(2 * pairs)
                .striped(true)
                .spacing([24.0, 4.0])
                .show(ui, |ui| {
                    for line in 0..per_column {
                        for pair in 0..pairs {
                            let f = pair * per_column + line;
                            match data.feature_names.get(f) {
                                Some(name) => {
                                    ui.label(name);
                                    ui.monospace(data.value_text(
                                        f,
                                        data.x[[row, f]],
                                        super::widgets::format_value,
                                    ));
                                }
                                None => {
                                    ui.label("");
                                    ui.label("");
                                }
                            }
                        }
                        ui.end_row();
                    }
                });
        });
}

/// A horizontal bar filled to `p` (0..1).
fn probability_bar(ui: &mut egui::Ui, p: f32, predicted: bool) {
    let size = egui::vec2(220.0, ui.text_style_height(&egui::TextStyle::Body));
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
    let fill = if p.is_finite() {
        p.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut bar = rect;
    bar.set_width(rect.width() * fill);
    painter.rect_filled(
        bar,
        2.0,
        if predicted {
            theme::accent(ui.visuals())
        } else {
            theme::muted(ui.visuals())
        },
    );
    response.on_hover_text(format!("{:.4}", p));
}

#[cfg(test)]
mod tests {
    use super::super::widgets::format_value;

    #[test]
    fn values_read_as_written() {
        assert_eq!(format_value(17.99), "17.99");
        assert_eq!(format_value(1001.0), "1001");
        assert_eq!(format_value(0.07871), "0.07871");
        assert_eq!(format_value(-0.5), "-0.5");
        assert_eq!(format_value(2.5e-6), "2.500e-6");
    }
}
