//! Drawing a saliency map in the window: the image, the map as a colour layer on its scale, the
//! scale's colour bar with values, and the map's deletion and insertion curves with axes.

use image::RgbImage;

use crate::analysis::faithfulness::Faithfulness;
use crate::explain::image::SaliencyMap;
use crate::plot::overlay::{MapScale, Palette};

/// An egui image of an RGB image.
pub fn color_image(image: &RgbImage) -> egui::ColorImage {
    egui::ColorImage::from_rgb(
        [image.width() as usize, image.height() as usize],
        image.as_raw(),
    )
}

/// The map as a transparent colour layer on its [`MapScale`] in `palette` (red toward the
/// class and blue away, by default), alpha by strength.
pub fn map_layer(
    map: &SaliencyMap,
    top_percent: Option<f64>,
    palette: Palette,
) -> egui::ColorImage {
    let scale = MapScale::of(map);
    let threshold = top_percent.map(|k| {
        let mut sorted = map.values.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let n = ((sorted.len() as f64 * k / 100.0).ceil() as usize).clamp(1, sorted.len());
        sorted[n - 1]
    });
    let pixels = map
        .values
        .iter()
        .map(|&v| {
            let shown = threshold.is_none_or(|t| v >= t && v > 0.0);
            let t = if shown { scale.strength(v) } else { 0.0 };
            let (r, g, b) = palette.of(t);
            egui::Color32::from_rgba_unmultiplied(r, g, b, (t.abs().sqrt() * 255.0) as u8)
        })
        .collect();
    egui::ColorImage::new([map.width, map.height], pixels)
}

/// The map's colour bar with its values at the ends (and zero), under the map.
pub fn scale_ui(ui: &mut egui::Ui, scale: &MapScale, width: f32, palette: Palette) {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, 10.0), egui::Sense::hover());
    let painter = ui.painter();
    let steps = 48;
    for i in 0..steps {
        let v = scale.lo + (scale.hi - scale.lo) * (i as f64 + 0.5) / steps as f64;
        let [r, g, b] =
            crate::plot::overlay::tint([255, 255, 255], scale.strength(v), 1.0, palette);
        let x0 = rect.left() + rect.width() * i as f32 / steps as f32;
        let x1 = rect.left() + rect.width() * (i + 1) as f32 / steps as f32;
        painter.rect_filled(
            egui::Rect::from_min_max(egui::pos2(x0, rect.top()), egui::pos2(x1, rect.bottom())),
            0.0,
            egui::Color32::from_rgb(r, g, b),
        );
    }
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            format!("Colour scale: {}", scale.describe(palette)),
        )
    });
    ui.horizontal(|ui| {
        ui.set_width(width);
        ui.small(crate::plot::short_number(scale.lo));
        if scale.diverging {
            ui.add_space(width / 2.0 - 40.0);
            ui.small("0");
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.small(crate::plot::short_number(scale.hi));
        });
    });
}

/// Deletion and insertion curves, each against random orders, with their areas.
pub fn curves_ui(ui: &mut egui::Ui, f: &Faithfulness) {
    ui.horizontal(|ui| {
        ui.label(egui::RichText::new("Faithfulness").strong());
        super::chart::hint_ui(ui, false);
    });
    ui.weak("Deleting the most salient pixels first should drop the score fast (low area); inserting them first into a blurred image should raise it fast (high area). Dashed: random pixel orders.");
    // Two plots side by side, each half the width (and its caption wrapped to it).
    let w = ((ui.available_width() - 24.0) / 2.0).clamp(180.0, 280.0);
    ui.horizontal_top(|ui| {
        for (title, curve, random, beats) in [
            (
                "Deletion",
                &f.deletion,
                &f.random_deletion,
                f.deletion_beats_random(),
            ),
            (
                "Insertion",
                &f.insertion,
                &f.random_insertion,
                f.insertion_beats_random(),
            ),
        ] {
            ui.vertical(|ui| {
                ui.set_width(w);
                let (a, r) = (
                    crate::analysis::faithfulness::auc(curve),
                    crate::analysis::faithfulness::auc(random),
                );
                ui.label(format!(
                    "{title}: area {a:.3} (random {r:.3}){}",
                    if beats {
                        " ✓"
                    } else {
                        " — no better than random"
                    }
                ))
                .on_hover_text(format!(
                    "✓ when the map beats random pixel orders by at least {:.2} in area",
                    crate::analysis::faithfulness::MARGIN
                ));
                // The score axis starts at 0, so a curve that stays near 1 reads as such.
                let hi = curve
                    .iter()
                    .chain(random.iter())
                    .fold(f64::MIN_POSITIVE, |m, v| m.max(*v));
                let points = |c: &[f64]| -> Vec<[f64; 2]> {
                    c.iter()
                        .enumerate()
                        .map(|(i, v)| [100.0 * i as f64 / (c.len().max(2) - 1) as f64, *v])
                        .collect()
                };
                let up = super::theme::up(ui.visuals());
                let weak = ui.visuals().weak_text_color();
                let action = if title == "Deletion" {
                    "deleted"
                } else {
                    "inserted"
                };
                let response = super::chart::plot(
                    ui,
                    &format!("{title}_curve"),
                    ((0.0, 100.0), (0.0, hi * 1.05)),
                    3,
                    3,
                )
                .width(w)
                .height(170.0)
                .x_axis_label(format!("% of pixels {action}, most salient first"))
                .y_axis_label("score")
                .show(ui, |plot_ui| {
                    plot_ui.line(
                        egui_plot::Line::new("map", points(curve))
                            .color(up)
                            .width(2.0),
                    );
                    plot_ui.line(
                        egui_plot::Line::new("random orders", points(random))
                            .color(weak)
                            .width(1.5)
                            .style(egui_plot::LineStyle::dashed_dense()),
                    );
                });
                response.response.widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::Role::Image,
                        true,
                        format!("{title} curve, area {a:.3}, random {r:.3}"),
                    )
                });
            });
        }
    });
}
