//! What every chart in the window shares: egui_plot's own zoom, pan and reset with one scheme,
//! axes whose ticks share their decimals ([`crate::plot::ticks`]), a canvas item for marks that
//! are cheaper painted as one mesh, a Shift-drag box that lists rows, and colour bars.
//!
//! The scheme, the same on every chart: drag pans, Ctrl+scroll zooms (plain scrolling still
//! scrolls the page), a right-button drag zooms into a box, a double-click resets, and
//! Shift+drag draws a box that lists the rows inside (on charts with rows).

use std::ops::RangeInclusive;

use egui_plot::{
    GridInput, GridMark, Plot, PlotBounds, PlotGeometry, PlotItem, PlotItemBase, PlotPoint,
    PlotTransform,
};

use crate::plot::{short_number, ticks};

/// How a chart is explored, for hover texts and captions.
pub const HINT: &str =
    "Drag to pan · Ctrl+scroll to zoom · right-drag a box to zoom in · double-click to reset";
/// How rows are listed from a chart with rows.
pub const BOX_HINT: &str = "Shift+drag a box to list the rows inside";

/// A small "zoom · pan" note whose hover text says how charts are explored (and, with
/// `rows`, how a box lists rows).
pub fn hint_ui(ui: &mut egui::Ui, rows: bool) -> egui::Response {
    let text = if rows {
        format!("{HINT}\n{BOX_HINT}")
    } else {
        HINT.to_string()
    };
    ui.weak("⊕ zoom · pan").on_hover_text(text)
}

/// The default view of a chart: `x` and `y` as (low, high).
pub type View = ((f64, f64), (f64, f64));

/// A chart with the window's scheme: `ticks_x`/`ticks_y` round ticks on each axis, showing
/// `view` until it is zoomed or panned. The chart's zoom is kept per view: a chart of other
/// content (another row's waterfall, another image's curves) opens on its own view, not on
/// the bounds the last one was left at.
pub fn plot<'a>(ui: &egui::Ui, id: &str, view: View, ticks_x: usize, ticks_y: usize) -> Plot<'a> {
    let shift = ui.input(|i| i.modifiers.shift);
    let ((x0, x1), (y0, y1)) = view;
    let key = [x0, x1, y0, y1].map(f64::to_bits);
    Plot::new((id, key))
        .default_x_bounds(x0, x1)
        .default_y_bounds(y0, y1)
        .allow_scroll(false)
        .allow_zoom(true)
        .allow_drag(!shift)
        .allow_boxed_zoom(true)
        .allow_double_click_reset(true)
        .show_x(false)
        .show_y(false)
        .x_grid_spacer(move |input| round_marks(input, ticks_x))
        .y_grid_spacer(move |input| round_marks(input, ticks_y))
        .x_axis_formatter(move |mark, range| tick_label(mark, range, ticks_x))
        .y_axis_formatter(move |mark, range| tick_label(mark, range, ticks_y))
}

/// Grid marks at the round ticks of the visible range.
fn round_marks(input: GridInput, n: usize) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let t = ticks(lo, hi, n);
    let step = t
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .fold(f64::INFINITY, f64::min);
    let step = if step.is_finite() { step } else { hi - lo };
    t.into_iter()
        .map(|(value, _)| GridMark {
            value,
            step_size: step,
        })
        .collect()
}

/// The label of a mark placed by [`round_marks`] (the same decimals as its neighbours).
fn tick_label(mark: GridMark, range: &RangeInclusive<f64>, n: usize) -> String {
    let tolerance = mark.step_size.abs() * 1e-6;
    ticks(*range.start(), *range.end(), n)
        .into_iter()
        .find(|(t, _)| (t - mark.value).abs() <= tolerance)
        .map_or_else(|| short_number(mark.value), |(_, label)| label)
}

/// Integer marks (one per line of a chart with one line per feature) in the visible range.
pub fn line_marks(input: GridInput, lines: usize) -> Vec<GridMark> {
    index_marks(input, lines, -1.0)
}

/// The name of line `-mark` (lines run down from 0), empty between lines.
pub fn line_label(names: &[String], mark: GridMark) -> String {
    index_label(names, -mark.value)
}

/// Marks at 0, 1, … (one per strip of a category axis) in the visible range.
pub fn strip_marks(input: GridInput, strips: usize) -> Vec<GridMark> {
    index_marks(input, strips, 1.0)
}

/// The name of strip `mark`, empty between strips.
pub fn strip_label(names: &[String], mark: GridMark) -> String {
    index_label(names, mark.value)
}

/// Marks at `direction` × 0, 1, … `n − 1` that are in the visible range.
fn index_marks(input: GridInput, n: usize, direction: f64) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    (0..n)
        .map(|i| direction * i as f64)
        .filter(|v| *v >= lo - 0.5 && *v <= hi + 0.5)
        .map(|value| GridMark {
            value,
            step_size: 1.0,
        })
        .collect()
}

