//! Benchmark of the Global tab's drawing: the beeswarm of every row × every feature of the
//! sample data (569 × 30 dots), from spec to tessellated triangles — the CPU work of a frame.
//!
//!     cargo run --release --example bench_global

use std::time::Instant;

use loupe::explain::{ExplainSettings, Link, NoProgress, Targets};
use loupe::plot::global::BeeswarmSpec;
use loupe::session::dataset::{DatasetRequest, GlobalExplanation, sample_rows};
use loupe::session::{Session, Source};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let session = Session::load(&Source::sample())?;
    let data = session.data.clone().unwrap();
    let settings = ExplainSettings {
        method: loupe::explain::kernel::KERNEL,
        link: Link::Identity,
        targets: Targets::Classes(vec![0]),
        ..Default::default()
    };
    let rows = sample_rows(data.len(), 0, 0);
    let started = Instant::now();
    let batch = session.explain_dataset(
        &DatasetRequest {
            settings: &settings,
            background_file: None,
            rows: &rows,
            cache: None,
        },
        &NoProgress,
    )?;
    println!(
        "batch: {} rows explained (kernel, 30 features) in {:.2} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    let e: GlobalExplanation = batch.explanation;

    let layout = || {
        BeeswarmSpec::new(
            "bench".into(),
            "P(malignant)".into(),
            &data.feature_names,
            &e.rows,
            e.values.view(),
            e.features.view(),
            30,
        )
    };
    let spec_times: Vec<f64> = (0..20)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(layout());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let spec = layout();
    let dots: usize = spec.features.iter().map(|f| f.dots.len()).sum();
    println!(
        "layout (spec, done once per batch): {:.2} ms median",
        median(spec_times)
    );

    // A whole egui frame drawing the beeswarm, then tessellation into triangles.
    let ctx = egui::Context::default();
    loupe::app::theme::install_fonts(&ctx);
    let input = || egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 1000.0),
        )),
        ..Default::default()
    };
    let frame = |hover: Option<egui::Pos2>| {
        let mut raw = input();
        if let Some(p) = hover {
            raw.events.push(egui::Event::PointerMoved(p));
        }
        let t = Instant::now();
        let out = ctx.run_ui(raw, |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                loupe::app::plots::beeswarm_ui(ui, &spec, Some(3));
            });
        });
        let run = t.elapsed().as_secs_f64() * 1e3;
        let primitives = ctx.tessellate(out.shapes, out.pixels_per_point);
        let total = t.elapsed().as_secs_f64() * 1e3;
        std::hint::black_box(primitives);
        (run, total)
    };
    for _ in 0..5 {
        frame(None);
    }
    let (mut runs, mut totals) = (Vec::new(), Vec::new());
    for i in 0..100 {
        let hover = (i % 2 == 0).then(|| egui::pos2(600.0, 200.0 + (i % 40) as f32 * 10.0));
        let (r, t) = frame(hover);
        runs.push(r);
        totals.push(t);
    }
    println!(
        "frame with {dots} dots: {:.2} ms median to lay out and paint, {:.2} ms with tessellation (max {:.2} ms; budget 16 ms)",
        median(runs),
        median(totals.clone()),
        totals.iter().copied().fold(0.0, f64::max)
    );
    Ok(())
}
