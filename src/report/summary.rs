//! The explanation in words, for a reader who does not read waterfall charts: the estimate and
//! the reference population's, the measurements that pushed toward and away from the class with
//! how unusual each value is, uncertain contributions marked, and a caveat that this explains the
//! model, not the patient.

use super::words;
use crate::model::ModelCard;

/// Contributions named on each side.
pub const TOWARD: usize = 3;
pub const AWAY: usize = 2;

/// The caveat closing every summary.
pub const CAVEAT: &str = "This explains how the model reached its output, not the patient's \
condition: the contributions say how the model weighed these values against the reference data, \
not what causes the outcome.";

/// What a summary is made from.
pub struct SummaryInput<'a> {
    pub card: &'a ModelCard,
    pub feature_names: &'a [String],
    /// The row's values in words (a number with its unit, or a category).
    pub values: &'a [String],
    /// Which features are categories: their `percentiles` are shares of the reference rows.
    pub categorical: &'a [bool],
    /// Each value's percentile in the reference data (a category's share).
    pub percentiles: &'a [f64],
    /// The explained class's name, or `None` for a regression value.
    pub class: Option<&'a str>,
    /// f(x) and E[f] (probabilities for a class).
    pub output: f64,
    pub base: f64,
    /// `base` is the output at the reference rows' average values (Integrated Gradients),
    /// not their average output.
    pub base_at_mean: bool,
    pub attributions: &'a [f64],
    pub std_err: Option<&'a [f64]>,
}

/// Where a value stands, in words: `higher than 94%`, `lower than 80%`, `about the median`.
fn standing(p: f64) -> String {
    if (45.0..=55.0).contains(&p) {
        "about the median".into()
    } else if p > 50.0 {
        format!("higher than {:.0}%", p.min(99.0))
    } else {
        format!("lower than {:.0}%", (100.0 - p).min(99.0))
    }
}

