//! The dataset-wide charts drawn with egui_plot from the same specs the exports render
//! ([`crate::plot::global`]), with the links that make them a way back to rows: hover names the
//! row, a click selects it, a Shift+drag box filters the browser to the rows inside. They zoom,
//! pan and reset as every chart in the window does ([`super::chart`]).
//!
//! Dots are drawn as one mesh (a few triangles each), so thousands of them cost one draw call.

use egui_plot::{PlotBounds, PlotPoint, PlotTransform};

use super::chart::{self, Canvas, add_dot, line_label, line_marks, names_width, nearest};
use super::theme;
use crate::plot::global::{BeeswarmSpec, DependenceSpec, ReliabilitySpec, value_rgb};
use crate::plot::short_number;

/// What the user did on a chart this frame.
#[derive(Default)]
pub struct PlotEvents {
    /// A dot was clicked: its row.
    pub clicked: Option<usize>,
    /// A box was drawn: the rows of the dots inside.
    pub boxed: Option<Vec<usize>>,
    /// A feature's line or bar was clicked: its data column.
    pub feature: Option<usize>,
}

const DOT: f32 = 2.4;

fn colour(rgb: (u8, u8, u8)) -> egui::Color32 {
    egui::Color32::from_rgb(rgb.0, rgb.1, rgb.2)
}

/// The colour of a feature value scaled to 0–1 (`None`: missing), as the exports draw it.
pub fn value_colour(t: Option<f32>) -> egui::Color32 {
    colour(value_rgb(t))
}

/// A dot's colour: its category's when `categories` are given, else the value scale's.
pub fn dot_colour(t: Option<f32>, categories: Option<&[String]>) -> egui::Color32 {
    colour(crate::plot::dots::dot_rgb(t, categories))
}

/// The colours of a category column's categories: `island  ● Biscoe  ● Dream`.
pub fn category_legend_ui(ui: &mut egui::Ui, name: &str, categories: &[String]) {
    ui.horizontal_wrapped(|ui| {
        ui.weak(format!("{name}:"));
        for (i, category) in categories.iter().enumerate() {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().circle_filled(
                rect.center(),
                4.0,
                colour(crate::plot::dots::category_rgb(Some(i as f32))),
            );
            ui.label(category);
        }
    })
    .response
    .widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            format!("Colours of {name}: {}", categories.join(", ")),
        )
    });
}

/// The colour bar of the dots' feature values: "low … high".
pub fn value_scale_ui(ui: &mut egui::Ui, caption: &str) {
    chart::colour_bar(ui, 120.0, ("low", "high"), caption, |t| {
        value_colour(Some(t))
    });
}

/// Height of one beeswarm line.
pub const BEE_ROW: f32 = 24.0;
const BEE_BARS: f32 = 150.0;

/// Where dot `d` of line `i` sits in plot coordinates (lines run down from 0).
fn bee_point(i: usize, d: &crate::plot::global::Dot) -> PlotPoint {
    PlotPoint::new(d.x, -(i as f64) - d.y)
}

/// The beeswarm's dots as one mesh (what a frame costs is mostly this).
pub fn beeswarm_mesh(t: &PlotTransform, spec: &BeeswarmSpec) -> egui::Mesh {
    let dots: usize = spec.features.iter().map(|f| f.dots.len()).sum();
    let mut mesh = egui::Mesh::default();
    mesh.vertices.reserve(dots * 7);
    mesh.indices.reserve(dots * 18);
    for (i, f) in spec.features.iter().enumerate() {
        for d in &f.dots {
            add_dot(
                &mut mesh,
                t.position_from_point(&bee_point(i, d)),
                DOT,
                dot_colour(d.colour, f.categories.as_deref()),
            );
        }
    }
    mesh
}

