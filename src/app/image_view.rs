//! The Explain tab for image data: the image, its saliency map as an overlay (red toward the
//! class, blue away, or another palette; opacity, top-k% of pixels), the method (every image method of the
//! registry, with its own parameters) beside it, and the map's deletion and insertion curves
//! against random orders. Maps run on a worker through the session's image use case, cached
//! per (image, settings); exports are the same files as `loupe explain` writes.

use std::collections::HashMap;
use std::sync::Arc;

use egui::TextureHandle;

use crate::explain::image::SaliencyMap;
use crate::explain::image::{Baseline, ImageSettings};
use crate::explain::registry::Fit;
use crate::explain::{Kind, Link, Method, Targets};
use crate::plot::overlay::{MapScale, OverlayStyle, Palette, npy, overlay_with_legend, png_bytes};
use crate::session::Session;
use crate::session::image::{ImageExplanation, ImageRequest};

use super::dialogs::Export;
use super::image_draw::{color_image, curves_ui, map_layer, scale_ui};
use super::jobs::{Keyed, Unit};
use super::notices::Notices;
use super::panel::{Panel, PanelCtx};
use super::{Command, widgets};

/// Maps kept.
const CACHE_SIZE: usize = 64;
/// The notices' topic of this tab.
const TOPIC: &str = "images";

/// State of the image Explain tab.
pub struct ImageView {
    pub settings: ImageSettings,
    /// `None`: each image's predicted class.
    pub target: Option<usize>,
    pub opacity: f32,
    /// Show only the top k% of pixels.
    pub top_percent: Option<f64>,
    /// The map's colours; `None`: the card's (red and blue unless it says otherwise).
    pub palette: Option<Palette>,
    jobs: Keyed<ImageExplanation>,
    textures: HashMap<String, TextureHandle>,
    /// Also run the model-randomisation sanity check (doubles the work).
    pub sanity: bool,
    /// Also run the cascading randomisation (one more map per weighted layer).
    pub cascade: bool,
}

impl Default for ImageView {
    fn default() -> Self {
        ImageView {
            settings: ImageSettings::default(),
            target: None,
            opacity: 0.7,
            top_percent: None,
            palette: None,
            jobs: Keyed::new("Explaining the image…", CACHE_SIZE),
            textures: HashMap::new(),
            sanity: false,
            cascade: false,
        }
    }
}

impl Panel for ImageView {
    fn title(&self) -> &'static str {
        "Explain"
    }

    fn unavailable(&self, session: &Session) -> Option<String> {
        match &session.data {
            Some(d) if d.images.is_some() => None,
            _ => Some("open images to see their saliency maps".into()),
        }
    }

    fn on_session(&mut self, session: &Session, notices: &mut Notices) {
        self.jobs.clear();
        self.textures.clear();
        self.target = session.valid_class(self.target);
        let fit = Fit::new(&session.model, Link::Identity, true);
        if session.data.as_ref().is_some_and(|d| d.images.is_some())
            && let Some(why) = self.settings.method.unavailable(&fit)
        {
            notices.info(TOPIC, format!("The method {why}: using occlusion."));
            self.settings.method = ImageSettings::default().method;
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        self.draw(ui, cx);
    }
}

impl ImageView {
    pub fn is_running(&self) -> bool {
        self.jobs.is_running()
    }

