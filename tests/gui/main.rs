//! The window driven by egui_kittest: select rows, filter, use the keyboard — no display needed.
#![cfg(feature = "gui")]

mod case_id;
mod groups;
mod integrated;
mod layout;
mod regressions;
mod snapshots;
mod window;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use loupe::app::explain_view::{ExportKind, export_bytes};
use loupe::app::{LoupeApp, Outcome};
use loupe::explain::{Method, Targets};
use loupe::session::{Session, Source};
use window::{Window, window};

fn sample_app() -> Window {
    app_on(Source::sample())
}

/// The window on the lesion images and their CNN.
fn lesions_app() -> Window {
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
    app_on(Source::files(
        models.join("lesions_cnn.onnx"),
        Some(models.join("lesions/lesions.csv")),
        None,
    ))
}

/// True once the Explain tab has finished a row with `method`.
fn explained_with(method: Method) -> impl Fn(&LoupeApp) -> bool {
    move |app: &LoupeApp| {
        !app.panels.explain.is_running()
            && app
                .panels
                .explain
                .latest()
                .is_some_and(|e| e.method == method)
    }
}

fn app_on(source: Source) -> Window {
    let session = Session::load(&source).unwrap();
    let app = LoupeApp::with_session(source, session);
    let mut harness = window(app, Harness::builder().with_size(egui::vec2(1280.0, 820.0)));
    harness.run();
    harness
}

#[test]
fn selecting_a_row_shows_its_prediction_card() {
    let mut harness = sample_app();
    assert!(
        harness.query_by_label("Row 0").is_some(),
        "the first row is selected at start"
    );
    harness.get_by_label("#7").click();
    harness.run();
    assert_eq!(harness.state().browser.selected, Some(7));
    harness.get_by_label("Row 7");
    // The card shows the row's values and both class probabilities.
    harness.get_by_label("worst concave points");
    let session = harness.state().session().unwrap();
    let p = session.predictions.as_ref().unwrap();
    harness.get_by_label(&format!("with probability {:.1}%", p.confidence[7] * 100.0));
    for class in 0..2 {
        harness.get_by_label(&format!("{:>6.2}%", p.outputs[[7, class]] * 100.0));
    }
}

#[test]
fn errors_filter_shows_exactly_the_misclassified_rows() {
    let mut harness = sample_app();
    harness.get_by_label("Errors").click();
    harness.run();
    let app = harness.state();
    assert_eq!(app.browser.outcome, Outcome::Errors);
    let session = app.session().unwrap();
    let p = session.predictions.as_ref().unwrap();
    let truth = session.data.as_ref().unwrap().classes().unwrap();
    let errors: Vec<usize> = (0..p.len())
        .filter(|&r| p.predicted[r] != truth[r])
        .collect();
    assert_eq!(
        errors.len(),
        8,
        "the MLP misclassifies 8 of 569 rows (PROVENANCE.md)"
    );
    assert_eq!(app.browser.visible(), errors.as_slice());
    let first = errors[0];
    assert_eq!(
        app.browser.selected,
        Some(first),
        "selection moves into the filter"
    );
    harness.get_by_label(&format!("Row {first}"));
    harness.get_by_label("8 of 569 rows");
}

#[test]
fn arrow_keys_move_the_selection() {
    let mut harness = sample_app();
    harness.get_by_label("#3").click();
    harness.run();
    harness.key_press(egui::Key::ArrowDown);
    harness.run();
    assert_eq!(harness.state().browser.selected, Some(4));
    harness.key_press(egui::Key::ArrowUp);
    harness.key_press(egui::Key::ArrowUp);
    harness.run();
    assert_eq!(harness.state().browser.selected, Some(2));
}

#[test]
fn sorting_by_confidence_puts_the_least_sure_rows_first_on_second_click() {
    let mut harness = sample_app();
    harness.get_by_label("Conf.").click();
    harness.run();
    harness.get_by_label("Conf. ▼").click();
    harness.run();
    let app = harness.state();
    let p = app.session().unwrap().predictions.as_ref().unwrap();
    let shown: Vec<f32> = app
        .browser
        .visible()
        .iter()
        .map(|&r| p.confidence[r])
        .collect();
    assert!(
        shown.windows(2).all(|w| w[0] <= w[1]),
        "ascending confidence"
    );
    assert_eq!(shown.len(), 569);
}

