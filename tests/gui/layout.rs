//! Layouts that fit: every tab at 1280×800 with the 2-class sample and the 10-class digits,
//! checked in the accessibility tree (each widget's rect as egui laid it out). No widget may
//! run past the window's right edge, and no two widgets may overlap unless one holds the other
//! (a chart and its bars, a button and its label). This is what a screenshot would show as
//! text drawn over text or cut at the edge.

use egui::Rect;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use loupe::app::LoupeApp;
use loupe::session::{Session, Source};

use super::window::{Window, window};

const SIZE: egui::Vec2 = egui::vec2(1280.0, 800.0);

pub fn models() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models")
}

fn harness_on(source: Source, prepare: impl FnOnce(&mut LoupeApp)) -> Window {
    let session = Session::load(&source).unwrap();
    let mut app = LoupeApp::with_session(source, session);
    prepare(&mut app);
    let mut harness = window(app, Harness::builder().with_size(SIZE));
    harness.run_steps(2);
    harness
}

/// Shows tab `title` and draws until its work is done (at most ~120 s).
pub fn show(harness: &mut Harness<'static, LoupeApp>, title: &str) {
    harness.get_by_role_and_label(Role::Button, title).click();
    for _ in 0..12_000 {
        harness.step();
        let app = harness.state();
        let p = &app.panels;
        if !(p.explain.is_running()
            || p.images.is_running()
            || p.global.is_running()
            || p.report.is_running()
            || (title == "Failure modes" && p.failures.failures().is_none()))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    harness.run_steps(4);
}

/// The widgets drawn (leaves of the tree) that lie wholly on screen, with their names.
fn leaves<S>(harness: &Harness<'_, S>) -> Vec<(String, Rect)> {
    let screen = Rect::from_min_size(egui::Pos2::ZERO, SIZE);
    harness
        .root()
        .children_recursive()
        .filter(|n| n.children().next().is_none())
        .filter_map(|n| {
            let node = n.accesskit_node();
            let name = node.label().or_else(|| node.value()).unwrap_or_default();
            // Nodes without bounds (the window's root) are not drawn widgets.
            node.bounding_box()?;
            let rect = n.rect();
            (rect.area() > 0.0 && rect.intersects(screen)).then_some((name, rect))
        })
        .collect()
}

/// What does not fit: widgets past the right edge, widgets drawn over each other.
fn problems<S>(harness: &Harness<'_, S>, tab: &str) -> Vec<String> {
    let all = leaves(harness);
    let mut out = Vec::new();
    for (name, r) in &all {
        if r.right() > SIZE.x + 0.5 {
            out.push(format!("{tab}: {name:?} runs past the right edge ({r:?})"));
        }
    }
    // Vertically scrolled content leaves the screen at the top or bottom: only what is wholly
    // on screen is compared. egui's scroll bars float over the content's edge by design (thin
    // until hovered): they are left out.
    let scroll_bar = |(name, r): &&(String, Rect)| name.is_empty() && r.width() <= 12.0;
    let shown: Vec<&(String, Rect)> = all
        .iter()
        .filter(|(_, r)| r.top() >= 0.0 && r.bottom() <= SIZE.y)
        .filter(|leaf| !scroll_bar(leaf))
        .collect();
    for (i, (a, ra)) in shown.iter().enumerate() {
        for (b, rb) in &shown[i + 1..] {
            let common = ra.intersect(*rb);
            let holds = ra.contains_rect(*rb) || rb.contains_rect(*ra);
            if common.width() > 1.0 && common.height() > 1.0 && !holds {
                out.push(format!("{tab}: {a:?} {ra:?} overlaps {b:?} {rb:?}"));
            }
        }
    }
    out
}

fn check_tabs(mut harness: Window, tabs: &[&str]) {
    let mut found = Vec::new();
    for tab in tabs {
        show(&mut harness, tab);
        found.extend(problems(&harness, tab));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn every_tab_of_the_two_class_sample_fits_1280_by_800() {
    let harness = harness_on(Source::sample(), |app| app.panels.global.sample = 80);
    check_tabs(
        harness,
        &["Prediction", "Explain", "Global", "Failure modes", "Report"],
    );
}

#[test]
fn every_tab_of_the_ten_class_digits_fits_1280_by_800() {
    let harness = harness_on(
        Source::files(
            models().join("digits_cnn.onnx"),
            Some(models().join("digits/digits.csv")),
            None,
        ),
        |_| {},
    );
    check_tabs(
        harness,
        &["Prediction", "Explain", "Failure modes", "Report"],
    );
}

#[test]
fn the_checks_catch_an_overlap_and_a_cut() {
    // The same checks on a window that does overlap and clip: they must complain.
    let mut harness = Harness::builder().with_size(SIZE).build_ui(|ui| {
        ui.put(
            Rect::from_min_size(egui::pos2(10.0, 10.0), egui::vec2(200.0, 20.0)),
            egui::Button::new("first"),
        );
        ui.put(
            Rect::from_min_size(egui::pos2(100.0, 15.0), egui::vec2(200.0, 20.0)),
            egui::Button::new("second"),
        );
        ui.put(
            Rect::from_min_size(egui::pos2(1200.0, 100.0), egui::vec2(200.0, 20.0)),
            egui::Button::new("cut"),
        );
    });
    harness.run();
    let found = problems(&harness, "test");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].contains("\"cut\" runs past the right edge"),
        "{found:?}"
    );
    assert!(found[1].contains("\"first\"") && found[1].contains("overlaps \"second\""));
}
