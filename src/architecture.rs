//! The house rules, checked on the source tree: imports point down the pipeline (model and
//! data at the bottom, then explain, analysis, plot, then session, export and report, with
//! the front ends on top), nothing imports the window, the window uses no model internals,
//! and no source file passes 600 lines.

use std::path::{Path, PathBuf};

/// Longest source file, in lines.
const MAX_LINES: usize = 600;

/// For each folder of `src/`, the modules its code must not import.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "model",
        &[
            "data", "explain", "analysis", "plot", "session", "export", "report", "app", "cli",
        ],
    ),
    (
        "data",
        &[
            "model", "explain", "analysis", "plot", "session", "export", "report", "app", "cli",
        ],
    ),
    (
        "explain",
        &[
            "analysis", "plot", "session", "export", "report", "app", "cli",
        ],
    ),
    (
        "analysis",
        &["plot", "session", "export", "report", "app", "cli"],
    ),
    ("plot", &["session", "export", "report", "app", "cli"]),
    ("session", &["app", "cli"]),
    ("export", &["app", "cli"]),
    ("report", &["app", "cli"]),
    ("cli", &["app"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `crate::<module>` a file names, with its line number (comments left out).
fn imports(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let name: String = rest[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push((i + 1, name));
            rest = &rest[at + 7..];
        }
    }
    out
}

#[test]
fn imports_point_down_the_pipeline() {
    let mut broken = Vec::new();
    for (folder, forbidden) in FORBIDDEN {
        let mut files = Vec::new();
        rust_files(&src().join(folder), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, module) in imports(&text) {
                if forbidden.contains(&module.as_str()) {
                    broken.push(format!("{}:{line} uses crate::{module}", file.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "upward imports:\n{}", broken.join("\n"));
}

#[test]
fn nothing_imports_the_window_and_the_window_uses_no_model_internals() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let app = src().join("app");
    let mut broken = Vec::new();
    for file in files
        .into_iter()
        // Test-only modules at the crate root (this one, the registry's) may drive the window.
        .filter(|f| {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            !(f.parent() == Some(src().as_path())
                && (name == "architecture.rs" || name.ends_with("_tests.rs")))
        })
    {
        let text = std::fs::read_to_string(&file).unwrap();
        let in_app = file.starts_with(&app);
        for (line, code) in text.lines().enumerate() {
            let code = code.split("//").next().unwrap_or_default();
            if !in_app && code.contains("crate::app") {
                broken.push(format!("{}:{} uses the window", file.display(), line + 1));
            }
            // `crate::model::Task` is the model's public face; `crate::model::trees::…` is
            // inside it.
            if in_app
                && let Some(at) = code.find("crate::model::")
                && code[at + 14..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase())
            {
                broken.push(format!(
                    "{}:{} uses a model internal",
                    file.display(),
                    line + 1
                ));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn no_source_file_passes_six_hundred_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).ok()?.lines().count();
            (n > MAX_LINES).then(|| format!("{} has {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these files:\n{}", long.join("\n"));
}

#[test]
fn the_checker_sees_an_upward_import() {
    let found = imports("use crate::model::OnnxModel; // crate::app\nlet x = crate::analysis::y;");
    assert_eq!(
        found,
        vec![(1, "model".to_string()), (2, "analysis".to_string())]
    );
}