/// `names[i]` at a whole `i`, empty between.
fn index_label(names: &[String], i: f64) -> String {
    if (i - i.round()).abs() > 1e-6 || i < -0.5 {
        return String::new();
    }
    names.get(i.round() as usize).cloned().unwrap_or_default()
}

/// Pixels the longest of `names` takes in the axis font, plus a margin.
pub fn names_width(ui: &egui::Ui, names: &[String]) -> f32 {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let widest = names
        .iter()
        .map(|n| {
            ui.painter()
                .layout_no_wrap(n.clone(), font.clone(), egui::Color32::WHITE)
                .size()
                .x
        })
        .fold(0.0, f32::max);
    (widest + 14.0).clamp(40.0, 320.0)
}

type Draw<'a> = Box<dyn Fn(&egui::Ui, &PlotTransform, &mut Vec<egui::Shape>) + 'a>;

/// A plot item painted by a closure from the plot's transform: thousands of dots as one mesh,
/// bars with their value labels. It claims `bounds` for the plot's automatic bounds.
pub struct Canvas<'a> {
    base: PlotItemBase,
    bounds: PlotBounds,
    draw: Draw<'a>,
}

impl<'a> Canvas<'a> {
    pub fn new(
        name: &str,
        bounds: PlotBounds,
        draw: impl Fn(&egui::Ui, &PlotTransform, &mut Vec<egui::Shape>) + 'a,
    ) -> Self {
        Canvas {
            base: PlotItemBase::new(name.to_string()),
            bounds,
            draw: Box::new(draw),
        }
    }
}

impl PlotItem for Canvas<'_> {
    fn shapes(&self, ui: &egui::Ui, transform: &PlotTransform, shapes: &mut Vec<egui::Shape>) {
        (self.draw)(ui, transform, shapes);
    }

    fn initialize(&mut self, _x_range: RangeInclusive<f64>) {}

    fn color(&self) -> egui::Color32 {
        egui::Color32::TRANSPARENT
    }

    fn geometry(&self) -> PlotGeometry<'_> {
        PlotGeometry::None
    }

    fn bounds(&self) -> PlotBounds {
        self.bounds
    }

    fn base(&self) -> &PlotItemBase {
        &self.base
    }

    fn base_mut(&mut self) -> &mut PlotItemBase {
        &mut self.base
    }
}

/// Adds a small filled hexagon to `mesh`.
pub fn add_dot(mesh: &mut egui::Mesh, at: egui::Pos2, r: f32, fill: egui::Color32) {
    let base = mesh.vertices.len() as u32;
    mesh.colored_vertex(at, fill);
    for k in 0..6 {
        let a = k as f32 * std::f32::consts::FRAC_PI_3;
        mesh.colored_vertex(at + egui::vec2(a.cos(), a.sin()) * r, fill);
    }
    for k in 0..6 {
        mesh.add_triangle(base, base + 1 + k, base + 1 + (k + 1) % 6);
    }
}

/// A box in plot coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotBox {
    pub min: PlotPoint,
    pub max: PlotPoint,
}

impl PlotBox {
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.min.x && x <= self.max.x && y >= self.min.y && y <= self.max.y
    }
}

/// Tracks a Shift+drag over a chart's `response`; returns the finished box in plot coordinates.
/// Panning is off while Shift is held ([`plot`]), so the two never fight.
pub fn shift_box(
    ui: &egui::Ui,
    response: &egui::Response,
    transform: &PlotTransform,
) -> Option<PlotBox> {
    let start_id = response.id.with("shift_box");
    let shift = ui.input(|i| i.modifiers.shift);
    if response.drag_started_by(egui::PointerButton::Primary)
        && shift
        && let Some(p) = response.interact_pointer_pos()
    {
        let v = transform.value_from_position(p);
        ui.data_mut(|d| d.insert_temp(start_id, (v.x, v.y)));
    }
    let (x, y) = ui.data(|d| d.get_temp::<(f64, f64)>(start_id))?;
    let current = ui.input(|i| i.pointer.interact_pos())?;
    let a = transform.position_from_point(&PlotPoint::new(x, y));
    let rect = egui::Rect::from_two_pos(a, current);
    if response.dragged() {
        ui.painter_at(*transform.frame()).rect(
            rect,
            0.0,
            super::theme::selection(ui.visuals()).gamma_multiply(0.15),
            egui::Stroke::new(1.0, super::theme::selection(ui.visuals())),
            egui::StrokeKind::Inside,
        );
    }
    if response.drag_stopped() || !response.dragged() {
        ui.data_mut(|d| d.remove::<(f64, f64)>(start_id));
        if rect.width() > 3.0 && rect.height() > 3.0 {
            let (p, q) = (
                transform.value_from_position(rect.min),
                transform.value_from_position(rect.max),
            );
            return Some(PlotBox {
                min: PlotPoint::new(p.x.min(q.x), p.y.min(q.y)),
                max: PlotPoint::new(p.x.max(q.x), p.y.max(q.y)),
            });
        }
    }
    None
}

