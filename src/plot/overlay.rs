//! A saliency map laid over its image: red where the map pushes toward the class, blue where
//! it pushes away, the colour's strength following the value on the map's [`MapScale`];
//! optionally only the top k% of the pixels. Drawn at the model's size, then scaled up smoothly
//! for display and export, with a colour bar under the exported image.

use image::{Rgb, RgbImage};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{DOWN_RGB, UP_RGB};

use crate::explain::image::SaliencyMap;

/// How the map is laid over the image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OverlayStyle {
    /// 0: the image alone; 1: the strongest values fully coloured.
    pub opacity: f32,
    /// Show only the top k% of pixels (by value), or all.
    pub top_percent: Option<f64>,
    /// Output pixels per image pixel.
    pub scale: u32,
    /// The two colours of the map.
    pub palette: Palette,
}

/// The colours of a map: toward the class, and away from it. Red and blue (shap's) is the
/// default; the others survive an image whose own content is red or blue (a blue sticker under
/// a red–blue map reads purple, as if it were half of each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Palette {
    #[default]
    RedBlue,
    /// PiYG's ends: green toward the class, magenta away.
    GreenMagenta,
    /// PuOr's ends: orange toward the class, purple away.
    OrangePurple,
}

impl Palette {
    pub const ALL: [Palette; 3] = [
        Palette::RedBlue,
        Palette::GreenMagenta,
        Palette::OrangePurple,
    ];

    /// The name on the command line and in the card (`red-blue`, …).
    pub fn name(self) -> &'static str {
        match self {
            Palette::RedBlue => "red-blue",
            Palette::GreenMagenta => "green-magenta",
            Palette::OrangePurple => "orange-purple",
        }
    }

    /// The palette of a name, or a sentence naming the ones there are.
    pub fn parse(name: &str) -> Result<Palette, String> {
        let wanted = name.trim().to_ascii_lowercase();
        Palette::ALL
            .into_iter()
            .find(|p| p.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<_> = Palette::ALL.iter().map(|p| p.name()).collect();
                format!("unknown palette `{name}`: use {}", names.join(", "))
            })
    }

    /// The colour toward the class.
    pub fn up(self) -> (u8, u8, u8) {
        match self {
            Palette::RedBlue => UP_RGB,
            Palette::GreenMagenta => (0x1b, 0xa0, 0x3c),
            Palette::OrangePurple => (0xf0, 0x8c, 0x00),
        }
    }

    /// The colour away from the class.
    pub fn down(self) -> (u8, u8, u8) {
        match self {
            Palette::RedBlue => DOWN_RGB,
            Palette::GreenMagenta => (0xc5, 0x1b, 0x7d),
            Palette::OrangePurple => (0x5e, 0x3c, 0x99),
        }
    }

    /// The colour of a strength's sign.
    pub fn of(self, t: f32) -> (u8, u8, u8) {
        if t >= 0.0 { self.up() } else { self.down() }
    }

    /// The colour words of a legend: (toward, away).
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Palette::RedBlue => ("red", "blue"),
            Palette::GreenMagenta => ("green", "magenta"),
            Palette::OrangePurple => ("orange", "purple"),
        }
    }
}

impl Default for OverlayStyle {
    fn default() -> Self {
        OverlayStyle {
            opacity: 0.7,
            top_percent: None,
            scale: 8,
            palette: Palette::RedBlue,
        }
    }
}

/// How a map's values become colours. A map with both signs is shown on a scale symmetric
/// about zero (red up, blue down); a map of one sign — Score-CAM's, say, all positive with a
/// large offset — over its own range, so its smallest value is clear and its largest strongest
/// (painting from zero would turn the whole image one colour).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MapScale {
    /// The values at no colour and at full colour (for a diverging scale, −hi..hi).
    pub lo: f64,
    pub hi: f64,
    pub diverging: bool,
}

