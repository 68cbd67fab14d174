//! The predictions CSV: `row,label,predicted,confidence,correct,p_<class>…` — one probability
//! column per class, named by the class; `label` and `correct` empty when the data has no labels.
//! For a regressor: `row,label,predicted,confidence,correct` with the value in `predicted`.

use std::io::Write;

use crate::analysis::Predictions;
use crate::data::{Dataset, Labels};
use crate::model::Task;

/// Writes the predictions of `data` as CSV to `out`.
pub fn write_predictions_csv(
    out: &mut dyn Write,
    task: &Task,
    data: &Dataset,
    predictions: &Predictions,
) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let class_names = task.class_names();
    let mut header: Vec<String> = ["row", "label", "predicted", "confidence", "correct"]
        .map(String::from)
        .to_vec();
    header.extend(class_names.iter().map(|c| format!("p_{c}")));
    w.write_record(&header)?;
    for row in 0..predictions.len() {
        let label = match &data.labels {
            Some(Labels::Classes(c)) => class_names.get(c[row]).cloned().unwrap_or_default(),
            Some(Labels::Values(v)) => v[row].to_string(),
            None => String::new(),
        };
        let mut record = vec![row.to_string(), label];
        match task {
            Task::Classification { class_names, .. } => {
                record.push(class_names[predictions.predicted[row]].clone());
                record.push(predictions.confidence[row].to_string());
                let correct = predictions.is_correct(row, data.classes());
                record.push(correct.map(|c| c.to_string()).unwrap_or_default());
                record.extend(predictions.outputs.row(row).iter().map(|p| p.to_string()));
            }
            Task::Regression { .. } => {
                record.push(predictions.outputs[[row, 0]].to_string());
                record.extend([String::new(), String::new()]);
            }
        }
        w.write_record(&record)?;
    }
    w.flush()
}
