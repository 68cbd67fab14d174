//! Integrated Gradients picked in the Explain settings of a tabular network: its steps and
//! rule are in the form, the path starts at the background mean, the waterfall's base says
//! so, and changing the steps explains the row again with that many gradients.

use egui_kittest::kittest::Queryable;
use loupe::app::LoupeApp;
use loupe::explain::image::ig::IG;
use loupe::session::Source;

use super::{app_on, run_until};

fn explained_with_steps(steps: f64) -> impl Fn(&LoupeApp) -> bool {
    let done = super::explained_with(IG);
    move |app: &LoupeApp| {
        done(app)
            && app
                .panels
                .explain
                .latest()
                .is_some_and(|e| e.settings.params.get(&IG.params()[0]) == steps)
    }
}

#[test]
fn integrated_gradients_on_a_tabular_network_show_their_steps_and_start_at_the_mean() {
    // The bundled sample: the breast-cancer MLP.
    let mut harness = app_on(Source::sample());
    harness.get_by_label("Explain").click();
    run_until(&mut harness, |app| !app.panels.explain.is_running());
    assert!(
        harness.query_by_label("Steps").is_none(),
        "no steps for a Shapley method"
    );

    harness.get_by_label("Method").click();
    harness.run();
    harness.get_by_label("ig").click();
    harness.step();
    assert_eq!(harness.state().shared.explain.method, IG);
    run_until(&mut harness, explained_with_steps(64.0));
    harness.get_by_label("Steps");
    harness.get_by_label("Rule");
    harness.get_by_label("the background mean");
    // The base of the waterfall is the output at the background's mean row.
    harness.get_by_label_contains("f at the background mean = ");
    assert!(harness.query_by_label_contains("E[f(X)]").is_none());
    let first = harness
        .state()
        .panels
        .explain
        .latest()
        .unwrap()
        .explanation
        .clone();

    harness.get_by_label("Steps").set_value_accesskit(8.0);
    harness.step();
    assert_eq!(
        harness.state().shared.explain.params.get(&IG.params()[0]),
        8.0
    );
    run_until(&mut harness, explained_with_steps(8.0));
    let app = harness.state();
    let again = &app.panels.explain.latest().unwrap().explanation;
    // The same row and base; a new path integral (8 gradients instead of 64, and the row's
    // model calls say so).
    assert_eq!(again.row, first.row);
    assert_eq!(again.attribution.base_value, first.attribution.base_value);
    assert!(
        again.model_calls < first.model_calls,
        "{} calls with 8 steps, {} with 64",
        again.model_calls,
        first.model_calls
    );
    let sum = |a: &loupe::explain::Attribution| a.values.iter().sum::<f64>();
    // 64 steps are complete: the values sum to f(x) − f(mean) within 1%.
    let gap = first.attribution.output_value - first.attribution.base_value;
    assert!(
        (sum(&first.attribution) - gap).abs() <= 0.01 * gap.abs().max(1e-3),
        "{} against {gap}",
        sum(&first.attribution)
    );
    // The window's 8 steps are the explainer's: the same values as the library gives.
    let session = app.session().unwrap();
    let settings = app.shared.explain.clone();
    let background = session.background(&settings, None).unwrap();
    let direct = session
        .explain(
            &[again.row],
            &settings,
            &background,
            &loupe::explain::NoProgress,
        )
        .unwrap()
        .remove(0);
    assert_eq!(direct.attribution.values, again.attribution.values);
    assert_ne!(again.attribution.values, first.attribution.values);
}
