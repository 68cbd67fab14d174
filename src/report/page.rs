//! The report as a page: self-contained HTML (the waterfall embedded as a PNG data URI, every
//! name from the data or the card escaped), an A4 PNG drawn with plotters, and a one-page PDF
//! written with `pdf-writer`: the PNG page as its picture, with the page's text laid invisibly
//! over it so the PDF can be searched and its text copied.

use base64::Engine;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Report;
use super::reference::Range;
use super::words;
use crate::plot::render::{self, Chart, FAMILY, RenderError, draw_waterfall};
use crate::plot::{DOWN_RGB, UP_RGB};

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where `v` falls between a range's min and max, in percent.
fn at(r: &Range, v: f32) -> f64 {
    let span = (r.max - r.min) as f64;
    if span > 0.0 {
        ((v - r.min) as f64 / span * 100.0).clamp(0.0, 100.0)
    } else {
        50.0
    }
}

fn by_class_text(report: &Report, r: &Range) -> String {
    r.by_class
        .iter()
        .map(|(c, p)| format!("{:.0}% of {}", p, report.class_names[*c]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report as one self-contained HTML document.
pub fn html(report: &Report) -> Result<String, RenderError> {
    let waterfall =
        base64::engine::general_purpose::STANDARD.encode(render::png(&report.waterfall, 2)?);
    let e = escape;
    let mut ranges = String::new();
    for (name, r) in &report.ranges {
        if let Some(category) = &r.category {
            // A category: its share of the reference rows, no band.
            ranges.push_str(&format!(
                "<tr><td>{}</td><td class=\"bar\"></td><td class=\"num\">{}</td><td class=\"num\">—</td>\
                 <td class=\"num\">{:.0}% share</td><td>{}</td></tr>\n",
                e(name),
                e(category),
                r.percentile,
                e(&by_class_text(report, r)),
            ));
            continue;
        }
        ranges.push_str(&format!(
            "<tr><td>{}</td><td class=\"bar\"><div class=\"track\"><div class=\"band\" \
             style=\"left:{:.1}%;width:{:.1}%\"></div><div class=\"mark{}\" style=\"left:{:.1}%\"></div>\
             </div></td><td class=\"num\">{}</td><td class=\"num\">{}–{}</td><td class=\"num\">{:.0}</td><td>{}</td></tr>\n",
            e(name),
            at(r, r.p5),
            at(r, r.p95) - at(r, r.p5),
            if r.is_unusual() { " unusual" } else { "" },
            at(r, r.value),
            e(&words::number(r.value as f64)),
            e(&words::number(r.p5 as f64)),
            e(&words::number(r.p95 as f64)),
            r.percentile,
            e(&by_class_text(report, r)),
        ));
    }
    let probability = report
        .probability
        .map(|p| format!(" with probability {}", words::percent(p)))
        .unwrap_or_default();
    let recorded = report
        .recorded
        .as_ref()
        .map(|r| format!("<p>Recorded outcome: <strong>{}</strong></p>", e(r)))
        .unwrap_or_default();
    let calibration = report
        .calibration
        .as_ref()
        .map(|c| format!("<p>{}</p>", e(c)))
        .unwrap_or_default();
    let counterfactual = report
        .counterfactual
        .as_ref()
        .map(|c| format!("<h2>What would change the prediction</h2>\n<p>{}</p>", e(c)))
        .unwrap_or_default();
    let description = report
        .model_description
        .as_ref()
        .map(|d| format!("<p>{}</p>", e(d)))
        .unwrap_or_default();
    let (up, down) = (
        format!("#{:02x}{:02x}{:02x}", UP_RGB.0, UP_RGB.1, UP_RGB.2),
        format!("#{:02x}{:02x}{:02x}", DOWN_RGB.0, DOWN_RGB.1, DOWN_RGB.2),
    );
    Ok(format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Loupe report · {title}</title>
<style>
body {{ font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; color: #222; max-width: 52em; margin: 2em auto; padding: 0 1em; line-height: 1.45; }}
h1 {{ font-size: 1.5em; margin-bottom: 0.2em; }}
h2 {{ font-size: 1.1em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }}
.meta, footer {{ color: #666; font-size: 0.9em; }}
.prediction {{ font-size: 1.15em; }}
img {{ max-width: 100%; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9em; }}
td, th {{ padding: 0.25em 0.5em; text-align: left; }}
td.num {{ text-align: right; white-space: nowrap; }}
td.bar {{ width: 30%; }}
.track {{ position: relative; height: 0.8em; background: #eee; border-radius: 0.4em; }}
.band {{ position: absolute; top: 0; bottom: 0; background: #c9d8ee; border-radius: 0.4em; }}
.mark {{ position: absolute; top: -0.25em; width: 0.3em; height: 1.3em; margin-left: -0.15em; background: {down}; }}
.mark.unusual {{ background: {up}; }}
.caveat {{ color: #555; font-style: italic; }}
</style>
</head>
<body>
<h1>Loupe report · {title}</h1>
<p class="meta">Model {model} · {date}</p>
<p class="prediction">Prediction: <strong>{predicted}</strong>{probability}</p>
{recorded}
{calibration}
<h2>In words</h2>
<p>{summary}</p>
<h2>What pushed the prediction</h2>
<img alt="Waterfall chart: each measurement's contribution to the estimate" src="data:image/png;base64,{waterfall}">
<h2>How unusual the values are</h2>
<table>
<tr><th>Measurement</th><th>Reference range (band: 5th–95th percentile)</th><th>Value</th><th>5th–95th</th><th>Percentile</th><th>Percentile by class</th></tr>
{ranges}</table>
{counterfactual}
<h2>The model</h2>
{description}
<p class="meta">Explained with {method}.</p>
<footer><p>Generated by Loupe on {date}. It explains a model's output for decision support; it is not a diagnosis.</p></footer>
</body>
</html>
"#,
        title = e(&report.title()),
        model = e(&report.model_name),
        date = e(&report.date),
        predicted = e(&report.predicted),
        summary = e(&report.summary),
        method = e(&report.method),
    ))
}

/// A4 portrait in points (1/96 in).
pub(super) const PAGE: (u32, u32) = (794, 1123);
pub(super) const MARGIN: f64 = 48.0;

impl Chart for Report {
    fn size(&self) -> (u32, u32) {
        PAGE
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        s: f64,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        draw_page(root, self, s)
    }
}

/// Splits `text` into lines no wider than `width` points at `size`.
pub(super) fn wrap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
    width: f64,
    s: f64,
) -> Vec<String> {
    let font: TextStyle = (FAMILY, size * s).into_font().into();
    let fits = |line: &str| {
        root.estimate_text_size(line, &font)
            .map(|(w, _)| (w as f64) <= width * s)
            .unwrap_or(true)
    };
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if fits(&candidate) || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn draw_page<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &Report,
    s: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let px = |v: f64| (v * s).round() as i32;
    let ink = RGBColor(0x22, 0x22, 0x22);
    let grey = RGBColor(0x66, 0x66, 0x66);
    let width = PAGE.0 as f64 - 2.0 * MARGIN;
    root.fill(&WHITE)?;
    let mut y = MARGIN;
    let text = |root: &DrawingArea<DB, Shift>,
                content: &str,
                size: f64,
                colour: RGBColor,
                y: &mut f64|
     -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        for line in wrap(root, content, size, width, s) {
            root.draw(&Text::new(
                line,
                (px(MARGIN), px(*y)),
                (FAMILY, size * s)
                    .into_font()
                    .color(&colour)
                    .pos(Pos::new(HPos::Left, VPos::Top)),
            ))?;
            *y += size * 1.4;
        }
        Ok(())
    };
    text(
        root,
        &format!("Loupe report · {}", report.title()),
        20.0,
        ink,
        &mut y,
    )?;
    text(
        root,
        &format!("Model {} · {}", report.model_name, report.date),
        11.0,
        grey,
        &mut y,
    )?;
    y += 6.0;
    let probability = report
        .probability
        .map(|p| format!(" with probability {}", words::percent(p)))
        .unwrap_or_default();
    text(
        root,
        &format!("Prediction: {}{probability}", report.predicted),
        15.0,
        ink,
        &mut y,
    )?;
    if let Some(r) = &report.recorded {
        text(root, &format!("Recorded outcome: {r}"), 11.0, ink, &mut y)?;
    }
    if let Some(c) = &report.calibration {
        text(root, c, 11.0, ink, &mut y)?;
    }
    y += 8.0;
    text(root, "In words", 13.0, ink, &mut y)?;
    text(root, &report.summary, 11.0, ink, &mut y)?;
    y += 6.0;

    // The waterfall, scaled to the text width.
    let (ww, wh) = report.waterfall.size();
    let k = width / ww as f64;
    let area = root.clone().shrink(
        (px(MARGIN), px(y)),
        ((ww as f64 * k * s) as u32, (wh as f64 * k * s) as u32),
    );
    draw_waterfall(&area, &report.waterfall, s * k)?;
    y += wh as f64 * k + 8.0;

    text(
        root,
        "How unusual the values are (band: 5th–95th percentile of the reference data)",
        13.0,
        ink,
        &mut y,
    )?;
    let (x0, x1) = (MARGIN + 200.0, MARGIN + 420.0);
    for (name, r) in &report.ranges {
        let mid = y + 8.0;
        root.draw(&Text::new(
            name.clone(),
            (px(MARGIN), px(mid)),
            (FAMILY, 10.5 * s)
                .into_font()
                .color(&ink)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        // A category has no band: its share of the reference is said beside it.
        if r.category.is_none() {
            let sx = |v: f32| x0 + at(r, v) / 100.0 * (x1 - x0);
            root.draw(&Rectangle::new(
                [(px(x0), px(mid - 3.0)), (px(x1), px(mid + 3.0))],
                RGBColor(0xee, 0xee, 0xee).filled(),
            ))?;
            root.draw(&Rectangle::new(
                [
                    (px(sx(r.p5)), px(mid - 3.0)),
                    (px(sx(r.p95)), px(mid + 3.0)),
                ],
                RGBColor(0xc9, 0xd8, 0xee).filled(),
            ))?;
            let mark = if r.is_unusual() { UP_RGB } else { DOWN_RGB };
            root.draw(&Rectangle::new(
                [
                    (px(sx(r.value) - 1.5), px(mid - 7.0)),
                    (px(sx(r.value) + 1.5), px(mid + 7.0)),
                ],
                RGBColor(mark.0, mark.1, mark.2).filled(),
            ))?;
        }
        let (shown, place) = match &r.category {
            Some(category) => (
                category.clone(),
                format!("{:.0}% of the reference", r.percentile),
            ),
            None => (
                words::number(r.value as f64),
                format!("{:.0}th percentile", r.percentile),
            ),
        };
        root.draw(&Text::new(
            format!(
                "{shown} · {place}{}",
                if r.by_class.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", by_class_text(report, r))
                }
            ),
            (px(x1 + 10.0), px(mid)),
            (FAMILY, 9.5 * s)
                .into_font()
                .color(&grey)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
        y += 18.0;
    }
    y += 8.0;
    if let Some(c) = &report.counterfactual {
        text(root, "What would change the prediction", 13.0, ink, &mut y)?;
        text(root, c, 11.0, ink, &mut y)?;
        y += 6.0;
    }
    text(root, "The model", 13.0, ink, &mut y)?;
    if let Some(d) = &report.model_description {
        text(root, d, 10.0, ink, &mut y)?;
    }
    text(
        root,
        &format!("Explained with {}.", report.method),
        10.0,
        grey,
        &mut y,
    )?;
    let footer = format!(
        "Generated by Loupe on {}. It explains a model's output for decision support; it is not a diagnosis.",
        report.date
    );
    let mut fy = PAGE.1 as f64 - MARGIN;
    text(root, &footer, 9.0, grey, &mut fy)?;
    Ok(())
}

/// The report as PNG bytes (A4 at `scale` pixels per point).
pub fn png(report: &Report, scale: u32) -> Result<Vec<u8>, RenderError> {
    render::png(report, scale)
}

/// Characters Helvetica's WinAnsi encoding lacks, replaced for the PDF's text layer.
pub(super) fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .flat_map(|c| match c {
            '−' | '–' | '—' => vec![b'-'],
            '≤' => b"<=".to_vec(),
            '≥' => b">=".to_vec(),
            '·' => vec![0xb7],
            '²' => vec![0xb2],
            'µ' => vec![0xb5],
            c if (c as u32) < 0x80 => vec![c as u8],
            c if (0xa0..=0xff).contains(&(c as u32)) => vec![c as u32 as u8],
            _ => vec![b'?'],
        })
        .collect()
}

/// The report as a one-page PDF: the page picture plus an invisible, searchable text layer.
pub fn pdf(report: &Report) -> Result<Vec<u8>, RenderError> {
    pdf_of(&png(report, 2)?, &pdf_text(report))
}

/// The lines of the PDF's text layer, top to bottom.
pub fn pdf_text(report: &Report) -> Vec<String> {
    let mut lines = vec![format!("Loupe report - {}", report.title())];
    lines.push(format!("Model {} - {}", report.model_name, report.date));
    lines.push(format!("Prediction: {}", report.predicted));
    lines.extend(
        report
            .recorded
            .iter()
            .map(|r| format!("Recorded outcome: {r}")),
    );
    lines.extend(report.calibration.clone());
    lines.push(report.summary.clone());
    lines.extend(report.counterfactual.clone());
    lines.extend(report.model_description.clone());
    lines
}

/// A one-page A4 PDF of the page picture `png_bytes` with `lines` as its invisible text layer.
pub(super) fn pdf_of(png_bytes: &[u8], lines: &[String]) -> Result<Vec<u8>, RenderError> {
    use pdf_writer::{
        Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, types::TextRenderingMode,
    };
    let image = image::load_from_memory(png_bytes)
        .map_err(|e| RenderError::new(e.to_string()))?
        .to_rgb8();
    let (w, h) = image.dimensions();
    let compressed = miniz_oxide::deflate::compress_to_vec_zlib(image.as_raw(), 6);

    let (catalog, pages, page, picture, content_id, font_id) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
        Ref::new(6),
    );
    let (picture_name, font_name) = (Name(b"Page"), Name(b"Helv"));
    let a4 = Rect::new(0.0, 0.0, 595.0, 842.0);
    let mut doc = Pdf::new();
    doc.catalog(catalog).pages(pages);
    doc.pages(pages).kids([page]).count(1);
    let mut p = doc.page(page);
    p.media_box(a4);
    p.parent(pages);
    p.contents(content_id);
    let mut resources = p.resources();
    resources.x_objects().pair(picture_name, picture);
    resources.fonts().pair(font_name, font_id);
    resources.finish();
    p.finish();

    let mut xobject = doc.image_xobject(picture, &compressed);
    xobject.filter(Filter::FlateDecode);
    xobject.width(w as i32);
    xobject.height(h as i32);
    xobject.color_space().device_rgb();
    xobject.bits_per_component(8);
    xobject.finish();
    doc.type1_font(font_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));

    let mut content = Content::new();
    content.save_state();
    content.transform([595.0, 0.0, 0.0, 842.0, 0.0, 0.0]);
    content.x_object(picture_name);
    content.restore_state();
    // The text layer: the same words, invisible, top to bottom.
    content.begin_text();
    content.set_text_rendering_mode(TextRenderingMode::Invisible);
    content.set_font(font_name, 9.0);
    let mut y = 800.0;
    for line in lines {
        content.set_text_matrix([1.0, 0.0, 0.0, 1.0, 36.0, y]);
        content.show(Str(&win_ansi(line)));
        y -= 12.0;
    }
    content.end_text();
    doc.stream(content_id, &content.finish());
    Ok(doc.finish())
}
