//! The waterfall chart drawn with egui_plot from the same [`WaterfallSpec`] the exports render,
//! so the screen and the PNG/SVG agree. It zooms and pans as every chart does
//! ([`super::chart`]); hovering a bar shows its numbers.

use egui_plot::{PlotBounds, PlotPoint};

use super::chart::{self, Canvas, line_label, line_marks, names_width};
use super::theme;
use crate::plot::{WaterfallSpec, short_number};

const ROW_HEIGHT: f32 = 26.0;

/// Draws `spec` across the available width.
pub fn waterfall_ui(ui: &mut egui::Ui, spec: &WaterfallSpec) -> egui::Response {
    let n = spec.bars.len();
    let names: Vec<String> = spec.bars.iter().map(|b| b.label.clone()).collect();
    let label_width = names_width(ui, &names);
    let width = ui.available_width().max(label_width + 220.0);
    let height = 64.0 + n as f32 * ROW_HEIGHT + 40.0;
    let visuals = ui.visuals();
    let ink = visuals.text_color();
    let faint = visuals.weak_text_color();
    let up = theme::up(visuals);
    let down = theme::down(visuals);
    let (lo, hi) = spec.range();
    // Room on the right for the last bar's value.
    let (x0, x1) = (lo, hi + (hi - lo) * 0.12);
    let (y0, y1) = (-(n as f64) - 0.7, 1.6);
    let summary = format!(
        "Waterfall of {}: {} = {} → {} = {}",
        spec.axis_label,
        spec.base_name,
        short_number(spec.base_value),
        spec.output_name,
        short_number(spec.output_value)
    );
    let response = chart::plot(ui, "waterfall", ((x0, x1), (y0, y1)), 6, 0)
        .width(width)
        .height(height)
        .y_grid_spacer(move |input| line_marks(input, n))
        .y_axis_formatter(move |mark, _| line_label(&names, mark))
        .y_axis_min_width(label_width)
        .show_grid([true, false])
        .x_axis_label(spec.axis_label.clone())
        .show(ui, |plot_ui| {
            let bounds = PlotBounds::from_min_max([x0, y0], [x1, y1]);
            plot_ui.add(Canvas::new("bars", bounds, move |ui, t, shapes| {
                let font = egui::FontId::proportional(13.0);
                let small = egui::FontId::proportional(11.5);
                let text = |shapes: &mut Vec<egui::Shape>,
                            at: egui::Pos2,
                            align: egui::Align2,
                            s: String,
                            f: &egui::FontId,
                            c: egui::Color32| {
                    let galley = ui.painter().layout_no_wrap(s, f.clone(), c);
                    // Kept inside the frame, so a label near an edge is not cut.
                    let mut rect = align.anchor_size(at, galley.size());
                    let frame = t.frame();
                    let dx = (frame.left() - rect.left()).max(0.0)
                        + (frame.right() - rect.right()).min(0.0);
                    rect = rect.translate(egui::vec2(dx, 0.0));
                    shapes.push(egui::Shape::galley(rect.min, galley, c));
                };
                let top = t.position_from_point_y(0.75);
                let bottom = t.position_from_point_y(-(n as f64) + 0.4);
                for x in [spec.output_value, spec.base_value] {
                    let sx = t.position_from_point_x(x);
                    shapes.push(egui::Shape::line_segment(
                        [egui::pos2(sx, top), egui::pos2(sx, bottom)],
                        egui::Stroke::new(1.0, faint),
                    ));
                }
                text(
                    shapes,
                    egui::pos2(t.position_from_point_x(spec.output_value), top),
                    egui::Align2::CENTER_BOTTOM,
                    format!("{} = {}", spec.output_name, short_number(spec.output_value)),
                    &font,
                    ink,
                );
                text(
                    shapes,
                    egui::pos2(t.position_from_point_x(spec.base_value), bottom + 2.0),
                    egui::Align2::CENTER_TOP,
                    format!("{} = {}", spec.base_name, short_number(spec.base_value)),
                    &font,
                    ink,
                );
                for (i, bar) in spec.bars.iter().enumerate() {
                    let y = -(i as f64);
                    let colour = if bar.attribution >= 0.0 { up } else { down };
                    let mut rect = t.rect_from_values(
                        &PlotPoint::new(bar.start, y - 0.32),
                        &PlotPoint::new(bar.end(), y + 0.32),
                    );
                    if rect.width() < 1.0 {
                        rect.set_width(1.0);
                    }
                    shapes.push(egui::Shape::rect_filled(rect, 1.0, colour));
                    let mid = rect.center().y;
                    let mut text_x = rect.right() + 6.0;
                    if let Some(half) = bar.interval.filter(|h| *h > 0.0) {
                        let e0 = t.position_from_point_x(bar.end() - half);
                        let e1 = t.position_from_point_x(bar.end() + half);
                        let stroke = egui::Stroke::new(1.0, ink);
                        shapes.push(egui::Shape::line_segment(
                            [egui::pos2(e0, mid), egui::pos2(e1, mid)],
                            stroke,
                        ));
                        for e in [e0, e1] {
                            shapes.push(egui::Shape::line_segment(
                                [egui::pos2(e, mid - 4.0), egui::pos2(e, mid + 4.0)],
                                stroke,
                            ));
                        }
                        text_x = text_x.max(e1 + 6.0);
                    }
                    let sign = if bar.attribution >= 0.0 { "+" } else { "" };
                    text(
                        shapes,
                        egui::pos2(text_x, mid),
                        egui::Align2::LEFT_CENTER,
                        format!("{sign}{}", short_number(bar.attribution)),
                        &small,
                        colour,
                    );
                }
            }));
        });
    let t = response.transform;
    let plot = response.response;
    plot.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, summary.clone()));
    // Each bar is named in the accessibility tree (screen readers, tests), where it is drawn.
    for (i, bar) in spec.bars.iter().enumerate() {
        let y = -(i as f64);
        let rect = t
            .rect_from_values(
                &PlotPoint::new(t.bounds().min()[0], y - 0.5),
                &PlotPoint::new(t.bounds().max()[0], y + 0.5),
            )
            .intersect(*t.frame());
        ui.ctx()
            .accesskit_node_builder(plot.id.with(("bar", i)), |node| {
                node.set_role(egui::accesskit::Role::Label);
                node.set_value(bar.label.clone());
                node.set_bounds(egui::accesskit::Rect {
                    x0: rect.min.x.into(),
                    y0: rect.min.y.into(),
                    x1: rect.max.x.into(),
                    y1: rect.max.y.into(),
                });
            });
    }
    if let Some(p) = plot.hover_pos() {
        let line = (-t.value_from_position(p).y).round();
        if line >= 0.0
            && let Some(bar) = spec.bars.get(line as usize)
        {
            let sign = if bar.attribution >= 0.0 { "+" } else { "" };
            let mut text = format!("{}\ncontribution {sign}{:.4}", bar.label, bar.attribution);
            if let Some(half) = bar.interval {
                text.push_str(&format!(" ± {half:.4} (95% interval)"));
            }
            text.push_str(&format!(
                "\n{} → {}",
                short_number(bar.start),
                short_number(bar.end())
            ));
            plot.clone().on_hover_text_at_pointer(text);
        }
    }
    plot
}
