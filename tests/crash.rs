//! The window's crash report: a panic on the window's thread saves the session and writes a
//! report to the cache folder; a worker's panic (caught and shown as an error) writes neither.
//! Its own test binary, since it sets the cache folder and the process's panic hook.
#![cfg(feature = "gui")]

use std::path::{Path, PathBuf};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use loupe::app::LoupeApp;
use loupe::saved::SavedSession;
use loupe::session::{Session, Source};

fn crash_reports(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("crash-"))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[test]
fn a_panic_on_the_window_thread_saves_the_session_and_a_crash_report() {
    let cache = std::env::temp_dir().join(format!("loupe-crash-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    // SAFETY: set before any other thread of this test binary reads the environment.
    unsafe { std::env::set_var("LOUPE_CACHE_DIR", &cache) };

    let model = PathBuf::from("sample_models/breast_cancer_mlp.onnx");
    let data = PathBuf::from("sample_models/breast_cancer.csv");
    let source = Source::files(model.clone(), Some(data.clone()), None);
    let session = Session::load(&source).unwrap();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 820.0))
        .with_context_setup(loupe::app::theme::install_fonts)
        .build_ui_state(
            |ui, app: &mut LoupeApp| app.show(ui),
            LoupeApp::with_session(source, session),
        );
    harness.run();
    harness.get_by_label("#7").click();
    harness.run();
    assert_eq!(harness.state().browser.selected, Some(7));

    loupe::app::install_crash_report();

    // A worker's panic is not a crash: no report.
    let worker = std::thread::spawn(|| panic!("a worker failed"));
    assert!(worker.join().is_err());
    assert!(crash_reports(&cache).is_empty(), "no report for a worker");

    // The window's thread panics: the session and a report are written.
    let window = std::thread::spawn(|| {
        loupe::app::mark_ui_thread();
        panic!("the window failed on purpose");
    });
    assert!(window.join().is_err());
    let reports = crash_reports(&cache);
    assert_eq!(reports.len(), 1, "one crash report in {}", cache.display());
    let report = std::fs::read_to_string(&reports[0]).unwrap();
    assert!(
        report.starts_with("Loupe ") && report.contains("the window failed on purpose"),
        "{report}"
    );
    assert!(
        report.contains("crash.rs"),
        "the report has a backtrace: {report}"
    );

    let (saved, reopened, warnings) =
        SavedSession::load(&loupe::app::last_session_path().unwrap()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(saved.selected_row, Some(7));
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap();
    assert_eq!(saved.model.unwrap().path, canonical(&model));
    assert_eq!(saved.data.unwrap().path, canonical(&data));
    assert!(matches!(
        reopened.data,
        Some(loupe::session::Origin::File(_))
    ));
    let _ = std::fs::remove_dir_all(&cache);
}
