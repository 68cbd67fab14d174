//! The Explain tab for image data: the image, its saliency map as an overlay (red toward the
//! class, blue away; opacity, top-k% of pixels), the method and its parameters beside it, and
//! the map's deletion and insertion curves against random orders. Maps run on a worker, cached
//! per (image, settings); the overlay PNG and the raw map (NPY, CSV) export on a worker too.

use std::collections::HashMap;
use std::sync::Arc;

use egui::TextureHandle;
use image::RgbImage;

use crate::analysis::faithfulness::Faithfulness;
use crate::explain::image::{Baseline, ImageMethod, ImageSettings, SaliencyMap};
use crate::plot::overlay::{OverlayStyle, npy, overlay, png_bytes};
use crate::plot::{DOWN_RGB, UP_RGB};
use crate::session::Session;

use super::jobs::{Export, Job, JobProgress, Unit, poll_export};

/// Caches kept.
const CACHE_SIZE: usize = 64;

/// One image's finished map.
pub struct ImageExplained {
    pub row: usize,
    pub target: usize,
    pub map: SaliencyMap,
    pub faithfulness: Faithfulness,
    /// Correlation with the map of the same image under the model with a random last layer
    /// (Adebayo et al. 2018), when the sanity check was asked for.
    pub randomized: Option<f64>,
    pub seconds: f64,
    pub settings: ImageSettings,
}

/// State of the image Explain tab.
pub struct ImageView {
    pub settings: ImageSettings,
    /// `None`: each image's predicted class.
    pub target: Option<usize>,
    pub opacity: f32,
    /// Show only the top k% of pixels.
    pub top_percent: Option<f64>,
    cache: Vec<(String, Arc<ImageExplained>)>,
    running: Option<(String, Job<ImageExplained>, Arc<JobProgress>)>,
    failed: Option<String>,
    textures: HashMap<String, TextureHandle>,
    exporting: Option<Export>,
    pub message: Option<String>,
    /// Also run the model-randomisation sanity check (doubles the work).
    pub sanity: bool,
}

impl Default for ImageView {
    fn default() -> Self {
        ImageView {
            settings: ImageSettings::default(),
            target: None,
            opacity: 0.7,
            top_percent: None,
            cache: Vec::new(),
            running: None,
            failed: None,
            textures: HashMap::new(),
            exporting: None,
            message: None,
            sanity: false,
        }
    }
}

/// An egui image of an RGB image.
fn color_image(image: &RgbImage) -> egui::ColorImage {
    egui::ColorImage::from_rgb(
        [image.width() as usize, image.height() as usize],
        image.as_raw(),
    )
}

/// The map as a transparent colour layer: red toward the class, blue away, alpha by strength.
fn map_layer(map: &SaliencyMap, top_percent: Option<f64>) -> egui::ColorImage {
    let max = map
        .values
        .iter()
        .fold(0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
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
            let t = if shown { (v / max) as f32 } else { 0.0 };
            let (r, g, b) = if t >= 0.0 { UP_RGB } else { DOWN_RGB };
            egui::Color32::from_rgba_unmultiplied(r, g, b, (t.abs().sqrt() * 255.0) as u8)
        })
        .collect();
    egui::ColorImage::new([map.width, map.height], pixels)
}

