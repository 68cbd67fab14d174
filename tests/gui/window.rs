//! The window under test: every harness is built here, with a cache folder of its own (a
//! temporary directory removed with the harness), so no test reads or writes the user's cache
//! folder or another test's batches.

use std::ops::{Deref, DerefMut};

use egui_kittest::{Harness, HarnessBuilder};
use loupe::app::LoupeApp;

/// A harness drawing `LoupeApp`, and the cache folder it writes to.
pub struct Window {
    harness: Harness<'static, LoupeApp>,
    /// Dropped after the harness (fields drop in order).
    cache: tempfile::TempDir,
}

impl Window {
    /// The cache folder of this window.
    pub fn cache_dir(&self) -> &std::path::Path {
        self.cache.path()
    }
}

impl Deref for Window {
    type Target = Harness<'static, LoupeApp>;
    fn deref(&self) -> &Self::Target {
        &self.harness
    }
}

impl DerefMut for Window {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.harness
    }
}

/// Builds `app` into a harness from `builder` (size, renderer), with the window's fonts and a
/// cache folder of its own. Draws nothing yet.
pub fn window(mut app: LoupeApp, builder: HarnessBuilder<LoupeApp>) -> Window {
    let cache = tempfile::tempdir().expect("a temporary cache folder");
    app.set_cache_dir(cache.path().to_path_buf());
    let harness = builder
        .with_context_setup(loupe::app::theme::install_fonts)
        .build_ui_state(|ui, app: &mut LoupeApp| app.show(ui), app);
    Window { harness, cache }
}

#[test]
fn every_window_under_test_caches_in_a_folder_of_its_own() {
    let open = || {
        let source = loupe::session::Source::sample();
        let session = loupe::session::Session::load(&source).unwrap();
        window(
            LoupeApp::with_session(source, session),
            Harness::builder().with_size(egui::vec2(1280.0, 820.0)),
        )
    };
    let (a, b) = (open(), open());
    assert_ne!(a.cache_dir(), b.cache_dir());
    let user = loupe::session::dataset::cache_dir();
    for w in [&a, &b] {
        let dir = w.state().panels.global.cache_dir.clone();
        assert_eq!(dir.as_deref(), Some(w.cache_dir()));
        assert_ne!(dir, user, "not the user's cache folder");
        assert!(w.cache_dir().is_dir());
    }
    let gone = a.cache_dir().to_path_buf();
    drop(a);
    assert!(!gone.exists(), "the folder goes with its window");
}
