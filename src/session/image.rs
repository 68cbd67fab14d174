//! Explaining images: each image's saliency map for its classes, the map's faithfulness
//! (deletion and insertion against random orders) and, on request, the model-randomisation
//! sanity checks (Adebayo et al. 2018): a random last layer, and the cascade that randomises
//! the layers from the output down — one path for the command line and the window.

use std::time::Instant;

use rayon::prelude::*;

use super::{Session, SessionError};
use crate::analysis::faithfulness::{Faithfulness, map_correlation};
use crate::analysis::randomisation::{CascadeStep, abs_rank_correlation};
use crate::explain::image::{ImageSettings, SaliencyMap};
use crate::explain::{ExplainError, Progress};

/// Steps of each deletion and insertion curve.
pub const FAITHFULNESS_STEPS: usize = 20;

/// What to compute for each image besides its map.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageRequest {
    pub settings: ImageSettings,
    /// Deletion and insertion curves.
    pub faithfulness: bool,
    /// The map under a model whose last layer is random (doubles the work).
    pub sanity: bool,
    /// The maps under the models whose layers are randomised from the output down, one more
    /// at each step (one more map per weighted layer).
    pub cascade: bool,
}

/// Most steps of the cascading randomisation.
pub const MAX_CASCADE_LAYERS: usize = 64;

impl ImageRequest {
    /// The model images one image's explanation takes, about: `map` for each map (the
    /// image's, the random last layer's and one per step of a cascade of `cascade_steps`),
    /// and the deletion and insertion curves.
    pub fn cost(&self, map: u64, cascade_steps: usize) -> u64 {
        let maps = 1
            + self.sanity as u64
            + if self.cascade {
                cascade_steps as u64
            } else {
                0
            };
        let curves = match self.faithfulness {
            true => {
                let orders = 1 + crate::analysis::faithfulness::RANDOM_ORDERS as u64;
                orders * 2 * (FAITHFULNESS_STEPS as u64 + 1)
            }
            false => 0,
        };
        maps * map + curves
    }
}

/// One image's saliency map for one class.
#[derive(Clone, Debug)]
pub struct ImageExplanation {
    pub row: usize,
    pub target: usize,
    pub map: SaliencyMap,
    pub faithfulness: Option<Faithfulness>,
    /// Correlation with the map under the model with a random last layer.
    pub randomized: Option<f64>,
    /// That map, to show beside this one.
    pub randomized_map: Option<SaliencyMap>,
    /// The cascading randomisation: the rank correlation of |map| with this one's as the
    /// layers are randomised from the output down.
    pub cascade: Option<Vec<CascadeStep>>,
    pub seconds: f64,
    pub settings: ImageSettings,
}

impl Session {
    /// Saliency maps of the images `rows` for `targets_of(row)`, with what `request` asks
    /// besides; images in parallel, each batching its own model calls.
    pub fn explain_images(
        &self,
        rows: &[usize],
        request: &ImageRequest,
        targets_of: &(dyn Fn(usize) -> Vec<usize> + Sync),
        progress: &dyn Progress,
    ) -> Result<Vec<ImageExplanation>, SessionError> {
        let data = self
            .data
            .as_ref()
            .ok_or_else(|| SessionError::NoData("open images to explain them".into()))?;
        let images = data
            .images
            .as_ref()
            .ok_or_else(|| SessionError::NoData(format!("{} is not image data", data.source)))?;
        if let Some(&bad) = rows.iter().find(|&&r| r >= data.len()) {
            return Err(SessionError::NoData(format!(
                "row {bad} is out of range: the data has {} images",
                data.len()
            )));
        }
        let settings = &request.settings;
        let shape = &images.shape;
        let explainer = settings.explainer(&self.model, shape)?;
        let random = match request.sanity {
            true => Some(self.model.with_randomized_last_layer(0)?),
            false => None,
        };
        let cascade_models = match request.cascade {
            true => self.model.cascading_randomisation(0, MAX_CASCADE_LAYERS)?,
            false => Vec::new(),
        };
        let per_row = rows
            .par_iter()
            .map(|&row| {
                let x = data.x.row(row).to_vec();
                let out = targets_of(row)
                    .into_iter()
                    .map(|target| {
                        let started = Instant::now();
                        let input = settings.input(&x, shape, target);
                        let map = explainer.explain(&self.model, &input, progress)?;
                        let faithfulness = match request.faithfulness {
                            true => Some(Faithfulness::measure(
                                &*self.model,
                                &input,
                                &map,
                                FAITHFULNESS_STEPS,
                                progress,
                            )?),
                            false => None,
                        };
                        let randomized_map = match &random {
                            Some(random) => Some(explainer.explain(random, &input, progress)?),
                            None => None,
                        };
                        let randomized = randomized_map.as_ref().map(|m| map_correlation(&map, m));
                        let cascade = match request.cascade {
                            true => Some(
                                cascade_models
                                    .iter()
                                    .enumerate()
                                    .map(|(k, (layer, model))| {
                                        let m = explainer.explain(model, &input, progress)?;
                                        Ok(CascadeStep {
                                            layer: layer.clone(),
                                            layers_randomised: k + 1,
                                            rank_correlation: abs_rank_correlation(&map, &m),
                                        })
                                    })
                                    .collect::<Result<Vec<_>, ExplainError>>()?,
                            ),
                            false => None,
                        };
                        Ok(ImageExplanation {
                            row,
                            target,
                            map,
                            faithfulness,
                            randomized,
                            randomized_map,
                            cascade,
                            seconds: started.elapsed().as_secs_f64(),
                            settings: settings.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>, ExplainError>>();
                progress.row_done();
                out
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(per_row.into_iter().flatten().collect())
    }
}