    /// The most recent finished map.
    pub fn latest(&self) -> Option<&Arc<ImageExplanation>> {
        self.jobs.latest()
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

    fn draw(&mut self, ui: &mut egui::Ui, cx: &mut PanelCtx) {
        let (session, row) = (cx.session, cx.row);
        let (Some(data), Some(predictions)) = (session.data.clone(), session.predictions.clone())
        else {
            return;
        };
        let Some(images) = data.images.clone() else {
            return;
        };
        self.target = session.valid_class(self.target);
        let target = self
            .target
            .or_else(|| predictions.predicted.get(row).copied())
            .unwrap_or(0);
        let request = ImageRequest {
            settings: self.settings.clone(),
            faithfulness: true,
            sanity: self.sanity,
            cascade: self.cascade,
        };
        let key = format!("{row}|{target}|{request:?}");
        if let Some((failed, message)) = self.jobs.poll() {
            cx.notices.error(TOPIC, &failed, message);
        }
        cx.notices.keep_only(TOPIC, &key);
        let fit = Fit::new(&session.model, Link::Identity, true);
        let map = request
            .settings
            .method
            .spec()
            .cost(&fit, &request.settings.params, 0, 1);
        // Every map counts in the progress: the sanity check's and the cascade's too.
        let steps = match request.cascade {
            true => session
                .model
                .cascade_steps(crate::session::image::MAX_CASCADE_LAYERS),
            false => 0,
        };
        let total = request.cost(map, steps);
        let worker_session = session.clone();
        self.jobs
            .ensure(ui.ctx(), &key, total, Unit::ModelRows, move |progress| {
                let mut maps = worker_session.explain_images(
                    &[row],
                    &request,
                    &|_| vec![target],
                    &*progress,
                )?;
                maps.pop()
                    .ok_or_else(|| anyhow::anyhow!("no map of row {row}"))
            });
        let cached = self.jobs.get(&key);

        egui::Panel::right("image_settings")
            .default_size(260.0)
            .show(ui, |ui| self.settings_ui(ui, cx, cached.as_ref()));
        egui::CentralPanel::default().show(ui, |ui| {
            widgets::prediction_header(ui, session, row);
            if let Some(progress) = self.jobs.progress().cloned()
                && widgets::progress_ui(ui, &progress, |done, total| match total {
                    0 => format!("Explaining… {done} images through the model"),
                    _ => format!("Explaining… {done} of about {total} images"),
                })
            {
                self.jobs.cancel();
            }
            if self.jobs.stopped(&key).is_some()
                && cached.is_none()
                && ui.button("Explain again").clicked()
            {
                self.jobs.retry();
            }
            let panes = if cached.as_ref().is_some_and(|e| e.randomized_map.is_some()) {
                3.0
            } else {
                2.0
            };
            let side = (ui.available_width() / panes - 12.0).clamp(160.0, 384.0);
            let picture = self.texture(ui.ctx(), format!("image {row}"), || {
                color_image(&images.images[row])
            });
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    ui.label("Image");
                    ui.add(egui::Image::new(&picture).fit_to_exact_size(egui::vec2(side, side)));
                });
                let name = session.target_name(target);
                ui.vertical(|ui| {
                    ui.label(format!("Why {name}"));
                    let map = cached.as_ref().map(|e| &e.map);
                    let description = cached.as_ref().map(|e| {
                        format!("Saliency map of row {row} for {name} ({})", e.settings.method)
                    });
                    let palette = self.palette(session);
                    let pane = MapPane {
                        map,
                        key: format!("map {key}"),
                        description,
                    };
                    self.map_pane(ui, &picture, side, pane, palette);
                });
                if let Some((e, random)) = cached
                    .as_ref()
                    .and_then(|e| Some((e, e.randomized_map.as_ref()?)))
                {
                    ui.vertical(|ui| {
                        ui.label("Under a random last layer");
                        let description = format!(
                            "Saliency map of row {row} under a random last layer ({})",
                            e.settings.method
                        );
                        let pane = MapPane {
                            map: Some(random),
                            key: format!("random map {key}"),
                            description: Some(description),
                        };
                        let palette = self.palette(session);
                        self.map_pane(ui, &picture, side, pane, palette);
                    });
                }
            });
            if let Some(e) = &cached {
                ui.add_space(8.0);
                if let Some(f) = &e.faithfulness {
                    curves_ui(ui, f);
                }
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

    /// The map's colours: the one chosen here, else the card's.
    fn palette(&self, session: &Session) -> Palette {
        self.palette
            .unwrap_or_else(|| crate::session::map_palette(&session.model).unwrap_or_default())
    }

    /// The image with `map` (when there is one) laid over it at the view's opacity, top k% and
    /// palette, and the map's colour bar under it.
    fn map_pane(
        &mut self,
        ui: &mut egui::Ui,
        picture: &TextureHandle,
        side: f32,
        pane: MapPane,
        palette: Palette,
    ) {
        let MapPane {
            map,
            key,
            description,
        } = pane;
        let (rect, response) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
        let uv = egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));
        ui.painter()
            .image(picture.id(), rect, uv, egui::Color32::WHITE);
        let Some(map) = map else {
            return;
        };
        let top = self.top_percent;
        let layer_key = format!("{key}|{top:?}|{palette:?}");
        let layer = self.texture(ui.ctx(), layer_key, || map_layer(map, top, palette));
        let tint = egui::Color32::from_white_alpha((self.opacity * 255.0) as u8);
        ui.painter().image(layer.id(), rect, uv, tint);
        scale_ui(ui, &MapScale::of(map), side, palette);
        if let Some(description) = description {
            response.widget_info(|| {
                egui::WidgetInfo::labeled(egui::Role::Image, true, description.clone())
            });
        }
    }

    fn settings_ui(
        &mut self,
        ui: &mut egui::Ui,
        cx: &mut PanelCtx,
        explained: Option<&Arc<ImageExplanation>>,
    ) {
        let session = cx.session;
        let fit = Fit::new(&session.model, Link::Identity, true);
        ui.heading("Saliency");
        let chosen_palette = self.palette(session);
        let s = &mut self.settings;
        egui::Grid::new("image_settings_grid")
            .num_columns(2)
            .spacing([8.0, 6.0])
            .show(ui, |ui| {
                widgets::method_choice(
                    ui,
                    "image_method",
                    Method::all_for(Kind::Image).filter(|m| m.kind() != Kind::Any),
                    &fit,
                    &mut s.method,
                );
                ui.end_row();
                let label = ui.label("Hidden pixels");
                egui::ComboBox::from_id_salt("image_baseline")
                    .selected_text(s.baseline.name())
                    .show_ui(ui, |ui| {
                        for b in Baseline::ALL {
                            ui.selectable_value(&mut s.baseline, b, b.name());
                        }
                    })
                    .response
                    .labelled_by(label.id);
                ui.end_row();
                // The method's own parameters, as its registry entry declares them; an unset
                // one shows its default for these images' size.
                let shown = match session.data.as_ref().and_then(|d| d.images.as_ref()) {
                    Some(i) => s.params.for_image(s.method, i.shape.height, i.shape.width),
                    None => s.params.clone(),
                };
                for p in s.method.params() {
                    if let Some(v) = widgets::param_row(ui, p, shown.get(p)) {
                        s.params.set(p.name, v);
                    }
                }
                let label = ui.label("Seed");
                ui.add(egui::DragValue::new(&mut s.seed))
                    .labelled_by(label.id);
                ui.end_row();
                let classes = session.model.task().class_names();
                if !classes.is_empty() {
                    widgets::class_choice(
                        ui,
                        "image_target",
                        classes,
                        &mut self.target,
                        "predicted class",
                    );
                    ui.end_row();
                }
                let label = ui.label("Sanity check");
                ui.checkbox(&mut self.sanity, "random last layer")
                    .labelled_by(label.id)
                    .on_hover_text("Also explain under a model whose last layer is random: a faithful map should change (Adebayo et al. 2018)");
                ui.end_row();
                ui.label("");
                ui.checkbox(&mut self.cascade, "cascading, from the top")
                    .on_hover_text("Randomise the layers from the output down, one more at each step, and show how the map's rank correlation with this one falls (one more map per layer)");
                ui.end_row();
                let label = ui.label("Colours");
                let mut palette = chosen_palette;
                egui::ComboBox::from_id_salt("image_palette")
                    .selected_text(palette_label(palette))
                    .show_ui(ui, |ui| {
                        for p in Palette::ALL {
                            ui.selectable_value(&mut palette, p, palette_label(p));
                        }
                    })
                    .response
                    .labelled_by(label.id)
                    .on_hover_text("The map's two colours: toward the class, away from it. Choose one that the image's own colours do not share (a blue mark under a red–blue map reads purple).");
                if palette != chosen_palette {
                    self.palette = Some(palette);
                }
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
        if let Some(e) = explained {
            ui.label(format!(
                "{} · {} images through the model · {:.2} s",
                e.settings.method, e.map.model_calls, e.seconds
            ));
            ui.horizontal_wrapped(|ui| {
                ui.label("Export");
                let style = OverlayStyle {
                    opacity: self.opacity,
                    top_percent: self.top_percent,
                    scale: 8,
                    palette: self.palette(session),
                };
                for (label, ext) in [
                    ("Overlay PNG", "png"),
                    ("Map JSON", "json"),
                    ("Map CSV", "csv"),
                    ("Map NPY", "npy"),
                ] {
                    if ui.button(label).clicked() {
                        let (e, session) = (e.clone(), session.clone());
                        let name = format!(
                            "row_{}_{}_{}.{ext}",
                            e.row,
                            e.settings.method,
                            session.target_name(e.target)
                        );
                        let targets = match self.target {
                            Some(c) => Targets::Classes(vec![c]),
                            None => Targets::Predicted,
                        };
                        cx.commands.push(Command::Export(Export {
                            name,
                            bytes: Box::new(move || {
                                image_export_bytes(&session, &e, &targets, ext, style)
                            }),
                        }));
                    }
                }
            });
            if let Some(steps) = &e.cascade {
                ui.separator();
                cascade_ui(ui, steps);
            }
        }
    }
}

/// The bytes of an export: the overlay as PNG, the map as NPY, or the attributions file (JSON,
/// long CSV) exactly as `loupe explain` writes it for the same image and settings.
pub fn image_export_bytes(
    session: &Session,
    e: &ImageExplanation,
    targets: &Targets,
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
            png_bytes(&overlay_with_legend(&images.images[e.row], &e.map, style))?
        }
        "npy" => npy(&e.map),
        _ => {
            let file = crate::export::image_attributions::ImageAttributionsFile::build(
                session,
                &e.settings,
                targets,
                &session.data_name,
                std::slice::from_ref(e),
            );
            let mut out = Vec::new();
            if ext == "csv" {
                file.write_csv(&mut out)?;
            } else {
                file.write_json(&mut out)?;
            }
            out
        }
    })
}

