//! The prediction browser: every row with its true and predicted class, confidence and ✓/✗;
//! filters (all / errors / correct, predicted class, confidence range), sortable columns and
//! ↑/↓ keys. Selecting a row drives the rest of the window.

use std::sync::Arc;

use egui_extras::{Column, TableBuilder};

use crate::analysis::Predictions;
use crate::data::Dataset;
use crate::session::Session;

use super::browser_rows::{Pending, RowQuery, WORKER_ROWS};
use super::row_filter::{Condition, parse_filter};

/// Rows PgUp and PgDn move the selection by.
const PAGE_ROWS: usize = 20;

/// Which rows the browser shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Outcome {
    #[default]
    All,
    Errors,
    Correct,
}

/// Column the rows are sorted by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Row,
    True,
    Predicted,
    Confidence,
}

/// A set of rows picked elsewhere in the window (a confusion cell, an error slice, a box drawn
/// on a plot), shown in the browser until cleared.
#[derive(Clone, Debug, PartialEq)]
pub struct Subset {
    /// What the rows are, in words.
    pub label: String,
    /// Sorted row indices.
    pub rows: Vec<usize>,
}

/// The browser's filter, sort and selection.
#[derive(Clone, Debug)]
pub struct BrowserState {
    /// Only these rows, when set.
    pub subset: Option<Subset>,
    pub outcome: Outcome,
    /// Only rows predicted as this class.
    pub predicted_class: Option<usize>,
    /// Confidence range shown, inclusive.
    pub confidence: (f32, f32),
    /// A filter on feature values as typed (`worst radius > 20 and mean area <= 900`).
    pub filter_text: String,
    /// The filter as parsed: (feature, comparison, value) all of which must hold.
    filter: Vec<Condition>,
    /// Why the typed filter does not parse, if it does not.
    filter_error: Option<String>,
    pub sort: SortKey,
    pub descending: bool,
    pub selected: Option<usize>,
    /// Rows passing the filter, in display order; recomputed when the filter changes.
    visible: Vec<usize>,
    scroll_to_selected: bool,
    /// Thumbnails of image rows, made as rows come into view.
    thumbnails: Thumbnails,
    /// The visible rows being recomputed on a worker (large data).
    pending: Pending,
}

/// Textures of image rows by row.
#[derive(Clone, Default)]
struct Thumbnails(std::collections::HashMap<usize, egui::TextureHandle>);

impl std::fmt::Debug for Thumbnails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} thumbnails", self.0.len())
    }
}

impl Default for BrowserState {
    fn default() -> Self {
        BrowserState {
            subset: None,
            outcome: Outcome::All,
            predicted_class: None,
            confidence: (0.0, 1.0),
            filter_text: String::new(),
            filter: Vec::new(),
            filter_error: None,
            sort: SortKey::Row,
            descending: false,
            selected: None,
            visible: Vec::new(),
            scroll_to_selected: false,
            thumbnails: Default::default(),
            pending: Pending::default(),
        }
    }
}

impl BrowserState {
    /// The rows shown, in order.
    pub fn visible(&self) -> &[usize] {
        &self.visible
    }

    /// Shows exactly `subset`'s rows: the other filters are reset so none hides any of them.
    pub fn show_subset(
        &mut self,
        subset: Subset,
        data: &Arc<Dataset>,
        predictions: &Arc<Predictions>,
    ) {
        let mut subset = subset;
        subset.rows.sort_unstable();
        subset.rows.dedup();
        self.outcome = Outcome::All;
        self.predicted_class = None;
        self.confidence = (0.0, 1.0);
        self.filter_text.clear();
        self.filter.clear();
        self.filter_error = None;
        self.subset = Some(subset);
        self.refresh(data, predictions);
    }

