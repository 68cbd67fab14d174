//! tract plans for the prepared graph: one with a symbolic batch, one specialised to full
//! batches, and the graph cut at the card's `cam_layer`; and how many rows a batch holds so
//! that it stays in cache and within Loupe's memory limit.

use std::sync::Arc;

use tract_onnx::pb::{self, ModelProto};
use tract_onnx::prelude::*;

use super::prepare::{MAX_VALUES_PER_ROW, prune_to, too_large};
use super::task::score_columns;
use crate::model::ModelError;
use crate::model::signature::{Dim, TensorInfo};

/// Rows per model call. Big enough to amortise tract's per-run overhead, small enough that a
/// few hundred rows still spread over every core.
const BATCH_ROWS: usize = 1024;

/// Values per batch for wide rows (images): tract's convolutions run fastest on small batches
/// that stay in cache (measured: 963 64×64×3 images take 470 ms in batches of 8, 660 ms in
/// batches of 32), and more batches spread over more cores. Narrow rows (tabular) keep
/// `BATCH_ROWS`.
const BATCH_VALUES: usize = 1 << 13;

/// Values the largest tensor of one batch may hold (1 GB of f32); batches shrink to fit.
const MAX_VALUES_PER_BATCH: u128 = 1 << 28;

/// Rows per batch for rows of `width` values: `BATCH_ROWS` for up to 128 values, else about
/// `BATCH_VALUES` values' worth (a power of two, at least 2); fewer when the graph's largest
/// tensor (`largest` values per row) would pass `MAX_VALUES_PER_BATCH`.
pub(super) fn batch_rows(width: usize, largest: u128) -> usize {
    let rows = if width <= 128 {
        BATCH_ROWS
    } else {
        let fit = (BATCH_VALUES / width).clamp(2, BATCH_ROWS);
        1 << fit.ilog2()
    };
    let fit = (MAX_VALUES_PER_BATCH / largest.max(1)).max(1);
    rows.min(fit.min(BATCH_ROWS as u128) as usize)
}

/// The plans of a prepared graph, with the number of score columns and rows per batch.
pub(super) struct Plans {
    pub(super) plan: Arc<TypedRunnableModel>,
    pub(super) full_batch_plan: Arc<TypedRunnableModel>,
    pub(super) raw_columns: usize,
    pub(super) rows_per_batch: usize,
}

/// Parses `proto` and builds its plans. Exporters write `value_info` that tract's analysis
/// rejects (torch's dynamo exporter; CatBoost names the batch `N`, which clashes with a fixed
/// batch): when the graph fails with it, it is tried again without — the facts tract infers
/// itself; the first error is the one reported if that fails too.
pub(super) fn plans(
    onnx: &tract_onnx::Onnx,
    proto: &ModelProto,
    dir: Option<&str>,
    row_shape: &[usize],
) -> Result<Plans, ModelError> {
    let has_value_info = proto
        .graph
        .as_ref()
        .is_some_and(|g| !g.value_info.is_empty());
    match plans_with(onnx, proto, dir, row_shape) {
        Err(first) if has_value_info => {
            let lenient = onnx.clone().with_ignore_value_info(true);
            plans_with(&lenient, proto, dir, row_shape).map_err(|_| first)
        }
        result => result,
    }
}

fn plans_with(
    onnx: &tract_onnx::Onnx,
    proto: &ModelProto,
    dir: Option<&str>,
    row_shape: &[usize],
) -> Result<Plans, ModelError> {
    let parsed = onnx
        .parse(proto, dir)
        .map_err(|e| ModelError::tract("reading the graph", e))?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(ModelError::Invalid(format!(
            "the graph uses tensors nothing produces: {}",
            parsed.unresolved_inputs.join(", ")
        )));
    }
    let (plan, raw_columns, largest) = batch_plan(parsed.model.clone(), None, row_shape)?;
    let rows_per_batch = batch_rows(row_shape.iter().product(), largest);
    let (full_batch_plan, _, _) = batch_plan(parsed.model, Some(rows_per_batch), row_shape)?;
    Ok(Plans {
        plan,
        full_batch_plan,
        raw_columns,
        rows_per_batch,
    })
}

