//! A model's outputs on a dataset, with the predicted class and confidence of each row.

use ndarray::Array2;

use crate::data::Dataset;
use crate::model::{OnnxModel, Task};

/// Every row's model output: class probabilities (or regression values), the predicted class
/// (argmax) and its probability.
#[derive(Clone, Debug)]
pub struct Predictions {
    /// Rows × classes (or rows × regression outputs).
    pub outputs: Array2<f32>,
    /// The predicted class of each row; empty for a regressor.
    pub predicted: Vec<usize>,
    /// The probability of the predicted class; empty for a regressor.
    pub confidence: Vec<f32>,
}

impl Predictions {
    /// Runs `model` on every row of `data`.
    pub fn compute(
        model: &OnnxModel,
        data: &Dataset,
    ) -> Result<Predictions, crate::model::ModelError> {
        let outputs = model.predict(data.x.view())?;
        Ok(Predictions::from_outputs(outputs, model.task()))
    }

    /// Derives predicted classes and confidences from model outputs.
    pub fn from_outputs(outputs: Array2<f32>, task: &Task) -> Predictions {
        let (predicted, confidence) = match task {
            Task::Regression { .. } => (vec![], vec![]),
            Task::Classification { .. } => outputs
                .rows()
                .into_iter()
                .map(|row| {
                    // NaN never wins: a model that emits NaN gets class 0 and confidence NaN.
                    row.iter().enumerate().fold((0, f32::NAN), |best, (i, &p)| {
                        if p > best.1 || best.1.is_nan() && !p.is_nan() {
                            (i, p)
                        } else {
                            best
                        }
                    })
                })
                .unzip(),
        };
        Predictions {
            outputs,
            predicted,
            confidence,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.outputs.nrows()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.outputs.nrows() == 0
    }

    /// Whether row `row` is predicted correctly, when the true class is known.
    pub fn is_correct(&self, row: usize, truth: Option<&[usize]>) -> Option<bool> {
        Some(truth?.get(row)? == self.predicted.get(row)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn argmax_and_confidence() {
        let task = Task::Classification {
            class_names: vec!["a".into(), "b".into()],
            positive_class: None,
        };
        let p = Predictions::from_outputs(array![[0.2, 0.8], [0.9, 0.1], [f32::NAN, 0.3]], &task);
        assert_eq!(p.predicted, vec![1, 0, 1]);
        assert_eq!(p.confidence, vec![0.8, 0.9, 0.3]);
        assert_eq!(p.is_correct(0, Some(&[1, 1, 1])), Some(true));
        assert_eq!(p.is_correct(1, Some(&[1, 1, 1])), Some(false));
        assert_eq!(p.is_correct(1, None), None);
    }
}
