//! Colours with a meaning, shared by every panel, each in a dark-theme and a light-theme shade
//! (the functions take the visuals in use). Red pushes up and blue pushes down, as in shap.

use egui::{Color32, Visuals};
use serde::{Deserialize, Serialize};

/// Which theme the window uses; it follows the system unless the user chose one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    pub const ALL: [ThemeChoice; 3] = [ThemeChoice::System, ThemeChoice::Light, ThemeChoice::Dark];

    pub fn name(self) -> &'static str {
        match self {
            ThemeChoice::System => "Follow the system",
            ThemeChoice::Light => "Light",
            ThemeChoice::Dark => "Dark",
        }
    }

    /// What egui is told.
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            ThemeChoice::System => egui::ThemePreference::System,
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
        }
    }
}

/// Picks the dark or the light variant of a colour for the theme in use.
fn pick(visuals: &Visuals, dark: Color32, light: Color32) -> Color32 {
    if visuals.dark_mode { dark } else { light }
}

/// A correct prediction (text and marks).
pub fn good(v: &Visuals) -> Color32 {
    pick(v, GOOD, Color32::from_rgb(0x1b, 0x7a, 0x45))
}

/// A wrong prediction, an error message.
pub fn bad(v: &Visuals) -> Color32 {
    pick(v, BAD, Color32::from_rgb(0xc0, 0x25, 0x25))
}

/// The predicted class's bar.
pub fn accent(v: &Visuals) -> Color32 {
    pick(v, ACCENT, Color32::from_rgb(0xd4, 0x00, 0x44))
}

/// Other classes' bars, calibration bars, reference ranges.
pub fn muted(v: &Visuals) -> Color32 {
    pick(v, MUTED, Color32::from_rgb(0x4a, 0x6f, 0xb0))
}

/// Pushes the output up: shap's red, a shade darker on a light background so text in it reads.
pub fn up(v: &Visuals) -> Color32 {
    pick(v, UP, Color32::from_rgb(0xc8, 0x00, 0x3c))
}

/// Pushes the output down: shap's blue, lighter on a dark background, darker on a light one.
pub fn down(v: &Visuals) -> Color32 {
    pick(
        v,
        Color32::from_rgb(0x3a, 0xa4, 0xf0),
        Color32::from_rgb(0x00, 0x66, 0xb3),
    )
}

/// The box drawn with Shift+drag on a chart.
pub fn selection(v: &Visuals) -> Color32 {
    pick(
        v,
        Color32::from_rgb(120, 160, 255),
        Color32::from_rgb(0x1f, 0x5f, 0xd0),
    )
}

// The dark theme's shades.

/// A correct prediction.
pub const GOOD: Color32 = Color32::from_rgb(0x3c, 0xb3, 0x71);
/// A wrong prediction, an error message.
pub const BAD: Color32 = Color32::from_rgb(0xe0, 0x4f, 0x4f);
/// The predicted class's bar.
pub const ACCENT: Color32 = Color32::from_rgb(0xff, 0x00, 0x51);
/// Other classes' bars.
pub const MUTED: Color32 = Color32::from_rgb(0x6a, 0x8c, 0xc8);

/// Adds DejaVu Sans as a fallback after egui's own fonts, so symbols (✓ ✗ ▲ ▼ → …) and names in
/// most scripts draw instead of showing boxes. Call once, before the first frame.
pub fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    fonts.font_data.insert(
        "DejaVuSans".into(),
        std::sync::Arc::new(egui::FontData::from_static(crate::assets::FONT)),
    );
    for family in [egui::FontFamily::Proportional, egui::FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .push("DejaVuSans".into());
    }
    ctx.set_fonts(fonts);
}

/// Pushes the output up (shap's red).
pub const UP: Color32 = Color32::from_rgb(
    crate::plot::UP_RGB.0,
    crate::plot::UP_RGB.1,
    crate::plot::UP_RGB.2,
);
/// Pushes the output down (shap's blue).
pub const DOWN: Color32 = Color32::from_rgb(
    crate::plot::DOWN_RGB.0,
    crate::plot::DOWN_RGB.1,
    crate::plot::DOWN_RGB.2,
);

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG contrast ratio of two colours.
    fn contrast(a: Color32, b: Color32) -> f32 {
        let lum = |c: Color32| {
            let f = |u: u8| {
                let c = u as f32 / 255.0;
                if c <= 0.039_28 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            };
            0.2126 * f(c.r()) + 0.7152 * f(c.g()) + 0.0722 * f(c.b())
        };
        let (x, y) = (lum(a), lum(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn meaningful_colours_read_on_both_backgrounds() {
        for visuals in [Visuals::dark(), Visuals::light()] {
            let bg = visuals.panel_fill;
            for (name, c) in [
                ("good", good(&visuals)),
                ("bad", bad(&visuals)),
                ("up", up(&visuals)),
                ("down", down(&visuals)),
                ("accent", accent(&visuals)),
            ] {
                let ratio = contrast(c, bg);
                assert!(
                    ratio >= 4.0,
                    "{name} on {} panels: contrast {ratio:.2}",
                    if visuals.dark_mode { "dark" } else { "light" }
                );
            }
        }
    }

    #[test]
    fn the_choice_survives_a_restart() {
        for c in ThemeChoice::ALL {
            let text = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<ThemeChoice>(&text).unwrap(), c);
        }
        assert_eq!(
            ThemeChoice::default().preference(),
            egui::ThemePreference::System
        );
    }
}