    /// A new session was opened: its rows replace the old ones. A subset and thumbnails of
    /// the old data go, a class filter the new model does not have goes, and the selected row
    /// stays when the new data has it.
    pub fn on_session(&mut self, session: &Session) {
        self.subset = None;
        self.thumbnails.0.clear();
        let classes = session.model.task().class_names().len();
        self.predicted_class = self.predicted_class.filter(|&c| c < classes);
        let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
            self.visible.clear();
            self.selected = None;
            return;
        };
        self.selected = self.selected.filter(|&r| r < data.len());
        match parse_filter(&self.filter_text, &data.feature_names, &data.categories) {
            Ok(filter) => self.filter = filter,
            Err(_) => {
                self.filter_text.clear();
                self.filter.clear();
            }
        }
        self.filter_error = None;
        self.refresh(data, predictions);
        self.scroll_to_selected = true;
    }

    /// Selects `row`, clearing filters that hide it.
    pub fn select(&mut self, row: usize, data: &Arc<Dataset>, predictions: &Arc<Predictions>) {
        if !self.visible.contains(&row) {
            *self = BrowserState {
                sort: self.sort,
                descending: self.descending,
                ..BrowserState::default()
            };
            self.refresh(data, predictions);
        }
        self.selected = Some(row);
        self.scroll_to_selected = true;
    }

    /// Filters by feature values as typed (`worst radius > 20 and mean area <= 900`); the
    /// filter in force stays when the text does not parse, and the reason is returned.
    pub fn set_filter(
        &mut self,
        text: &str,
        data: &Arc<Dataset>,
        predictions: &Arc<Predictions>,
    ) -> Result<(), String> {
        self.filter = parse_filter(text, &data.feature_names, &data.categories)?;
        self.filter_text = text.to_string();
        self.refresh(data, predictions);
        Ok(())
    }

    /// Recomputes the visible rows from the filter and sort: at once, or on a worker for data
    /// of [`WORKER_ROWS`] rows or more (the rows shown until then stay).
    pub fn refresh(&mut self, data: &Arc<Dataset>, predictions: &Arc<Predictions>) {
        let query = RowQuery::new(
            data,
            predictions,
            self.subset.as_ref().map(|s| s.rows.as_slice()),
            self.outcome,
            self.predicted_class,
            self.confidence,
            &self.filter,
            (self.sort, self.descending),
        );
        if predictions.len() >= WORKER_ROWS {
            self.pending.start(query);
            return;
        }
        self.pending = Pending::default();
        self.set_visible(query.run());
    }

    /// True while the visible rows are being recomputed on a worker.
    pub fn is_refreshing(&self) -> bool {
        self.pending.is_running()
    }

    /// Shows the rows a worker finished; true when it did.
    pub fn poll(&mut self) -> bool {
        match self.pending.take() {
            Some(rows) => {
                self.set_visible(rows);
                true
            }
            None => false,
        }
    }

    fn set_visible(&mut self, rows: Vec<usize>) {
        self.visible = rows;
        if self.selected.is_none_or(|s| !self.visible.contains(&s)) {
            self.selected = self.visible.first().copied();
        }
    }

    /// Moves the selection `step` rows up (negative) or down among the visible rows.
    fn step(&mut self, step: isize) {
        let Some(last) = self.visible.len().checked_sub(1) else {
            return;
        };
        let at = self
            .selected
            .and_then(|s| self.visible.iter().position(|&r| r == s))
            .unwrap_or(0);
        let next = at.saturating_add_signed(step).min(last);
        self.selected = Some(self.visible[next]);
        self.scroll_to_selected = true;
    }
}

