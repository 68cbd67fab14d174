//! The clinician's one-page report on one row: the prediction with its probability and how far
//! such probabilities can be trusted, the explanation in words and as a waterfall, where each
//! value stands in the reference data, the nearest change that would flip the prediction, and
//! the model card — as self-contained HTML, PNG or PDF ([`page`]).
//!
//! - [`words`]: numbers and names as people read them.
//! - [`summary`]: the explanation in sentences.
//! - [`reference`]: reference ranges, overall and per class.
//! - [`counterfactual`]: the nearest change that flips the prediction.

pub mod counterfactual;
pub mod image;
pub mod image_page;
pub mod page;
pub mod reference;
pub mod summary;
pub mod words;

use crate::analysis::calibration::Reliability;
use crate::analysis::failures::{Population, RELIABILITY_BINS};
use crate::data::{Dataset, Labels};
use crate::explain::run::RowExplanation;
use crate::explain::{ExplainSettings, Link, Progress, Targets};
use crate::plot::WaterfallSpec;
use crate::session::{Session, SessionError};

use counterfactual::Counterfactual;
use reference::Range;

/// The files a report is written as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Png,
    Pdf,
}

impl Format {
    /// The format of a file name's extension (`.html`, `.htm`, `.png`, `.pdf`).
    pub fn of_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "html" | "htm" => Some(Format::Html),
            "png" => Some(Format::Png),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Png => "png",
            Format::Pdf => "pdf",
        }
    }

    pub const ALL: [Format; 3] = [Format::Html, Format::Png, Format::Pdf];

    /// An image's report in this format.
    pub fn image_bytes(self, report: &image::ImageReport) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            Format::Html => image_page::html(report).into_bytes(),
            Format::Png => image_page::png(report, 2)?,
            Format::Pdf => image_page::pdf(report)?,
        })
    }

    /// The report in this format.
    pub fn bytes(self, report: &Report) -> anyhow::Result<Vec<u8>> {
        Ok(match self {
            Format::Html => page::html(report)?.into_bytes(),
            Format::Png => page::png(report, 2)?,
            Format::Pdf => page::pdf(report)?,
        })
    }
}

/// Features shown with reference ranges.
pub const RANGES_SHOWN: usize = 8;
/// Similar cases needed before the report says how often such predictions are right.
pub const MIN_SIMILAR_CASES: usize = 20;
/// Bars in the report's waterfall before the rest are pooled (unless the reader asks for more).
pub const REPORT_BARS: usize = 10;
/// Grid steps per feature of the counterfactual search.
pub const COUNTERFACTUAL_STEPS: usize = 100;
/// Features paired in the counterfactual search when no single change flips the prediction.
pub const COUNTERFACTUAL_PAIRS: usize = 6;

/// Everything on the page.
#[derive(Clone, Debug)]
pub struct Report {
    pub row: usize,
    pub model_name: String,
    pub model_description: Option<String>,
    pub data_name: String,
    /// UTC date of the report, `YYYY-MM-DD`.
    pub date: String,
    /// The predicted class (or value) and its probability.
    pub predicted: String,
    pub probability: Option<f64>,
    /// The recorded outcome, when the data has one.
    pub recorded: Option<String>,
    /// How often the model was right at this confidence on held-out rows, in words.
    pub calibration: Option<String>,
    /// The summary paragraph (ends with the caveat).
    pub summary: String,
    pub waterfall: WaterfallSpec,
    /// Reference ranges of the most influential features, in that order.
    pub ranges: Vec<(String, Range)>,
    /// Class names for the per-class percentiles.
    pub class_names: Vec<String>,
    /// The nearest counterfactual in words.
    pub counterfactual: Option<String>,
    /// The method behind the numbers.
    pub method: String,
    /// The explanation starts from the output at the reference rows' average values
    /// (Integrated Gradients), not from their average output.
    pub base_at_mean: bool,
    pub explanation: RowExplanation,
    pub counterfactual_detail: Option<Counterfactual>,
    /// What was changed in the settings so that they apply to the report (shown beside it).
    pub note: Option<String>,
    /// What a row is, capitalised: `Patient`, or `Case`.
    pub subject: String,
    /// The case's identifier from the data's id column, when there is one.
    pub case_id: Option<String>,
}