impl ImageView {
    /// Forgets results (a new model or dataset was opened).
    pub fn clear(&mut self) {
        if let Some((_, _, c)) = self.running.take() {
            c.stop();
        }
        self.cache.clear();
        self.textures.clear();
        self.failed = None;
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The most recent finished map.
    pub fn latest(&self) -> Option<&Arc<ImageExplained>> {
        self.cache.last().map(|(_, e)| e)
    }

    fn texture(
        &mut self,
        ctx: &egui::Context,
        key: String,
        make: impl FnOnce() -> egui::ColorImage,
    ) -> TextureHandle {
        // Textures of maps no longer cached are dropped with the rest now and then.
        if self.textures.len() > 4 * CACHE_SIZE && !self.textures.contains_key(&key) {
            self.textures.clear();
        }
        self.textures
            .entry(key.clone())
            .or_insert_with(|| ctx.load_texture(key, make(), egui::TextureOptions::LINEAR))
            .clone()
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, session: &Session, row: usize) {
        let (Some(data), Some(predictions)) = (session.data.clone(), session.predictions.clone())
        else {
            return;
        };
        let Some(images) = data.images.clone() else {
            return;
        };
        let target = self
            .target
            .or_else(|| predictions.predicted.get(row).copied())
            .unwrap_or(0);
        let key = format!("{row}|{target}|{:?}|{}", self.settings, self.sanity);
        if let Some((k, job, _)) = &self.running
            && let Some(done) = job.poll()
        {
            let k = k.clone();
            self.running = None;
            match done {
                Ok(e) => {
                    self.cache.push((k, Arc::new(e)));
                    if self.cache.len() > CACHE_SIZE {
                        self.cache.remove(0);
                    }
                }
                Err(e) => {
                    self.failed = Some(k);
                    if e.to_string() != "cancelled" {
                        self.message = Some(format!("{e:#}"));
                    }
                }
            }
        }
        if self.running.as_ref().is_some_and(|(k, _, _)| *k != key)
            && let Some((_, _, c)) = self.running.take()
        {
            c.stop();
        }
        let cached = self
            .cache
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, e)| e.clone());
        if cached.is_none() && self.running.is_none() && self.failed.as_deref() != Some(&key) {
            let count = JobProgress::new(ui.ctx(), 0, Unit::ModelRows);
            let sanity = self.sanity;
            let (session, settings, worker) =
                (session.clone(), self.settings.clone(), count.clone());
            let shape = images.shape.clone();
            let x = data.x.row(row).to_vec();
            let job = Job::spawn("Explaining the image…", ui.ctx(), move || {
                let started = std::time::Instant::now();
                let map = settings.explain(&session.model, &x, &shape, target, &*worker)?;
                let faithfulness = Faithfulness::measure(
                    &*session.model,
                    &x,
                    &shape,
                    &map,
                    target,
                    20,
                    settings.baseline,
                    settings.seed,
                    &*worker,
                )?;
                let randomized = if sanity {
                    let random = session.model.with_randomized_last_layer(0)?;
                    let other = settings.explain(&random, &x, &shape, target, &*worker)?;
                    Some(crate::analysis::faithfulness::map_correlation(&map, &other))
                } else {
                    None
                };
                Ok(ImageExplained {
                    row,
                    target,
                    map,
                    faithfulness,
                    randomized,
                    seconds: started.elapsed().as_secs_f64(),
                    settings,
                })
            });
            self.running = Some((key.clone(), job, count));
        }

