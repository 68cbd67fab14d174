//! Benchmark of the window with a million rows: the bundled sample's 569 rows repeated to
//! 1,000,000 in a temporary CSV (written here, never committed), opened with the sample MLP;
//! then whole frames of the window (layout, painting and tessellation, the CPU work of a
//! frame) while scrolling the browser, changing its sort and filtering it.
//!
//!     cargo run --release --example bench_browser [ROWS]

use std::io::Write;
use std::time::Instant;

use loupe::app::{LoupeApp, Outcome, SortKey};
use loupe::session::{Session, Source};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

/// Peak resident memory of this process so far, in MB (Linux).
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_models");
    let sample = std::fs::read_to_string(models.join("breast_cancer.csv"))?;
    let mut lines = sample.lines();
    let header = lines.next().unwrap_or_default();
    let body: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let dir = tempfile::tempdir()?;
    let csv = dir.path().join("million.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv)?);
        writeln!(out, "{header}")?;
        for i in 0..rows {
            writeln!(out, "{}", body[i % body.len()])?;
        }
    }
    let size = std::fs::metadata(&csv)?.len() as f64 / 1e6;
    println!("{rows} rows, {size:.0} MB of CSV");
    let before = peak_mb().unwrap_or(0.0);
    let started = Instant::now();
    let source = Source::files(
        models.join("breast_cancer_mlp.onnx"),
        Some(csv.clone()),
        None,
    );
    let session = Session::load(&source)?;
    let load = started.elapsed().as_secs_f64();
    println!(
        "load (read, parse, predict every row): {load:.2} s; peak memory {:.0} MB (before: {before:.0} MB)",
        peak_mb().unwrap_or(f64::NAN)
    );

    let ctx = egui::Context::default();
    loupe::app::theme::install_fonts(&ctx);
    let mut app = LoupeApp::with_session(source, session.clone());
    let data = session.data.clone().unwrap();
    let predictions = session.predictions.clone().unwrap();
    let input = |events: Vec<egui::Event>| egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 800.0),
        )),
        events,
        ..Default::default()
    };
    let frame = |app: &mut LoupeApp, events: Vec<egui::Event>, before: &dyn Fn(&mut LoupeApp)| {
        let t = Instant::now();
        before(app);
        let mut out = ctx.run_ui(input(events), |ui| app.show(ui));
        // No renderer takes the font atlas here.
        out.textures_delta.clear();
        let primitives = ctx.tessellate(out.shapes, out.pixels_per_point);
        std::hint::black_box(primitives);
        t.elapsed().as_secs_f64() * 1e3
    };
    for _ in 0..5 {
        frame(&mut app, vec![], &|_| {});
    }
    let report = |what: &str, times: &[f64]| {
        println!(
            "{what}: median {:.2} ms, max {:.2} ms over {} frames (budget 16 ms)",
            median(times.to_vec()),
            max(times),
            times.len()
        );
    };

    let idle: Vec<f64> = (0..50).map(|_| frame(&mut app, vec![], &|_| {})).collect();
    report("idle frame", &idle);

    let over_browser = egui::Event::PointerMoved(egui::pos2(200.0, 450.0));
    let scroll: Vec<f64> = (0..200)
        .map(|i| {
            let down = if i % 50 < 40 { -120.0 } else { 360.0 };
            frame(
                &mut app,
                vec![
                    over_browser.clone(),
                    egui::Event::MouseWheel {
                        unit: egui::MouseWheelUnit::Point,
                        delta: egui::vec2(0.0, down),
                        phase: egui::TouchPhase::Move,
                        modifiers: egui::Modifiers::NONE,
                        source: egui::MouseWheelSource::Wheel,
                    },
                ],
                &|_| {},
            )
        })
        .collect();
    report("scrolling the browser", &scroll);

    // A sort or a filter: the frame that asks for it, the frames drawn while a worker
    // computes it, and how long until the browser shows its rows.
    let mut asking = Vec::new();
    let mut waiting = Vec::new();
    let mut until_shown = Vec::new();
    let mut change = |app: &mut LoupeApp, what: &dyn Fn(&mut LoupeApp)| {
        let t = Instant::now();
        asking.push(frame(app, vec![], what));
        while app.browser.is_refreshing() {
            waiting.push(frame(app, vec![over_browser.clone()], &|_| {}));
        }
        until_shown.push(t.elapsed().as_secs_f64() * 1e3);
    };
    for key in [
        SortKey::Confidence,
        SortKey::Predicted,
        SortKey::True,
        SortKey::Row,
    ] {
        for descending in [false, true] {
            let (d, p) = (data.clone(), predictions.clone());
            change(&mut app, &move |app| {
                app.browser.sort = key;
                app.browser.descending = descending;
                app.browser.refresh(&d, &p);
            });
        }
    }
    for text in [
        "worst radius > 20",
        "worst radius > 20 and mean area <= 900",
        "mean texture < 15",
        "",
    ] {
        let (d, p) = (data.clone(), predictions.clone());
        let text = text.to_string();
        change(&mut app, &move |app| {
            app.browser.set_filter(&text, &d, &p).unwrap();
        });
    }
    for outcome in [Outcome::Errors, Outcome::Correct, Outcome::All] {
        let (d, p) = (data.clone(), predictions.clone());
        change(&mut app, &move |app| {
            app.browser.outcome = outcome;
            app.browser.refresh(&d, &p);
        });
    }
    report("the frame a sort or filter is asked for", &asking);
    report("frames drawn while a worker sorts or filters", &waiting);
    println!(
        "until the browser shows the new rows: median {:.0} ms, max {:.0} ms over {} changes",
        median(until_shown.clone()),
        max(&until_shown),
        until_shown.len()
    );
    println!(
        "visible after the last filter: {}",
        app.browser.visible().len()
    );
    println!(
        "peak memory at the end: {:.0} MB",
        peak_mb().unwrap_or(f64::NAN)
    );
    Ok(())
}
