//! The dataset-wide charts drawn with egui from the same specs the exports render
//! ([`crate::plot::global`]), with the links that make them a way back to rows: hover names the
//! row, a click selects it, a box drawn with the mouse filters the browser to the rows inside.
//!
//! Dots are drawn as one mesh (a few triangles each), so thousands of them cost one draw call.

use crate::plot::global::{BeeswarmSpec, DependenceSpec, ReliabilitySpec, value_rgb};
use crate::plot::{UP_RGB, short_number, ticks};

/// What the user did on a chart this frame.
#[derive(Default)]
pub struct PlotEvents {
    /// A dot was clicked: its row.
    pub clicked: Option<usize>,
    /// A box was drawn: the rows of the dots inside.
    pub boxed: Option<Vec<usize>>,
    /// A feature's label was clicked: its data column.
    pub feature: Option<usize>,
}

const DOT: f32 = 2.4;

fn colour(rgb: (u8, u8, u8)) -> egui::Color32 {
    egui::Color32::from_rgb(rgb.0, rgb.1, rgb.2)
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

/// Tracks a box drawn with the primary button over `response`; returns the finished box.
fn box_select(ui: &egui::Ui, response: &egui::Response, id: egui::Id) -> Option<egui::Rect> {
    let start_id = id.with("box_start");
    if response.drag_started_by(egui::PointerButton::Primary)
        && let Some(p) = response.interact_pointer_pos()
    {
        ui.data_mut(|d| d.insert_temp(start_id, p));
    }
    let start: Option<egui::Pos2> = ui.data(|d| d.get_temp(start_id));
    let current = ui.input(|i| i.pointer.interact_pos());
    if let (Some(a), Some(b)) = (start, current) {
        let rect = egui::Rect::from_two_pos(a, b);
        if response.dragged() {
            ui.painter().rect(
                rect,
                0.0,
                egui::Color32::from_rgba_unmultiplied(120, 160, 255, 30),
                egui::Stroke::new(1.0, egui::Color32::from_rgb(120, 160, 255)),
                egui::StrokeKind::Inside,
            );
        }
        if response.drag_stopped() {
            ui.data_mut(|d| d.remove::<egui::Pos2>(start_id));
            return (rect.width() > 3.0 && rect.height() > 3.0).then_some(rect);
        }
    }
    None
}

/// Draws a horizontal axis with round ticks.
fn x_axis(
    painter: &egui::Painter,
    (x0, x1): (f32, f32),
    y: f32,
    (lo, hi): (f64, f64),
    ink: egui::Color32,
) {
    let font = egui::FontId::proportional(11.0);
    painter.line_segment(
        [egui::pos2(x0, y), egui::pos2(x1, y)],
        egui::Stroke::new(1.0, ink),
    );
    for (t, label) in ticks(lo, hi, 6) {
        let x = x0 + ((t - lo) / (hi - lo)) as f32 * (x1 - x0);
        painter.line_segment(
            [egui::pos2(x, y), egui::pos2(x, y + 4.0)],
            egui::Stroke::new(1.0, ink),
        );
        painter.text(
            egui::pos2(x, y + 5.0),
            egui::Align2::CENTER_TOP,
            label.clone(),
            font.clone(),
            ink,
        );
    }
}

/// Height of one beeswarm line.
pub const BEE_ROW: f32 = 24.0;
const BEE_LABEL: f32 = 190.0;
const BEE_BARS: f32 = 130.0;

/// Geometry of a beeswarm drawn in `rect`.
pub struct BeeLayout {
    x0: f32,
    x1: f32,
    top: f32,
    lo: f64,
    hi: f64,
}

impl BeeLayout {
    pub fn new(rect: egui::Rect, spec: &BeeswarmSpec) -> Self {
        BeeLayout {
            x0: rect.left() + BEE_LABEL + 10.0,
            x1: rect.right() - BEE_BARS - 16.0,
            top: rect.top() + 18.0,
            lo: spec.x_range.0,
            hi: spec.x_range.1,
        }
    }

    fn x(&self, v: f64) -> f32 {
        self.x0 + ((v - self.lo) / (self.hi - self.lo)) as f32 * (self.x1 - self.x0)
    }

    fn line_mid(&self, i: usize) -> f32 {
        self.top + BEE_ROW * (i as f32 + 0.5)
    }

    /// Where dot `d` of line `i` is drawn.
    pub fn dot(&self, i: usize, d: &crate::plot::global::Dot) -> egui::Pos2 {
        egui::pos2(self.x(d.x), self.line_mid(i) + d.y as f32 * BEE_ROW)
    }
}

/// The beeswarm's dots as one mesh (what a frame costs is mostly this).
pub fn beeswarm_mesh(layout: &BeeLayout, spec: &BeeswarmSpec) -> egui::Mesh {
    let dots: usize = spec.features.iter().map(|f| f.dots.len()).sum();
    let mut mesh = egui::Mesh::default();
    mesh.vertices.reserve(dots * 7);
    mesh.indices.reserve(dots * 18);
    for (i, f) in spec.features.iter().enumerate() {
        for d in &f.dots {
            add_dot(
                &mut mesh,
                layout.dot(i, d),
                DOT,
                colour(value_rgb(d.colour)),
            );
        }
    }
    mesh
}

/// Size a beeswarm of `spec` takes at `width`.
pub fn beeswarm_size(spec: &BeeswarmSpec, width: f32) -> egui::Vec2 {
    egui::vec2(
        width.max(BEE_LABEL + BEE_BARS + 240.0),
        24.0 + BEE_ROW * spec.features.len() as f32 + 44.0,
    )
}

/// Draws the beeswarm with each feature's mean |attribution| as a bar on the right.
pub fn beeswarm_ui(ui: &mut egui::Ui, spec: &BeeswarmSpec, selected: Option<usize>) -> PlotEvents {
    let mut events = PlotEvents::default();
    let size = beeswarm_size(spec, ui.available_width());
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click_and_drag());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            format!(
                "Beeswarm of {} features by mean |attribution|",
                spec.features.len()
            ),
        )
    });
    let layout = BeeLayout::new(rect, spec);
    let painter = ui.painter_at(rect);
    let ink = ui.visuals().text_color();
    let faint = ui.visuals().weak_text_color();
    let font = egui::FontId::proportional(12.5);
    let bottom = layout.top + BEE_ROW * spec.features.len() as f32;

    painter.line_segment(
        [
            egui::pos2(layout.x(0.0), layout.top),
            egui::pos2(layout.x(0.0), bottom),
        ],
        egui::Stroke::new(1.0, faint),
    );
    let max_mean = spec
        .features
        .iter()
        .map(|f| f.mean_abs)
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let bars_x = rect.right() - BEE_BARS;
    let pointer = response.hover_pos();
    for (i, f) in spec.features.iter().enumerate() {
        let mid = layout.line_mid(i);
        let label_rect = egui::Rect::from_min_max(
            egui::pos2(rect.left(), mid - BEE_ROW / 2.0),
            egui::pos2(rect.left() + BEE_LABEL, mid + BEE_ROW / 2.0),
        );
        let on_label = pointer.is_some_and(|p| label_rect.contains(p));
        painter.text(
            egui::pos2(rect.left() + BEE_LABEL, mid),
            egui::Align2::RIGHT_CENTER,
            &f.name,
            font.clone(),
            if on_label { colour(UP_RGB) } else { ink },
        );
        if on_label && response.clicked() {
            events.feature = Some(f.index);
        }
        let w = (f.mean_abs / max_mean) as f32 * (BEE_BARS - 50.0);
        painter.rect_filled(
            egui::Rect::from_min_size(egui::pos2(bars_x, mid - 6.0), egui::vec2(w.max(1.0), 12.0)),
            0.0,
            colour(UP_RGB).gamma_multiply(0.8),
        );
        painter.text(
            egui::pos2(bars_x + w + 4.0, mid),
            egui::Align2::LEFT_CENTER,
            short_number(f.mean_abs),
            egui::FontId::proportional(10.5),
            faint,
        );
    }
    painter.add(egui::Shape::mesh(beeswarm_mesh(&layout, spec)));
    if let Some(row) = selected {
        for (i, f) in spec.features.iter().enumerate() {
            if let Some(d) = f.dots.iter().find(|d| d.row == row) {
                painter.circle_stroke(layout.dot(i, d), DOT + 2.5, egui::Stroke::new(1.5, ink));
            }
        }
    }
    x_axis(
        &painter,
        (layout.x0, layout.x1),
        bottom + 4.0,
        (layout.lo, layout.hi),
        ink,
    );
    painter.text(
        egui::pos2((layout.x0 + layout.x1) / 2.0, bottom + 24.0),
        egui::Align2::CENTER_TOP,
        format!(
            "attribution ({}) · colour: feature value, blue low → red high",
            spec.measure
        ),
        egui::FontId::proportional(11.5),
        faint,
    );
    painter.text(
        egui::pos2(bars_x, layout.top - 4.0),
        egui::Align2::LEFT_BOTTOM,
        "mean |attribution|",
        egui::FontId::proportional(10.5),
        faint,
    );

    // Hover and click: the nearest dot on the line under the pointer.
    if let Some(p) = pointer
        && p.x > layout.x0 - 4.0
        && p.x < layout.x1 + 4.0
    {
        let line = ((p.y - layout.top) / BEE_ROW).floor();
        if line >= 0.0 && (line as usize) < spec.features.len() {
            let i = line as usize;
            let f = &spec.features[i];
            let nearest = f
                .dots
                .iter()
                .map(|d| (d, layout.dot(i, d).distance(p)))
                .filter(|(_, dist)| *dist < 6.0)
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((d, _)) = nearest {
                painter.circle_stroke(layout.dot(i, d), DOT + 2.0, egui::Stroke::new(1.5, ink));
                response.clone().on_hover_text_at_pointer(format!(
                    "row {} · {}: attribution {:+.4}\nclick to explain this row",
                    d.row, f.name, d.x
                ));
                if response.clicked() {
                    events.clicked = Some(d.row);
                }
            }
        }
    }
    if let Some(b) = box_select(ui, &response, response.id) {
        let mut rows: Vec<usize> = spec
            .features
            .iter()
            .enumerate()
            .flat_map(|(i, f)| {
                let layout = &layout;
                f.dots
                    .iter()
                    .filter(move |d| b.contains(layout.dot(i, d)))
                    .map(|d| d.row)
            })
            .collect();
        rows.sort_unstable();
        rows.dedup();
        events.boxed = Some(rows);
    }
    events
}