impl MapScale {
    /// The scale of `map`.
    pub fn of(map: &SaliencyMap) -> MapScale {
        let (min, max) = map
            .values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        if !min.is_finite() {
            return MapScale {
                lo: 0.0,
                hi: 1.0,
                diverging: true,
            };
        }
        if min < 0.0 && max > 0.0 {
            let m = min.abs().max(max);
            MapScale {
                lo: -m,
                hi: m,
                diverging: true,
            }
        } else {
            MapScale {
                lo: min,
                hi: max,
                diverging: false,
            }
        }
    }

    /// A value's colour strength: −1..1 (negative: toward blue), 0 at no colour.
    pub fn strength(&self, v: f64) -> f32 {
        let span = (self.hi - self.lo).max(f64::MIN_POSITIVE);
        let t = if self.diverging {
            v / self.hi.max(f64::MIN_POSITIVE)
        } else if self.hi > 0.0 {
            (v - self.lo) / span
        } else {
            // All negative: the most negative is the strongest blue.
            -(self.hi - v) / span
        };
        t.clamp(-1.0, 1.0) as f32
    }

    /// What the scale shows in `palette`, in words, for a legend.
    pub fn describe(&self, palette: Palette) -> String {
        let (up, down) = palette.words();
        if self.diverging {
            format!(
                "{down} {} · 0 · {up} {} (toward the class)",
                super::short_number(self.lo),
                super::short_number(self.hi)
            )
        } else {
            format!(
                "from {} (no colour) to {} (full colour); the map's own range",
                super::short_number(self.lo),
                super::short_number(self.hi)
            )
        }
    }
}

/// The colour of a strength `t` (−1..1) in `palette` at `opacity`, over `under`.
pub fn tint(under: [u8; 3], t: f32, opacity: f32, palette: Palette) -> [u8; 3] {
    let (r, g, b) = palette.of(t);
    let a = opacity.clamp(0.0, 1.0) * t.abs().sqrt();
    let mix = |c: u8, o: u8| (c as f32 * (1.0 - a) + o as f32 * a).round() as u8;
    [mix(under[0], r), mix(under[1], g), mix(under[2], b)]
}

/// The overlay of `map` on `image` (both at the model's size).
pub fn overlay(image: &RgbImage, map: &SaliencyMap, style: OverlayStyle) -> RgbImage {
    let (w, h) = (map.width as u32, map.height as u32);
    let base = if image.width() == w && image.height() == h {
        image.clone()
    } else {
        image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle)
    };
    let scale = MapScale::of(map);
    let threshold = style.top_percent.map(|k| {
        let mut sorted = map.values.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let n = ((sorted.len() as f64 * k / 100.0).ceil() as usize).clamp(1, sorted.len());
        sorted[n - 1]
    });
    let mut out = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let v = map.at(y as usize, x as usize);
            let shown = threshold.is_none_or(|t| v >= t && v > 0.0);
            let t = if shown { scale.strength(v) } else { 0.0 };
            let p = base.get_pixel(x, y).0;
            out.put_pixel(x, y, Rgb(tint(p, t, style.opacity, style.palette)));
        }
    }
    if style.scale > 1 {
        image::imageops::resize(
            &out,
            w * style.scale,
            h * style.scale,
            image::imageops::FilterType::Triangle,
        )
    } else {
        out
    }
}