/// Steps the harness until `done`, letting the worker thread finish (at most ~60 s).
fn run_until(harness: &mut Harness<'static, LoupeApp>, done: impl Fn(&LoupeApp) -> bool) {
    for _ in 0..6000 {
        harness.step();
        if done(harness.state()) {
            harness.run();
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("timed out");
}

#[test]
fn explaining_a_row_draws_its_waterfall_with_feature_labels() {
    let mut harness = sample_app();
    harness.get_by_label("#12").click();
    harness.run();
    harness.get_by_label("Explain").click();
    run_until(&mut harness, |app| !app.panels.explain.is_running());
    // The default for 30 features is KernelSHAP; the waterfall names its features with values.
    harness.get_by_label_contains("kernel ·");
    let bars = harness.query_all_by_label_contains(" = ").count();
    assert!(
        bars >= 11,
        "expected the top features as bars, found {bars}"
    );
    harness.get_by_label("19 other features");
    harness.get_by_label_contains("E[f(X)]");
    // The table lists every feature with its attribution.
    harness.get_by_label("Percentile");

    // Exports: a 2× PNG and JSON in the command line's format.
    let app = harness.state();
    let session = app.session().unwrap();
    let explained = app.panels.explain.latest().unwrap();
    assert_eq!(explained.row, 12);
    let png = export_bytes(session, explained, ExportKind::Png).unwrap();
    assert!(image::load_from_memory(&png).unwrap().width() >= 1800);
    let json: serde_json::Value =
        serde_json::from_slice(&export_bytes(session, explained, ExportKind::Json).unwrap())
            .unwrap();
    assert_eq!(json["method"], "kernel");
    assert_eq!(json["rows"][0]["row"], 12);

    // Another row explains anew; going back comes from the cache at once.
    harness.key_press(egui::Key::ArrowDown);
    harness.step();
    assert_eq!(harness.state().browser.selected, Some(13));
    run_until(&mut harness, |app| !app.panels.explain.is_running());
    harness.key_press(egui::Key::ArrowUp);
    harness.run();
    assert!(
        !harness.state().panels.explain.is_running(),
        "row 12 is cached"
    );
    harness.get_by_label_contains("kernel ·");
}

#[test]
fn a_tree_model_offers_exact_tree_shap_in_log_odds() {
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
    let source = Source::files(
        models.join("breast_cancer_gbt.onnx"),
        Some(models.join("breast_cancer.csv")),
        None,
    );
    let mut harness = app_on(source);
    harness.get_by_label("Explain").click();
    run_until(&mut harness, explained_with(loupe::explain::kernel::KERNEL));
    // Probabilities of boosted trees are sampled, and the view says where TreeSHAP is exact.
    harness.get_by_label_contains("kernel ·");
    harness.get_by_label_contains("TreeSHAP is exact in log-odds");
    harness.get_by_label("Use log-odds").click();
    run_until(
        &mut harness,
        explained_with(loupe::explain::tree_method::TREE),
    );
    harness.get_by_label_contains("tree · 50 background rows · 0 model rows");
    harness.get_by_label_contains("Exact TreeSHAP");
    let explained = harness.state().panels.explain.latest().unwrap();
    let a = &explained.explanation.attribution;
    let sum: f64 = a.values.iter().sum();
    assert!((a.base_value + sum - a.output_value).abs() < 1e-9);
}

#[test]
fn clicking_a_confusion_cell_filters_the_browser_to_exactly_its_rows() {
    let mut harness = sample_app();
    harness.get_by_label("Failure modes").click();
    run_until(&mut harness, |app| app.panels.failures.failures().is_some());
    let (truth, predicted, test_rows) = {
        let app = harness.state();
        let session = app.session().unwrap();
        let data = session.data.as_ref().unwrap();
        let split = data.split.clone().unwrap();
        (
            data.classes().unwrap().to_vec(),
            session.predictions.as_ref().unwrap().predicted.clone(),
            (0..split.len())
                .filter(|&r| split[r] == loupe::data::Split::Test)
                .collect::<Vec<_>>(),
        )
    };
    // True malignant (0) predicted benign (1) on the test split.
    let want: Vec<usize> = test_rows
        .iter()
        .copied()
        .filter(|&r| truth[r] == 0 && predicted[r] == 1)
        .collect();
    assert_eq!(want.len(), 5, "PROVENANCE: 5 such rows in the test split");
    // The cells read true class down, predicted class across: malignant row, benign column.
    harness
        .get_by_role_and_label(egui::accesskit::Role::Button, &want.len().to_string())
        .click();
    harness.run();
    assert_eq!(harness.state().browser.visible(), want.as_slice());
    harness.get_by_label_contains("Only: true malignant predicted benign");
    // An error slice and the calibration are shown too.
    harness.get_by_label_contains("Expected calibration error");
    harness.get_by_label("✕ Clear").click();
    harness.run();
    assert_eq!(harness.state().browser.visible().len(), 569);
}

#[test]
fn the_global_tab_explains_a_sample_and_links_back_to_rows() {
    let mut harness = sample_app();
    let cache = harness.cache_dir().to_path_buf();
    {
        let app = harness.state_mut();
        assert_eq!(app.panels.global.cache_dir.as_ref(), Some(&cache));
        app.panels.global.sample = 40;
        app.shared.explain.method = loupe::explain::permutation::PERMUTATION;
        app.shared.explain.samples = Some(200);
    }
    harness.get_by_label("Global").click();
    run_until(&mut harness, |app| {
        app.panels.global.result.is_some() && !app.panels.global.is_running()
    });
    harness.get_by_label_contains("Why the model predicts P(malignant) · 40 rows");
    harness.get_by_label("Beeswarm of 20 features by mean |attribution|");
    harness.get_by_label("Dependence on");
    let result = harness.state().panels.global.result.clone().unwrap();
    assert_eq!(result.explanation.rows.len(), 40);
    assert!(!result.from_cache);
    assert!(
        std::fs::read_dir(cache.join("global")).unwrap().count() == 1,
        "the batch is cached"
    );
    // The exports of the tab render.
    let dependence = loupe::plot::global::DependenceSpec::new(
        &harness
            .state()
            .session()
            .unwrap()
            .data
            .as_ref()
            .unwrap()
            .feature_names,
        "P(malignant)",
        0,
        &result.explanation.rows,
        result.explanation.values.view(),
        result.explanation.features.view(),
        &[],
    );
    use loupe::app::global_view::{GlobalExport, global_export_bytes};
    let png = global_export_bytes(&result, &dependence, GlobalExport::BeeswarmPng).unwrap();
    assert!(image::load_from_memory(&png).unwrap().width() >= 1800);
    let csv = global_export_bytes(&result, &dependence, GlobalExport::Csv).unwrap();
    assert_eq!(
        String::from_utf8(csv).unwrap().lines().count(),
        1 + 40 * 30,
        "long form: one line per row and feature"
    );
}

#[test]
fn a_mistake_can_be_explained_as_why_the_predicted_class_and_not_the_true_one() {
    let mut harness = sample_app();
    harness.get_by_label("Errors").click();
    harness.run();
    let row = harness.state().browser.selected.unwrap();
    harness.get_by_label("Explain").click();
    run_until(&mut harness, |app| {
        !app.panels.explain.is_running() && app.panels.explain.latest().is_some()
    });
    harness
        .get_by_label_contains("(the difference of the two classes' explanations)")
        .click();
    run_until(&mut harness, |app| {
        !app.panels.explain.is_running()
            && app
                .panels
                .explain
                .latest()
                .is_some_and(|e| e.explanation.versus.is_some())
    });
    let e = harness.state().panels.explain.latest().unwrap().clone();
    assert_eq!(e.row, row);
    let a = &e.explanation.attribution;
    let sum: f64 = a.values.iter().sum();
    assert!((a.base_value + sum - a.output_value).abs() < 1e-6);
    assert!(e.spec.title.contains("and not"), "{}", e.spec.title);
}

#[test]
fn what_if_edits_are_explained_after_a_pause_on_a_worker() {
    let mut harness = sample_app();
    harness.get_by_label("#13").click();
    harness.run();
    harness.get_by_label("Explain").click();
    run_until(&mut harness, |app| {
        !app.panels.explain.is_running() && app.panels.explain.latest().is_some()
    });
    harness.get_by_label("What if…").click();
    harness.run();
    harness.get_by_label("Edit a value in the table below.");
    // Worst concave points (27) raised to the top of its range.
    let high = {
        let app = harness.state();
        let data = app.session().unwrap().data.clone().unwrap();
        data.x.column(27).iter().copied().fold(f32::MIN, f32::max)
    };
    harness.state_mut().panels.explain.edit(27, high);
    harness.step();
    assert!(
        !harness.state().panels.explain.is_running(),
        "an edit waits for the pause before it is explained"
    );
    run_until(&mut harness, |app| {
        !app.panels.explain.is_running()
            && app
                .panels
                .explain
                .latest()
                .is_some_and(|e| e.what_if.is_some() && e.values[27] == high)
    });
    let e = harness.state().panels.explain.latest().unwrap().clone();
    let outputs = e.what_if.clone().unwrap();
    let a = &e.explanation.attribution;
    // The explanation is of the edited values: its output is the model's output for them.
    let class = e.explanation.target;
    assert!((a.output_value - outputs[class] as f64).abs() < 1e-4);
    harness.get_by_label_contains("What if:");
    assert!(e.spec.title.ends_with("what if (edited values)"));
}

#[test]
fn the_report_tab_previews_the_report_and_exports_it() {
    let mut harness = sample_app();
    harness.get_by_label("#13").click();
    harness.run();
    harness.get_by_label("Report").click();
    run_until(&mut harness, |app| {
        !app.panels.report.is_running() && app.panels.report.result().is_some()
    });
    harness.get_by_label("Prediction: malignant with probability 92%");
    harness.get_by_label_contains("The model estimates 92% probability of malignant");
    harness.get_by_label_contains("If ");
    let report = harness.state().panels.report.result().unwrap().clone();
    use loupe::app::report_view::ReportFormat;
    let html = String::from_utf8(ReportFormat::Html.bytes(&report).unwrap()).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    let png = ReportFormat::Png.bytes(&report).unwrap();
    assert_eq!(image::load_from_memory(&png).unwrap().width(), 2 * 794);
    assert!(
        ReportFormat::Pdf
            .bytes(&report)
            .unwrap()
            .starts_with(b"%PDF-")
    );
}

#[test]
fn an_image_row_shows_its_saliency_overlay_curves_and_sanity_check() {
    let mut harness = lesions_app();
    harness.get_by_label_contains("64×64×3 images");
    {
        let app = harness.state_mut();
        app.panels.images.settings.params.set("stride", 4.0);
        app.panels.images.sanity = true;
        let data = app.session().unwrap().data.clone().unwrap();
        let predictions = app.session().unwrap().predictions.clone().unwrap();
        app.browser.select(409, &data, &predictions);
    }
    harness.get_by_label("Explain").click();
    run_until(&mut harness, |app| {
        !app.panels.images.is_running() && app.panels.images.latest().is_some()
    });
    let e = harness.state().panels.images.latest().unwrap().clone();
    assert_eq!(e.row, 409);
    harness.get_by_label_contains("Saliency map of row 409 for malignant");
    harness.get_by_label_contains("Deletion curve");
    harness.get_by_label_contains("Model randomisation check");
    // On this CNN a random last layer (after global pooling) leaves occlusion's map much as it
    // was: the check reports it rather than passing it (the region model's test passes).
    assert!(e.randomized.is_some_and(|r| (-1.0..=1.0).contains(&r)));
    assert!(e.faithfulness.as_ref().unwrap().deletion.len() == 21);
    let session = harness.state().session().unwrap().clone();
    use loupe::app::image_view::image_export_bytes;
    use loupe::plot::overlay::OverlayStyle;
    let png = image_export_bytes(
        &session,
        &e,
        &Targets::Predicted,
        "png",
        OverlayStyle::default(),
    )
    .unwrap();
    assert_eq!(image::load_from_memory(&png).unwrap().width(), 64 * 8);
    let npy = image_export_bytes(
        &session,
        &e,
        &Targets::Predicted,
        "npy",
        OverlayStyle::default(),
    )
    .unwrap();
    assert!(npy.starts_with(b"\x93NUMPY"));
    let csv = image_export_bytes(
        &session,
        &e,
        &Targets::Predicted,
        "csv",
        OverlayStyle::default(),
    )
    .unwrap();
    assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 1 + 64 * 64);
}

/// The cascading randomisation runs on a worker and lists one bar per layer randomised from
/// the output down, each with its rank correlation.
#[test]
fn the_cascading_randomisation_lists_each_layer() {
    let mut harness = lesions_app();
    harness.get_by_label_contains("64×64×3 images");
    {
        let app = harness.state_mut();
        app.panels.images.settings.method = loupe::explain::image::gradient::SALIENCY;
        app.panels.images.cascade = true;
    }
    harness.get_by_label("Explain").click();
    run_until(&mut harness, |app| {
        !app.panels.images.is_running() && app.panels.images.latest().is_some()
    });
    let e = harness.state().panels.images.latest().unwrap().clone();
    let steps = e.cascade.clone().unwrap();
    assert_eq!(steps.len(), 4);
    harness.get_by_label_contains("Cascading randomisation");
    for s in &steps {
        harness.get_by_label_contains(&format!("{} · {}", s.layers_randomised, s.layer));
    }
}

#[test]
fn a_bad_file_is_a_dismissible_message_and_the_window_keeps_working() {
    let mut harness = sample_app();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bad = root.join("tests/bad_inputs");
    let opened = |harness: &mut Harness<'static, LoupeApp>, model, data| {
        let ctx = harness.ctx.clone();
        harness
            .state_mut()
            .open(&ctx, Source::files(model, Some(data), None));
        run_until(harness, |app| !app.is_busy());
        let error = harness.state().error().unwrap().to_string();
        assert_eq!(error.lines().count(), 1, "{error}");
        error
    };
    let dismiss = |harness: &mut Harness<'static, LoupeApp>| {
        harness.get_by_label("Dismiss").click();
        harness.run();
        assert!(harness.state().error().is_none());
    };

    // A model that is not ONNX: the message names it, the sample stays open and usable.
    let error = opened(
        &mut harness,
        bad.join("model_random_0.onnx"),
        root.join("sample_models/breast_cancer.csv"),
    );
    assert!(error.contains("model_random_0.onnx"), "{error}");
    harness.get_by_label_contains("model_random_0.onnx");
    let model = harness.state().session().unwrap().model.name().to_string();
    assert_eq!(model, "breast_cancer_mlp.onnx");
    dismiss(&mut harness);
    harness.get_by_label("#7").click();
    harness.run();
    assert_eq!(harness.state().browser.selected, Some(7));

    // Ragged data for a good model: the model opens, the message names the file and line.
    let error = opened(
        &mut harness,
        root.join("sample_models/breast_cancer_logreg.onnx"),
        bad.join("data_ragged.csv"),
    );
    assert!(
        error.contains("data_ragged.csv") && error.contains("line"),
        "{error}"
    );
    let session = harness.state().session().unwrap();
    assert_eq!(session.model.name(), "breast_cancer_logreg.onnx");
    assert!(session.data.is_none());
    dismiss(&mut harness);
    assert!(
        harness
            .query_all_by_label_contains("Open a dataset")
            .count()
            >= 1
    );
}
