//! The waterfall chart drawn with egui from the same [`WaterfallSpec`] the exports render, so
//! the screen and the PNG/SVG agree. Hovering a bar shows its numbers.

use crate::plot::{DOWN_RGB, UP_RGB, WaterfallSpec, short_number, ticks};

const ROW_HEIGHT: f32 = 26.0;
const LABEL_WIDTH: f32 = 250.0;

/// Draws `spec` across the available width.
pub fn waterfall_ui(ui: &mut egui::Ui, spec: &WaterfallSpec) -> egui::Response {
    let n = spec.bars.len() as f32;
    let width = ui.available_width().max(LABEL_WIDTH + 200.0);
    let height = 28.0 + n * ROW_HEIGHT + 56.0;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, height), egui::Sense::hover());
    let summary = format!(
        "Waterfall of {}: {} = {} → {} = {}",
        spec.axis_label,
        spec.base_name,
        short_number(spec.base_value),
        spec.output_name,
        short_number(spec.output_value)
    );
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, summary.clone()));
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let ink = visuals.text_color();
    let faint = visuals.weak_text_color();
    let up = egui::Color32::from_rgb(UP_RGB.0, UP_RGB.1, UP_RGB.2);
    let down = egui::Color32::from_rgb(DOWN_RGB.0, DOWN_RGB.1, DOWN_RGB.2);
    let font = egui::FontId::proportional(13.0);
    let small = egui::FontId::proportional(11.5);

    let (lo, hi) = spec.range();
    let x0 = rect.left() + LABEL_WIDTH + 10.0;
    let x1 = rect.right() - 70.0;
    let sx = |v: f64| x0 + ((v - lo) / (hi - lo)) as f32 * (x1 - x0);
    let top = rect.top() + 28.0;
    let axis_y = top + n * ROW_HEIGHT + 4.0;

    for (x, label) in [
        (
            spec.output_value,
            format!("{} = {}", spec.output_name, short_number(spec.output_value)),
        ),
        (spec.base_value, String::new()),
    ] {
        painter.line_segment(
            [egui::pos2(sx(x), top - 4.0), egui::pos2(sx(x), axis_y)],
            egui::Stroke::new(1.0, faint),
        );
        if !label.is_empty() {
            painter.text(
                egui::pos2(sx(x), top - 6.0),
                egui::Align2::CENTER_BOTTOM,
                label,
                font.clone(),
                ink,
            );
        }
    }

    for (i, bar) in spec.bars.iter().enumerate() {
        let y = top + i as f32 * ROW_HEIGHT;
        let mid = y + ROW_HEIGHT / 2.0;
        let colour = if bar.attribution >= 0.0 { up } else { down };
        painter.text(
            egui::pos2(x0 - 10.0, mid),
            egui::Align2::RIGHT_CENTER,
            &bar.label,
            font.clone(),
            ink,
        );
        let (a, b) = (sx(bar.start), sx(bar.end()));
        let bar_rect = egui::Rect::from_min_max(
            egui::pos2(a.min(b), y + ROW_HEIGHT * 0.18),
            egui::pos2(a.max(b).max(a.min(b) + 1.0), y + ROW_HEIGHT * 0.82),
        );
        painter.rect_filled(bar_rect, 1.0, colour);
        let mut text_x = bar_rect.right() + 6.0;
        if let Some(half) = bar.interval.filter(|h| *h > 0.0) {
            let (e0, e1) = (sx(bar.end() - half), sx(bar.end() + half));
            let stroke = egui::Stroke::new(1.0, ink);
            painter.line_segment([egui::pos2(e0, mid), egui::pos2(e1, mid)], stroke);
            for e in [e0, e1] {
                painter.line_segment([egui::pos2(e, mid - 4.0), egui::pos2(e, mid + 4.0)], stroke);
            }
            text_x = text_x.max(e1 + 6.0);
        }
        let sign = if bar.attribution >= 0.0 { "+" } else { "" };
        painter.text(
            egui::pos2(text_x, mid),
            egui::Align2::LEFT_CENTER,
            format!("{sign}{}", short_number(bar.attribution)),
            small.clone(),
            colour,
        );
        // Each bar is a widget of its own: hoverable, and named for screen readers and tests.
        let row_rect = egui::Rect::from_min_max(
            egui::pos2(rect.left(), y),
            egui::pos2(rect.right(), y + ROW_HEIGHT),
        );
        let row_response = ui.interact(row_rect, response.id.with(i), egui::Sense::hover());
        let label = bar.label.clone();
        row_response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, label.clone()));
        if row_response.hovered() {
            painter.rect_filled(
                row_rect,
                0.0,
                visuals.widgets.hovered.weak_bg_fill.gamma_multiply(0.25),
            );
        }
        let mut text = format!("{}\ncontribution {sign}{:.4}", bar.label, bar.attribution);
        if let Some(half) = bar.interval {
            text.push_str(&format!(" ± {half:.4} (95% interval)"));
        }
        text.push_str(&format!(
            "\n{} → {}",
            short_number(bar.start),
            short_number(bar.end())
        ));
        row_response.on_hover_text_at_pointer(text);
    }

    let stroke = egui::Stroke::new(1.0, ink);
    painter.line_segment([egui::pos2(x0, axis_y), egui::pos2(x1, axis_y)], stroke);
    for (t, label) in ticks(lo, hi, 6) {
        painter.line_segment(
            [egui::pos2(sx(t), axis_y), egui::pos2(sx(t), axis_y + 4.0)],
            stroke,
        );
        painter.text(
            egui::pos2(sx(t), axis_y + 6.0),
            egui::Align2::CENTER_TOP,
            label.clone(),
            small.clone(),
            ink,
        );
    }
    painter.text(
        egui::pos2(sx(spec.base_value), axis_y + 22.0),
        egui::Align2::CENTER_TOP,
        format!("{} = {}", spec.base_name, short_number(spec.base_value)),
        font.clone(),
        ink,
    );
    painter.text(
        egui::pos2(rect.left(), axis_y + 22.0),
        egui::Align2::LEFT_TOP,
        &spec.axis_label,
        small,
        faint,
    );
    response
}
