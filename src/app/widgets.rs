//! Widgets shared by the panels, so no panel imports another: the explained-class choice, a
//! value's reference-range bar, a job's progress line, a control disabled with its reason,
//! and how the window words a setting that cannot work.

use crate::data::{Labels, Split};
use crate::report::reference::Range;
use crate::session::Session;

use super::jobs::JobProgress;

/// A labelled choice of the explained class: `default` (described by `default_label`), or
/// one class. A stale index (of another model's classes) shows as the default.
pub fn class_choice(
    ui: &mut egui::Ui,
    id: &str,
    classes: &[String],
    target: &mut Option<usize>,
    default_label: &str,
) {
    if target.is_some_and(|c| c >= classes.len()) {
        *target = None;
    }
    let label = ui.label("Explain");
    egui::ComboBox::from_id_salt(id)
        .selected_text(match *target {
            Some(c) => classes[c].clone(),
            None => default_label.to_string(),
        })
        .show_ui(ui, |ui| {
            ui.selectable_value(target, None, default_label);
            for (c, name) in classes.iter().enumerate() {
                ui.selectable_value(target, Some(c), name);
            }
        })
        .response
        .labelled_by(label.id);
}

/// A value as people read it: up to 6 significant digits, no trailing zeros.
pub fn format_value(v: f32) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() {
        return v.to_string();
    }
    if !(1e-4..1e7).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (5 - a.log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A job's progress bar with Cancel; `text(done, total)` labels it. Returns true when Cancel
/// was clicked.
pub fn progress_ui(
    ui: &mut egui::Ui,
    progress: &JobProgress,
    text: impl Fn(u64, u64) -> String,
) -> bool {
    let done = progress.done();
    let total = progress.total;
    let mut label = text(done, total);
    if total > 0 && done > 0 && done < total {
        let secs = progress.elapsed_secs() * (total - done) as f64 / done as f64;
        label.push_str(&format!(" · about {} left", duration(secs)));
    }
    let mut cancel = false;
    ui.horizontal(|ui| {
        let bar = if total > 0 {
            egui::ProgressBar::new((done as f32 / total as f32).min(1.0))
        } else {
            egui::ProgressBar::new(0.0)
        };
        // The spinner sits before the bar: egui's animated bar draws it over the text.
        ui.spinner();
        ui.add(bar.desired_width(300.0).text(label));
        cancel = ui.button("Cancel").clicked();
    });
    cancel
}

/// One row of a method's own parameter in a settings grid: a menu for a choice among named
/// options, else a number in the parameter's range. Returns the new value when it changed.
pub fn param_row(
    ui: &mut egui::Ui,
    p: &crate::explain::registry::Param,
    value: f64,
) -> Option<f64> {
    let label = ui.label(p.label);
    let mut v = value;
    let (response, chose) = if p.choices.is_empty() {
        let drag = egui::DragValue::new(&mut v).range(p.min..=p.max);
        let drag = if p.integer {
            drag.fixed_decimals(0)
        } else {
            drag.speed(0.01)
        };
        (ui.add(drag), false)
    } else {
        let before = (v.round().max(0.0) as usize).min(p.choices.len() - 1);
        let mut chosen = before;
        let response = egui::ComboBox::from_id_salt(("param", p.name))
            .selected_text(p.choices[chosen])
            .show_ui(ui, |ui| {
                for (i, name) in p.choices.iter().enumerate() {
                    ui.selectable_value(&mut chosen, i, *name);
                }
            })
            .response;
        v = chosen as f64;
        (response, chosen != before)
    };
    let changed = response
        .labelled_by(label.id)
        .on_hover_text(p.help)
        .changed()
        || chose;
    ui.end_row();
    changed.then_some(v)
}

/// Seconds in words: `12 s`, `3 min`.
pub fn duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{:.0} s", secs.max(1.0))
    } else {
        format!("{:.0} min", secs / 60.0)
    }
}

