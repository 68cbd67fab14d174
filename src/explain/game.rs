//! The coalition game of interventional Shapley values. For a row `x`, a background of rows
//! `b` with weights `w` and an explained output `g = link ∘ f[target]`:
//! `v(S) = Σ_b w_b · g(x_S, b_¬S)`. `v(∅)` is the base value, `v(all)` the output value.
//!
//! Every model call of every explainer goes through [`Game::values`], which builds the hybrid
//! rows of many coalitions at once and runs them through the model in parallel batches.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ndarray::{Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;

use super::{Background, ExplainError};
use crate::model::OnnxModel;

/// Rows per call of the model; masks are grouped to about this many hybrid rows.
const ROWS_PER_CHUNK: usize = 1 << 16;

/// The space an output is explained in.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Link {
    /// The output itself: a probability, or a regression value.
    #[default]
    Identity,
    /// The log-odds of a probability, log(p / (1 − p)).
    Logit,
}

impl Link {
    /// Applies the link to a model output.
    pub fn apply(self, p: f32) -> f64 {
        match self {
            Link::Identity => p as f64,
            Link::Logit => {
                // Clamped so a saturated probability gives a large, finite log-odds.
                let p = (p as f64).clamp(1e-12, 1.0 - 1e-12);
                (p / (1.0 - p)).ln()
            }
        }
    }

    /// The name used on the command line and in outputs.
    pub fn name(self) -> &'static str {
        match self {
            Link::Identity => "identity",
            Link::Logit => "logit",
        }
    }
}

/// Anything that predicts batches of rows: the ONNX model, or a closed form in tests.
pub trait Predict: Sync {
    /// Outputs for every row of `x` (rows × outputs).
    fn predict(&self, x: ArrayView2<f32>) -> Result<Array2<f32>, crate::model::ModelError>;

    /// Outputs for `rows` rows of `width` values that `fill(first_row, buffer)` writes in
    /// pieces. The default builds the whole matrix; the ONNX model fills its batches in place.
    fn predict_generated(
        &self,
        rows: usize,
        width: usize,
        fill: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) -> Result<Array2<f32>, crate::model::ModelError> {
        let mut x = vec![0f32; rows * width];
        fill(0, &mut x);
        let x = Array2::from_shape_vec((rows, width), x)
            .map_err(|e| crate::model::ModelError::Invalid(e.to_string()))?;
        self.predict(x.view())
    }
}

impl Predict for OnnxModel {
    fn predict(&self, x: ArrayView2<f32>) -> Result<Array2<f32>, crate::model::ModelError> {
        OnnxModel::predict(self, x)
    }

    fn predict_generated(
        &self,
        rows: usize,
        width: usize,
        fill: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) -> Result<Array2<f32>, crate::model::ModelError> {
        OnnxModel::predict_generated(self, rows, width, fill)
    }
}

/// Reports work done and asks whether to stop. The CLI draws a bar, the window a progress
/// widget; the engine only sees this.
pub trait Progress: Sync {
    /// `n` more model rows were evaluated.
    fn advance(&self, _n: u64) {}
    /// One more row is fully explained.
    fn row_done(&self) {}
    /// True when the user asked to stop.
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// Progress that nobody watches.
pub struct NoProgress;
impl Progress for NoProgress {}

/// A shared cancel flag is the simplest progress: it only answers "stop?".
impl Progress for AtomicBool {
    fn is_cancelled(&self) -> bool {
        self.load(Ordering::Relaxed)
    }
}

/// One row's coalition game, for one or more explained outputs.
pub struct Game<'a> {
    model: &'a dyn Predict,
    x: ArrayView1<'a, f32>,
    background: &'a Background,
    targets: Vec<usize>,
    link: Link,
    progress: &'a dyn Progress,
    calls: AtomicU64,
    /// Columns of each player, when some play as a group.
    players: Option<&'a super::Players>,
}

impl<'a> Game<'a> {
    /// The game of row `x` against `background`, explaining outputs `targets` through `link`.
    pub fn new(
        model: &'a dyn Predict,
        x: ArrayView1<'a, f32>,
        background: &'a Background,
        targets: Vec<usize>,
        link: Link,
        progress: &'a dyn Progress,
    ) -> Self {
        Game {
            model,
            x,
            background,
            targets,
            link,
            progress,
            calls: AtomicU64::new(0),
            players: None,
        }
    }

