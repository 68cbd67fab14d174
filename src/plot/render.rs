//! Rendering chart specs with plotters: SVG text, or PNG bytes at a pixel scale (2× by
//! default, for sharp slides). Text uses the embedded font, so no system font is needed.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{DOWN_RGB, UP_RGB, WaterfallSpec, short_number, ticks};

/// Why a chart could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct RenderError(String);

impl RenderError {
    pub fn new(message: impl Into<String>) -> Self {
        RenderError(message.into())
    }
}

pub const FAMILY: &str = "sans-serif";
const WIDTH: u32 = 900;
const ROW_HEIGHT: u32 = 32;
const TOP: u32 = 64;
const BOTTOM: u32 = 64;
const LABEL_WIDTH: u32 = 320;

pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse; a failure would only lose text.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, crate::assets::FONT);
    });
}

/// Size in points (before scaling) of a waterfall with `bars` bars.
pub fn waterfall_size(bars: usize) -> (u32, u32) {
    (WIDTH, TOP + ROW_HEIGHT * bars as u32 + BOTTOM)
}

/// A chart plotters can draw at any pixel scale.
pub trait Chart {
    /// Size in points (before scaling).
    fn size(&self) -> (u32, u32);
    /// Draws onto `root`, `s` pixels per point.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>;
}

impl Chart for WaterfallSpec {
    fn size(&self) -> (u32, u32) {
        waterfall_size(self.bars.len())
    }
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        draw_waterfall(root, self, s)
    }
}

/// A chart as an SVG document.
pub fn svg(chart: &impl Chart) -> Result<String, RenderError> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size()).into_drawing_area();
        chart
            .draw(&root, 1.0)
            .map_err(|e| RenderError(e.to_string()))?;
        root.present().map_err(|e| RenderError(e.to_string()))?;
    }
    Ok(svg)
}

/// A chart as PNG bytes, `scale` pixels per point.
pub fn png(chart: &impl Chart, scale: u32) -> Result<Vec<u8>, RenderError> {
    register_font();
    let scale = scale.max(1);
    let (w, h) = chart.size();
    let (w, h) = (w * scale, h * scale);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        chart
            .draw(&root, scale as f64)
            .map_err(|e| RenderError(e.to_string()))?;
        root.present().map_err(|e| RenderError(e.to_string()))?;
    }
    let image = image::RgbImage::from_raw(w, h, rgb)
        .ok_or_else(|| RenderError("bad image buffer".into()))?;
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| RenderError(e.to_string()))?;
    Ok(png)
}

/// The waterfall as an SVG document.
pub fn waterfall_svg(spec: &WaterfallSpec) -> Result<String, RenderError> {
    svg(spec)
}

/// The waterfall as PNG bytes, `scale` pixels per point.
pub fn waterfall_png(spec: &WaterfallSpec, scale: u32) -> Result<Vec<u8>, RenderError> {
    png(spec, scale)
}