/// Draws the beeswarm with each feature's mean |attribution| as a bar on the right (the two
/// share their vertical axis: zooming one zooms the other).
pub fn beeswarm_ui(ui: &mut egui::Ui, spec: &BeeswarmSpec, selected: Option<usize>) -> PlotEvents {
    let mut events = PlotEvents::default();
    let n = spec.features.len();
    let names: Vec<String> = spec.features.iter().map(|f| f.name.clone()).collect();
    let height = BEE_ROW * n as f32 + 48.0;
    let width = (ui.available_width() - BEE_BARS - 24.0).max(320.0);
    let group = ui.make_persistent_id("beeswarm_lines");
    let (lo, hi) = spec.x_range;
    let (y0, y1) = (-(n as f64) + 0.5, 0.5);
    let ink = ui.visuals().text_color();
    let faint = ui.visuals().weak_text_color();
    let label_width = names_width(ui, &names);
    ui.horizontal_top(|ui| {
        let label_names = names.clone();
        let response = chart::plot(ui, "beeswarm", ((lo, hi), (y0, y1)), 6, 0)
            .width(width)
            .height(height)
            .y_grid_spacer(move |input| line_marks(input, n))
            .y_axis_formatter(move |mark, _| line_label(&label_names, mark))
            .y_axis_min_width(label_width)
            .x_axis_label(format!("attribution ({})", spec.measure))
            .link_axis(group, [false, true])
            .show(ui, |plot_ui| {
                let bounds = PlotBounds::from_min_max([lo, y0], [hi, y1]);
                plot_ui.add(Canvas::new("dots", bounds, move |_, t, shapes| {
                    let (top, bottom) = (t.frame().top(), t.frame().bottom());
                    let x = t.position_from_point_x(0.0);
                    shapes.push(egui::Shape::line_segment(
                        [egui::pos2(x, top), egui::pos2(x, bottom)],
                        egui::Stroke::new(1.0, faint),
                    ));
                    shapes.push(egui::Shape::mesh(beeswarm_mesh(t, spec)));
                    if let Some(row) = selected {
                        for (i, f) in spec.features.iter().enumerate() {
                            if let Some(d) = f.dots.iter().find(|d| d.row == row) {
                                shapes.push(egui::Shape::circle_stroke(
                                    t.position_from_point(&bee_point(i, d)),
                                    DOT + 2.5,
                                    egui::Stroke::new(1.5, ink),
                                ));
                            }
                        }
                    }
                }));
            });
        let t = response.transform;
        let plot = response.response;
        plot.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Image,
                true,
                format!("Beeswarm of {n} features by mean |attribution|"),
            )
        });
        // Hover and click: the nearest dot on the line under the pointer; a click away from
        // the dots picks the line's feature.
        if let Some(p) = plot.hover_pos() {
            let line = (-t.value_from_position(p).y).round();
            if line >= 0.0 && (line as usize) < n {
                let i = line as usize;
                let f = &spec.features[i];
                let hit = nearest(
                    p,
                    6.0,
                    f.dots
                        .iter()
                        .map(|d| (d, t.position_from_point(&bee_point(i, d)))),
                );
                if let Some((d, at)) = hit {
                    ui.painter_at(*t.frame()).circle_stroke(
                        at,
                        DOT + 2.0,
                        egui::Stroke::new(1.5, ink),
                    );
                    plot.clone().on_hover_text_at_pointer(format!(
                        "row {} · {}: attribution {:+.4}\nclick to explain this row",
                        d.row, f.name, d.x
                    ));
                    if plot.clicked() {
                        events.clicked = Some(d.row);
                    }
                } else if plot.clicked() {
                    events.feature = Some(f.index);
                }
            }
        }
        if let Some(b) = chart::shift_box(ui, &plot, &t) {
            let mut rows: Vec<usize> = spec
                .features
                .iter()
                .enumerate()
                .flat_map(|(i, f)| {
                    f.dots
                        .iter()
                        .filter(move |d| {
                            let p = bee_point(i, d);
                            b.contains(p.x, p.y)
                        })
                        .map(|d| d.row)
                })
                .collect();
            rows.sort_unstable();
            rows.dedup();
            events.boxed = Some(rows);
        }
        if let Some(j) = mean_bars_ui(ui, spec, height, group, (y0, y1)) {
            events.feature = Some(j);
        }
    });
    value_scale_ui(
        ui,
        "dot colour: the feature's value in that row (grey: missing)",
    );
    for (name, categories) in spec.legends() {
        category_legend_ui(ui, name, categories);
    }
    events
}

