//! Benchmark of the image explainers: occlusion (4×4 window, stride 2, zero baseline in the
//! model's input space) and superpixel KernelSHAP (1000 coalitions) per image, and pure batched
//! inference of as many images as occlusion sends, on the same machine as
//! `tools/bench_images.py` runs its numpy + onnxruntime loop and shap's Partition explainer.
//!
//!     cargo run --release --example bench_images -- sample_models/lesions_cnn.onnx \
//!         sample_models/lesions/lesions.csv 10

use std::time::Instant;

use loupe::explain::NoProgress;
use loupe::explain::image::occlusion::OCCLUSION;
use loupe::explain::image::superpixel::SUPERPIXEL;
use loupe::explain::image::{Baseline, ImageSettings};
use loupe::session::{Session, Source};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, data, n] = args.as_slice() else {
        anyhow::bail!("usage: bench_images MODEL DATA IMAGES");
    };
    let session = Session::load(&Source::files(model.into(), Some(data.into()), None))?;
    let dataset = session.data.clone().unwrap();
    let images = dataset
        .images
        .clone()
        .ok_or_else(|| anyhow::anyhow!("not images"))?;
    let rows: Vec<usize> = (0..dataset.len().min(n.parse()?)).collect();
    let predictions = session.predictions.clone().unwrap();
    println!(
        "model {model}: {}×{}×{} images, {} explained, threads {}",
        images.shape.height,
        images.shape.width,
        images.shape.channels,
        rows.len(),
        rayon::current_num_threads()
    );
    for (method, label) in [
        (OCCLUSION, "occlusion 4x4 stride 2"),
        (SUPERPIXEL, "superpixel SHAP 8x8 cells, 1000 coalitions"),
    ] {
        let settings = ImageSettings {
            method,
            baseline: Baseline::Zero,
            ..Default::default()
        }
        .with_param("window", 4.0)
        .with_param("stride", 2.0)
        .with_param("cells", 8.0)
        .with_param("samples", 1000.0);
        // One image at a time, as a user asks for them; each batches its own calls.
        let started = Instant::now();
        let mut calls = 0;
        for &r in &rows {
            let x = dataset.x.row(r).to_vec();
            let map = settings.explain(
                &session.model,
                &x,
                &images.shape,
                predictions.predicted[r],
                &NoProgress,
            )?;
            calls += map.model_calls;
        }
        let per_image = started.elapsed().as_secs_f64() * 1e3 / rows.len() as f64;
        let per_call = calls / rows.len() as u64;
        println!("{label}: {per_image:.1} ms/image ({per_call} model images each)");
        if method == OCCLUSION {
            // The floor: the same number of images through the model in one call.
            let batch = ndarray::Array2::from_shape_fn(
                (per_call as usize, images.shape.len()),
                |(i, j)| dataset.x[[rows[i % rows.len()], j]],
            );
            session.model.predict(batch.view())?;
            let started = Instant::now();
            let repeats = 3;
            for _ in 0..repeats {
                session.model.predict(batch.view())?;
            }
            println!(
                "pure batched inference of {per_call} images: {:.1} ms (occlusion costs {:.2}× that)",
                started.elapsed().as_secs_f64() * 1e3 / repeats as f64,
                per_image / (started.elapsed().as_secs_f64() * 1e3 / repeats as f64)
            );
        }
    }
    Ok(())
}