pub fn draw_waterfall<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    spec: &WaterfallSpec,
    s: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let px = |v: f64| (v * s).round() as i32;
    let font = |size: f64| (FAMILY, size * s).into_font();
    let ink = RGBColor(0x33, 0x33, 0x33);
    let faint = RGBColor(0xbb, 0xbb, 0xbb);
    let up = RGBColor(UP_RGB.0, UP_RGB.1, UP_RGB.2);
    let down = RGBColor(DOWN_RGB.0, DOWN_RGB.1, DOWN_RGB.2);
    root.fill(&WHITE)?;

    let n = spec.bars.len() as f64;
    let (lo, hi) = spec.range();
    let (x0, x1) = (LABEL_WIDTH as f64 + 12.0, WIDTH as f64 - 90.0);
    let sx = |v: f64| x0 + (v - lo) / (hi - lo) * (x1 - x0);
    let top = TOP as f64;
    let row = ROW_HEIGHT as f64;
    let axis_y = top + n * row + 6.0;

    root.draw(&Text::new(
        spec.title.clone(),
        (px(16.0), px(14.0)),
        font(17.0).color(&ink),
    ))?;
    let out_label = format!("{} = {}", spec.output_name, short_number(spec.output_value));
    let out_style = font(13.0)
        .color(&ink)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    root.draw(&Text::new(
        out_label,
        (px(sx(spec.output_value)), px(top - 6.0)),
        out_style,
    ))?;
    for x in [spec.base_value, spec.output_value] {
        root.draw(&PathElement::new(
            vec![(px(sx(x)), px(top - 4.0)), (px(sx(x)), px(axis_y))],
            ShapeStyle::from(&faint).stroke_width(px(1.0).max(1) as u32),
        ))?;
    }

    for (i, bar) in spec.bars.iter().enumerate() {
        let y = top + i as f64 * row;
        let mid = y + row / 2.0;
        let colour = if bar.attribution >= 0.0 { up } else { down };
        let label_style = font(13.0)
            .color(&ink)
            .pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(
            bar.label.clone(),
            (px(LABEL_WIDTH as f64), px(mid)),
            label_style,
        ))?;
        let (a, b) = (sx(bar.start), sx(bar.end()));
        let (left, right) = (a.min(b), a.max(b).max(a.min(b) + 1.0));
        root.draw(&Rectangle::new(
            [
                (px(left), px(y + row * 0.2)),
                (px(right), px(y + row * 0.8)),
            ],
            colour.filled(),
        ))?;
        let mut text_x = right + 6.0;
        if let Some(half) = bar.interval.filter(|h| *h > 0.0) {
            let (e0, e1) = (sx(bar.end() - half), sx(bar.end() + half));
            let whisker = ShapeStyle::from(&ink).stroke_width(px(1.0).max(1) as u32);
            root.draw(&PathElement::new(
                vec![(px(e0), px(mid)), (px(e1), px(mid))],
                whisker,
            ))?;
            for e in [e0, e1] {
                root.draw(&PathElement::new(
                    vec![(px(e), px(mid - 5.0)), (px(e), px(mid + 5.0))],
                    whisker,
                ))?;
            }
            text_x = text_x.max(e1 + 6.0);
        }
        let value = format!(
            "{}{}",
            if bar.attribution >= 0.0 { "+" } else { "" },
            short_number(bar.attribution)
        );
        let value_style = font(12.0)
            .color(&colour)
            .pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(value, (px(text_x), px(mid)), value_style))?;
        if i + 1 < spec.bars.len() {
            // A thin connector from this bar's start to the bar below's end.
            root.draw(&PathElement::new(
                vec![(px(a), px(y + row * 0.8)), (px(a), px(y + row * 1.2))],
                ShapeStyle::from(&faint).stroke_width(1),
            ))?;
        }
    }

    let axis = ShapeStyle::from(&ink).stroke_width(px(1.0).max(1) as u32);
    root.draw(&PathElement::new(
        vec![(px(x0), px(axis_y)), (px(x1), px(axis_y))],
        axis,
    ))?;
    for (t, label) in ticks(lo, hi, 6) {
        root.draw(&PathElement::new(
            vec![(px(sx(t)), px(axis_y)), (px(sx(t)), px(axis_y + 4.0))],
            axis,
        ))?;
        let style = font(11.0)
            .color(&ink)
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(
            label.clone(),
            (px(sx(t)), px(axis_y + 6.0)),
            style,
        ))?;
    }
    let base_label = format!("{} = {}", spec.base_name, short_number(spec.base_value));
    let base_style = font(13.0)
        .color(&ink)
        .pos(Pos::new(HPos::Center, VPos::Top));
    root.draw(&Text::new(
        base_label,
        (px(sx(spec.base_value)), px(axis_y + 22.0)),
        base_style,
    ))?;
    let mut caption = spec.axis_label.clone();
    if spec.bars.iter().any(|b| b.interval.is_some()) {
        caption.push_str(" · whiskers: 95% interval");
    }
    let caption_style = font(12.0).color(&ink).pos(Pos::new(HPos::Left, VPos::Top));
    root.draw(&Text::new(
        caption,
        (px(16.0), px(axis_y + 40.0)),
        caption_style,
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> WaterfallSpec {
        let names: Vec<String> = ["mean radius", "worst area", "texture"]
            .map(String::from)
            .to_vec();
        WaterfallSpec::new(
            "Row 3".into(),
            "P(malignant)".into(),
            &names,
            &[14.2, 1420.0, 20.1],
            &[0.2, -0.1, 0.05],
            Some(&[0.01, 0.02, 0.0]),
            0.37,
            0.52,
            10,
        )
    }

    #[test]
    fn png_decodes_at_twice_the_size() {
        let png = waterfall_png(&spec(), 2).unwrap();
        let image = image::load_from_memory(&png).unwrap();
        let (w, h) = waterfall_size(3);
        assert_eq!((image.width(), image.height()), (2 * w, 2 * h));
        // Red and blue bars are really drawn.
        let rgb = image.to_rgb8();
        assert!(rgb.pixels().any(|p| p.0 == [UP_RGB.0, UP_RGB.1, UP_RGB.2]));
        assert!(
            rgb.pixels()
                .any(|p| p.0 == [DOWN_RGB.0, DOWN_RGB.1, DOWN_RGB.2])
        );
    }

    #[test]
    fn svg_names_every_feature() {
        let svg = waterfall_svg(&spec()).unwrap();
        assert!(svg.starts_with("<svg"));
        for label in ["mean radius = 14.2", "worst area = 1420", "E[f(X)] = 0.370"] {
            assert!(svg.contains(label), "{label} missing");
        }
    }
}
