//! The plotters pen shared by the dataset-wide charts: page size and margins in points, the ink
//! colours, and a [`Pen`] that scales points to pixels and draws text, lines and an x axis.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::render::FAMILY;
use super::ticks;

pub(super) const WIDTH: u32 = 900;
pub(super) const TOP: f64 = 56.0;
pub(super) const ROW: f64 = 26.0;
pub(super) const LABEL: f64 = 250.0;
pub(super) const RIGHT: f64 = 60.0;

/// What drawing on a backend `DB` returns.
pub(super) type Result<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Draws at `s` pixels per point.
pub(super) struct Pen {
    pub(super) s: f64,
}

impl Pen {
    /// A white page with `title` at the top left.
    pub(super) fn page<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        title: &str,
    ) -> Result<DB> {
        root.fill(&WHITE)?;
        self.text(root, title, (16.0, 14.0), 17.0, (HPos::Left, VPos::Top))
    }

    pub(super) fn px(&self, v: f64) -> i32 {
        (v * self.s).round() as i32
    }
    pub(super) fn pt(&self, x: f64, y: f64) -> (i32, i32) {
        (self.px(x), self.px(y))
    }
    pub(super) fn text<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        text: &str,
        at: (f64, f64),
        size: f64,
        pos: (HPos, VPos),
    ) -> Result<DB> {
        let style = (FAMILY, size * self.s)
            .into_font()
            .color(&INK)
            .pos(Pos::new(pos.0, pos.1));
        root.draw(&Text::new(text.to_string(), self.pt(at.0, at.1), style))
    }
    pub(super) fn line<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        points: &[(f64, f64)],
        colour: RGBColor,
    ) -> Result<DB> {
        let width = self.px(1.0).max(1) as u32;
        root.draw(&PathElement::new(
            points
                .iter()
                .map(|&(x, y)| self.pt(x, y))
                .collect::<Vec<_>>(),
            ShapeStyle::from(&colour).stroke_width(width),
        ))
    }
    /// A horizontal axis from `x0` to `x1` at `y`, with ticks over `lo..hi` and a caption.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn x_axis<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        (x0, x1): (f64, f64),
        y: f64,
        (lo, hi): (f64, f64),
        caption: &str,
    ) -> Result<DB> {
        self.line(root, &[(x0, y), (x1, y)], INK)?;
        for (t, label) in ticks(lo, hi, 6) {
            let x = x0 + (t - lo) / (hi - lo) * (x1 - x0);
            self.line(root, &[(x, y), (x, y + 4.0)], INK)?;
            self.text(
                root,
                &label.clone(),
                (x, y + 6.0),
                11.0,
                (HPos::Center, VPos::Top),
            )?;
        }
        self.text(
            root,
            caption,
            ((x0 + x1) / 2.0, y + 24.0),
            12.0,
            (HPos::Center, VPos::Top),
        )
    }
}

pub(super) const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
pub(super) const FAINT: RGBColor = RGBColor(0xcc, 0xcc, 0xcc);

pub(super) fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}