/// Draws the browser: filters, then the table of rows.
pub fn browser_ui(ui: &mut egui::Ui, state: &mut BrowserState, session: &Session) {
    let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
        ui.weak("Open a dataset to see predictions.");
        return;
    };
    let class_names = session.model.task().class_names();
    state.poll();
    if state.is_refreshing() {
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(15));
    }
    if let Some(subset) = &state.subset {
        let mut clear = false;
        ui.horizontal_wrapped(|ui| {
            ui.label(
                egui::RichText::new(format!(
                    "Only: {} ({} rows)",
                    subset.label,
                    subset.rows.len()
                ))
                .strong(),
            );
            clear = ui
                .small_button("✕ Clear")
                .on_hover_text("Show every row again")
                .clicked();
        });
        if clear {
            state.subset = None;
            state.refresh(data, predictions);
        }
    }
    let before = (
        state.outcome,
        state.predicted_class,
        state.confidence,
        state.sort,
        state.descending,
    );

    ui.horizontal(|ui| {
        ui.label("Show");
        ui.selectable_value(&mut state.outcome, Outcome::All, "All");
        let labelled = data.classes().is_some();
        ui.add_enabled_ui(labelled, |ui| {
            ui.selectable_value(&mut state.outcome, Outcome::Errors, "Errors")
                .on_disabled_hover_text("The data has no labels");
            ui.selectable_value(&mut state.outcome, Outcome::Correct, "Correct");
        });
    });
    if !class_names.is_empty() {
        ui.horizontal(|ui| {
            let label = ui.label("Predicted");
            let text = state
                .predicted_class
                .and_then(|c| class_names.get(c))
                .map_or("any class", String::as_str);
            egui::ComboBox::from_id_salt("predicted_class")
                .selected_text(text)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut state.predicted_class, None, "any class");
                    for (c, name) in class_names.iter().enumerate() {
                        ui.selectable_value(&mut state.predicted_class, Some(c), name);
                    }
                })
                .response
                .labelled_by(label.id);
        });
        ui.horizontal(|ui| {
            let from = ui.label("Confidence from");
            let (lo, hi) = &mut state.confidence;
            ui.add(
                egui::DragValue::new(lo)
                    .range(0.0..=1.0)
                    .speed(0.01)
                    .fixed_decimals(2),
            )
            .labelled_by(from.id);
            let to = ui.label("to");
            ui.add(
                egui::DragValue::new(hi)
                    .range(0.0..=1.0)
                    .speed(0.01)
                    .fixed_decimals(2),
            )
            .labelled_by(to.id);
        });
    }
    if data.images.is_none() {
        ui.horizontal(|ui| {
            let label = ui.label("Where");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut state.filter_text)
                        .hint_text(super::row_filter::example(data))
                        .desired_width(280.0),
                )
                .labelled_by(label.id);
            if edit.changed() {
                let text = state.filter_text.clone();
                state.filter_error = state.set_filter(&text, data, predictions).err();
            }
        });
        if let Some(e) = &state.filter_error {
            ui.add(
                egui::Label::new(
                    egui::RichText::new(e)
                        .color(super::theme::bad(ui.visuals()))
                        .small(),
                )
                .wrap(),
            );
        }
    }
    let after = (
        state.outcome,
        state.predicted_class,
        state.confidence,
        state.sort,
        state.descending,
    );
    if before != after {
        state.refresh(data, predictions);
    }

    if ui.ui_contains_pointer() || !ui.ctx().egui_wants_keyboard_input() {
        // ↑/↓ a row, PgUp/PgDn a page, Home/End the first and last row.
        let step = ui.input(|i| {
            let page = PAGE_ROWS as isize;
            [
                (egui::Key::ArrowUp, -1),
                (egui::Key::ArrowDown, 1),
                (egui::Key::PageUp, -page),
                (egui::Key::PageDown, page),
                (egui::Key::Home, isize::MIN / 2),
                (egui::Key::End, isize::MAX / 2),
            ]
            .into_iter()
            .filter(|(key, _)| i.key_pressed(*key))
            .map(|(_, step)| step)
            .sum::<isize>()
        });
        if step != 0 {
            state.step(step);
        }
    }

    let shown = state.visible.len();
    ui.horizontal(|ui| {
        ui.weak(format!("{shown} of {} rows", predictions.len()));
        if state.is_refreshing() {
            ui.spinner();
            ui.weak("filtering and sorting…");
        }
    });
    ui.separator();
    let ids = session.ids.as_deref();
    if let Some(ids) = ids {
        ui.weak(format!("cases named by the column `{}`", ids.column));
    }
    rows_table(ui, state, data, predictions, class_names, ids);
}

