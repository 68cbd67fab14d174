//! Explaining a whole dataset (or a seeded sample of it) for one output, for the Global tab's
//! beeswarm, importance and dependence plots ([`Session::explain_dataset`]). The result is an ordinary attributions file, so
//! it is also what gets exported, and it is cached on disk under a key made of everything that
//! changes it: the model's and the data's SHA-256, the settings, the rows and the output.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::seq::index::sample;
use sha2::{Digest, Sha256};

use super::{Session, SessionError};
use crate::data::{Dataset, Labels};
use crate::explain::{ExplainSettings, Progress, Targets};
use crate::export::attributions::{AttributionsFile, BackgroundSource};

/// A dataset explained for one output.
#[derive(Clone, Debug)]
pub struct GlobalExplanation {
    pub file: AttributionsFile,
    /// The explained rows, ascending.
    pub rows: Vec<usize>,
    /// Attributions, rows × features (in `rows` order).
    pub values: Array2<f64>,
    /// Those rows' feature values.
    pub features: Array2<f32>,
}

impl GlobalExplanation {
    /// Reads the values back out of an attributions file of `data`'s rows.
    pub fn from_file(file: AttributionsFile, data: &Dataset) -> anyhow::Result<Self> {
        let m = data.feature_names.len();
        let rows: Vec<usize> = file.rows.iter().map(|r| r.row).collect();
        if let Some(bad) = file
            .rows
            .iter()
            .find(|r| r.row >= data.len() || r.values.len() != m)
        {
            anyhow::bail!(
                "the explanation of row {} does not fit the data ({} rows, {m} features)",
                bad.row,
                data.len()
            );
        }
        let values = Array2::from_shape_fn((rows.len(), m), |(i, j)| file.rows[i].values[j]);
        let features = data.x.select(Axis(0), &rows);
        Ok(GlobalExplanation {
            file,
            rows,
            values,
            features,
        })
    }
}

/// `n` rows of `total` drawn without replacement with `seed` (all rows when `n` is 0 or at
/// least `total`), ascending.
pub fn sample_rows(total: usize, n: usize, seed: u64) -> Vec<usize> {
    if n == 0 || n >= total {
        return (0..total).collect();
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut rows = sample(&mut rng, total, n).into_vec();
    rows.sort_unstable();
    rows
}

/// SHA-256 of a dataset's content: feature names, values, labels and split.
pub fn data_fingerprint(data: &Dataset) -> String {
    let mut h = Sha256::new();
    for name in &data.feature_names {
        h.update(name.as_bytes());
        h.update([0]);
    }
    for v in &data.x {
        h.update(v.to_le_bytes());
    }
    match &data.labels {
        Some(Labels::Classes(c)) => c.iter().for_each(|c| h.update((*c as u64).to_le_bytes())),
        Some(Labels::Values(v)) => v.iter().for_each(|v| h.update(v.to_le_bytes())),
        None => {}
    }
    if let Some(split) = &data.split {
        split.iter().for_each(|s| h.update([*s as u8]));
    }
    crate::hex(&h.finalize())
}

/// The cache key of a batch: everything that changes its result.
pub fn cache_key(
    session: &Session,
    settings: &ExplainSettings,
    background_file: Option<&Dataset>,
    rows: &[usize],
) -> String {
    let mut h = Sha256::new();
    h.update(session.model.sha256().as_bytes());
    if let Some(data) = &session.data {
        h.update(data_fingerprint(data).as_bytes());
    }
    if let Some(file) = background_file {
        h.update(b"background");
        h.update(data_fingerprint(file).as_bytes());
    }
    h.update(
        serde_json::to_string(settings)
            .unwrap_or_default()
            .as_bytes(),
    );
    if let Targets::Classes(c) = &settings.targets {
        h.update(format!("{c:?}").as_bytes());
    }
    for r in rows {
        h.update((*r as u64).to_le_bytes());
    }
    crate::hex(&h.finalize())
}

/// Where batches are cached: `$LOUPE_CACHE_DIR`, else the user's cache folder
/// (`$XDG_CACHE_HOME/loupe` or `~/.cache/loupe`).
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("LOUPE_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("loupe"))
}

fn cache_path(dir: &Path, key: &str) -> PathBuf {
    dir.join("global").join(format!("{key}.json"))
}

/// The batch cached in `dir` under `key`, if there is one that reads back.
pub fn load_cached(dir: &Path, key: &str) -> Option<AttributionsFile> {
    let text = std::fs::read_to_string(cache_path(dir, key)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Caches a batch in `dir` under `key`; a cache that cannot be written is not an error.
pub fn store(dir: &Path, key: &str, file: &AttributionsFile) {
    {
        let path = cache_path(dir, key);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = crate::export::atomic_write(&path, |w| file.write_json(w));
    }
}

/// A batch's result and whether it came from the cache.
pub struct Batch {
    pub explanation: GlobalExplanation,
    pub from_cache: bool,
}

/// What a dataset is explained with: settings, the background file if any, which rows, and
/// where batches are cached.
#[derive(Clone, Copy)]
pub struct DatasetRequest<'a> {
    pub settings: &'a ExplainSettings,
    /// A CSV whose every row is the background, instead of the reference rows.
    pub background_file: Option<&'a Dataset>,
    pub rows: &'a [usize],
    /// The cache folder; `None` computes without caching.
    pub cache: Option<&'a Path>,
}

impl Session {
    /// Explains `request.rows` of the session's data for `settings.targets`, from the cache
    /// when it has them, else computing them (and caching them there).
    pub fn explain_dataset(
        &self,
        request: &DatasetRequest,
        progress: &dyn Progress,
    ) -> Result<Batch, SessionError> {
        let data = self
            .data
            .as_ref()
            .ok_or_else(|| SessionError::NoData("open a dataset to explain it".into()))?;
        let DatasetRequest {
            settings,
            background_file,
            rows,
            cache,
        } = *request;
        // The dataset views (beeswarm, dependence) pair each column's values with its
        // attributions: every column plays alone here.
        let settings = &ExplainSettings {
            groups: Vec::new(),
            ..settings.clone()
        };
        let key = cache_key(self, settings, background_file, rows);
        if let Some(file) = cache.and_then(|dir| load_cached(dir, &key))
            && let Ok(explanation) = GlobalExplanation::from_file(file, data)
        {
            return Ok(Batch {
                explanation,
                from_cache: true,
            });
        }
        let background = self.background(settings, background_file)?;
        let explanations = self.explain(rows, settings, &background, progress)?;
        let file = AttributionsFile::build(
            self,
            settings,
            &BackgroundSource::of(settings, background_file),
            &self.data_name,
            &explanations,
        );
        if let Some(dir) = cache {
            store(dir, &key, &file);
        }
        Ok(Batch {
            explanation: GlobalExplanation::from_file(file, data)?,
            from_cache: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_seeded_sorted_and_capped() {
        assert_eq!(sample_rows(5, 0, 1), vec![0, 1, 2, 3, 4]);
        assert_eq!(sample_rows(5, 9, 1), vec![0, 1, 2, 3, 4]);
        let a = sample_rows(100, 10, 7);
        assert_eq!(a, sample_rows(100, 10, 7));
        assert_ne!(a, sample_rows(100, 10, 8));
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }
}
