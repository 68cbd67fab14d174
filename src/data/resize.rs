//! Bringing a photo of another size to the model's input size as its training pipeline did:
//! stretched, the shorter side scaled then the centre cut out (torchvision's `Resize` +
//! `CenterCrop`), or scaled to fit and padded — with the interpolation the card names.

use image::RgbImage;

/// How a photo of another size reaches the model's input size, as its training pipeline did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Resize {
    /// Scaled to the input size, the aspect ratio not kept.
    #[default]
    Stretch,
    /// The shorter side scaled to `shorter` pixels (0: the input's larger side), the aspect
    /// ratio kept, then the centre cut out: torchvision's `Resize(256)` + `CenterCrop(224)`.
    CenterCrop { shorter: u32 },
    /// Scaled to fit inside, the aspect ratio kept, the rest black (letterboxing).
    Pad,
}

impl Resize {
    /// The card's `resize` (and `resize_shorter`).
    pub fn named(name: Option<&str>, shorter: Option<u32>) -> Result<Resize, String> {
        Ok(match name.map(str::to_ascii_lowercase).as_deref() {
            None | Some("stretch") => Resize::Stretch,
            Some("center_crop" | "centre_crop" | "crop") => Resize::CenterCrop {
                shorter: shorter.unwrap_or(0),
            },
            Some("pad" | "letterbox") => Resize::Pad,
            Some(other) => {
                return Err(format!(
                    "the card's image resize `{other}` is none of stretch, center_crop, pad"
                ));
            }
        })
    }
}

/// How pixels are interpolated when an image is scaled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Filter {
    Nearest,
    #[default]
    Bilinear,
    Bicubic,
    Lanczos,
}

impl Filter {
    /// The card's `interpolation`.
    pub fn named(name: Option<&str>) -> Result<Filter, String> {
        Ok(match name.map(str::to_ascii_lowercase).as_deref() {
            None | Some("bilinear" | "linear") => Filter::Bilinear,
            Some("nearest") => Filter::Nearest,
            Some("bicubic" | "cubic") => Filter::Bicubic,
            Some("lanczos") => Filter::Lanczos,
            Some(other) => {
                return Err(format!(
                    "the card's image interpolation `{other}` is none of nearest, bilinear, \
                     bicubic, lanczos"
                ));
            }
        })
    }

    fn image_filter(self) -> image::imageops::FilterType {
        use image::imageops::FilterType;
        match self {
            Filter::Nearest => FilterType::Nearest,
            Filter::Bilinear => FilterType::Triangle,
            Filter::Bicubic => FilterType::CatmullRom,
            Filter::Lanczos => FilterType::Lanczos3,
        }
    }
}

/// `image` at `width` × `height` by `resize`.
pub fn fit_image(
    image: &RgbImage,
    width: u32,
    height: u32,
    resize: Resize,
    filter: Filter,
) -> RgbImage {
    use image::imageops;
    let (w, h) = image.dimensions();
    if (w, h) == (width, height) {
        return image.clone();
    }
    let f = filter.image_filter();
    let scaled = |sw: u32, sh: u32| imageops::resize(image, sw.max(1), sh.max(1), f);
    match resize {
        Resize::Stretch => scaled(width, height),
        Resize::CenterCrop { shorter } => {
            let shorter = if shorter == 0 {
                width.max(height)
            } else {
                shorter.max(width.max(height))
            };
            // torchvision: the shorter side becomes `shorter`, the other keeps the ratio.
            let (sw, sh) = if w <= h {
                (shorter, (shorter as u64 * h as u64 / w as u64) as u32)
            } else {
                ((shorter as u64 * w as u64 / h as u64) as u32, shorter)
            };
            let big = scaled(sw, sh);
            let (x0, y0) = (
                (sw.saturating_sub(width)) / 2,
                (sh.saturating_sub(height)) / 2,
            );
            imageops::crop_imm(&big, x0, y0, width.min(sw), height.min(sh)).to_image()
        }
        Resize::Pad => {
            let scale = (width as f64 / w as f64).min(height as f64 / h as f64);
            let (sw, sh) = (
                ((w as f64 * scale).round() as u32).clamp(1, width),
                ((h as f64 * scale).round() as u32).clamp(1, height),
            );
            let small = scaled(sw, sh);
            let mut out = RgbImage::new(width, height);
            imageops::replace(
                &mut out,
                &small,
                ((width - sw) / 2) as i64,
                ((height - sh) / 2) as i64,
            );
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 60×30 photo: a white 30×30 square in the middle, black on either side.
    fn wide_photo() -> RgbImage {
        RgbImage::from_fn(60, 30, |x, _| {
            if (15..45).contains(&x) {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([0, 0, 0])
            }
        })
    }

    fn mean(image: &RgbImage, xs: std::ops::Range<u32>, ys: std::ops::Range<u32>) -> f64 {
        let mut sum = 0.0;
        let mut n = 0.0;
        for y in ys {
            for x in xs.clone() {
                sum += image.get_pixel(x, y)[0] as f64;
                n += 1.0;
            }
        }
        sum / n
    }

    #[test]
    fn a_centre_crop_keeps_the_centre_square_and_a_stretch_squeezes_the_sides_in() {
        let crop = fit_image(
            &wide_photo(),
            16,
            16,
            Resize::CenterCrop { shorter: 16 },
            Filter::Bilinear,
        );
        assert_eq!(crop.dimensions(), (16, 16));
        // The centre square fills the crop: white but for a pixel of blending at the edges.
        assert!(
            mean(&crop, 1..15, 0..16) > 250.0,
            "{}",
            mean(&crop, 1..15, 0..16)
        );
        let stretch = fit_image(&wide_photo(), 16, 16, Resize::Stretch, Filter::Bilinear);
        // Stretched, the black sides take a quarter of the width on each side.
        assert!(mean(&stretch, 0..3, 0..16) < 5.0);
        assert!(mean(&stretch, 6..10, 0..16) > 250.0);
    }

    #[test]
    fn torchvision_resize_then_crop_scales_the_shorter_side_first() {
        // Resize(32) makes the 60×30 photo 64×32; CenterCrop(16) then keeps its middle, all
        // white.
        let crop = fit_image(
            &wide_photo(),
            16,
            16,
            Resize::CenterCrop { shorter: 32 },
            Filter::Nearest,
        );
        assert_eq!(mean(&crop, 0..16, 0..16), 255.0);
    }

    #[test]
    fn padding_keeps_the_whole_photo_with_black_bands() {
        let pad = fit_image(&wide_photo(), 16, 16, Resize::Pad, Filter::Nearest);
        // 60×30 fits as 16×8, centred: black bands of 4 rows above and below.
        assert_eq!(mean(&pad, 0..16, 0..4), 0.0);
        assert_eq!(mean(&pad, 0..16, 12..16), 0.0);
        assert_eq!(mean(&pad, 6..10, 5..11), 255.0);
        assert_eq!(mean(&pad, 0..2, 5..11), 0.0);
    }

    #[test]
    fn card_words_are_read_and_others_named() {
        assert_eq!(Resize::named(None, None), Ok(Resize::Stretch));
        assert_eq!(
            Resize::named(Some("center_crop"), Some(256)),
            Ok(Resize::CenterCrop { shorter: 256 })
        );
        assert!(
            Resize::named(Some("squash"), None)
                .unwrap_err()
                .contains("`squash`")
        );
        assert_eq!(Filter::named(Some("Bicubic")), Ok(Filter::Bicubic));
        assert!(Filter::named(Some("spline")).is_err());
    }
}
