//! The clinician's report: the summary of a fixed row against a reviewed text, names from the
//! data escaped in the HTML, a counterfactual that really flips the model and is the smallest
//! single-feature change on the grid, and PNG and PDF files that open.

mod common;

use std::path::Path;

use common::sample;
use loupe::explain::{ExplainSettings, NoProgress};
use loupe::report::counterfactual::{grid, spreads};
use loupe::report::{COUNTERFACTUAL_STEPS, Report, page};
use loupe::session::{Session, Source};

fn sample_session() -> Session {
    Session::load(&Source::files(
        sample("breast_cancer_mlp.onnx"),
        Some(sample("breast_cancer.csv")),
        None,
    ))
    .unwrap()
}

fn report(session: &Session, row: usize) -> Report {
    Report::build(session, row, &ExplainSettings::default(), &NoProgress).unwrap()
}

#[test]
fn the_summary_of_a_fixed_row_matches_the_reviewed_text() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/summary_row_13.txt");
    let want = std::fs::read_to_string(golden).unwrap();
    let r = report(&sample_session(), 13);
    assert_eq!(r.summary, want.trim_end());
    assert_eq!(r.predicted, "malignant");
    assert_eq!(r.recorded.as_deref(), Some("malignant"));
}

#[test]
fn the_page_speaks_no_ml_notation() {
    let r = report(&sample_session(), 13);
    let html = page::html(&r).unwrap();
    let text = [
        r.summary.clone(),
        r.title(),
        r.waterfall.title.clone(),
        r.waterfall.axis_label.clone(),
        r.waterfall.base_name.clone(),
        r.waterfall.output_name.clone(),
        r.calibration.clone().unwrap_or_default(),
    ]
    .join(" ");
    for notation in ["E[f(X)]", "f(x)", "P("] {
        assert!(!html.contains(notation), "{notation} in the HTML");
        assert!(!text.contains(notation), "{notation} in {text}");
    }
    assert!(r.title().starts_with("Patient 13"), "{}", r.title());
    assert_eq!(r.waterfall.base_name, "reference population");
    assert_eq!(r.waterfall.output_name, "this patient");
}

#[test]
fn names_from_the_data_and_card_are_escaped_in_the_html() {
    let dir = tempfile::tempdir().unwrap();
    let evil = "<script>alert(1)</script>";
    // The feature that matters most for row 0 gets the name, so it is on the page.
    let plain = report(&sample_session(), 0);
    let values = &plain.explanation.attribution.values;
    let top = (0..values.len())
        .max_by(|&a, &b| values[a].abs().total_cmp(&values[b].abs()))
        .unwrap();
    let top_name = sample_session().data.unwrap().feature_names[top].clone();
    // The sample model with a card naming that feature (and a class) with markup.
    std::fs::copy(sample("breast_cancer_mlp.onnx"), dir.path().join("m.onnx")).unwrap();
    let mut card: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sample("breast_cancer_mlp.card.json")).unwrap(),
    )
    .unwrap();
    card["feature_names"][top] = evil.into();
    card["class_names"][0] = "<b>malignant</b>".into();
    card["positive_class"] = "<b>malignant</b>".into();
    card["description"] = "A model & its \"card\" <img src=x onerror=alert(2)>".into();
    std::fs::write(dir.path().join("m.card.json"), card.to_string()).unwrap();
    let csv = std::fs::read_to_string(sample("breast_cancer.csv")).unwrap();
    let (header, body) = csv.split_once('\n').unwrap();
    let header = header
        .split(',')
        .map(|h| if h == top_name { evil } else { h })
        .collect::<Vec<_>>()
        .join(",");
    let csv = format!("{header}\n{body}").replace(",malignant,", ",<b>malignant</b>,");
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    let session = Session::load(&Source::files(
        dir.path().join("m.onnx"),
        Some(dir.path().join("d.csv")),
        None,
    ))
    .unwrap();
    let r = report(&session, 0);
    let html = page::html(&r).unwrap();
    assert!(r.ranges.iter().any(|(name, _)| name == evil));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script"), "no live script tag");
    assert!(!html.contains("<b>malignant"));
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("A model &amp; its &quot;card&quot;"));
}