/// The item nearest `pointer` within `within` pixels among `positions` (screen coordinates).
pub fn nearest<T>(
    pointer: egui::Pos2,
    within: f32,
    positions: impl Iterator<Item = (T, egui::Pos2)>,
) -> Option<(T, egui::Pos2)> {
    positions
        .map(|(t, p)| (t, p, p.distance_sq(pointer)))
        .filter(|(_, _, d)| *d < within * within)
        .min_by(|a, b| a.2.total_cmp(&b.2))
        .map(|(t, p, _)| (t, p))
}

/// A colour bar `width` wide from `colour(0)` to `colour(1)`, with `low` and `high` at its
/// ends and `caption` after it, on one line.
pub fn colour_bar(
    ui: &mut egui::Ui,
    width: f32,
    (low, high): (&str, &str),
    caption: &str,
    colour: impl Fn(f32) -> egui::Color32,
) -> egui::Response {
    ui.horizontal(|ui| {
        ui.weak(low);
        let (rect, response) =
            ui.allocate_exact_size(egui::vec2(width, 10.0), egui::Sense::hover());
        let steps = 32;
        let mut mesh = egui::Mesh::default();
        for k in 0..steps {
            let (t0, t1) = (k as f32 / steps as f32, (k + 1) as f32 / steps as f32);
            let r = egui::Rect::from_min_max(
                egui::pos2(rect.left() + rect.width() * t0, rect.top()),
                egui::pos2(rect.left() + rect.width() * t1, rect.bottom()),
            );
            mesh.add_colored_rect(r, colour((t0 + t1) / 2.0));
        }
        ui.painter().add(egui::Shape::mesh(mesh));
        ui.weak(high);
        ui.weak(caption);
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Image,
                true,
                format!("Colour scale: {low} to {high}, {caption}"),
            )
        });
    })
    .response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_of_other_content_opens_on_its_own_view() {
        let ctx = egui::Context::default();
        let shown = |view: View| {
            let mut bounds = None;
            // A plot settles its bounds over a frame or two.
            for _ in 0..3 {
                let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
                    let r = plot(ui, "chart", view, 4, 4)
                        .width(300.0)
                        .height(200.0)
                        .show(ui, |_| {});
                    bounds = Some(*r.transform.bounds());
                });
                out.textures_delta.clear();
            }
            let b = bounds.unwrap();
            ((b.min()[0], b.max()[0]), (b.min()[1], b.max()[1]))
        };
        let first = ((0.36, 1.0), (-12.0, 1.6));
        let second = ((0.1, 1.0), (-12.0, 1.6));
        let close = |a: View, b: View| {
            let ((a0, a1), (a2, a3)) = a;
            let ((b0, b1), (b2, b3)) = b;
            [a0 - b0, a1 - b1, a2 - b2, a3 - b3]
                .iter()
                .all(|d| d.abs() < 0.05)
        };
        assert!(close(shown(first), first), "{:?}", shown(first));
        // Another row's waterfall starts lower: its base is in view, not cut off at the
        // last chart's left edge.
        assert!(close(shown(second), second), "{:?}", shown(second));
    }

    #[test]
    fn marks_are_the_round_ticks_and_share_their_decimals() {
        let marks = round_marks(
            GridInput {
                bounds: (0.37, 1.02),
                base_step_size: 0.0,
            },
            4,
        );
        let values: Vec<f64> = marks.iter().map(|m| m.value).collect();
        let expected: Vec<f64> = ticks(0.37, 1.02, 4).into_iter().map(|t| t.0).collect();
        assert_eq!(values, expected);
        let labels: Vec<String> = marks
            .iter()
            .map(|m| tick_label(*m, &(0.37..=1.02), 4))
            .collect();
        assert_eq!(labels, vec!["0.4", "0.6", "0.8", "1.0"]);
    }

    #[test]
    fn lines_are_named_only_at_their_marks() {
        let names = vec!["a".to_string(), "b".to_string()];
        let mark = |value| GridMark {
            value,
            step_size: 1.0,
        };
        assert_eq!(line_label(&names, mark(0.0)), "a");
        assert_eq!(line_label(&names, mark(-1.0)), "b");
        assert_eq!(line_label(&names, mark(-0.5)), "");
        assert_eq!(line_label(&names, mark(-2.0)), "");
        assert_eq!(line_label(&names, mark(1.0)), "");
        let marks = line_marks(
            GridInput {
                bounds: (-1.2, 0.3),
                base_step_size: 0.0,
            },
            5,
        );
        assert_eq!(
            marks.iter().map(|m| m.value).collect::<Vec<_>>(),
            vec![0.0, -1.0]
        );
    }

    #[test]
    fn a_box_holds_what_is_inside_it() {
        let b = PlotBox {
            min: PlotPoint::new(0.0, -1.0),
            max: PlotPoint::new(2.0, 1.0),
        };
        assert!(b.contains(1.0, 0.0));
        assert!(!b.contains(2.5, 0.0));
        assert!(!b.contains(1.0, -1.5));
    }
}
