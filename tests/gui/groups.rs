//! Feature groups typed in the Explain settings: the group is one row of the table and one bar
//! of the waterfall, with its columns' values; a group naming an unknown column is refused in
//! words under the field.

use egui_kittest::kittest::Queryable;
use loupe::app::explain_view::{ExportKind, export_bytes};
use loupe::explain::Group;
use loupe::session::Source;

use super::{app_on, run_until};

fn penguins() -> Source {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
    Source::files(
        dir.join("penguins_pipeline.onnx"),
        Some(dir.join("penguins.csv")),
        None,
    )
}

#[test]
fn a_group_typed_in_the_settings_is_one_row_and_one_bar() {
    let mut harness = app_on(penguins());
    harness.get_by_label("Explain").click();
    run_until(&mut harness, |app| !app.panels.explain.is_running());

    let field = harness.get_by_label("Groups");
    field.focus();
    field.type_text("bill = bill_length_mm, beak");
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();
    harness.get_by_label_contains("names `beak`, which is not one of the model's columns");
    assert!(harness.state().shared.explain.groups.is_empty());

    harness.get_by_label("Groups").focus();
    harness.run();
    for _ in 0..4 {
        harness.key_press(egui::Key::Backspace);
    }
    harness.get_by_label("Groups").type_text("bill_depth_mm");
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.step();
    assert_eq!(
        harness.state().shared.explain.groups,
        Group::parse_list("bill = bill_length_mm, bill_depth_mm").unwrap()
    );
    run_until(&mut harness, |app| {
        !app.panels.explain.is_running()
            && app
                .panels
                .explain
                .latest()
                .is_some_and(|r| r.players.is_grouped())
    });
    // Row 0: bill length 39.1 mm, bill depth 18.7 mm.
    harness.get_by_label("bill (group)");
    harness.get_by_label("39.1 · 18.7");
    harness.get_by_label_contains("bill = 39.1 · 18.7");

    let app = harness.state();
    let explained = app.panels.explain.latest().unwrap();
    assert_eq!(explained.explanation.attribution.values.len(), 5);
    let json: serde_json::Value = serde_json::from_slice(
        &export_bytes(app.session().unwrap(), explained, ExportKind::Json).unwrap(),
    )
    .unwrap();
    assert_eq!(json["feature_names"][2], "bill");
}