/// Refuses a graph whose score tensor `score` computes `columns` values per row where the file
/// (its outputs or `value_info`, as exported) declares a different fixed width.
pub(super) fn check_declared_width(
    original: &ModelProto,
    score: &str,
    columns: usize,
) -> Result<(), ModelError> {
    let Some(graph) = original.graph.as_ref() else {
        return Ok(());
    };
    let declared = graph
        .output
        .iter()
        .chain(&graph.value_info)
        .filter(|v| v.name == score)
        .filter_map(|v| TensorInfo::of(v).shape)
        .find(|dims| dims.len() >= 2);
    let Some(dims) = declared else {
        return Ok(());
    };
    let width: Option<i64> = dims[1..]
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Some(*n),
            _ => None,
        })
        .product();
    match width {
        Some(w) if w != columns as i64 => Err(ModelError::Invalid(format!(
            "output `{score}` is declared with shape [{}] but the graph computes {columns} \
             values per row",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        _ => Ok(()),
    }
}

/// A runnable plan of `model` for batches of `rows` rows (any number when `None`), with the
/// number of score columns and the size of the graph's largest tensor per row. One plan with a
/// symbolic batch serves any number of rows; a second, specialised to full batches, lets tract
/// pick kernels for a known size on the hot path.
fn batch_plan(
    mut model: InferenceModel,
    rows: Option<usize>,
    row_shape: &[usize],
) -> Result<(Arc<TypedRunnableModel>, usize, u128), ModelError> {
    let batch: TDim = match rows {
        Some(n) => n.into(),
        None => model.symbols.sym("N").into(),
    };
    let mut dims = vec![batch];
    dims.extend(row_shape.iter().map(|&d| TDim::from(d)));
    model
        .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), dims))
        .map_err(|e| ModelError::tract("setting the input shape", e))?;
    let typed = model
        .into_typed()
        .map_err(|e| ModelError::tract("analysing the graph", e))?;
    let columns = score_columns(&typed)?;
    let largest = largest_tensor(&typed);
    if rows.is_none() && largest.1 > MAX_VALUES_PER_ROW {
        return Err(too_large(
            &largest.0,
            &crate::thousands(largest.1),
            " per row",
        ));
    }
    let plan = typed
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(|e| ModelError::tract("optimising the graph", e))?;
    Ok((plan, columns, largest.1))
}

/// The node computing the largest tensor per row, and its size in values (symbolic dimensions,
/// the batch, counted as 1). Weights and inputs are not computed, so not counted.
fn largest_tensor(model: &TypedModel) -> (String, u128) {
    model
        .nodes()
        .iter()
        .filter(|n| !n.inputs.is_empty())
        .flat_map(|n| n.outputs.iter().map(move |o| (n, o)))
        .map(|(n, o)| {
            let values = o.fact.shape.iter().fold(1u128, |acc, d| {
                let d = d.to_i64().map_or(1, |v| v.max(0) as u128);
                acc.saturating_mul(d)
            });
            (n.name.clone(), values)
        })
        .max_by_key(|(_, v)| *v)
        .unwrap_or_default()
}

/// The graph pruned to `layer`, as a plan with a symbolic batch.
pub(super) fn cam_plan(
    mut proto: ModelProto,
    layer: &str,
    row_shape: &[usize],
    onnx: &tract_onnx::Onnx,
    dir: Option<&str>,
) -> Result<Arc<TypedRunnableModel>, ModelError> {
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| ModelError::NotOnnx("the file holds no graph".into()))?;
    if !graph
        .node
        .iter()
        .any(|n| n.output.iter().any(|o| o == layer))
    {
        return Err(ModelError::Card(format!(
            "cam_layer `{layer}` is not a tensor of the graph"
        )));
    }
    graph.output = vec![pb::ValueInfoProto {
        name: layer.to_string(),
        ..Default::default()
    }];
    prune_to(graph, layer);
    // As for the score plans: value_info tract rejects is dropped, and the first error kept.
    cam_plan_with(onnx, &proto, row_shape, dir).or_else(|first| {
        let lenient = onnx.clone().with_ignore_value_info(true);
        cam_plan_with(&lenient, &proto, row_shape, dir).map_err(|_| first)
    })
}

fn cam_plan_with(
    onnx: &tract_onnx::Onnx,
    proto: &ModelProto,
    row_shape: &[usize],
    dir: Option<&str>,
) -> Result<Arc<TypedRunnableModel>, ModelError> {
    let parsed = onnx
        .parse(proto, dir)
        .map_err(|e| ModelError::tract("reading the graph up to cam_layer", e))?;
    let mut model = parsed.model;
    let mut dims = vec![TDim::from(model.symbols.sym("N"))];
    dims.extend(row_shape.iter().map(|&d| TDim::from(d)));
    model
        .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), dims))
        .map_err(|e| ModelError::tract("setting the input shape", e))?;
    let plan = model
        .into_typed()
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(|e| ModelError::tract("optimising the graph up to cam_layer", e))?;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_shrink_for_wide_rows_and_large_tensors() {
        assert_eq!(batch_rows(30, 64), BATCH_ROWS);
        assert_eq!(batch_rows(64 * 64 * 3, 64 * 64 * 16), 2);
        // A graph whose largest tensor is a million values per row: 256 rows make 1 GB.
        assert_eq!(batch_rows(30, 1 << 20), 256);
        assert_eq!(batch_rows(30, MAX_VALUES_PER_ROW), 1);
    }
}
