//! Loupe: open an ONNX model and a dataset and see why the model predicts what it does.
//!
//! The engine is a pipeline of modules, each usable as a library without the GUI:
//! [`model`] (ONNX → runnable model) and [`data`] (CSV, images → typed rows) at the bottom;
//! [`explain`] (the method registry and attributions), [`analysis`] (predictions, metrics),
//! [`plot`] (charts); [`session`] (a model matched to its data, and every use case written once),
//! [`export`] (files users keep) and [`report`] (the clinician's one-page report). The `app`
//! module (feature `gui`) and [`cli`] are thin front-ends over the same calls.

pub mod analysis;
pub mod assets;
pub mod cli;
pub mod data;
pub mod explain;
pub mod export;
pub mod guard;
pub mod model;
pub mod plot;
pub mod report;
pub mod sample;
pub mod saved;
pub mod session;

#[cfg(feature = "gui")]
pub mod app;

#[cfg(test)]
mod architecture;
#[cfg(all(test, feature = "gui"))]
mod registry_tests;

/// Lowercase hex of bytes (SHA-256 digests in files and cache keys).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` with its thousands separated by commas, for limits in messages ("268,435,456").
pub(crate) fn thousands(n: impl Into<u128>) -> String {
    let digits = n.into().to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// A number for a label: 3 significant digits, no trailing noise (charts, slices, reports).
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.2e}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_separated() {
        assert_eq!(super::thousands(0u8), "0");
        assert_eq!(super::thousands(999u16), "999");
        assert_eq!(super::thousands(1000u32), "1,000");
        assert_eq!(super::thousands(268_435_456u64), "268,435,456");
    }
}
