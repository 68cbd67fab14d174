//! The optional model card, `<model>.card.json` beside the model (or the same keys in the ONNX
//! `metadata_props`). Everything in it overrides an inferred default; nothing in it is required.

use serde::{Deserialize, Serialize};

/// What a card may say about a model. Unknown keys are ignored so cards can carry extra notes.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct ModelCard {
    /// `classification` or `regression`.
    pub task: Option<String>,
    /// One name per class, in the order of the model's score columns.
    pub class_names: Option<Vec<String>>,
    /// The class a clinician cares about (e.g. `malignant`).
    pub positive_class: Option<String>,
    /// One name per input feature, used to match data columns by name.
    pub feature_names: Option<Vec<String>>,
    /// Name of the output that holds the scores.
    pub output: Option<String>,
    /// Image input layout and normalisation.
    pub image: Option<ImageSpec>,
    /// Free text shown in the app and the report.
    pub description: Option<String>,
    /// How the report names a feature (`{"worst concave points": "concave points (worst)"}`);
    /// features not listed keep their data name.
    pub display_names: Option<std::collections::BTreeMap<String, String>>,
    /// Units of features, by data name (`{"mean area": "µm²"}`).
    pub units: Option<std::collections::BTreeMap<String, String>>,
    /// What one row is, for sentences such as "higher than 94% of patients" (default `row`).
    pub subject: Option<String>,
    /// For image models: the tensor holding the last convolutional activations, for Score-CAM.
    pub cam_layer: Option<String>,
    /// The data column that names each case (`patient_id`), shown beside the row number and
    /// never used as a feature; by default a column named like one (`id`, `case`, `…_id`).
    pub id_column: Option<String>,
    /// Columns explained as one player (`{"city": ["city_a", "city_b"]}`): the Shapley value
    /// of the group, not a sum of its columns' values.
    pub groups: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// Numeric columns that are categories (`["ward", "admission_type"]`): shown as
    /// categories, with their share of the reference rows instead of a percentile, searched
    /// by category in counterfactuals and error slices. The model still reads the numbers.
    pub categorical: Option<Vec<String>>,
}

/// How an image is turned into the model's input tensor.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct ImageSpec {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub channels: Option<u32>,
    /// `NCHW` or `NHWC`.
    pub layout: Option<String>,
    pub mean: Option<Vec<f32>>,
    pub std: Option<Vec<f32>>,
    /// How a photo of another size reaches the input size, as the training pipeline did:
    /// `stretch` (the default), `center_crop` (the shorter side scaled to `resize_shorter`,
    /// then the centre cut out: torchvision's `Resize(256)` + `CenterCrop(224)`) or `pad`
    /// (scaled to fit, the rest black).
    pub resize: Option<String>,
    /// For `center_crop`: the shorter side's length before the crop (default: the input's
    /// larger side, a crop of the whole centre square).
    pub resize_shorter: Option<u32>,
    /// `nearest`, `bilinear` (the default), `bicubic` or `lanczos`.
    pub interpolation: Option<String>,
    /// The colours of saliency maps over these images: `red-blue` (the default),
    /// `green-magenta` or `orange-purple` (for images whose own content is red or blue).
    pub palette: Option<String>,
}

impl ModelCard {
    /// Parses a card from JSON text; the error says what is wrong and where.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Builds a card from ONNX `metadata_props`: each key holds a JSON value (a list may also be
    /// written comma-separated). Keys that do not parse are ignored rather than fatal, since
    /// exporters put all kinds of things there.
    pub fn from_metadata<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut card = ModelCard::default();
        for (key, value) in props {
            let list = || parse_list(value);
            let text = || Some(value.trim().to_string()).filter(|s| !s.is_empty());
            match key {
                "task" => card.task = text(),
                "class_names" => card.class_names = list(),
                "positive_class" => card.positive_class = text(),
                "feature_names" => card.feature_names = list(),
                "output" => card.output = text(),
                "description" => card.description = text(),
                "image" => card.image = serde_json::from_str(value).ok(),
                "display_names" => card.display_names = serde_json::from_str(value).ok(),
                "units" => card.units = serde_json::from_str(value).ok(),
                "subject" => card.subject = text(),
                "cam_layer" => card.cam_layer = text(),
                "id_column" => card.id_column = text(),
                "groups" => card.groups = serde_json::from_str(value).ok(),
                "categorical" => card.categorical = list(),
                _ => {}
            }
        }
        card
    }

    /// Fills every field this card leaves empty from `other`.
    pub fn or(self, other: ModelCard) -> ModelCard {
        ModelCard {
            task: self.task.or(other.task),
            class_names: self.class_names.or(other.class_names),
            positive_class: self.positive_class.or(other.positive_class),
            feature_names: self.feature_names.or(other.feature_names),
            output: self.output.or(other.output),
            image: self.image.or(other.image),
            description: self.description.or(other.description),
            display_names: self.display_names.or(other.display_names),
            units: self.units.or(other.units),
            subject: self.subject.or(other.subject),
            cam_layer: self.cam_layer.or(other.cam_layer),
            id_column: self.id_column.or(other.id_column),
            groups: self.groups.or(other.groups),
            categorical: self.categorical.or(other.categorical),
        }
    }

    /// The name a report uses for the feature `name`.
    pub fn display_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.display_names
            .as_ref()
            .and_then(|d| d.get(name))
            .map_or(name, String::as_str)
    }

    /// The unit of feature `name`, if the card gives one.
    pub fn unit(&self, name: &str) -> Option<&str> {
        self.units.as_ref()?.get(name).map(String::as_str)
    }
}

fn parse_list(value: &str) -> Option<Vec<String>> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(value) {
        return Some(list);
    }
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    (items.iter().all(|s| !s.is_empty()) && !value.trim().is_empty()).then_some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_lists_parse_as_json_or_commas() {
        let card = ModelCard::from_metadata([
            ("class_names", r#"["a", "b, c"]"#),
            ("feature_names", "x1, x2,x3"),
            ("unrelated", "whatever"),
        ]);
        assert_eq!(card.class_names.unwrap(), vec!["a", "b, c"]);
        assert_eq!(card.feature_names.unwrap(), vec!["x1", "x2", "x3"]);
    }

    #[test]
    fn card_with_wrong_type_is_an_error() {
        let err = ModelCard::from_json(r#"{"class_names": "malignant"}"#).unwrap_err();
        assert!(err.contains("expected a sequence"), "{err}");
    }

    #[test]
    fn file_card_wins_over_metadata() {
        let file = ModelCard {
            task: Some("regression".into()),
            ..Default::default()
        };
        let meta = ModelCard {
            task: Some("classification".into()),
            description: Some("d".into()),
            ..Default::default()
        };
        let merged = file.or(meta);
        assert_eq!(merged.task.as_deref(), Some("regression"));
        assert_eq!(merged.description.as_deref(), Some("d"));
    }
}
