//! Interventional TreeSHAP at scale, against `tools/bench_tree_scale.py` (which writes the
//! model, the rows and shap's values into WORK): 1,000 explained rows × 1,000 background rows,
//! with each algorithm — the walk per tree and group of background rows, and the leaf tables
//! of background patterns — timed from preparation to the last row (median of 3), their
//! largest difference, and the largest difference from shap's values.
//!
//!     cargo run --release --example bench_tree_scale -- /tmp/tree_scale

use std::time::Instant;

use loupe::explain::tree::Algorithm;
use loupe::explain::{Background, Link, TreeShap};
use loupe::model::OnnxModel;
use ndarray::Array2;
use rayon::prelude::*;

fn read_matrix(path: &std::path::Path) -> anyhow::Result<Array2<f32>> {
    let text = std::fs::read_to_string(path)?;
    let rows: Vec<Vec<f32>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse::<f32>()).collect())
        .collect::<Result<_, _>>()?;
    let m = rows.first().map_or(0, Vec::len);
    Ok(Array2::from_shape_vec((rows.len(), m), rows.concat())?)
}

fn main() -> anyhow::Result<()> {
    let work = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("usage: bench_tree_scale WORK"))?,
    );
    let model = OnnxModel::load(&work.join("model.onnx"))?;
    let trees = model
        .trees()
        .ok_or_else(|| anyhow::anyhow!("not a tree ensemble: {}", model.tree_note()))?
        .clone();
    let x = read_matrix(&work.join("x.csv"))?;
    let background = Background::all(read_matrix(&work.join("bg.csv"))?.view())?;
    let link = trees.margin_link().unwrap_or(Link::Identity);
    println!(
        "{} trees, {} nodes, {} features; {} rows × {} background rows; threads {}",
        trees.n_trees(),
        trees.nodes.len(),
        x.ncols(),
        x.nrows(),
        background.len(),
        rayon::current_num_threads()
    );
    let column = 1.min(model.n_outputs() - 1);
    let mut results: Vec<Vec<Vec<f64>>> = Vec::new();
    for algorithm in [Algorithm::Auto, Algorithm::Tables, Algorithm::Groups] {
        let mut times = Vec::new();
        let mut values = Vec::new();
        let mut chosen = None;
        for _ in 0..3 {
            let start = Instant::now();
            let shap = TreeShap::interventional_with(trees.clone(), &background, link, algorithm)?;
            let prepared = start.elapsed().as_secs_f64();
            values = (0..x.nrows())
                .into_par_iter()
                .map(|r| shap.attribution(x.row(r), &[column]).remove(0).values)
                .collect();
            times.push((start.elapsed().as_secs_f64(), prepared));
            chosen = shap.algorithm();
        }
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (total, prepared) = times[1];
        println!(
            "{:<6} ({}): {:.3} s for {} rows ({:.1} µs/row), of which preparation {:.3} s",
            format!("{algorithm:?}"),
            chosen.map_or("", |a| a.describe()),
            total,
            x.nrows(),
            total * 1e6 / x.nrows() as f64,
            prepared
        );
        results.push(values);
    }
    let worst = |a: &[Vec<f64>], b: &[Vec<f64>]| {
        a.iter()
            .zip(b)
            .flat_map(|(p, q)| p.iter().zip(q).map(|(x, y)| (x - y).abs()))
            .fold(0.0f64, f64::max)
    };
    println!(
        "largest difference, tables vs walks: {:.3e}",
        worst(&results[1], &results[2])
    );
    if let Ok(text) = std::fs::read_to_string(work.join("shap.json")) {
        let json: serde_json::Value = serde_json::from_str(&text)?;
        let theirs: Vec<Vec<f64>> = serde_json::from_value(json["shap_values"].clone())?;
        let per_row = json["seconds_per_row"].as_f64().unwrap_or(f64::NAN);
        println!(
            "shap {}: {:.1} µs/row over {} rows; largest difference from Loupe's tables: {:.3e}",
            json["shap"],
            per_row * 1e6,
            theirs.len(),
            worst(&results[1][..theirs.len()], &theirs)
        );
    }
    Ok(())
}