        egui::Panel::right("image_settings")
            .default_size(260.0)
            .show(ui, |ui| self.settings_ui(ui, session, cached.as_ref()));
        egui::CentralPanel::default().show(ui, |ui| {
            super::prediction_card::prediction_header(ui, session, row);
            if let Some((_, _, count)) = &self.running {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!(
                        "Explaining… {} images through the model",
                        count.done()
                    ));
                    if ui.button("Cancel").clicked() {
                        count.stop();
                    }
                });
            }
            if let Some(m) = self.message.clone() {
                ui.horizontal(|ui| {
                    ui.label(m);
                    if ui.small_button("Dismiss").clicked() {
                        self.message = None;
                    }
                });
            }
            if self.failed.as_deref() == Some(&key)
                && cached.is_none()
                && ui.button("Explain again").clicked()
            {
                self.failed = None;
            }
            let side = (ui.available_width() * 0.45).clamp(200.0, 384.0);
            let picture = self.texture(ui.ctx(), format!("image {row}"), || {
                color_image(&images.images[row])
            });
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    ui.label("Image");
                    ui.add(egui::Image::new(&picture).fit_to_exact_size(egui::vec2(side, side)));
                });
                ui.vertical(|ui| {
                    let name = session.target_name(target);
                    ui.label(format!("Why {name}"));
                    let (rect, response) =
                        ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
                    let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
                    ui.painter()
                        .image(picture.id(), rect, uv, egui::Color32::WHITE);
                    if let Some(e) = &cached {
                        let layer_key = format!("map {key}|{:?}", self.top_percent);
                        let top = self.top_percent;
                        let layer = self.texture(ui.ctx(), layer_key, || map_layer(&e.map, top));
                        let tint = egui::Color32::from_white_alpha((self.opacity * 255.0) as u8);
                        ui.painter().image(layer.id(), rect, uv, tint);
                        response.widget_info(|| {
                            egui::WidgetInfo::labeled(
                                egui::Role::Image,
                                true,
                                format!(
                                    "Saliency map of row {row} for {name} ({})",
                                    e.settings.method.name()
                                ),
                            )
                        });
                    }
                });
            });
            if let Some(e) = &cached {
                ui.add_space(8.0);
                curves_ui(ui, &e.faithfulness);
                if let Some(r) = e.randomized {
                    ui.label(format!(
                        "Model randomisation check: the map under a model with a random last layer correlates {r:.2} with this one{}",
                        if r < 0.5 {
                            " ✓ (the map depends on what the model learned)"
                        } else {
                            " — high: the map may show the image more than the model"
                        }
                    ));
                }
            }
        });
    }

    fn settings_ui(
        &mut self,
        ui: &mut egui::Ui,
        session: &Session,
        explained: Option<&Arc<ImageExplained>>,
    ) {
        ui.heading("Saliency");
        let s = &mut self.settings;
        egui::Grid::new("image_settings_grid")
            .num_columns(2)
            .spacing([8.0, 6.0])
            .show(ui, |ui| {
                let label = ui.label("Method");
                egui::ComboBox::from_id_salt("image_method")
                    .selected_text(s.method.name())
                    .show_ui(ui, |ui| {
                        for m in ImageMethod::ALL {
                            ui.selectable_value(&mut s.method, m, m.name());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Hidden pixels");
                egui::ComboBox::from_id_salt("image_baseline")
                    .selected_text(s.baseline.name())
                    .show_ui(ui, |ui| {
                        for b in [Baseline::Blur, Baseline::Mean, Baseline::Zero] {
                            ui.selectable_value(&mut s.baseline, b, b.name());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();
                let number = |ui: &mut egui::Ui,
                              name: &str,
                              v: &mut usize,
                              range: std::ops::RangeInclusive<usize>| {
                    let label = ui.label(name);
                    ui.add(egui::DragValue::new(v).range(range))
                        .labelled_by(label.id);
                    ui.end_row();
                };
                match s.method {
                    ImageMethod::Occlusion => {
                        number(ui, "Window", &mut s.window, 1..=64);
                        number(ui, "Stride", &mut s.stride, 1..=64);
                    }
                    ImageMethod::Rise => {
                        number(ui, "Masks", &mut s.masks, 50..=20_000);
                        number(ui, "Grid", &mut s.grid, 2..=64);
                    }
                    ImageMethod::Superpixel => {
                        number(ui, "Cells per side", &mut s.cells, 2..=32);
                        number(ui, "Budget", &mut s.samples, 64..=50_000);
                    }
                    ImageMethod::Scorecam => {}
                }
                let label = ui.label("Seed");
                ui.add(egui::DragValue::new(&mut s.seed))
                    .labelled_by(label.id);
                ui.end_row();
                let classes = session.model.task().class_names();
                if !classes.is_empty() {
                    super::explain_view::class_choice(
                        ui,
                        "image_target",
                        classes,
                        &mut self.target,
                    );
                    ui.end_row();
                }
                let label = ui.label("Sanity check");
            ui.checkbox(&mut self.sanity, "random last layer")
                .labelled_by(label.id)
                .on_hover_text("Also explain under a model whose last layer is random: a faithful map should change (Adebayo et al. 2018)");
            ui.end_row();
            let label = ui.label("Opacity");
                ui.add(egui::Slider::new(&mut self.opacity, 0.0..=1.0))
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Show");
                let mut top = self.top_percent.is_some();
                ui.horizontal(|ui| {
                    ui.checkbox(&mut top, "top").labelled_by(label.id);
                    let mut k = self.top_percent.unwrap_or(5.0);
                    if top {
                        ui.add(egui::DragValue::new(&mut k).range(0.5..=100.0).suffix("%"));
                    }
                    self.top_percent = top.then_some(k);
                });
                ui.end_row();
            });
        ui.separator();
        poll_export(&mut self.exporting, &mut self.message);
        if let Some(e) = explained {
            ui.label(format!(
                "{} · {} images through the model · {:.2} s",
                e.settings.method.name(),
                e.map.model_calls,
                e.seconds
            ));
            ui.horizontal_wrapped(|ui| {
                ui.label("Export");
                let style = OverlayStyle {
                    opacity: self.opacity,
                    top_percent: self.top_percent,
                    scale: 8,
                };
                for (label, ext) in [
                    ("Overlay PNG", "png"),
                    ("Map NPY", "npy"),
                    ("Map CSV", "csv"),
                ] {
                    if ui
                        .add_enabled(self.exporting.is_none(), egui::Button::new(label))
                        .clicked()
                    {
                        let (e, session) = (e.clone(), session.clone());
                        let name = format!(
                            "row_{}_{}_{}.{ext}",
                            e.row,
                            e.settings.method.name(),
                            session.target_name(e.target)
                        );
                        self.exporting = Some(Export::spawn(ui.ctx(), name, move || {
                            image_export_bytes(&session, &e, ext, style)
                        }));
                    }
                }
            });
        }
    }
}

/// The bytes of an export: the overlay as PNG, the map as NPY or CSV (`y,x,value`).
pub fn image_export_bytes(
    session: &Session,
    e: &ImageExplained,
    ext: &str,
    style: OverlayStyle,
) -> anyhow::Result<Vec<u8>> {
    Ok(match ext {
        "png" => {
            let images = session
                .data
                .as_ref()
                .and_then(|d| d.images.clone())
                .ok_or_else(|| anyhow::anyhow!("no images"))?;
            png_bytes(&overlay(&images.images[e.row], &e.map, style))?
        }
        "npy" => npy(&e.map),
        _ => {
            let mut text = String::from("y,x,value\n");
            for (i, v) in e.map.values.iter().enumerate() {
                text.push_str(&format!("{},{},{v}\n", i / e.map.width, i % e.map.width));
            }
            text.into_bytes()
        }
    })
}

/// Deletion and insertion curves, each against random orders, with their areas.
fn curves_ui(ui: &mut egui::Ui, f: &Faithfulness) {
    ui.label(egui::RichText::new("Faithfulness").strong());
    ui.weak("Deleting the most salient pixels first should drop the score fast (low area); inserting them first into a blurred image should raise it fast (high area). Dashed: random pixel orders.");
    ui.horizontal(|ui| {
        for (title, curve, random, lower_better) in [
            ("Deletion", &f.deletion, &f.random_deletion, true),
            ("Insertion", &f.insertion, &f.random_insertion, false),
        ] {
            ui.vertical(|ui| {
                let (a, r) = (
                    crate::analysis::faithfulness::auc(curve),
                    crate::analysis::faithfulness::auc(random),
                );
                let better = if lower_better { a < r } else { a > r };
                ui.label(format!(
                    "{title}: area {a:.3} (random {r:.3}){}",
                    if better { " ✓" } else { "" }
                ));
                let (rect, response) =
                    ui.allocate_exact_size(egui::vec2(240.0, 120.0), egui::Sense::hover());
                response.widget_info(|| {
                    egui::WidgetInfo::labeled(
                        egui::Role::Image,
                        true,
                        format!("{title} curve, area {a:.3}, random {r:.3}"),
                    )
                });
                let p = ui.painter();
                p.rect_stroke(
                    rect,
                    0.0,
                    egui::Stroke::new(1.0, ui.visuals().weak_text_color()),
                    egui::StrokeKind::Inside,
                );
                let hi = curve
                    .iter()
                    .chain(random.iter())
                    .fold(f64::MIN_POSITIVE, |m, v| m.max(*v));
                let points = |c: &[f64]| -> Vec<egui::Pos2> {
                    c.iter()
                        .enumerate()
                        .map(|(i, v)| {
                            egui::pos2(
                                rect.left() + rect.width() * i as f32 / (c.len().max(2) - 1) as f32,
                                rect.bottom() - rect.height() * (*v / hi) as f32,
                            )
                        })
                        .collect()
                };
                let up = egui::Color32::from_rgb(UP_RGB.0, UP_RGB.1, UP_RGB.2);
                p.add(egui::Shape::line(points(curve), egui::Stroke::new(2.0, up)));
                p.add(egui::Shape::dashed_line(
                    &points(random),
                    egui::Stroke::new(1.5, ui.visuals().weak_text_color()),
                    4.0,
                    3.0,
                ));
            });
        }
    });
}
