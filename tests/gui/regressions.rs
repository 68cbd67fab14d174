//! Regressions of the window's state, each named after the bug it pins, and the promise that
//! the window and the command line write the same files.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use loupe::app::explain_view::{ExportKind, export_bytes};
use loupe::app::image_view::image_export_bytes;
use loupe::app::{LoupeApp, Settings};
use loupe::explain::{Link, Method, Targets};
use loupe::plot::overlay::OverlayStyle;
use loupe::session::{Session, Source};

use super::window::{Window, window};
use super::{app_on, run_until, sample_app};

fn models() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models")
}

fn harness_of(app: LoupeApp) -> Window {
    let mut harness = window(app, Harness::builder().with_size(egui::vec2(1280.0, 820.0)));
    harness.run_steps(2);
    harness
}

/// Clicks the tab `title` and draws a few frames (work may start and animate).
fn show_tab(harness: &mut Harness<'static, LoupeApp>, title: &str) {
    harness.get_by_role_and_label(Role::Button, title).click();
    harness.run_steps(4);
}

#[test]
fn a_class_index_of_the_ten_class_model_does_not_outlive_it_in_the_two_class_sample() {
    let mut harness = app_on(Source::files(
        models().join("digits_cnn.onnx"),
        Some(models().join("digits/digits.csv")),
        None,
    ));
    {
        let app = harness.state_mut();
        app.browser.predicted_class = Some(7);
        app.panels.images.target = Some(7);
        app.panels.explain.target = Some(9);
        app.panels.global.target = Some(8);
        app.panels.failures.calibration_class = Some(9);
    }
    show_tab(&mut harness, "Explain");
    let ctx = harness.ctx.clone();
    harness.state_mut().open(&ctx, Source::sample());
    for _ in 0..2000 {
        harness.step();
        if !harness.state().is_busy() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Every tab draws on the 2-class model without indexing a class it does not have.
    for tab in ["Prediction", "Explain", "Global", "Failure modes", "Report"] {
        show_tab(&mut harness, tab);
    }
    let app = harness.state();
    assert_eq!(app.session().unwrap().model.task().class_names().len(), 2);
    assert_eq!(app.browser.predicted_class, None);
    assert_eq!(app.panels.images.target, None);
    assert_eq!(app.panels.explain.target, None);
    assert_eq!(app.panels.global.target, None);
    assert_eq!(app.panels.failures.calibration_class, None);
}

#[test]
fn a_persisted_tree_method_reopened_on_the_mlp_falls_back_to_auto_with_a_note() {
    let mut settings = Settings::default();
    settings.explain.method = loupe::explain::tree_method::TREE;
    settings.explain.link = Link::Logit;
    settings.tab = "Explain".into();
    let source = Source::sample();
    let session = Session::load(&source).unwrap();
    let mut harness = harness_of(LoupeApp::with_settings(settings, source, session));
    let app = harness.state();
    assert_eq!(app.shared.explain.method, Method::default());
    let note = app
        .notices
        .items()
        .iter()
        .map(|n| n.text.clone())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        note.contains("tree needs a tree ensemble") && note.contains("using auto"),
        "{note}"
    );
    run_until(&mut harness, |app| {
        !app.panels.explain.is_running() && app.panels.explain.latest().is_some()
    });
    assert!(harness.state().error().is_none());
    // Saved again, the setting that cannot apply is gone.
    assert_eq!(
        harness.state().persisted().explain.method,
        Method::default()
    );
}