fn rows_table(
    ui: &mut egui::Ui,
    state: &mut BrowserState,
    data: &Arc<Dataset>,
    predictions: &Arc<Predictions>,
    class_names: &[String],
    ids: Option<&crate::session::ids::CaseIds>,
) {
    let truth = data.classes();
    let regression = class_names.is_empty();
    let row_height = ui.text_style_height(&egui::TextStyle::Body) + 6.0;
    // The first column holds the thumbnail and the longest row number (`#1796`) uncut.
    let longest = format!("#{}", predictions.len().saturating_sub(1));
    let number_width = super::chart::names_width(ui, &[longest]);
    let thumbnail_width = if data.images.is_some() {
        row_height + ui.spacing().item_spacing.x
    } else {
        0.0
    };
    let first_width = (thumbnail_width + number_width).max(if ids.is_some() { 72.0 } else { 44.0 });
    let mut table = TableBuilder::new(ui)
        .striped(true)
        .animate_scrolling(false)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(
            Column::auto()
                .at_least(first_width)
                .at_most(160.0_f32.max(first_width))
                .clip(true),
        )
        .column(Column::auto().at_least(70.0).clip(true))
        .column(Column::auto().at_least(70.0).clip(true))
        .column(Column::auto().at_least(56.0))
        .column(Column::remainder().at_least(20.0));
    if state.scroll_to_selected
        && let Some(pos) = state
            .selected
            .and_then(|s| state.visible.iter().position(|&r| r == s))
    {
        table = table.scroll_to_row(pos, None);
        state.scroll_to_selected = false;
    }
    let mut clicked = None;
    let mut resort = None;
    table
        .header(row_height, |mut header| {
            for (key, title) in [
                (SortKey::Row, "Row"),
                (SortKey::True, "True"),
                (SortKey::Predicted, "Predicted"),
                (
                    SortKey::Confidence,
                    if regression { "Value" } else { "Conf." },
                ),
            ] {
                header.col(|ui| {
                    let arrow = match (state.sort == key, state.descending) {
                        (false, _) => "",
                        (true, false) => " ▲",
                        (true, true) => " ▼",
                    };
                    if ui
                        .selectable_label(state.sort == key, format!("{title}{arrow}"))
                        .clicked()
                    {
                        resort = Some(key);
                    }
                });
            }
            header.col(|ui| {
                ui.strong("✓");
            });
        })
        .body(|body| {
            body.rows(row_height, state.visible.len(), |mut row| {
                let r = state.visible[row.index()];
                row.set_selected(state.selected == Some(r));
                row.col(|ui| {
                    if let Some(images) = &data.images {
                        let thumb = state.thumbnails.0.entry(r).or_insert_with(|| {
                            let image = &images.images[r];
                            ui.ctx().load_texture(
                                format!("thumbnail {r}"),
                                egui::ColorImage::from_rgb(
                                    [image.width() as usize, image.height() as usize],
                                    image.as_raw(),
                                ),
                                egui::TextureOptions::LINEAR,
                            )
                        });
                        ui.add(
                            egui::Image::new(&*thumb)
                                .fit_to_exact_size(egui::vec2(row_height - 2.0, row_height - 2.0)),
                        );
                    }
                    if ui
                        .selectable_label(state.selected == Some(r), format!("#{r}"))
                        .clicked()
                    {
                        clicked = Some(r);
                    }
                    if let Some(id) = ids.and_then(|i| i.values.get(r)) {
                        ui.add(egui::Label::new(egui::RichText::new(id).weak()).selectable(false));
                    }
                });
                // Cells are plain (not selectable) text, so a click anywhere on the row reaches
                // the row and selects it.
                let cell = |ui: &mut egui::Ui, text: egui::RichText| {
                    ui.add(egui::Label::new(text).selectable(false));
                };
                row.col(|ui| {
                    let label = match (truth, &data.labels) {
                        (Some(t), _) => class_names.get(t[r]).cloned().unwrap_or_default(),
                        (None, Some(crate::data::Labels::Values(v))) => format!("{:.4}", v[r]),
                        _ => "–".into(),
                    };
                    cell(ui, label.into());
                });
                row.col(|ui| {
                    let label = match predictions.predicted.get(r) {
                        Some(&c) => class_names.get(c).cloned().unwrap_or_default(),
                        None => format!("{:.4}", predictions.outputs[[r, 0]]),
                    };
                    cell(ui, label.into());
                });
                row.col(|ui| {
                    if let Some(p) = predictions.confidence.get(r) {
                        cell(ui, format!("{:.1}%", p * 100.0).into());
                    }
                });
                row.col(|ui| match predictions.is_correct(r, truth) {
                    Some(true) => cell(
                        ui,
                        egui::RichText::new("✓").color(super::theme::good(ui.visuals())),
                    ),
                    Some(false) => cell(
                        ui,
                        egui::RichText::new("✗").color(super::theme::bad(ui.visuals())),
                    ),
                    None => {}
                });
                if row.response().clicked() {
                    clicked = Some(r);
                }
            });
        });
    if let Some(r) = clicked {
        state.selected = Some(r);
    }
    if let Some(key) = resort {
        if state.sort == key {
            state.descending = !state.descending;
        } else {
            state.sort = key;
            state.descending = key == SortKey::Confidence;
        }
        state.refresh(data, predictions);
        state.scroll_to_selected = true;
    }
}
