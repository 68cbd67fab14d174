//! Benchmark of the gradient methods on one model: one forward pass (tract), one input
//! gradient, Integrated Gradients with 32 steps and Grad-CAM per image, medians over a few
//! seeded random images. `tools/make_gradients.py --bench DIR` exports the full torchvision
//! ResNet-18 at 224×224 (random weights) and times onnxruntime and PyTorch on it.
//!
//!     cargo run --release --example bench_gradients -- DIR/resnet18_224.onnx 5

use std::time::Instant;

use loupe::data::ImageShape;
use loupe::explain::NoProgress;
use loupe::explain::image::gradcam::GRADCAM;
use loupe::explain::image::ig::IG;
use loupe::explain::image::{Baseline, ImageSettings};
use loupe::model::{OnnxModel, Wrt};
use rand::{Rng, SeedableRng};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, reps) = match args.as_slice() {
        [m] => (m.clone(), 5),
        [m, n] => (m.clone(), n.parse()?),
        _ => anyhow::bail!("usage: bench_gradients MODEL [IMAGES]"),
    };
    let model = OnnxModel::load(model.as_ref())?;
    model.gradient_support().map_err(|e| anyhow::anyhow!(e))?;
    let s = model.row_shape().to_vec();
    let shape = ImageShape::from_layout(None, None, None, &s).map_err(|e| anyhow::anyhow!(e))?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let images: Vec<Vec<f32>> = (0..reps)
        .map(|_| {
            (0..shape.len())
                .map(|_| rng.random::<f32>() * 2.0 - 1.0)
                .collect()
        })
        .collect();
    println!(
        "model {}: {:?} per image, {reps} images, threads {}",
        model.name(),
        s,
        rayon::current_num_threads()
    );
    let time = |f: &dyn Fn(&[f32]) -> anyhow::Result<()>| -> anyhow::Result<f64> {
        f(&images[0])?;
        let mut t = Vec::new();
        for x in &images {
            let started = Instant::now();
            f(x)?;
            t.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(median(t))
    };
    let forward = time(&|x| {
        let row = ndarray::ArrayView2::from_shape((1, x.len()), x)?;
        model.predict(row)?;
        Ok(())
    })?;
    let gradient = time(&|x| {
        model.gradients(x, 1, 0, Wrt::Input)?;
        Ok(())
    })?;
    let ig = ImageSettings {
        method: IG,
        baseline: Baseline::Black,
        ..Default::default()
    }
    .with_param("steps", 32.0)
    // Even steps, as PyTorch's batched path below takes them (the adaptive default spends the
    // same 32 gradients in three batches).
    .with_param("rule", 0.0);
    let ig_ms = time(&|x| {
        ig.explain(&model, x, &shape, 0, &NoProgress)?;
        Ok(())
    })?;
    let cam = ImageSettings {
        method: GRADCAM,
        ..Default::default()
    };
    let cam_ms = time(&|x| {
        cam.explain(&model, x, &shape, 0, &NoProgress)?;
        Ok(())
    })?;
    println!("forward (tract)            {forward:8.1} ms");
    println!(
        "input gradient             {gradient:8.1} ms  ({:.2}× forward)",
        gradient / forward
    );
    println!("integrated gradients (32)  {ig_ms:8.1} ms");
    println!("grad-cam                   {cam_ms:8.1} ms");
    Ok(())
}