/// Today's UTC date.
pub fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10].to_string()
}

impl Report {
    /// Builds the report on `row`: explains it with `settings` (in probability, for the card's
    /// positive class or else the predicted one) and searches the nearest counterfactual.
    pub fn build(
        session: &Session,
        row: usize,
        settings: &ExplainSettings,
        progress: &dyn Progress,
    ) -> Result<Report, SessionError> {
        let (Some(data), Some(predictions)) = (&session.data, &session.predictions) else {
            return Err(SessionError::NoData(
                "open a dataset to report on one of its rows".into(),
            ));
        };
        if row >= data.len() {
            return Err(SessionError::NoData(format!(
                "row {row} is out of range: the data has {} rows",
                data.len()
            )));
        }
        if data.images.is_some() {
            return Err(SessionError::NoData(format!(
                "{} holds images; the report is written for rows of features",
                data.source
            )));
        }
        let card = session.model.card();
        let class_names = session.model.task().class_names().to_vec();
        let target = session.default_class(crate::session::policy::Purpose::Report, Some(row));
        // The page speaks of each measurement: every column plays alone.
        let mut settings = ExplainSettings {
            link: Link::Identity,
            groups: Vec::new(),
            targets: match target {
                Some(c) => Targets::Classes(vec![c]),
                None => Targets::Predicted,
            },
            ..settings.clone()
        };
        // The report is in probability: a method that cannot explain that is replaced.
        let note = settings.fit_to(&session.model);
        let background = settings.background(data, None)?;
        let explanation = session
            .explain(&[row], &settings, &background, progress)?
            .pop()
            .ok_or_else(|| SessionError::NoData(format!("no explanation of row {row}")))?;
        let a = &explanation.attribution;
        let base_at_mean =
            settings.resolved_method(&session.model) == crate::explain::image::ig::IG;
        let reference = data.training_rows();
        let x: Vec<f32> = data.x.row(row).to_vec();
        let all_ranges = ranges(data, class_names.len(), &x);
        let percentiles: Vec<f64> = all_ranges.iter().map(|r| r.percentile).collect();
        let value_texts: Vec<String> = (0..x.len())
            .map(|j| words::data_value(card, data, j, x[j]))
            .collect();
        let summary = summary::summarize(&summary::SummaryInput {
            card,
            feature_names: &data.feature_names,
            values: &value_texts,
            categorical: &all_ranges
                .iter()
                .map(|r| r.category.is_some())
                .collect::<Vec<_>>(),
            percentiles: &percentiles,
            class: target.map(|c| class_names[c].as_str()),
            output: a.output_value,
            base: a.base_value,
            base_at_mean,
            attributions: &a.values,
            std_err: a.std_err.as_deref(),
        });
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&p, &q| a.values[q].abs().total_cmp(&a.values[p].abs()));
        let ranges = order
            .iter()
            .take(RANGES_SHOWN)
            .map(|&j| {
                (
                    words::feature(card, &data.feature_names[j]),
                    all_ranges[j].clone(),
                )
            })
            .collect();
        let waterfall = plain_waterfall(
            session,
            data,
            &explanation,
            &x,
            target,
            REPORT_BARS,
            base_at_mean,
        );