/// One map drawn over its image: the map (none while it is computed), its texture's key and
/// what a screen reader says of it.
struct MapPane<'a> {
    map: Option<&'a SaliencyMap>,
    key: String,
    description: Option<String>,
}

/// A palette in words: the colour toward the class, then away.
fn palette_label(p: Palette) -> String {
    let (up, down) = p.words();
    format!("{up} · {down}")
}

/// The cascading randomisation: one bar per step, the rank correlation of |map| with this
/// map's as the layers are randomised from the output down.
fn cascade_ui(ui: &mut egui::Ui, steps: &[crate::analysis::randomisation::CascadeStep]) {
    ui.label(egui::RichText::new("Cascading randomisation").strong());
    ui.label("Layers randomised from the output down: rank correlation of |map| with this one");
    for s in steps {
        let r = s.rank_correlation;
        ui.label(format!("{} · {}", s.layers_randomised, s.layer));
        ui.add(
            egui::ProgressBar::new(r.clamp(0.0, 1.0) as f32)
                .desired_width(ui.available_width())
                .text(format!("{r:.2}")),
        )
        .on_hover_text(format!(
            "layers from the output down to {} randomised: Spearman {r:.3}",
            s.layer
        ));
    }
    if let (Some(first), Some(last)) = (steps.first(), steps.last()) {
        ui.label(if last.rank_correlation < first.rank_correlation.min(0.5) {
            "✓ the map falls apart as the weights are destroyed: it depends on what the model learned"
        } else {
            "the map survives the random weights: it may show the image more than the model"
        });
    }
}