#[test]
fn the_report_tab_after_an_impossible_setting_still_reports_and_says_what_it_changed() {
    // TreeSHAP in log-odds is right for the Explain tab of the boosted trees; the report is in
    // probability, where TreeSHAP is not exact.
    let mut settings = Settings::default();
    settings.explain.method = loupe::explain::tree_method::TREE;
    settings.explain.link = Link::Logit;
    let source = Source::files(
        models().join("breast_cancer_gbt.onnx"),
        Some(models().join("breast_cancer.csv")),
        None,
    );
    let session = Session::load(&source).unwrap();
    let mut harness = harness_of(LoupeApp::with_settings(settings, source, session));
    assert_eq!(
        harness.state().shared.explain.method,
        loupe::explain::tree_method::TREE,
        "tree applies to the Explain tab"
    );
    show_tab(&mut harness, "Report");
    run_until(&mut harness, |app| {
        !app.panels.report.is_running() && app.panels.report.result().is_some()
    });
    let report = harness.state().panels.report.result().unwrap().clone();
    assert!(
        report
            .note
            .as_deref()
            .is_some_and(|n| n.contains("using auto")),
        "{:?}",
        report.note
    );
    harness.get_by_label_contains("For this report:");
    assert!(harness.state().error().is_none());
}

#[test]
fn a_message_does_not_move_the_waterfall_at_1280_by_820() {
    let mut harness = sample_app();
    show_tab(&mut harness, "Explain");
    run_until(&mut harness, |app| {
        !app.panels.explain.is_running() && app.panels.explain.latest().is_some()
    });
    let before = harness_rect(&harness);
    let long = format!(
        "Cannot explain: {}",
        "a very long reason that goes on and on without a break ".repeat(12)
    );
    harness.state_mut().notices.error("explain", "", long);
    harness.run();
    let after = harness_rect(&harness);
    assert_eq!(before, after, "the waterfall moved");
    assert!(after.right() <= 1280.0, "the waterfall is cut: {after:?}");
    // The message's own Dismiss button is on screen.
    let dismiss = harness.get_by_label("Dismiss").rect();
    assert!(
        dismiss.right() <= 1280.0 && dismiss.bottom() <= 820.0,
        "{dismiss:?}"
    );
    harness.get_by_label("Dismiss").click();
    harness.run();
    assert!(harness.state().error().is_none());
}

fn harness_rect(harness: &Harness<'static, LoupeApp>) -> egui::Rect {
    harness.get_by_label_contains("Waterfall of").rect()
}

#[test]
fn with_no_file_dialog_the_path_is_typed() {
    // SAFETY: no other test of this binary opens a file dialog or reads the variable.
    unsafe { std::env::set_var("LOUPE_NO_FILE_DIALOG", "1") };
    let mut harness = sample_app();
    harness.get_by_label("Open model…").click();
    harness.run();
    let path = models().join("breast_cancer_logreg.onnx");
    harness
        .get_by_role_and_label(Role::TextInput, "Path")
        .click();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Path")
        .type_text(&path.display().to_string());
    harness.run();
    harness.get_by_label_contains("paste the path");
    harness.get_by_label("OK").click();
    harness.run_steps(2);
    run_until(&mut harness, |app| !app.is_busy());
    assert_eq!(
        harness.state().session().unwrap().model.name(),
        "breast_cancer_logreg.onnx"
    );
}

