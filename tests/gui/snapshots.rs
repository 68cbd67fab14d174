//! Snapshots of every tab at 1280×800, with the 2-class sample and the 10-class digits, in the
//! dark and the light theme, rendered headless with wgpu (llvmpipe or lavapipe where there is no
//! GPU). Built only with `--features snapshots`; refresh with `UPDATE_SNAPSHOTS=1`. Timings in
//! the window ("0.4 s") differ between runs, so a few hundred pixels may differ.
#![cfg(feature = "snapshots")]

use egui_kittest::{Harness, SnapshotOptions, SnapshotResults};
use loupe::app::LoupeApp;
use loupe::app::theme::ThemeChoice;
use loupe::session::{Session, Source};

use super::layout::{models, show};
use super::window::{Window, window};

fn harness(source: Source, theme: ThemeChoice) -> Window {
    let session = Session::load(&source).unwrap();
    let settings = loupe::app::Settings {
        theme,
        ..Default::default()
    };
    let mut app = LoupeApp::with_settings(settings, source, session);
    app.panels.global.sample = 80;
    let mut harness = window(
        app,
        Harness::builder()
            .with_size(egui::vec2(1280.0, 800.0))
            .wgpu(),
    );
    harness.run_steps(2);
    harness
}

fn snapshots(name: &str, source: impl Fn() -> Source, tabs: &[&str]) {
    let options = SnapshotOptions::new()
        .output_path(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"))
        .max_failed_pixels(600);
    // One harness per theme: their results are merged and checked once, at the end.
    let mut results = SnapshotResults::default();
    for theme in [ThemeChoice::Dark, ThemeChoice::Light] {
        let mut harness = harness(source(), theme);
        for tab in tabs {
            show(&mut harness, tab);
            let file = format!(
                "{name}_{}_{}",
                tab.to_lowercase().replace(' ', "_"),
                theme.name().to_lowercase()
            );
            harness.snapshot_options(&file, &options);
        }
        results.extend(harness.take_snapshot_results());
    }
    results.unwrap();
}

#[test]
fn every_tab_of_the_sample() {
    snapshots(
        "sample",
        Source::sample,
        &["Prediction", "Explain", "Global", "Failure modes", "Report"],
    );
}

#[test]
fn every_tab_of_the_digits() {
    snapshots(
        "digits",
        || {
            Source::files(
                models().join("digits_cnn.onnx"),
                Some(models().join("digits/digits.csv")),
                None,
            )
        },
        &["Prediction", "Explain", "Failure modes", "Report"],
    );
}
