//! A dot of the beeswarm and dependence plots ([`Dot`]), and how it is coloured: the colouring
//! feature's value scaled between its percentiles ([`colour_scale`]), then shap's blue-to-red
//! ([`value_rgb`]).

/// One dot: `x` along the value axis, `y` across (a swarm offset in row heights for the
/// beeswarm, the attribution for a dependence plot), `colour` the colouring feature's value
/// scaled to 0..1 (`None` when unknown).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dot {
    pub row: usize,
    pub x: f64,
    pub y: f64,
    pub colour: Option<f32>,
}

/// Where `v` lies between the 5th and 95th percentile of `column`, clamped to 0..1 (robust
/// colouring, as shap does).
pub fn colour_scale(column: &[f32]) -> impl Fn(f32) -> Option<f32> + use<> {
    let mut sorted: Vec<f32> = column.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f32::total_cmp);
    let pick = |q: f64| {
        sorted
            .get(((sorted.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
    };
    let (lo, hi) = (pick(0.05), pick(0.95));
    move |v: f32| {
        let (lo, hi) = (lo?, hi?);
        if !v.is_finite() {
            return None;
        }
        Some(if hi > lo {
            ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.5
        })
    }
}

/// shap's colour for a feature value from low (blue) to high (red).
pub fn value_rgb(t: Option<f32>) -> (u8, u8, u8) {
    let Some(t) = t else {
        return (0x99, 0x99, 0x99);
    };
    let (lo, hi) = (super::DOWN_RGB, super::UP_RGB);
    let mix = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * t).round() as u8;
    (mix(lo.0, hi.0), mix(lo.1, hi.1), mix(lo.2, hi.2))
}

/// Colours of categories (Okabe and Ito's palette, told apart with most colour vision), used
/// in turn.
const CATEGORY_RGB: [(u8, u8, u8); 7] = [
    (0xE6, 0x9F, 0x00),
    (0x56, 0xB4, 0xE9),
    (0x00, 0x9E, 0x73),
    (0xF0, 0xE4, 0x42),
    (0x00, 0x72, 0xB2),
    (0xD5, 0x5E, 0x00),
    (0xCC, 0x79, 0xA7),
];

/// The palette's colours in words, for captions.
pub const COLOUR_WORDS: [&str; 7] = [
    "orange",
    "sky blue",
    "green",
    "yellow",
    "blue",
    "vermilion",
    "pink",
];

/// The colour of category number `index` (grey: missing).
pub fn category_rgb(index: Option<f32>) -> (u8, u8, u8) {
    match index {
        Some(i) if i.is_finite() && i >= 0.0 => CATEGORY_RGB[i as usize % CATEGORY_RGB.len()],
        _ => (0x99, 0x99, 0x99),
    }
}

/// A dot's colour: a category's when `categories` names them, else the value scale's.
pub fn dot_rgb(colour: Option<f32>, categories: Option<&[String]>) -> (u8, u8, u8) {
    match categories {
        Some(_) => category_rgb(colour),
        None => value_rgb(colour),
    }
}

/// A category column's values as category numbers (positions in `categories`), and the
/// categories' names: what categorical dots are coloured and placed by.
pub fn category_numbers(
    categories: &crate::data::Categories,
    column: &[f32],
) -> (Vec<Option<f32>>, Vec<String>) {
    let numbers = column
        .iter()
        .map(|&v| {
            categories
                .0
                .iter()
                .position(|(_, code)| *code == v)
                .map(|i| i as f32)
        })
        .collect();
    let names = categories.0.iter().map(|(n, _)| n.clone()).collect();
    (numbers, names)
}