/// The overlay with a colour bar under it: the scale's colours from its low to its high end,
/// ticks at both ends (and zero on a diverging scale) with their values under them, so the
/// exported picture says what its colours mean.
pub fn overlay_with_legend(image: &RgbImage, map: &SaliencyMap, style: OverlayStyle) -> RgbImage {
    let picture = overlay(image, map, style);
    let scale = MapScale::of(map);
    let (w, h) = (picture.width(), picture.height());
    let bar_h = (h / 16).clamp(10, 40);
    let text_h = LEGEND_TEXT + 6;
    let mut out = RgbImage::from_pixel(w, h + bar_h * 2 + text_h, Rgb([255, 255, 255]));
    image::imageops::overlay(&mut out, &picture, 0, 0);
    for x in 0..w {
        let v = scale.lo + (scale.hi - scale.lo) * x as f64 / (w.max(2) - 1) as f64;
        let c = tint([255, 255, 255], scale.strength(v), 1.0, style.palette);
        for y in h + bar_h / 2..h + bar_h + bar_h / 2 {
            out.put_pixel(x, y, Rgb(c));
        }
    }
    // Tick marks at the ends and at zero (a diverging scale's neutral middle).
    let mut ticks = vec![0, w - 1];
    if scale.diverging {
        ticks.push(w / 2);
    }
    for x in ticks {
        for y in h + bar_h + bar_h / 2..(h + 2 * bar_h).min(out.height()) {
            for dx in 0..2u32 {
                if x + dx < w {
                    out.put_pixel(x + dx, y, Rgb([40, 40, 40]));
                }
            }
        }
    }
    let mut labels = vec![
        (0, super::short_number(scale.lo), HPos::Left),
        (w - 1, super::short_number(scale.hi), HPos::Right),
    ];
    if scale.diverging {
        labels.push((w / 2, "0".into(), HPos::Center));
    }
    // Text is a courtesy on top of the colours: a picture without it is still right.
    let _ = label_bar(&mut out, h + 2 * bar_h + 2, &labels);
    out
}

/// Height of the colour bar's value labels, in pixels.
const LEGEND_TEXT: u32 = 12;