/// A small bar: the reference rows' 5th–95th percentile band and the row's value (red when
/// outside it); hovering gives the percentiles overall and per class among `population`.
pub fn range_bar(ui: &mut egui::Ui, r: &Range, class_names: &[String], population: &str) {
    use crate::report::words::number;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(100.0, 12.0), egui::Sense::hover());
    let span = (r.max - r.min).max(f32::MIN_POSITIVE);
    let x = |v: f32| rect.left() + ((v - r.min) / span).clamp(0.0, 1.0) * rect.width();
    let mid = rect.center().y;
    let p = ui.painter();
    p.rect_filled(
        egui::Rect::from_min_max(
            egui::pos2(rect.left(), mid - 2.5),
            egui::pos2(rect.right(), mid + 2.5),
        ),
        2.0,
        ui.visuals().faint_bg_color,
    );
    p.rect_filled(
        egui::Rect::from_min_max(
            egui::pos2(x(r.p5), mid - 2.5),
            egui::pos2(x(r.p95), mid + 2.5),
        ),
        2.0,
        super::theme::muted(ui.visuals()),
    );
    let mark = if r.is_unusual() {
        super::theme::up(ui.visuals())
    } else {
        super::theme::down(ui.visuals())
    };
    p.rect_filled(
        egui::Rect::from_center_size(egui::pos2(x(r.value), mid), egui::vec2(3.0, 12.0)),
        0.0,
        mark,
    );
    let by_class: Vec<String> = r
        .by_class
        .iter()
        .filter_map(|(c, pct)| Some(format!("{pct:.0}% of {}", class_names.get(*c)?)))
        .collect();
    response.on_hover_text(format!(
        "{} · {:.0}th percentile of {population}{}\n5th–95th percentile: {} to {} (median {})",
        number(r.value as f64),
        r.percentile,
        if by_class.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_class.join(", "))
        },
        number(r.p5 as f64),
        number(r.p95 as f64),
        number(r.p50 as f64)
    ));
}

/// The row's heading and one line: predicted class and probability, true class, split.
pub fn prediction_header(ui: &mut egui::Ui, session: &Session, row: usize) {
    let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
        return;
    };
    if row >= predictions.len() {
        return;
    }
    let class_names = session.model.task().class_names();
    ui.heading(session.row_title(row));
    ui.horizontal_wrapped(|ui| {
        match predictions.predicted.get(row) {
            Some(&c) => {
                ui.label("Predicted");
                ui.strong(&class_names[c]);
                ui.label(format!(
                    "with probability {:.1}%",
                    predictions.confidence[row] * 100.0
                ));
            }
            None => {
                ui.label("Predicted value");
                ui.strong(format!("{:.4}", predictions.outputs[[row, 0]]));
            }
        }
        match (&data.labels, predictions.is_correct(row, data.classes())) {
            (Some(Labels::Classes(t)), correct) => {
                ui.separator();
                ui.label("True class");
                ui.strong(&class_names[t[row]]);
                match correct {
                    Some(true) => ui.colored_label(super::theme::good(ui.visuals()), "✓ correct"),
                    _ => ui.colored_label(super::theme::bad(ui.visuals()), "✗ wrong"),
                };
            }
            (Some(Labels::Values(v)), _) => {
                ui.separator();
                ui.label(format!("True value {:.4}", v[row]));
            }
            (None, _) => {}
        }
        if let Some(split) = data.split.as_ref().and_then(|s| s.get(row)) {
            ui.separator();
            ui.weak(match split {
                Split::Train => "training row",
                Split::Test => "test row",
                Split::Other => "other split",
            });
        }
    });
}

/// Image `row` of `images` at `side` points, its texture made once and kept in egui's memory.
pub fn thumbnail(
    ui: &mut egui::Ui,
    images: &crate::data::ImageSet,
    row: usize,
    side: f32,
) -> egui::Response {
    let id = egui::Id::NULL.with(("thumbnail", row, images.paths.get(row).cloned()));
    let texture = match ui.ctx().data(|d| d.get_temp::<egui::TextureHandle>(id)) {
        Some(t) => t,
        None => {
            let image = &images.images[row];
            let t = ui.ctx().load_texture(
                format!("thumbnail {row}"),
                egui::ColorImage::from_rgb(
                    [image.width() as usize, image.height() as usize],
                    image.as_raw(),
                ),
                egui::TextureOptions::LINEAR,
            );
            ui.ctx().data_mut(|d| d.insert_temp(id, t.clone()));
            t
        }
    };
    ui.add(
        egui::Image::new(&texture)
            .fit_to_exact_size(egui::vec2(side, side))
            .sense(egui::Sense::click()),
    )
}

/// A labelled choice of a method among `methods`: one that cannot explain `fit` is disabled
/// with its reason; `auto` shows what it resolves to.
pub fn method_choice(
    ui: &mut egui::Ui,
    id: &str,
    methods: impl Iterator<Item = crate::explain::Method>,
    fit: &crate::explain::registry::Fit,
    method: &mut crate::explain::Method,
) {
    let label = ui.label("Method");
    let resolved = method.resolve(fit);
    egui::ComboBox::from_id_salt(id)
        .selected_text(if *method != resolved {
            format!("{method} ({resolved})")
        } else {
            method.name().to_string()
        })
        .show_ui(ui, |ui| {
            for m in methods {
                let why = m.unavailable(fit);
                let response = ui
                    .add_enabled_ui(why.is_none(), |ui| ui.selectable_value(method, m, m.name()))
                    .inner;
                match why {
                    Some(why) => response.on_disabled_hover_text(why),
                    None => response.on_hover_text(m.summary()),
                };
            }
        })
        .response
        .labelled_by(label.id);
}
