//! The ONNX loader with its card: input is a little-endian u16 card length, the card's JSON,
//! then the model's bytes. A model that loads is run on three rows, as `loupe predict` would,
//! and tree ensembles are explained with TreeSHAP. The seeds include the conformance corpus, so
//! the scikit-learn encoders, imputers, SVMs and DataFrame-style inputs are mutated too.
#![no_main]

use std::path::Path;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use loupe::explain::Link;
use loupe::explain::background::Background;
use loupe::explain::tree::TreeShap;
use loupe::model::{ModelCard, OnnxModel};
use ndarray::Array2;

fuzz_target!(|data: &[u8]| {
    loupe_fuzz::guard_aware_panics();
    if data.len() < 2 {
        return;
    }
    let card_len = u16::from_le_bytes([data[0], data[1]]) as usize;
    let rest = &data[2..];
    let (card, model) = rest.split_at(card_len.min(rest.len()));
    let card = if card.is_empty() {
        None
    } else {
        let Ok(text) = std::str::from_utf8(card) else {
            return;
        };
        let Ok(card) = ModelCard::from_json(text) else {
            return;
        };
        Some(card)
    };
    // External data must stay inside this (absent) folder.
    let dir = Path::new("/nonexistent/loupe-fuzz/models");
    let model = match OnnxModel::from_bytes(model, card, "fuzz.onnx", Some(dir)) {
        Ok(model) => model,
        Err(e) => return loupe_fuzz::note(&format!("refused: {}", first_words(&e.to_string()))),
    };
    let _ = loupe::session::image_shape(&model);
    let width = model.n_features();
    if width == 0 || width > 1 << 16 {
        return;
    }
    let mut x = Array2::<f32>::zeros((3, width));
    x.row_mut(1).fill(1.0);
    x.row_mut(2).fill(-1e30);
    // A text column is fed its categories' codes: row 0 takes the first category, the others
    // codes no category has.
    for (c, column) in model.input_columns().unwrap_or_default().iter().enumerate() {
        if let Some((_, code)) = column.categories.as_ref().and_then(|cats| cats.first()) {
            x[[0, c]] = *code;
        }
    }
    match model.predict(x.view()) {
        Ok(p) => {
            assert_eq!(p.nrows(), 3);
            assert_eq!(p.ncols(), model.n_outputs());
            loupe_fuzz::note("predicted");
        }
        Err(e) => loupe_fuzz::note(&format!(
            "loaded, predict refused: {}",
            first_words(&e.to_string())
        )),
    }
    if let Some(trees) = model.trees() {
        let Ok(background) = Background::all(x.view()) else {
            return;
        };
        for link in [Link::Identity, Link::Logit] {
            if let Ok(shap) = TreeShap::interventional(Arc::clone(trees), &background, link) {
                let _ = shap.raw_attributions(x.row(1).as_slice().unwrap_or_default());
                loupe_fuzz::note("trees explained");
            }
        }
    }
});

/// The start of a message, to group notes by kind.
fn first_words(message: &str) -> String {
    message
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ")
}
