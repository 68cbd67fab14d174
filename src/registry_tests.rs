//! A method added as one file plus one registry line — `explain/dummy.rs`, listed in
//! `explain::methods::METHODS` in test builds — is seen everywhere a method is: the command
//! line parses it and its help lists it, the window offers it in the Explain tab's method
//! list, and the attributions file names it.

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

use crate::app::LoupeApp;
use crate::explain::{ExplainSettings, Method, NoProgress};
use crate::export::attributions::{AttributionsFile, BackgroundSource};
use crate::session::{Session, Source};

#[test]
fn a_method_in_one_file_and_one_line_is_seen_by_the_command_line_the_window_and_outputs() {
    let dummy = crate::explain::dummy::DUMMY;

    // The command line: `--method dummy` parses, and the help lists it with its summary.
    let cli = crate::cli::parse_from(["loupe", "explain", "m.onnx", "d.csv", "--method", "dummy"])
        .unwrap();
    let Some(crate::cli::Command::Explain(args)) = cli.command else {
        panic!("not explain");
    };
    assert_eq!(args.method(), dummy);
    let mut command = crate::cli::command();
    let help = command
        .find_subcommand_mut("explain")
        .unwrap()
        .render_long_help()
        .to_string();
    assert!(
        help.contains("dummy") && help.contains("everything to the first feature"),
        "{help}"
    );

    // The window: the Explain tab's method list offers it.
    let source = Source::sample();
    let session = Session::load(&source).unwrap();
    let app = LoupeApp::with_session(source, session.clone());
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 820.0))
        .with_context_setup(crate::app::theme::install_fonts)
        .build_ui_state(|ui, app: &mut LoupeApp| app.show(ui), app);
    harness.run();
    // An explanation starts at once and animates its progress: step frames, don't settle.
    harness.get_by_label("Explain").click();
    harness.run_steps(3);
    harness
        .get_by_role_and_label(Role::ComboBox, "Method")
        .click();
    harness.run_steps(3);
    harness.get_by_label("dummy").click();
    harness.run_steps(3);
    assert_eq!(harness.state().shared.explain.method, dummy);

    // The outputs: an explanation with it is written under its name, and it is additive.
    let settings = ExplainSettings {
        method: dummy,
        ..Default::default()
    };
    let background = session.background(&settings, None).unwrap();
    let rows = session
        .explain(&[3], &settings, &background, &NoProgress)
        .unwrap();
    let file = AttributionsFile::build(
        &session,
        &settings,
        &BackgroundSource::of(&settings, None),
        &session.data_name,
        &rows,
    );
    assert_eq!(file.method, "dummy");
    let a = &rows[0].attribution;
    assert!((a.values[0] - (a.output_value - a.base_value)).abs() < 1e-12);
    assert!(a.values[1..].iter().all(|&v| v == 0.0));
    assert_eq!(Method::named("DUMMY"), Some(dummy));
}