#[test]
fn the_counterfactual_flips_the_model_and_no_single_grid_change_is_smaller() {
    let session = sample_session();
    let data = session.data.clone().unwrap();
    let predictions = session.predictions.clone().unwrap();
    let reference = data.training_rows();
    let spread = spreads(reference.view());
    let mut checked = 0;
    for row in [13usize, 40, 146, 300] {
        let r = report(&session, row);
        let Some(cf) = r.counterfactual_detail.clone() else {
            continue;
        };
        checked += 1;
        let current = predictions.predicted[row];
        // Fed back to the model, the changed row is predicted as the other class.
        let mut x: Vec<f32> = data.x.row(row).to_vec();
        for c in &cf.changes {
            assert_eq!(c.from, x[c.feature]);
            x[c.feature] = c.to;
        }
        let p = session
            .model
            .predict(
                ndarray::Array2::from_shape_vec((1, x.len()), x.clone())
                    .unwrap()
                    .view(),
            )
            .unwrap();
        let class = if p[[0, 1]] > p[[0, 0]] { 1 } else { 0 };
        assert_ne!(
            class, current,
            "row {row}: the change must flip the prediction"
        );
        assert_eq!(class, cf.class);
        assert!(r.counterfactual.as_deref().unwrap().starts_with("If "));
        // Minimal among single-feature changes on the same grid (brute force, one call).
        if cf.changes.len() == 1 {
            let base: Vec<f32> = data.x.row(row).to_vec();
            let mut rows = Vec::new();
            let mut dist = Vec::new();
            for j in 0..base.len() {
                for v in grid(spread[j].1, spread[j].2, COUNTERFACTUAL_STEPS) {
                    let mut y = base.clone();
                    y[j] = v;
                    rows.extend(y);
                    dist.push((v as f64 - base[j] as f64).abs() / spread[j].0);
                }
            }
            let x = ndarray::Array2::from_shape_vec((dist.len(), base.len()), rows).unwrap();
            let p = session.model.predict(x.view()).unwrap();
            for (i, d) in dist.iter().enumerate() {
                let flips = (p[[i, 1]] > p[[i, 0]]) as usize != current;
                if flips {
                    assert!(
                        *d >= cf.distance - 1e-12,
                        "row {row}: a smaller flip exists ({d} < {})",
                        cf.distance
                    );
                }
            }
        }
    }
    assert!(checked >= 3, "most rows have a counterfactual");
}

#[test]
fn png_and_pdf_open() {
    let r = report(&sample_session(), 13);
    let png = page::png(&r, 2).unwrap();
    let image = image::load_from_memory(&png).unwrap();
    assert_eq!(
        (image.width(), image.height()),
        (2 * 794, 2 * 1123),
        "A4 at 2×"
    );
    let pdf = page::pdf(&r).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&pdf);
    let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
    assert_eq!(pages, 1, "one page");
    assert!(text.contains("/Count 1"));
    assert!(text.contains("%%EOF"));
    // The invisible text layer carries the summary, so the PDF can be searched.
    assert!(text.contains("The model estimates 92% probability of malignant"));
}

#[test]
fn an_image_gets_a_report_with_its_map_checks_and_caveats() {
    let session = Session::load(&Source::files(
        sample("lesions_cnn.onnx"),
        Some(sample("lesions/lesions.csv")),
        None,
    ))
    .unwrap();
    let r = loupe::report::image::ImageReport::build(&session, 445, &NoProgress).unwrap();
    // A benign lesion with a sticker, called malignant: the page says so and shows the map.
    assert_eq!(r.recorded.as_deref(), Some("benign"));
    assert_eq!(r.predicted, "malignant");
    assert!(image::load_from_memory(&r.picture_png).is_ok());
    assert!(!r.faithfulness.is_empty() && !r.sanity.is_empty());
    let html = loupe::report::image_page::html(&r);
    // What the PNG draws and the PDF's text layer holds: the title and these sentences.
    let (head, tail) = loupe::report::image_page::sentences(&r);
    let drawn = [vec![r.title()], head, tail].concat().join("\n");
    for notation in ["E[f(X)]", "f(x)", "P("] {
        assert!(!html.contains(notation), "{notation}");
        assert!(!drawn.contains(notation), "{notation} drawn");
    }
    // The colour bar's scale is said in words, with its numbers.
    assert!(drawn.contains(&format!("Colours: {}.", r.scale)), "{drawn}");
    assert!(r.scale.chars().any(|c| c.is_ascii_digit()), "{}", r.scale);
    assert!(html.contains("data:image/png;base64,"));
    assert!(
        html.contains(
            loupe::report::image::IMAGE_CAVEAT
                .split(':')
                .next()
                .unwrap()
        )
    );
    let png = loupe::report::image_page::png(&r, 1).unwrap();
    assert_eq!(image::load_from_memory(&png).unwrap().width(), 794);
    assert!(
        loupe::report::image_page::pdf(&r)
            .unwrap()
            .starts_with(b"%PDF-")
    );
}