/// `loupe explain` with `args`, its standard output.
fn cli(args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loupe"))
        .arg("explain")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn the_window_and_the_command_line_write_the_same_attributions_for_a_row() {
    let (model, data) = (
        models().join("breast_cancer_mlp.onnx"),
        models().join("breast_cancer.csv"),
    );
    let mut harness = app_on(Source::files(model.clone(), Some(data.clone()), None));
    {
        let app = harness.state_mut();
        let session = app.session().unwrap().clone();
        let (d, p) = (session.data.unwrap(), session.predictions.unwrap());
        app.browser.select(7, &d, &p);
    }
    show_tab(&mut harness, "Explain");
    run_until(&mut harness, |app| {
        app.panels.explain.latest().is_some_and(|e| e.row == 7)
    });
    let app = harness.state();
    let (session, e) = (app.session().unwrap(), app.panels.explain.latest().unwrap());
    let (m, d) = (model.to_str().unwrap(), data.to_str().unwrap());
    for (kind, format) in [(ExportKind::Json, "json"), (ExportKind::Csv, "csv")] {
        let window = export_bytes(session, e, kind).unwrap();
        let command_line = cli(&[m, d, "--rows", "7", "--format", format]);
        assert_eq!(
            String::from_utf8(window).unwrap(),
            String::from_utf8(command_line).unwrap(),
            "{format}"
        );
    }
}

#[test]
fn the_window_and_the_command_line_write_the_same_attributions_for_an_image() {
    let (model, data) = (
        models().join("lesions_cnn.onnx"),
        models().join("lesions/lesions.csv"),
    );
    let mut harness = app_on(Source::files(model.clone(), Some(data.clone()), None));
    {
        let app = harness.state_mut();
        app.panels.images.settings.params.set("stride", 4.0);
        let session = app.session().unwrap().clone();
        let (d, p) = (session.data.unwrap(), session.predictions.unwrap());
        app.browser.select(409, &d, &p);
    }
    show_tab(&mut harness, "Explain");
    run_until(&mut harness, |app| {
        !app.panels.images.is_running() && app.panels.images.latest().is_some()
    });
    let app = harness.state();
    let (session, e) = (app.session().unwrap(), app.panels.images.latest().unwrap());
    let (m, d) = (model.to_str().unwrap(), data.to_str().unwrap());
    for format in ["json", "csv"] {
        let window = image_export_bytes(
            session,
            e,
            &Targets::Predicted,
            format,
            OverlayStyle::default(),
        )
        .unwrap();
        let command_line = cli(&[
            m,
            d,
            "--rows",
            "409",
            "--method",
            "occlusion",
            "--stride",
            "4",
            "--format",
            format,
        ]);
        assert!(
            window == command_line,
            "{format}: the window's file differs from the command line's"
        );
    }
}

#[test]
fn a_click_on_a_class_name_selects_its_row_and_page_keys_move_by_pages() {
    let mut harness = sample_app();
    harness.get_by_label("#7").click();
    harness.run();
    assert_eq!(harness.state().browser.selected, Some(7));
    // Row 19 is the first benign row; its True cell is the first "benign" in the browser.
    harness
        .query_all_by_label("benign")
        .find(|n| n.rect().left() < 400.0)
        .unwrap()
        .click();
    harness.run();
    assert_eq!(harness.state().browser.selected, Some(19));
    for (key, row) in [
        (egui::Key::PageDown, 39),
        (egui::Key::PageUp, 19),
        (egui::Key::End, 568),
        (egui::Key::Home, 0),
    ] {
        harness.key_press(key);
        harness.run();
        assert_eq!(harness.state().browser.selected, Some(row), "{key:?}");
    }
    // The top bar's accuracy is over the held-out rows, and says so.
    harness.get_by_label_contains("(test split)");
}

#[test]
fn a_long_global_run_waits_with_its_cost_shown_instead_of_starting_silently() {
    let mut harness = sample_app();
    {
        let app = harness.state_mut();
        let mut own = app.shared.explain.clone();
        own.samples = Some(10_000);
        app.panels.global.own = Some(own);
    }
    show_tab(&mut harness, "Global");
    // 569 rows × 10,002 coalitions × 50 background rows.
    harness.get_by_label_contains("This run evaluates about 284,556,900 model rows");
    assert!(!harness.state().panels.global.is_running());
    // The Explain tab's settings are not changed by the tab's own.
    assert_eq!(harness.state().shared.explain.samples, None);
    harness.get_by_label("Explain the dataset").click();
    // The click is taken on the next frame and the run starts on the one after; a loaded
    // machine may need a frame or two more.
    let mut started = false;
    for _ in 0..10 {
        harness.run_steps(1);
        started |= harness.state().panels.global.is_running();
    }
    assert!(started, "the confirmed run did not start");
}

#[test]
fn the_browser_filters_rows_by_a_feature_value() {
    let mut harness = sample_app();
    let input = harness.get_by_role_and_label(Role::TextInput, "Where");
    input.click();
    harness.run();
    harness
        .get_by_role_and_label(Role::TextInput, "Where")
        .type_text("worst radius > 20");
    harness.run();
    let app = harness.state();
    let data = app.session().unwrap().data.clone().unwrap();
    let j = data
        .feature_names
        .iter()
        .position(|n| n == "worst radius")
        .unwrap();
    let want: Vec<usize> = (0..data.len()).filter(|&r| data.x[[r, j]] > 20.0).collect();
    assert!(!want.is_empty() && want.len() < data.len());
    assert_eq!(app.browser.visible(), want.as_slice());
}

#[test]
fn a_pinned_row_is_compared_with_the_selected_one() {
    let mut harness = sample_app();
    show_tab(&mut harness, "Explain");
    run_until(&mut harness, |app| {
        !app.panels.explain.is_running() && app.panels.explain.latest().is_some()
    });
    harness.get_by_label("Pin to compare").click();
    harness.run();
    harness.get_by_label("#5").click();
    harness.step();
    run_until(&mut harness, |app| {
        app.panels.explain.latest().is_some_and(|e| e.row == 5)
    });
    harness.get_by_label_contains("Row 0 (pinned) beside row 5");
    harness.get_by_label("Pinned: row 0 ✕").click();
    harness.run();
    assert!(harness.state().panels.explain.pinned.is_none());
}

#[test]
fn an_image_row_gets_a_report_in_the_report_tab() {
    let mut harness = super::lesions_app();
    {
        let app = harness.state_mut();
        let session = app.session().unwrap().clone();
        let (d, p) = (session.data.unwrap(), session.predictions.unwrap());
        app.browser.select(445, &d, &p);
    }
    show_tab(&mut harness, "Report");
    run_until(&mut harness, |app| {
        !app.panels.report.is_running() && app.panels.report.image_result().is_some()
    });
    assert_eq!(
        harness.state().panels.report.image_result().unwrap().row,
        445
    );
    harness.get_by_label_contains("Where the model looked, for malignant");
}

#[test]
fn the_reports_waterfall_shows_as_many_bars_as_asked_on_screen_and_in_the_export() {
    let session = Session::load(&Source::sample()).unwrap();
    let settings = loupe::explain::ExplainSettings::default();
    let report =
        loupe::report::Report::build(&session, 3, &settings, &loupe::explain::NoProgress).unwrap();
    assert_eq!(report.waterfall.bars.len(), loupe::report::REPORT_BARS);
    let five = report.clone().with_bars(&session, 5);
    assert_eq!(five.waterfall.bars.len(), 5);
    assert_eq!(five.waterfall.bars[4].feature, None, "the rest pooled last");
    let all = report.clone().with_bars(&session, 30);
    assert_eq!(all.waterfall.bars.len(), 30);
    assert!(all.waterfall.bars.iter().all(|b| b.feature.is_some()));
    // The bars add up to the same prediction however many are shown.
    for r in [&five, &all] {
        // Bars run from the base (bottom) up to the prediction (top).
        let end = r.waterfall.bars[0].end();
        assert!((end - report.waterfall.output_value).abs() < 1e-9);
    }
    // The tab's control: the preview draws the bars asked for.
    let mut harness = sample_app();
    harness.get_by_label("#3").click();
    harness.run();
    harness.state_mut().panels.report.max_bars = 5;
    show_tab(&mut harness, "Report");
    run_until(&mut harness, |app| !app.panels.report.is_running());
    harness.run_steps(2);
    for bar in &five.waterfall.bars {
        harness.get_by_label(&bar.label);
    }
    let sixth = &all.waterfall.bars[5].label;
    assert!(
        harness.query_by_label(sixth).is_none(),
        "{sixth} is pooled with the rest"
    );
}
