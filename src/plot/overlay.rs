//! A saliency map laid over its image: red where the map pushes toward the class, blue where
//! it pushes away, the colour's strength following the value; optionally only the top k% of
//! the pixels. Drawn at the model's size, then scaled up smoothly for display and export.

use image::{Rgb, RgbImage};

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
}

impl Default for OverlayStyle {
    fn default() -> Self {
        OverlayStyle {
            opacity: 0.7,
            top_percent: None,
            scale: 8,
        }
    }
}

/// The overlay of `map` on `image` (both at the model's size).
pub fn overlay(image: &RgbImage, map: &SaliencyMap, style: OverlayStyle) -> RgbImage {
    let (w, h) = (map.width as u32, map.height as u32);
    let base = if image.width() == w && image.height() == h {
        image.clone()
    } else {
        image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle)
    };
    let max = map
        .values
        .iter()
        .fold(0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
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
            let t = if shown { (v / max) as f32 } else { 0.0 };
            let (r, g, b) = if t >= 0.0 { UP_RGB } else { DOWN_RGB };
            let a = style.opacity.clamp(0.0, 1.0) * t.abs().sqrt();
            let p = base.get_pixel(x, y).0;
            let mix = |c: u8, o: u8| (c as f32 * (1.0 - a) + o as f32 * a).round() as u8;
            out.put_pixel(x, y, Rgb([mix(p[0], r), mix(p[1], g), mix(p[2], b)]));
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
        }
    }

    #[test]
    fn positive_is_red_negative_blue_and_top_k_hides_the_rest() {
        let image = RgbImage::from_pixel(3, 2, Rgb([128, 128, 128]));
        let style = OverlayStyle {
            opacity: 1.0,
            top_percent: None,
            scale: 1,
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