/// Every string the page draws (the PNG and the PDF's picture are drawn from these).
fn drawn_text(r: &Report) -> String {
    let mut text = vec![
        r.title(),
        r.predicted.clone(),
        r.summary.clone(),
        r.method.clone(),
        r.waterfall.title.clone(),
        r.waterfall.axis_label.clone(),
        r.waterfall.base_name.clone(),
        r.waterfall.output_name.clone(),
    ];
    text.extend(r.calibration.clone());
    text.extend(r.counterfactual.clone());
    text.extend(r.waterfall.bars.iter().map(|b| b.label.clone()));
    text.extend(r.ranges.iter().map(|(name, _)| name.clone()));
    text.join("\n")
}

#[test]
fn a_card_s_display_names_and_units_reach_every_format_of_the_page() {
    // The penguins card names four measurements and gives their units; island and sex are
    // categories.
    let session = Session::load(&Source::files(
        sample("penguins_pipeline.onnx"),
        Some(sample("penguins.csv")),
        None,
    ))
    .unwrap();
    let card = session.model.card();
    for row in [0, 150, 300] {
        let r = report(&session, row);
        let drawn = drawn_text(&r);
        let html = page::html(&r).unwrap();
        // The PDF: its text layer, and the layer's lines in the file.
        let pdf = page::pdf_text(&r).join("\n");
        let file = String::from_utf8_lossy(&page::pdf(&r).unwrap()).into_owned();
        let plain = |t: &str| t.is_ascii() && !t.contains(['(', ')', '\\']);
        for line in page::pdf_text(&r).iter().filter(|l| plain(l)) {
            assert!(
                file.contains(line.as_str()),
                "row {row}: {line:?} not in the PDF"
            );
        }
        for notation in ["E[f(X)]", "f(x)", "P("] {
            assert!(
                !html.contains(notation),
                "row {row}: {notation} in the HTML"
            );
            assert!(!drawn.contains(notation), "row {row}: {notation} drawn");
            assert!(!pdf.contains(notation), "row {row}: {notation} in the PDF");
        }
        let names = session.data.as_ref().unwrap().feature_names.clone();
        for name in &names {
            let shown = card.display_name(name);
            if shown == name.as_str() {
                continue;
            }
            // A column the card renames is shown by its display name only.
            assert!(!drawn.contains(name.as_str()), "row {row}: `{name}` drawn");
            assert!(
                !html.contains(name.as_str()),
                "row {row}: `{name}` in the HTML"
            );
        }
        // Each bar of a renamed measurement carries its display name and its unit.
        let mut measured = 0;
        for bar in &r.waterfall.bars {
            let Some(j) = bar.feature else { continue };
            let Some(unit) = card.unit(&names[j]) else {
                continue;
            };
            let shown = card.display_name(&names[j]);
            assert!(
                bar.label.starts_with(&format!("{shown} = ")) && bar.label.ends_with(unit),
                "row {row}: {:?}",
                bar.label
            );
            // The HTML's waterfall is a picture; its text names the measurement too.
            assert!(
                html.contains(&escape_text(shown)),
                "row {row}: {shown} not in the HTML"
            );
            measured += 1;
        }
        assert!(measured > 0, "row {row}: no measured bar");
        // The summary (in the HTML, drawn on the PNG, the PDF's text layer) gives values with
        // their units.
        assert!(
            [" mm", " g"].iter().any(|u| r.summary.contains(u)),
            "row {row}: {}",
            r.summary
        );
        assert!(
            html.contains(&escape_text(&r.summary)),
            "row {row}: summary not in the HTML"
        );
        // A category reads as itself, not as its code.
        for bar in &r.waterfall.bars {
            if let Some(j) = bar.feature
                && names[j] == "island"
            {
                assert!(
                    ["Biscoe", "Dream", "Torgersen"]
                        .iter()
                        .any(|c| bar.label == format!("island = {c}")),
                    "{:?}",
                    bar.label
                );
            }
        }
    }
}

fn escape_text(s: &str) -> String {
    page::escape(s)
}