    /// The same game with `players` (groups of the row's columns) as its players.
    pub fn with_players(self, players: Option<&'a super::Players>) -> Self {
        Game {
            players: players.filter(|p| p.is_grouped()),
            ..self
        }
    }

    /// Number of players: the row's features, or the groups they were declared in.
    pub fn n_features(&self) -> usize {
        self.players.map_or(self.x.len(), |p| p.len())
    }

    /// True when some player is a group of columns.
    pub fn is_grouped(&self) -> bool {
        self.players.is_some()
    }

    /// The explained row.
    pub fn x(&self) -> ArrayView1<'a, f32> {
        self.x
    }

    /// The reference rows.
    pub fn background(&self) -> &'a Background {
        self.background
    }

    /// The explained outputs (score columns).
    pub fn targets(&self) -> &[usize] {
        &self.targets
    }

    /// The space outputs are explained in.
    pub fn link(&self) -> Link {
        self.link
    }

    /// True when the user asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.progress.is_cancelled()
    }

    /// Number of explained outputs.
    pub fn n_targets(&self) -> usize {
        self.targets.len()
    }

    /// Model rows evaluated so far.
    pub fn model_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Counts `rows` model rows evaluated outside [`Game::values`] (a gradient method's
    /// passes through the graph), for the totals and progress.
    pub fn count_rows(&self, rows: u64) {
        self.calls.fetch_add(rows, Ordering::Relaxed);
        self.progress.advance(rows);
    }

    /// `v(S)` of each coalition (rows of `masks`, true = the feature comes from `x`), for each
    /// target: coalitions × targets.
    pub fn values(&self, masks: ArrayView2<bool>) -> Result<Array2<f64>, ExplainError> {
        let m = self.n_features();
        if masks.ncols() != m {
            return Err(ExplainError::Invalid(format!(
                "mask has {} features, row has {m}",
                masks.ncols()
            )));
        }
        let n_bg = self.background.len();
        let per_chunk = (ROWS_PER_CHUNK / n_bg).max(1);
        let starts: Vec<usize> = (0..masks.nrows()).step_by(per_chunk).collect();
        let parts = starts
            .par_iter()
            .map(|&start| {
                let end = (start + per_chunk).min(masks.nrows());
                self.chunk_values(masks.slice(ndarray::s![start..end, ..]))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Array2::zeros((masks.nrows(), self.targets.len()));
        for (&start, part) in starts.iter().zip(parts) {
            out.slice_mut(ndarray::s![start..start + part.nrows(), ..])
                .assign(&part);
        }
        Ok(out)
    }

    fn chunk_values(&self, masks: ArrayView2<bool>) -> Result<Array2<f64>, ExplainError> {
        if self.progress.is_cancelled() {
            return Err(ExplainError::Cancelled);
        }
        let (n_masks, m, n_bg) = (masks.nrows(), self.x.len(), self.background.len());
        let bg = self.background.rows.as_standard_layout();
        let bg = bg.as_slice().unwrap_or_default();
        let x: Vec<f32> = self.x.to_vec();
        let members = self.coalition_columns(masks);
        // Hybrid row r is background row r % n_bg with coalition r / n_bg taken from x: copy
        // the background row, then overwrite the coalition's columns.
        let fill = |first: usize, out: &mut [f32]| {
            for (i, row) in out.chunks_exact_mut(m).enumerate() {
                let r = first + i;
                let b = r % n_bg;
                row.copy_from_slice(&bg[b * m..(b + 1) * m]);
                for &j in &members[r / n_bg] {
                    row[j] = x[j];
                }
            }
        };
        let outputs = self.model.predict_generated(n_masks * n_bg, m, &fill)?;
        let rows = (n_masks * n_bg) as u64;
        self.calls.fetch_add(rows, Ordering::Relaxed);
        self.progress.advance(rows);
        let weights = &self.background.weights;
        Ok(Array2::from_shape_fn(
            (n_masks, self.targets.len()),
            |(i, k)| {
                let t = self.targets[k];
                (0..n_bg)
                    .map(|b| weights[b] * self.link.apply(outputs[[i * n_bg + b, t]]))
                    .sum()
            },
        ))
    }

    /// The explained outputs of each background row as it is (background rows × targets):
    /// `v(∅)` is their weighted mean.
    pub fn background_outputs(&self) -> Result<Array2<f64>, ExplainError> {
        if self.progress.is_cancelled() {
            return Err(ExplainError::Cancelled);
        }
        let (m, n_bg) = (self.x.len(), self.background.len());
        let bg = self.background.rows.as_standard_layout();
        let bg = bg.as_slice().unwrap_or_default();
        let fill = |first: usize, out: &mut [f32]| {
            out.copy_from_slice(&bg[first * m..first * m + out.len()]);
        };
        let outputs = self.model.predict_generated(n_bg, m, &fill)?;
        self.calls.fetch_add(n_bg as u64, Ordering::Relaxed);
        self.progress.advance(n_bg as u64);
        Ok(Array2::from_shape_fn(
            (n_bg, self.targets.len()),
            |(b, k)| self.link.apply(outputs[[b, self.targets[k]]]),
        ))
    }

    /// Estimates of `v(S)` from a sample of the background: coalition `i` (row `i` of `masks`)
    /// is evaluated against background rows `rows[i]` only, each weighing the same (a sample
    /// drawn with probabilities proportional to the weights, such as [`systematic_sample`],
    /// makes the mean unbiased). Coalitions × targets.
    pub fn sampled_values(
        &self,
        masks: ArrayView2<bool>,
        rows: &[Vec<u32>],
    ) -> Result<Array2<f64>, ExplainError> {
        let m = self.n_features();
        if masks.ncols() != m || rows.len() != masks.nrows() {
            return Err(ExplainError::Invalid(format!(
                "{} masks of {} features and {} row samples for a row of {m} features",
                masks.nrows(),
                masks.ncols(),
                rows.len()
            )));
        }
        let n_bg = self.background.len();
        if let Some(bad) = rows.iter().flatten().find(|&&b| b as usize >= n_bg) {
            return Err(ExplainError::Invalid(format!(
                "background row {bad} of {n_bg}"
            )));
        }
        // Consecutive coalitions grouped to about ROWS_PER_CHUNK hybrid rows per model call.
        let mut starts = vec![0];
        let mut filled = 0;
        for (i, r) in rows.iter().enumerate() {
            if filled > 0 && filled + r.len() > ROWS_PER_CHUNK {
                starts.push(i);
                filled = 0;
            }
            filled += r.len();
        }
        let bounds: Vec<(usize, usize)> = starts
            .iter()
            .zip(starts.iter().skip(1).chain([&masks.nrows()]))
            .map(|(&a, &b)| (a, b))
            .filter(|(a, b)| a < b)
            .collect();
        let parts = bounds
            .par_iter()
            .map(|&(start, end)| {
                self.sampled_chunk(masks.slice(ndarray::s![start..end, ..]), &rows[start..end])
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Array2::zeros((masks.nrows(), self.targets.len()));
        for (&(start, end), part) in bounds.iter().zip(parts) {
            out.slice_mut(ndarray::s![start..end, ..]).assign(&part);
        }
        Ok(out)
    }

    fn sampled_chunk(
        &self,
        masks: ArrayView2<bool>,
        rows: &[Vec<u32>],
    ) -> Result<Array2<f64>, ExplainError> {
        if self.progress.is_cancelled() {
            return Err(ExplainError::Cancelled);
        }
        let m = self.x.len();
        let bg = self.background.rows.as_standard_layout();
        let bg = bg.as_slice().unwrap_or_default();
        let x: Vec<f32> = self.x.to_vec();
        let members = self.coalition_columns(masks);
        // Hybrid row r: its coalition and background row.
        let hybrid: Vec<(usize, usize)> = rows
            .iter()
            .enumerate()
            .flat_map(|(i, r)| r.iter().map(move |&b| (i, b as usize)))
            .collect();
        let fill = |first: usize, out: &mut [f32]| {
            for (row, &(i, b)) in out.chunks_exact_mut(m).zip(&hybrid[first..]) {
                row.copy_from_slice(&bg[b * m..(b + 1) * m]);
                for &j in &members[i] {
                    row[j] = x[j];
                }
            }
        };
        let outputs = self.model.predict_generated(hybrid.len(), m, &fill)?;
        self.calls.fetch_add(hybrid.len() as u64, Ordering::Relaxed);
        self.progress.advance(hybrid.len() as u64);
        let mut out = Array2::zeros((masks.nrows(), self.targets.len()));
        for (r, &(i, _)) in hybrid.iter().enumerate() {
            for (k, &t) in self.targets.iter().enumerate() {
                out[[i, k]] += self.link.apply(outputs[[r, t]]);
            }
        }
        for (i, r) in rows.iter().enumerate() {
            out.row_mut(i).mapv_inplace(|v| v / r.len().max(1) as f64);
        }
        Ok(out)
    }

    /// The row's columns each coalition (a row of `masks`, one entry per player) takes from
    /// `x`: its players' columns.
    fn coalition_columns(&self, masks: ArrayView2<bool>) -> Vec<Vec<usize>> {
        masks
            .outer_iter()
            .map(|mask| match self.players {
                None => (0..self.x.len()).filter(|&j| mask[j]).collect(),
                Some(players) => (0..players.len())
                    .filter(|&p| mask[p])
                    .flat_map(|p| players.members(p).iter().copied())
                    .collect(),
            })
            .collect()
    }

    /// `v(∅)` and `v(all)` per target: the base and output values.
    pub fn endpoints(&self) -> Result<(Vec<f64>, Vec<f64>), ExplainError> {
        let m = self.n_features();
        let masks = Array2::from_shape_fn((2, m), |(i, _)| i == 1);
        let v = self.values(masks.view())?;
        Ok((v.row(0).to_vec(), v.row(1).to_vec()))
    }
}

/// Draws the background rows one coalition (or one permutation walk) is evaluated against:
/// `per_draw` rows by systematic sampling along the background sorted by its own output for
/// the first target, so every draw spans the range of the outputs.
pub struct RowSampler {
    order: Vec<u32>,
    cumulative: Vec<f64>,
    pub per_draw: usize,
}

impl RowSampler {
    /// `outputs` as [`Game::background_outputs`] gives them.
    pub fn new(background: &Background, outputs: &Array2<f64>, per_draw: usize) -> Self {
        let mut order: Vec<u32> = (0..background.len() as u32).collect();
        order.sort_by(|&a, &b| {
            outputs[[a as usize, 0]]
                .total_cmp(&outputs[[b as usize, 0]])
                .then(a.cmp(&b))
        });
        let mut total = 0.0;
        let cumulative = order
            .iter()
            .map(|&b| {
                total += background.weights[b as usize];
                total
            })
            .collect();
        RowSampler {
            order,
            cumulative,
            per_draw: per_draw.max(1),
        }
    }

    /// One draw of `per_draw` rows.
    pub fn draw(&self, rng: &mut impl rand::Rng) -> Vec<u32> {
        let u = rng.random::<f64>();
        systematic_sample(&self.order, &self.cumulative, self.per_draw, u)
    }
}

/// `n` background rows drawn by systematic sampling along `order` (the rows sorted by a
/// variable the game's values follow, such as each row's own output): the cumulative weights
/// are cut at `(u + i) / n`, so row `b` is drawn `n·w_b` times in expectation and each stretch of
/// `1/n` of the weight gives one row (a stratified sample). `cumulative[i]` is the weight of
/// `order[..=i]`.
pub fn systematic_sample(order: &[u32], cumulative: &[f64], n: usize, u: f64) -> Vec<u32> {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let last = order.len().saturating_sub(1);
    (0..n)
        .map(|i| {
            let point = (u + i as f64) / n as f64 * total;
            let at = cumulative.partition_point(|&c| c <= point).min(last);
            order[at]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systematic_sample_draws_each_row_in_proportion_to_its_weight() {
        // Weights 0.1, 0.2, 0.3, 0.4 along the order 3, 1, 0, 2.
        let order = [3, 1, 0, 2];
        let cumulative = [0.4, 0.6, 0.7, 1.0];
        let mut counts = [0usize; 4];
        let draws = 1000;
        for k in 0..draws {
            let u = (k as f64 + 0.5) / draws as f64;
            let s = systematic_sample(&order, &cumulative, 5, u);
            assert_eq!(s.len(), 5);
            for b in s {
                counts[b as usize] += 1;
            }
        }
        // Row 3 weighs 0.4: 2 draws of 5 for every u.
        let expected = [0.1, 0.2, 0.3, 0.4].map(|w: f64| w * 5.0 * draws as f64);
        for (c, e) in counts.iter().zip(expected) {
            assert!((*c as f64 - e).abs() <= 1.0, "{counts:?} vs {expected:?}");
        }
        assert_eq!(systematic_sample(&order, &cumulative, 2, 0.0), vec![3, 1]);
    }
}
