//! Saved sessions: which model and data were open (paths and SHA-256), the explanation
//! settings, the tab and the selected row — a small JSON file. Opening one checks every file's
//! hash and says which changed since it was saved. The window saves one when it closes and
//! reopens it on the next start.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::explain::ExplainSettings;
use crate::session::{Origin, Source};

/// A file of the session and its hash when saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedFile {
    pub path: PathBuf,
    /// SHA-256 of the file (of the CSV, or of the folder's file list and contents).
    pub sha256: String,
}

/// What a session file holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedSession {
    pub version: u32,
    /// `None`: the bundled sample.
    pub model: Option<SavedFile>,
    pub data: Option<SavedFile>,
    pub label: Option<String>,
    #[serde(default)]
    pub explain: ExplainSettings,
    /// The centre tab, by name.
    #[serde(default)]
    pub tab: String,
    pub selected_row: Option<usize>,
    /// Where dataset-wide explanations are cached.
    pub cache_dir: Option<PathBuf>,
}

/// SHA-256 of a file, or of a folder's files (names and contents, in order).
pub fn hash_path(path: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    if path.is_dir() {
        let mut files = Vec::new();
        let mut stack = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let p = entry?.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        files.sort();
        for f in files {
            h.update(
                f.strip_prefix(path)
                    .unwrap_or(&f)
                    .to_string_lossy()
                    .as_bytes(),
            );
            h.update(std::fs::read(&f)?);
        }
    } else {
        h.update(std::fs::read(path)?);
    }
    Ok(crate::hex(&h.finalize()))
}

fn saved(origin: &Origin) -> std::io::Result<Option<SavedFile>> {
    match origin {
        Origin::Sample => Ok(None),
        Origin::File(p) => Ok(Some(SavedFile {
            path: std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()),
            sha256: hash_path(p)?,
        })),
    }
}

impl SavedSession {
    /// The session of `source` with these settings.
    pub fn of(
        source: &Source,
        explain: &ExplainSettings,
        tab: &str,
        selected_row: Option<usize>,
        cache_dir: Option<PathBuf>,
    ) -> std::io::Result<SavedSession> {
        Ok(SavedSession {
            version: 1,
            model: saved(&source.model)?,
            data: match &source.data {
                Some(d) => saved(d)?,
                None => None,
            },
            label: source.label.clone(),
            explain: explain.clone(),
            tab: tab.to_string(),
            selected_row,
            cache_dir,
        })
    }

    /// Writes the session as JSON, atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        crate::export::atomic_write(path, |w| crate::export::write_json(self, w))
    }

    /// Reads a session file; the source to open and a warning per file that changed since.
    pub fn load(path: &Path) -> anyhow::Result<(SavedSession, Source, Vec<String>)> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let session: SavedSession = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a Loupe session: {e}", path.display()))?;
        let mut warnings = Vec::new();
        let mut check = |f: &SavedFile| match hash_path(&f.path) {
            Ok(h) if h == f.sha256 => {}
            Ok(_) => warnings.push(format!(
                "{} changed since the session was saved (its SHA-256 differs)",
                f.path.display()
            )),
            Err(e) => warnings.push(format!("{}: {e}", f.path.display())),
        };
        session.model.iter().for_each(&mut check);
        session.data.iter().for_each(&mut check);
        let source = Source {
            model: session
                .model
                .as_ref()
                .map_or(Origin::Sample, |f| Origin::File(f.path.clone())),
            data: match (&session.model, &session.data) {
                (_, Some(f)) => Some(Origin::File(f.path.clone())),
                (None, None) => Some(Origin::Sample),
                (Some(_), None) => None,
            },
            label: session.label.clone(),
        };
        Ok((session, source, warnings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_round_trips_and_a_changed_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        let data = dir.path().join("d.csv");
        std::fs::write(&model, b"model bytes").unwrap();
        std::fs::write(&data, b"a,b\n1,2\n").unwrap();
        let source = Source::files(model.clone(), Some(data.clone()), Some("b".into()));
        let settings = ExplainSettings {
            seed: 9,
            ..Default::default()
        };
        let saved = SavedSession::of(
            &source,
            &settings,
            "Explain",
            Some(3),
            Some(dir.path().into()),
        )
        .unwrap();
        let file = dir.path().join("s.loupe.json");
        saved.save(&file).unwrap();
        let (back, reopened, warnings) = SavedSession::load(&file).unwrap();
        assert_eq!(back, saved);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(reopened.label.as_deref(), Some("b"));
        assert_eq!(back.explain.seed, 9);
        assert_eq!(back.selected_row, Some(3));
        std::fs::write(&data, b"a,b\n1,3\n").unwrap();
        let (_, _, warnings) = SavedSession::load(&file).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("d.csv changed since the session was saved"));
        // The sample is saved as the sample.
        let sample = SavedSession::of(&Source::sample(), &settings, "", None, None).unwrap();
        sample.save(&file).unwrap();
        assert_eq!(SavedSession::load(&file).unwrap().1, Source::sample());
    }
}