/// Each feature's mean |attribution| as a bar, on the beeswarm's lines; a click returns the
/// feature.
fn mean_bars_ui(
    ui: &mut egui::Ui,
    spec: &BeeswarmSpec,
    height: f32,
    group: egui::Id,
    (y0, y1): (f64, f64),
) -> Option<usize> {
    let max_mean = spec
        .features
        .iter()
        .map(|f| f.mean_abs)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let bar = theme::up(ui.visuals()).gamma_multiply(0.8);
    let faint = ui.visuals().weak_text_color();
    let response = chart::plot(ui, "beeswarm_bars", ((0.0, max_mean * 1.6), (y0, y1)), 2, 0)
        .width(BEE_BARS)
        .height(height)
        .show_axes([true, false])
        .show_grid([false, false])
        .allow_drag([false, true])
        .allow_zoom([false, true])
        .x_axis_label("mean |attribution|")
        .link_axis(group, [false, true])
        .show(ui, |plot_ui| {
            let bounds = PlotBounds::from_min_max([0.0, y0], [max_mean * 1.6, y1]);
            plot_ui.add(Canvas::new("mean bars", bounds, move |ui, t, shapes| {
                for (i, f) in spec.features.iter().enumerate() {
                    let y = -(i as f64);
                    let rect = t.rect_from_values(
                        &PlotPoint::new(0.0, y - 0.25),
                        &PlotPoint::new(f.mean_abs, y + 0.25),
                    );
                    shapes.push(egui::Shape::rect_filled(rect, 0.0, bar));
                    let galley = ui.painter().layout_no_wrap(
                        short_number(f.mean_abs),
                        egui::FontId::proportional(10.5),
                        faint,
                    );
                    let at =
                        egui::pos2(rect.right() + 3.0, rect.center().y - galley.size().y / 2.0);
                    shapes.push(egui::Shape::galley(at, galley, faint));
                }
            }));
        });
    let plot = response.response;
    let line = plot
        .hover_pos()
        .map(|p| (-response.transform.value_from_position(p).y).round())
        .filter(|l| *l >= 0.0 && (*l as usize) < spec.features.len())?;
    let f = &spec.features[line as usize];
    plot.clone().on_hover_text_at_pointer(format!(
        "{}: mean |attribution| {}\nclick for its dependence plot",
        f.name,
        short_number(f.mean_abs)
    ));
    plot.clicked().then_some(f.index)
}

/// Draws a dependence plot: value → attribution, coloured by the interaction partner.
pub fn dependence_ui(
    ui: &mut egui::Ui,
    spec: &DependenceSpec,
    selected: Option<usize>,
) -> PlotEvents {
    let mut events = PlotEvents::default();
    let ink = ui.visuals().text_color();
    let faint = ui.visuals().weak_text_color();
    let ((xlo, xhi), (ylo, yhi)) = spec.ranges();
    // Its own id per feature: the bounds of one feature's axis are not kept for another.
    let mut plot = chart::plot(
        ui,
        &format!("dependence of {}", spec.feature),
        ((xlo, xhi), (ylo, yhi)),
        6,
        5,
    )
    .width(ui.available_width().max(420.0))
    .height(320.0)
    .x_axis_label(spec.feature.clone())
    .y_axis_label(spec.measure.clone());
    if let Some(strips) = &spec.strips {
        // A category column: one strip per category, named on the axis.
        let (n, names) = (strips.len(), strips.clone());
        plot = plot
            .x_grid_spacer(move |input| chart::strip_marks(input, n))
            .x_axis_formatter(move |mark, _| chart::strip_label(&names, mark));
    }
    let colours = spec.colour_categories.clone();
    let response = plot.show(ui, |plot_ui| {
        let bounds = PlotBounds::from_min_max([xlo, ylo], [xhi, yhi]);
        plot_ui.add(Canvas::new("dots", bounds, move |_, t, shapes| {
            if ylo < 0.0 && yhi > 0.0 {
                let y = t.position_from_point_y(0.0);
                shapes.push(egui::Shape::line_segment(
                    [
                        egui::pos2(t.frame().left(), y),
                        egui::pos2(t.frame().right(), y),
                    ],
                    egui::Stroke::new(1.0, faint),
                ));
            }
            let mut mesh = egui::Mesh::default();
            for d in &spec.dots {
                add_dot(
                    &mut mesh,
                    t.position_from_point(&PlotPoint::new(d.x, d.y)),
                    2.8,
                    dot_colour(d.colour, colours.as_deref()),
                );
            }
            shapes.push(egui::Shape::mesh(mesh));
            if let Some(d) = selected.and_then(|r| spec.dots.iter().find(|d| d.row == r)) {
                shapes.push(egui::Shape::circle_stroke(
                    t.position_from_point(&PlotPoint::new(d.x, d.y)),
                    5.5,
                    egui::Stroke::new(1.5, ink),
                ));
            }
        }));
    });
    let t = response.transform;
    let plot = response.response;
    plot.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, spec.title.clone()));
    if let Some(p) = plot.hover_pos()
        && let Some((d, at)) = nearest(
            p,
            6.0,
            spec.dots
                .iter()
                .map(|d| (d, t.position_from_point(&PlotPoint::new(d.x, d.y)))),
        )
    {
        ui.painter_at(*t.frame())
            .circle_stroke(at, 5.0, egui::Stroke::new(1.5, ink));
        let value = spec
            .strip_at(d.x)
            .map_or_else(|| short_number(d.x), str::to_string);
        plot.clone().on_hover_text_at_pointer(format!(
            "row {} · {} = {value} · attribution {:+.4}\nclick to explain this row",
            d.row, spec.feature, d.y
        ));
        if plot.clicked() {
            events.clicked = Some(d.row);
        }
    }
    if let Some(b) = chart::shift_box(ui, &plot, &t) {
        let mut rows: Vec<usize> = spec
            .dots
            .iter()
            .filter(|d| b.contains(d.x, d.y))
            .map(|d| d.row)
            .collect();
        rows.sort_unstable();
        events.boxed = Some(rows);
    }
    match (&spec.colour_by, &spec.colour_categories) {
        (Some(c), Some(categories)) => {
            category_legend_ui(ui, &format!("dot colour: {c}"), categories)
        }
        (Some(c), None) => value_scale_ui(ui, &format!("dot colour: {c} (grey: missing)")),
        _ => {}
    }
    events
}

