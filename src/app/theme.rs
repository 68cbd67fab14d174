//! Colours with a meaning, shared by every panel. Red pushes up and blue pushes down, as in shap.

use egui::Color32;

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
