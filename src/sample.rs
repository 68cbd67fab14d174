//! The bundled sample: the breast cancer MLP, its card and data, compiled into the binary so
//! `loupe` opens on them from any folder.

use crate::data::Table;
use crate::model::{ModelCard, OnnxModel};

/// File name of the bundled model.
pub const MODEL_NAME: &str = "breast_cancer_mlp.onnx";
/// File name of the bundled data.
pub const DATA_NAME: &str = "breast_cancer.csv";

const MODEL: &[u8] = include_bytes!("../sample_models/breast_cancer_mlp.onnx");
const CARD: &str = include_str!("../sample_models/breast_cancer_mlp.card.json");
const DATA: &[u8] = include_bytes!("../sample_models/breast_cancer.csv");

/// Loads the bundled model.
pub fn model() -> anyhow::Result<OnnxModel> {
    let card = ModelCard::from_json(CARD).map_err(|e| anyhow::anyhow!("bundled card: {e}"))?;
    Ok(OnnxModel::from_bytes(MODEL, Some(card), MODEL_NAME, None)?)
}

/// The bundled data as a table of text cells.
pub fn table() -> anyhow::Result<Table> {
    Ok(Table::from_reader(DATA_NAME, DATA)?)
}