        let (predicted, probability) = match predictions.predicted.get(row) {
            Some(&c) => (
                class_names[c].clone(),
                Some(predictions.outputs[[row, c]] as f64),
            ),
            None => (words::number(predictions.outputs[[row, 0]] as f64), None),
        };
        let recorded = match &data.labels {
            Some(Labels::Classes(c)) => class_names.get(c[row]).cloned(),
            Some(Labels::Values(v)) => Some(words::number(v[row] as f64)),
            None => None,
        };
        let calibration = calibration_sentence(data, predictions, row);
        let (counterfactual, counterfactual_detail) = match predictions.predicted.get(row) {
            Some(&current) => {
                let pairs: Vec<usize> = order.iter().copied().take(COUNTERFACTUAL_PAIRS).collect();
                let categorical: Vec<bool> = (0..x.len())
                    .map(|j| data.categories.get(j).is_some_and(Option::is_some))
                    .collect();
                let found = counterfactual::nearest(
                    &*session.model,
                    &x,
                    reference.view(),
                    current,
                    COUNTERFACTUAL_STEPS,
                    &pairs,
                    &categorical,
                )?;
                let words = match &found {
                    Some(cf) => counterfactual_words(session, data, cf),
                    None => format!(
                        "No change to one or two of the most influential values, within the \
                         ranges seen in the reference data, makes the model predict anything \
                         but {}.",
                        class_names[current]
                    ),
                };
                (Some(words), found)
            }
            None => (None, None),
        };
        let method = format!(
            "{} · {} background rows of the reference data · seed {}",
            settings.resolved_method(&session.model).name(),
            background.len(),
            settings.seed
        );
        Ok(Report {
            row,
            model_name: session.model.name().to_string(),
            model_description: card.description.clone(),
            data_name: data.source.clone(),
            date: today(),
            predicted,
            probability,
            recorded,
            calibration,
            summary,
            waterfall,
            ranges,
            class_names,
            counterfactual,
            method,
            base_at_mean,
            explanation,
            counterfactual_detail,
            note,
            subject: words::subject(card),
            case_id: session
                .case_id(row)
                .filter(|id| !id.is_empty())
                .map(str::to_string),
        })
    }

    /// The same report with `max_bars` bars in its waterfall before the rest are pooled.
    pub fn with_bars(mut self, session: &Session, max_bars: usize) -> Report {
        if let Some(data) = &session.data
            && self.row < data.len()
        {
            let target =
                session.default_class(crate::session::policy::Purpose::Report, Some(self.row));
            let x: Vec<f32> = data.x.row(self.row).to_vec();
            self.waterfall = plain_waterfall(
                session,
                data,
                &self.explanation,
                &x,
                target,
                max_bars.max(1),
                self.base_at_mean,
            );
        }
        self
    }

    /// A heading for the page: `Patient 17 · breast_cancer.csv` (the card's subject, else
    /// `Case`).
    pub fn title(&self) -> String {
        match &self.case_id {
            Some(id) => format!(
                "{} {id} (row {}) · {}",
                self.subject, self.row, self.data_name
            ),
            None => format!("{} {} · {}", self.subject, self.row, self.data_name),
        }
    }
}

/// Every feature's reference range (training rows, else all) for the values `x`.
pub fn ranges(data: &Dataset, n_classes: usize, x: &[f32]) -> Vec<Range> {
    let reference = data.training_rows();
    let classes = data.reference_classes();
    (0..x.len())
        .map(|j| {
            let range = Range::new(reference.view(), classes.as_deref(), n_classes, j, x[j]);
            match data.category_name(j, x[j]) {
                Some(category) => range.of_category(reference.view(), classes.as_deref(), category),
                None => range,
            }
        })
        .collect()
}