/// Writes `labels` (x, text, alignment) in a row starting at `y`.
fn label_bar(
    out: &mut RgbImage,
    y: u32,
    labels: &[(u32, String, HPos)],
) -> Result<(), Box<dyn std::error::Error>> {
    super::render::register_font();
    let (w, h) = out.dimensions();
    let root = BitMapBackend::with_buffer(out.as_mut(), (w, h)).into_drawing_area();
    for (x, text, pos) in labels {
        root.draw(&Text::new(
            text.clone(),
            (*x as i32, y as i32),
            (super::render::FAMILY, LEGEND_TEXT as f64)
                .into_font()
                .color(&RGBColor(40, 40, 40))
                .pos(Pos::new(*pos, VPos::Top)),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// PNG bytes of an RGB image.
pub fn png_bytes(image: &RgbImage) -> Result<Vec<u8>, image::ImageError> {
    let mut png = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

/// A map as a NumPy `.npy` file (format 1.0, little-endian float64, C order): the format is a
/// short text header followed by the raw values, so it is written here directly.
pub fn npy(map: &SaliencyMap) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}",
        map.height, map.width
    );
    // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64,
    // ending in a newline.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.div_ceil(64) * 64 - unpadded));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in &map.values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> SaliencyMap {
        SaliencyMap {
            height: 2,
            width: 3,
            values: vec![1.0, 0.0, -1.0, 0.5, 0.25, 0.0],
            base_value: 0.0,
            output_value: 0.75,
            model_calls: 0,
            completeness_gap: None,
        }
    }

    #[test]
    fn every_palette_paints_its_own_two_colours_and_names_them() {
        let image = RgbImage::from_pixel(3, 2, Rgb([128, 128, 128]));
        for palette in Palette::ALL {
            assert_eq!(Palette::parse(palette.name()), Ok(palette));
            let style = OverlayStyle {
                opacity: 1.0,
                top_percent: None,
                scale: 1,
                palette,
            };
            let o = overlay(&image, &map(), style);
            let (up, down) = (palette.up(), palette.down());
            assert_eq!(o.get_pixel(0, 0).0, [up.0, up.1, up.2], "{palette:?}");
            assert_eq!(o.get_pixel(2, 0).0, [down.0, down.1, down.2], "{palette:?}");
            let (toward, away) = palette.words();
            let words = MapScale::of(&map()).describe(palette);
            assert!(words.starts_with(away) && words.contains(toward), "{words}");
        }
        assert_ne!(Palette::GreenMagenta.down(), Palette::RedBlue.down());
        assert!(Palette::parse(" Green-Magenta ").is_ok());
        let err = Palette::parse("rainbow").unwrap_err();
        assert!(
            err.contains("red-blue, green-magenta, orange-purple"),
            "{err}"
        );
    }

    #[test]
    fn positive_is_red_negative_blue_and_top_k_hides_the_rest() {
        let image = RgbImage::from_pixel(3, 2, Rgb([128, 128, 128]));
        let style = OverlayStyle {
            opacity: 1.0,
            top_percent: None,
            scale: 1,
            palette: Palette::RedBlue,
        };
        let o = overlay(&image, &map(), style);
        assert_eq!(o.get_pixel(0, 0).0, [UP_RGB.0, UP_RGB.1, UP_RGB.2]);
        assert_eq!(o.get_pixel(2, 0).0, [DOWN_RGB.0, DOWN_RGB.1, DOWN_RGB.2]);
        assert_eq!(o.get_pixel(1, 0).0, [128, 128, 128]);
        let top = overlay(
            &image,
            &map(),
            OverlayStyle {
                top_percent: Some(10.0),
                ..style
            },
        );
        assert_eq!(
            top.get_pixel(0, 1).0,
            [128, 128, 128],
            "0.5 is not in the top 10%"
        );
        assert_eq!(top.get_pixel(0, 0).0, [UP_RGB.0, UP_RGB.1, UP_RGB.2]);
    }

    #[test]
    fn a_map_of_one_sign_with_an_offset_spans_its_own_range_not_one_sheet() {
        let offset = SaliencyMap {
            values: vec![10.0, 10.5, 11.0, 10.0, 10.0, 10.0],
            ..map()
        };
        let scale = MapScale::of(&offset);
        assert!(!scale.diverging);
        assert_eq!((scale.lo, scale.hi), (10.0, 11.0));
        let image = RgbImage::from_pixel(3, 2, Rgb([128, 128, 128]));
        let style = OverlayStyle {
            opacity: 1.0,
            top_percent: None,
            scale: 1,
            palette: Palette::RedBlue,
        };
        let o = overlay(&image, &offset, style);
        assert_eq!(
            o.get_pixel(0, 0).0,
            [128, 128, 128],
            "the smallest value is uncoloured"
        );
        assert_eq!(o.get_pixel(2, 0).0, [UP_RGB.0, UP_RGB.1, UP_RGB.2]);
        // A signed map stays symmetric about zero.
        let signed = MapScale::of(&map());
        assert!(signed.diverging && signed.lo == -1.0 && signed.hi == 1.0);
        // The exported picture carries its colour bar.
        let legend = overlay_with_legend(&image, &offset, style);
        assert!(legend.height() > o.height());
        assert_eq!(legend.width(), o.width());
        // Its ends are written under it: ink below the bar, on a picture wide enough to hold it.
        let wide = RgbImage::from_pixel(120, 80, Rgb([128, 128, 128]));
        let wide_map = SaliencyMap {
            width: 120,
            height: 80,
            values: (0..9600).map(|i| i as f64).collect(),
            ..map()
        };
        let legend = overlay_with_legend(&wide, &wide_map, style);
        let bar_bottom = 80 + 2 * (80 / 16).clamp(10, 40);
        let ink = (bar_bottom + 2..legend.height())
            .flat_map(|y| (0..30).map(move |x| (x, y)))
            .filter(|&(x, y)| legend.get_pixel(x, y).0[0] < 120)
            .count();
        assert!(ink > 5, "no label under the colour bar ({ink} dark pixels)");
    }

    #[test]
    fn npy_has_the_numpy_header_and_the_values() {
        let bytes = npy(&map());
        assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'shape': (2, 3)"));
        assert_eq!(bytes.len(), 10 + header_len + 6 * 8);
        let first = f64::from_le_bytes(bytes[10 + header_len..18 + header_len].try_into().unwrap());
        assert_eq!(first, 1.0);
    }
}