/// The summary paragraph.
pub fn summarize(s: &SummaryInput) -> String {
    let subjects = words::subjects(s.card);
    let reference = match s.base_at_mean {
        true => "at the reference population's average values",
        false => "the reference population",
    };
    let mut text = match s.class {
        Some(class) => format!(
            "The model estimates {} probability of {class} ({reference}: {}).",
            words::percent(s.output),
            words::percent(s.base)
        ),
        None => format!(
            "The model predicts {} ({reference}: {}).",
            words::number(s.output),
            words::number(s.base)
        ),
    };
    let mut order: Vec<usize> = (0..s.attributions.len()).collect();
    order.sort_by(|&a, &b| s.attributions[b].abs().total_cmp(&s.attributions[a].abs()));
    let toward: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&j| s.attributions[j] > 0.0)
        .take(TOWARD)
        .collect();
    let away: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&j| s.attributions[j] < 0.0)
        .take(AWAY)
        .collect();
    let mut first = true;
    let mut clause = |j: usize| {
        let name = &s.feature_names[j];
        let mut c = if s.categorical.get(j).copied().unwrap_or(false) {
            // "island Dream — 37% of the reference penguins"
            format!(
                "{} {} — {:.0}% of the reference {subjects}",
                words::feature(s.card, name),
                s.values[j],
                s.percentiles[j]
            )
        } else {
            let mut c = format!(
                "{} {} — {}",
                words::feature(s.card, name),
                s.values[j],
                standing(s.percentiles[j])
            );
            if first && !standing(s.percentiles[j]).starts_with("about") {
                c.push_str(&format!(" of {subjects} in the reference data"));
            }
            c
        };
        first = false;
        let uncertain = s
            .std_err
            .and_then(|e| e.get(j))
            .is_some_and(|&e| s.attributions[j].abs() < 1.96 * e);
        c.push_str(&format!(
            " ({}{})",
            words::moved(s.attributions[j], s.class.is_some()),
            if uncertain { "; uncertain" } else { "" }
        ));
        c
    };
    let (up, down) = match s.class {
        Some(class) => (
            format!("Pushing toward {class}"),
            format!("Pushing away from {class}"),
        ),
        None => ("Pushing the value up".into(), "Pushing it down".into()),
    };
    if !toward.is_empty() {
        let parts: Vec<String> = toward.iter().map(|&j| clause(j)).collect();
        text.push_str(&format!(" {up}: {}.", parts.join("; ")));
    }
    if !away.is_empty() {
        let parts: Vec<String> = away.iter().map(|&j| clause(j)).collect();
        text.push_str(&format!(" {down}: {}.", parts.join("; ")));
    }
    // The measurements not named: together they may outweigh every one that is.
    let named: Vec<usize> = toward.iter().chain(&away).copied().collect();
    let others: Vec<usize> = (0..s.attributions.len())
        .filter(|j| !named.contains(j))
        .collect();
    let rest: f64 = others.iter().map(|&j| s.attributions[j]).sum();
    let largest = named
        .iter()
        .map(|&j| s.attributions[j].abs())
        .fold(0.0, f64::max);
    if others.len() > 1 && rest.abs() > largest {
        text.push_str(&format!(
            " Many small contributions from the other {} measurements together {}, more than \
             any single one.",
            others.len(),
            words::moved(rest, s.class.is_some())
                .replacen("the estimate", "it", 1)
                .replacen("the prediction", "it", 1)
        ));
    }
    text.push(' ');
    // The card's subject, where it names one ("not the penguin's condition").
    match s
        .card
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(subject) => text.push_str(&CAVEAT.replacen("patient's", &format!("{subject}'s"), 1)),
        None => text.push_str(CAVEAT),
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_names_sides_standing_units_and_uncertainty() {
        let card = ModelCard {
            subject: Some("patient".into()),
            units: Some([("area".to_string(), "µm²".to_string())].into()),
            display_names: Some([("cp".to_string(), "concave points".to_string())].into()),
            ..Default::default()
        };
        let names: Vec<String> = ["cp", "area", "texture", "noise"]
            .map(String::from)
            .to_vec();
        let values = ["0.18", "1,420 µm²", "14.1", "3"].map(String::from);
        let input = SummaryInput {
            card: &card,
            feature_names: &names,
            values: &values,
            categorical: &[],
            percentiles: &[94.2, 97.0, 20.0, 50.0],
            class: Some("malignant"),
            output: 0.923,
            base: 0.372,
            base_at_mean: false,
            attributions: &[0.21, 0.12, -0.04, 0.001],
            std_err: Some(&[0.01, 0.01, 0.03, 0.01]),
        };
        let text = summarize(&input);
        assert_eq!(
            text,
            format!(
                "The model estimates 92% probability of malignant (the reference population: 37%). \
                 Pushing toward malignant: concave points 0.18 — higher than 94% of patients in the \
                 reference data (raised the estimate by 21 points); area 1,420 µm² — higher than \
                 97% (raised the estimate by 12 points); noise 3 — about the median (raised the \
                 estimate by less than a point; uncertain). Pushing away from malignant: texture \
                 14.1 — lower than 80% (lowered the estimate by 4 points; uncertain). {CAVEAT}"
            )
        );
        // Integrated Gradients start from the output at the reference's average values.
        let text = summarize(&SummaryInput {
            base_at_mean: true,
            std_err: None,
            ..input
        });
        assert!(
            text.starts_with(
                "The model estimates 92% probability of malignant (at the reference \
                 population's average values: 37%). Pushing toward malignant:"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_category_is_named_with_its_share_of_the_reference() {
        let card = ModelCard {
            subject: Some("penguin".into()),
            ..Default::default()
        };
        let names: Vec<String> = ["island", "bill"].map(String::from).to_vec();
        let text = summarize(&SummaryInput {
            card: &card,
            feature_names: &names,
            values: &["Dream", "44 mm"].map(String::from),
            categorical: &[true, false],
            percentiles: &[37.0, 80.0],
            class: Some("Chinstrap"),
            output: 0.9,
            base: 0.2,
            base_at_mean: false,
            attributions: &[0.5, 0.2],
            std_err: None,
        });
        assert!(
            text.contains(
                "island Dream — 37% of the reference penguins (raised the estimate by 50 points)"
            ),
            "{text}"
        );
    }

    #[test]
    fn many_small_contributions_are_said_when_they_outweigh_the_named_ones() {
        let card = ModelCard::default();
        let names: Vec<String> = (0..10).map(|j| format!("m{j}")).collect();
        let mut attributions = vec![0.03; 10];
        attributions[0] = 0.05;
        let text = summarize(&SummaryInput {
            card: &card,
            feature_names: &names,
            values: &vec!["1".to_string(); 10],
            categorical: &[],
            percentiles: &[50.0; 10],
            class: Some("yes"),
            output: 0.9,
            base: 0.58,
            base_at_mean: false,
            attributions: &attributions,
            std_err: None,
        });
        assert!(
            text.contains(
                "Many small contributions from the other 7 measurements together raised it by \
                 21 points, more than any single one."
            ),
            "{text}"
        );
        for notation in ["E[f(X)]", "f(x)", "P("] {
            assert!(!text.contains(notation), "{text}");
        }
    }
}