/// "Among 42 rows of the test split predicted with 90–100% confidence, the model was right for 40
/// (95%)."
pub(crate) fn calibration_sentence(
    data: &Dataset,
    predictions: &crate::analysis::Predictions,
    row: usize,
) -> Option<String> {
    let truth = data.classes()?;
    let confidence = *predictions.confidence.get(row)? as f64;
    let (rows, population) = Population::Test.rows(data);
    let correct: Vec<bool> = truth
        .iter()
        .zip(&predictions.predicted)
        .map(|(t, p)| t == p)
        .collect();
    let r = Reliability::top_label(&predictions.confidence, &correct, &rows, RELIABILITY_BINS);
    let bin = r
        .bins
        .iter()
        .find(|b| confidence >= b.lo && (confidence < b.hi || b.hi >= 1.0))?;
    let right = bin.rows.iter().filter(|&&r| correct[r]).count();
    if !bin.rows.is_empty() && bin.rows.len() < MIN_SIMILAR_CASES {
        return Some(format!(
            "Only {} {population} row{} {} predicted with {:.0}–{:.0}% confidence ({right} \
             right): too few to say how often such predictions are right.",
            bin.rows.len(),
            if bin.rows.len() == 1 { "" } else { "s" },
            if bin.rows.len() == 1 { "was" } else { "were" },
            bin.lo * 100.0,
            bin.hi * 100.0
        ));
    }
    if bin.rows.is_empty() {
        return Some(format!(
            "No row ({population}) was predicted with {:.0}–{:.0}% confidence, so how often such \
             predictions are right is unknown.",
            bin.lo * 100.0,
            bin.hi * 100.0
        ));
    }
    let place = if population == "test split" {
        " of the test split"
    } else {
        ""
    };
    Some(format!(
        "Among {} rows{place} predicted with {:.0}–{:.0}% confidence, the model was right \
         for {right} ({}).",
        bin.rows.len(),
        bin.lo * 100.0,
        bin.hi * 100.0,
        words::percent(right as f64 / bin.rows.len() as f64)
    ))
}

/// "If worst concave points were 0.11 instead of 0.18, the model would predict benign (62%)."
fn counterfactual_words(session: &Session, data: &Dataset, cf: &Counterfactual) -> String {
    let card = session.model.card();
    let parts: Vec<String> = cf
        .changes
        .iter()
        .map(|c| {
            let name = &data.feature_names[c.feature];
            format!(
                "{} were {} instead of {}",
                words::feature(card, name),
                words::data_value(card, data, c.feature, c.to),
                words::data_value(card, data, c.feature, c.from)
            )
        })
        .collect();
    let class = session
        .model
        .task()
        .class_names()
        .get(cf.class)
        .cloned()
        .unwrap_or_default();
    format!(
        "If {}, the model would predict {class} ({}). This is the smallest such change within \
         the values seen in the reference data; it is a property of the model, not advice.",
        parts.join(" and "),
        words::percent(cf.probability as f64)
    )
}

/// The explanation as a chart for the page, in words: display names and units on the bars,
/// "the reference population" (or, for Integrated Gradients, which start from the output at
/// the reference rows' average values, "the reference population's average values") and
/// "this patient" instead of E[f(X)] and f(x).
fn plain_waterfall(
    session: &Session,
    data: &Dataset,
    explanation: &RowExplanation,
    x: &[f32],
    target: Option<usize>,
    max_bars: usize,
    base_at_mean: bool,
) -> WaterfallSpec {
    let card = session.model.card();
    let a = &explanation.attribution;
    let measure = match target.and_then(|c| session.model.task().class_names().get(c)) {
        Some(class) => format!("estimated probability of {class}"),
        None => "predicted value".to_string(),
    };
    let mut spec = WaterfallSpec::new(
        format!("How each measurement moved the {measure}"),
        measure,
        &data.feature_names,
        x,
        &a.values,
        a.std_err.as_deref(),
        a.base_value,
        a.output_value,
        max_bars,
    )
    .named(
        match base_at_mean {
            true => "the reference population's average values",
            false => "reference population",
        },
        &format!("this {}", words::subject(card).to_lowercase()),
    )
    .rest_called("other measurements");
    for bar in &mut spec.bars {
        if let Some(j) = bar.feature {
            let name = &data.feature_names[j];
            bar.label = format!(
                "{} = {}",
                words::feature(card, name),
                words::data_value(card, data, j, x[j])
            );
        }
    }
    spec
}
