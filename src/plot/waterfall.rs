//! The waterfall of one row's attribution: from the base value E[g] at the bottom, each bar
//! adds a feature's contribution, the largest at the top, ending at the output g(x). Features
//! beyond the first `max_bars − 1` are pooled into "N other features".

/// One bar: a feature (or the pooled rest) and where its contribution starts and ends.
#[derive(Clone, Debug, PartialEq)]
pub struct WaterfallBar {
    /// `name = value`, or `N other features`.
    pub label: String,
    /// The feature's index, `None` for the pooled rest.
    pub feature: Option<usize>,
    pub attribution: f64,
    /// Half-width of the 95% interval (1.96 standard errors), where sampled.
    pub interval: Option<f64>,
    /// Running total before this bar.
    pub start: f64,
}

impl WaterfallBar {
    /// Running total after this bar.
    pub fn end(&self) -> f64 {
        self.start + self.attribution
    }
}

/// Everything needed to draw a waterfall.
#[derive(Clone, Debug, PartialEq)]
pub struct WaterfallSpec {
    pub title: String,
    /// What the axis measures, e.g. `P(malignant)`.
    pub axis_label: String,
    pub base_value: f64,
    pub output_value: f64,
    /// What the base and the output are called on the chart: `E[f(X)]` and `f(x)` for
    /// analysts, words on a clinician's page.
    pub base_name: String,
    pub output_name: String,
    /// Top to bottom: largest |attribution| first, pooled rest last.
    pub bars: Vec<WaterfallBar>,
}

impl WaterfallSpec {
    /// Builds the spec from one attribution; `data` gives each feature's value for its label.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        title: String,
        axis_label: String,
        feature_names: &[String],
        data: &[f32],
        values: &[f64],
        std_err: Option<&[f64]>,
        base_value: f64,
        output_value: f64,
        max_bars: usize,
    ) -> WaterfallSpec {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[b].abs().total_cmp(&values[a].abs()).then(a.cmp(&b)));
        let shown = if order.len() <= max_bars {
            order.len()
        } else {
            max_bars.saturating_sub(1)
        };
        let mut bars: Vec<WaterfallBar> = order[..shown]
            .iter()
            .map(|&f| WaterfallBar {
                label: format!(
                    "{} = {}",
                    feature_names[f],
                    super::short_number(data[f] as f64)
                ),
                feature: Some(f),
                attribution: values[f],
                interval: std_err.map(|e| 1.96 * e[f]),
                start: 0.0,
            })
            .collect();
        let rest = &order[shown..];
        if !rest.is_empty() {
            bars.push(WaterfallBar {
                label: format!("{} other features", rest.len()),
                feature: None,
                attribution: rest.iter().map(|&f| values[f]).sum(),
                interval: std_err
                    .map(|e| 1.96 * rest.iter().map(|&f| e[f] * e[f]).sum::<f64>().sqrt()),
                start: 0.0,
            });
        }
        // Stack from the bottom (last bar) up, starting at the base value.
        let mut running = base_value;
        for bar in bars.iter_mut().rev() {
            bar.start = running;
            running += bar.attribution;
        }
        WaterfallSpec {
            title,
            axis_label,
            base_value,
            output_value,
            base_name: "E[f(X)]".into(),
            output_name: "f(x)".into(),
            bars,
        }
    }

    /// The same chart with the base and output called `base` and `output`.
    pub fn named(mut self, base: &str, output: &str) -> Self {
        self.base_name = base.into();
        self.output_name = output.into();
        self
    }

    /// The same chart with the pooled bar called `N {others}` (`other measurements`).
    pub fn rest_called(mut self, others: &str) -> Self {
        for bar in self.bars.iter_mut().filter(|b| b.feature.is_none()) {
            if let Some((n, _)) = bar.label.split_once(' ') {
                bar.label = format!("{n} {others}");
            }
        }
        self
    }

    /// The value range every bar, the base and the output fit in, padded a little.
    pub fn range(&self) -> (f64, f64) {
        let mut lo = self.base_value.min(self.output_value);
        let mut hi = self.base_value.max(self.output_value);
        for b in &self.bars {
            let half = b.interval.unwrap_or(0.0);
            lo = lo.min(b.start).min(b.end() - half);
            hi = hi.max(b.start).max(b.end() + half);
        }
        let pad = ((hi - lo) * 0.06).max(1e-9);
        (lo - pad, hi + pad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_from_base_to_output_and_pool_the_rest() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let values = [0.1, -0.4, 0.05, 0.2];
        let spec = WaterfallSpec::new(
            "t".into(),
            "p".into(),
            &names,
            &[1.0, 2.0, 3.0, 4.0],
            &values,
            None,
            0.5,
            0.45,
            3,
        );
        let labels: Vec<&str> = spec.bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["b = 2.00", "d = 4.00", "2 other features"]);
        assert!((spec.bars[2].attribution - 0.15).abs() < 1e-12);
        assert!(
            (spec.bars[2].start - 0.5).abs() < 1e-12,
            "the bottom bar starts at the base"
        );
        assert!(
            (spec.bars[0].end() - 0.45).abs() < 1e-12,
            "the top bar ends at the output"
        );
    }
}
