//! Loupe: open an ONNX model and a dataset and see why the model predicts what it does.
//!
//! The engine is a pipeline of modules, each usable as a library without the GUI:
//! [`model`] (ONNX → runnable model) → [`data`] (CSV → dataset matched to the model) →
//! [`explain`] (attributions) → [`analysis`] (predictions and metrics) → [`plot`] (charts) →
//! [`export`] (files users keep) and [`report`] (the clinician's one-page report). The `app` module
//! (feature `gui`) is a thin egui front-end over the same calls, as is the `loupe` command line.

pub mod analysis;
pub mod assets;
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