/// Draws a reliability diagram; clicking a bin returns its rows.
pub fn reliability_ui(
    ui: &mut egui::Ui,
    spec: &ReliabilitySpec,
    bins_rows: &[Vec<usize>],
) -> PlotEvents {
    let mut events = PlotEvents::default();
    let side = ui.available_width().clamp(220.0, 340.0);
    let faint = ui.visuals().weak_text_color();
    let bar = theme::muted(ui.visuals());
    let dot = theme::up(ui.visuals());
    let hover_id = ui.make_persistent_id(("reliability_hover", &spec.title));
    let hovered_bin = ui.data(|d| d.get_temp::<usize>(hover_id));
    // A margin round [0, 1], so dots on the edges are not cut in half.
    let response = chart::plot(ui, "reliability", ((-0.03, 1.03), (-0.03, 1.03)), 5, 5)
        .width(side)
        .height(side + 30.0)
        .x_axis_label("predicted probability")
        .y_axis_label("observed rate")
        .show(ui, |plot_ui| {
            let bounds = PlotBounds::from_min_max([0.0, 0.0], [1.0, 1.0]);
            plot_ui.add(Canvas::new("bins", bounds, move |_, t, shapes| {
                shapes.push(egui::Shape::line_segment(
                    [
                        t.position_from_point(&PlotPoint::new(0.0, 0.0)),
                        t.position_from_point(&PlotPoint::new(1.0, 1.0)),
                    ],
                    egui::Stroke::new(1.0, faint),
                ));
                for (k, &(lo, hi, predicted, observed, _)) in spec.bins.iter().enumerate() {
                    let rect =
                        t.rect_from_values(&PlotPoint::new(lo, 0.0), &PlotPoint::new(hi, observed));
                    let rect = rect.shrink2(egui::vec2(1.0, 0.0));
                    let strength = if hovered_bin == Some(k) { 1.0 } else { 0.7 };
                    shapes.push(egui::Shape::rect_filled(
                        rect,
                        0.0,
                        bar.gamma_multiply(strength),
                    ));
                    shapes.push(egui::Shape::circle_filled(
                        t.position_from_point(&PlotPoint::new(predicted, observed)),
                        3.5,
                        dot,
                    ));
                }
            }));
        });
    let t = response.transform;
    let plot = response.response;
    plot.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            format!("{} · ECE {:.4}", spec.title, spec.ece),
        )
    });
    let mut hovered = None;
    if let Some(p) = plot.hover_pos() {
        let v = t.value_from_position(p);
        hovered = spec
            .bins
            .iter()
            .position(|&(lo, hi, ..)| v.x >= lo && v.x < hi && (0.0..=1.0).contains(&v.y));
    }
    ui.data_mut(|d| match hovered {
        Some(k) => {
            d.insert_temp(hover_id, k);
        }
        None => {
            d.remove::<usize>(hover_id);
        }
    });
    if let Some(k) = hovered {
        let (lo, hi, predicted, observed, n) = spec.bins[k];
        plot.clone().on_hover_text_at_pointer(format!(
            "predicted {:.0}–{:.0}%: {n} rows, mean prediction {:.1}%, observed {:.1}%\nclick to list these rows",
            lo * 100.0,
            hi * 100.0,
            predicted * 100.0,
            observed * 100.0
        ));
        if plot.clicked() {
            events.boxed = bins_rows.get(k).cloned();
        }
    }
    events
}
