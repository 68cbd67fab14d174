//! The one place messages appear: a column of notices floating over the bottom-right corner
//! of the window, wrapped to a fixed width, so a message never moves or widens the layout.
//! Each notice says what it is about (`topic`, and the `key` of the row and settings it
//! concerns); a view keeps only the notices of its current key, so a message is cleared when
//! what it was about changes. Information fades after a few seconds; errors stay until
//! dismissed or outdated.

use std::time::{Duration, Instant};

use crate::explain::Setting;

/// How long information stays on screen.
const INFO_FOR: Duration = Duration::from_secs(8);
/// Width of the notice column.
const WIDTH: f32 = 420.0;

/// How a notice reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

/// One message.
#[derive(Clone, Debug)]
pub struct Notice {
    pub text: String,
    pub level: Level,
    /// What it is about: a view (`explain`), `files`, `export`.
    pub topic: &'static str,
    /// The row and settings it concerns within its topic; empty for none.
    pub key: String,
    at: Instant,
}

/// Every notice on screen.
#[derive(Default)]
pub struct Notices {
    items: Vec<Notice>,
}

impl Notices {
    /// Shows `text` about `topic`/`key`, once (the same text is not stacked).
    pub fn post(&mut self, level: Level, topic: &'static str, key: &str, text: impl Into<String>) {
        let text = text.into();
        self.items.retain(|n| !(n.topic == topic && n.text == text));
        self.items.push(Notice {
            text,
            level,
            topic,
            key: key.to_string(),
            at: Instant::now(),
        });
    }

    /// An error about `topic`/`key`.
    pub fn error(&mut self, topic: &'static str, key: &str, text: impl Into<String>) {
        self.post(Level::Error, topic, key, text);
    }

    /// Information about `topic` (it fades).
    pub fn info(&mut self, topic: &'static str, text: impl Into<String>) {
        self.post(Level::Info, topic, "", text);
    }

    /// Drops `topic`'s notices about any key but `key`: what they were about changed.
    pub fn keep_only(&mut self, topic: &'static str, key: &str) {
        self.items
            .retain(|n| n.topic != topic || n.key.is_empty() || n.key == key);
    }

    /// Drops every notice of `topic`.
    pub fn clear(&mut self, topic: &'static str) {
        self.items.retain(|n| n.topic != topic);
    }

    /// Drops every notice.
    pub fn clear_all(&mut self) {
        self.items.clear();
    }

    /// The notices on screen, oldest first.
    pub fn items(&self) -> &[Notice] {
        &self.items
    }

    /// The newest error, if any.
    pub fn latest_error(&self) -> Option<&str> {
        self.items
            .iter()
            .rev()
            .find(|n| n.level == Level::Error)
            .map(|n| n.text.as_str())
    }

    /// Draws the notices over the window's bottom-right corner.
    pub fn ui(&mut self, ctx: &egui::Context) {
        self.items
            .retain(|n| n.level == Level::Error || n.at.elapsed() < INFO_FOR);
        if self.items.is_empty() {
            return;
        }
        if self.items.iter().any(|n| n.level == Level::Info) {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
        let mut dismissed = None;
        egui::Area::new(egui::Id::NULL.with("notices"))
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-12.0, -12.0))
            .order(egui::Order::Foreground)
            .interactable(true)
            .show(ctx, |ui| {
                ui.set_max_width(WIDTH);
                for (i, n) in self.items.iter().enumerate() {
                    egui::Frame::popup(ui.style()).show(ui, |ui| {
                        ui.set_width(WIDTH);
                        ui.horizontal_top(|ui| {
                            if ui.small_button("Dismiss").clicked() {
                                dismissed = Some(i);
                            }
                            let text = egui::RichText::new(match n.level {
                                Level::Error => format!("⚠ {}", n.text),
                                Level::Info => n.text.clone(),
                            });
                            let text = match n.level {
                                Level::Error => text.color(super::theme::bad(ui.visuals())),
                                Level::Info => text,
                            };
                            ui.add(egui::Label::new(text).wrap());
                        });
                    });
                }
            });
        if let Some(i) = dismissed {
            self.items.remove(i);
        }
    }
}

/// A setting error worded for the window: the control that sets it, its value, what is wrong.
pub fn word_setting(setting: Setting, value: &str, problem: &str) -> String {
    let control = match setting {
        Setting::Method => "Method",
        Setting::Samples => "Budget",
        Setting::Tolerance => "Tolerance",
        Setting::Link => "Scale",
        Setting::Target => "Explained class",
        Setting::Background => "Background",
        Setting::Groups => "Group",
        Setting::Param(name) => name,
    };
    format!("{control} {value} {problem}")
}