/// Draws a dependence plot: value → attribution, coloured by the interaction partner.
pub fn dependence_ui(
    ui: &mut egui::Ui,
    spec: &DependenceSpec,
    selected: Option<usize>,
) -> PlotEvents {
    let mut events = PlotEvents::default();
    let size = egui::vec2(ui.available_width().max(420.0), 320.0);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::click_and_drag());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, spec.title.clone()));
    let painter = ui.painter_at(rect);
    let ink = ui.visuals().text_color();
    let faint = ui.visuals().weak_text_color();
    let ((xlo, xhi), (ylo, yhi)) = spec.ranges();
    let (x0, x1) = (rect.left() + 70.0, rect.right() - 20.0);
    let (y0, y1) = (rect.top() + 22.0, rect.bottom() - 48.0);
    let sx = |v: f64| x0 + ((v - xlo) / (xhi - xlo)) as f32 * (x1 - x0);
    let sy = |v: f64| y1 - ((v - ylo) / (yhi - ylo)) as f32 * (y1 - y0);
    painter.line_segment(
        [egui::pos2(x0, y0), egui::pos2(x0, y1)],
        egui::Stroke::new(1.0, ink),
    );
    for (t, label) in ticks(ylo, yhi, 5) {
        painter.text(
            egui::pos2(x0 - 6.0, sy(t)),
            egui::Align2::RIGHT_CENTER,
            label.clone(),
            egui::FontId::proportional(11.0),
            ink,
        );
    }
    if ylo < 0.0 && yhi > 0.0 {
        painter.line_segment(
            [egui::pos2(x0, sy(0.0)), egui::pos2(x1, sy(0.0))],
            egui::Stroke::new(1.0, faint),
        );
    }
    painter.text(
        egui::pos2(x0, rect.top() + 4.0),
        egui::Align2::LEFT_TOP,
        &spec.measure,
        egui::FontId::proportional(11.5),
        faint,
    );
    let mut mesh = egui::Mesh::default();
    for d in &spec.dots {
        add_dot(
            &mut mesh,
            egui::pos2(sx(d.x), sy(d.y)),
            2.8,
            colour(value_rgb(d.colour)),
        );
    }
    painter.add(egui::Shape::mesh(mesh));
    if let Some(d) = selected.and_then(|r| spec.dots.iter().find(|d| d.row == r)) {
        painter.circle_stroke(
            egui::pos2(sx(d.x), sy(d.y)),
            5.5,
            egui::Stroke::new(1.5, ink),
        );
    }
    x_axis(&painter, (x0, x1), y1 + 4.0, (xlo, xhi), ink);
    painter.text(
        egui::pos2((x0 + x1) / 2.0, y1 + 24.0),
        egui::Align2::CENTER_TOP,
        match &spec.colour_by {
            Some(c) => format!("{} · colour: {c}, blue low → red high", spec.feature),
            None => spec.feature.clone(),
        },
        egui::FontId::proportional(11.5),
        faint,
    );
    if let Some(p) = response.hover_pos()
        && let Some((d, _)) = spec
            .dots
            .iter()
            .map(|d| (d, egui::pos2(sx(d.x), sy(d.y)).distance(p)))
            .filter(|(_, dist)| *dist < 6.0)
            .min_by(|a, b| a.1.total_cmp(&b.1))
    {
        painter.circle_stroke(
            egui::pos2(sx(d.x), sy(d.y)),
            5.0,
            egui::Stroke::new(1.5, ink),
        );
        response.clone().on_hover_text_at_pointer(format!(
            "row {} · {} = {} · attribution {:+.4}\nclick to explain this row",
            d.row,
            spec.feature,
            short_number(d.x),
            d.y
        ));
        if response.clicked() {
            events.clicked = Some(d.row);
        }
    }
    if let Some(b) = box_select(ui, &response, response.id) {
        let mut rows: Vec<usize> = spec
            .dots
            .iter()
            .filter(|d| b.contains(egui::pos2(sx(d.x), sy(d.y))))
            .map(|d| d.row)
            .collect();
        rows.sort_unstable();
        events.boxed = Some(rows);
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
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(side, side + 30.0), egui::Sense::click());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Image,
            true,
            format!("{} · ECE {:.4}", spec.title, spec.ece),
        )
    });
    let painter = ui.painter_at(rect);
    let ink = ui.visuals().text_color();
    let faint = ui.visuals().weak_text_color();
    let (x0, x1) = (rect.left() + 40.0, rect.right() - 10.0);
    let (y0, y1) = (rect.top() + 8.0, rect.top() + 8.0 + (x1 - x0));
    let sx = |v: f64| x0 + v as f32 * (x1 - x0);
    let sy = |v: f64| y1 - v as f32 * (y1 - y0);
    painter.line_segment(
        [egui::pos2(sx(0.0), sy(0.0)), egui::pos2(sx(1.0), sy(1.0))],
        egui::Stroke::new(1.0, faint),
    );
    painter.line_segment(
        [egui::pos2(x0, y0), egui::pos2(x0, y1)],
        egui::Stroke::new(1.0, ink),
    );
    for (t, label) in ticks(0.0, 1.0, 4) {
        painter.text(
            egui::pos2(x0 - 4.0, sy(t)),
            egui::Align2::RIGHT_CENTER,
            label.clone(),
            egui::FontId::proportional(10.5),
            ink,
        );
    }
    let pointer = response.hover_pos();
    for (k, &(lo, hi, predicted, observed, n)) in spec.bins.iter().enumerate() {
        let bar = egui::Rect::from_min_max(
            egui::pos2(sx(lo) + 1.0, sy(observed)),
            egui::pos2(sx(hi) - 1.0, sy(0.0)),
        );
        let hovered = pointer.is_some_and(|p| p.x >= sx(lo) && p.x < sx(hi) && p.y <= y1);
        painter.rect_filled(
            bar,
            0.0,
            egui::Color32::from_rgb(0x6a, 0x8c, 0xc8).gamma_multiply(if hovered {
                1.0
            } else {
                0.7
            }),
        );
        painter.circle_filled(egui::pos2(sx(predicted), sy(observed)), 3.5, colour(UP_RGB));
        if hovered {
            response.clone().on_hover_text_at_pointer(format!(
                "predicted {:.0}–{:.0}%: {n} rows, mean prediction {:.1}%, observed {:.1}%\nclick to list these rows",
                lo * 100.0,
                hi * 100.0,
                predicted * 100.0,
                observed * 100.0
            ));
            if response.clicked() {
                events.boxed = bins_rows.get(k).cloned();
            }
        }
    }
    x_axis(&painter, (x0, x1), y1 + 2.0, (0.0, 1.0), ink);
    events
}
