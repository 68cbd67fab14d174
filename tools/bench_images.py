"""Benchmark occlusion and shap's Partition explainer on a Loupe image model:
the Python side of the comparison with Loupe's image explanations.

Run from the repository root:

    pip install -r tools/bench-requirements.txt
    python tools/bench_images.py --model sample_models/lesions_cnn.onnx \\
        --data sample_models/lesions/lesions.csv --rows 20 --shap-rows 5 \\
        --out results.json

The model's card (`<stem>.card.json` beside it) gives the image size,
channels, layout (NCHW), mean and std, the class names and the output that
holds the probabilities. The data CSV has a `path` column, relative to the
CSV; the images explained are its first `--rows` rows (rows 0 to N-1,
whatever their split), loaded the way Loupe documents it: PIL open ->
convert("RGB") (or "L" for one channel) -> uint8 HWC -> float32 / 255 ->
(x - mean) / std per channel -> CHW.

It measures, in one process, with onnxruntime on 2 and on 1 intra-op
threads (each figure the median of 3 timed runs over all images, after an
untimed warm-up image):

* occlusion: for each image, every position of a 4x4 window with stride 2
  (top-left corners 0, 2, 4, ... along each axis, plus one flush with the
  far edge if the stride does not reach it), the window set to 0 in every
  channel *after* normalisation (so it takes the training mean colour), all
  occluded variants and the unoccluded image in one batch (one session.run
  per image). The attribution of a pixel is the mean, over the windows that
  cover it, of p(target | image) - p(target | occluded image), the target
  being the class the model predicts for the unoccluded image. Timed: building
  the batch, the model call and the attribution map. Reported in ms per image
  with the number of model evaluations (batch rows) per image.
* floor: the same number of model evaluations in the same batches, the
  input built once beforehand: the model's share of the occlusion time.
* inference: all --rows images in one call, microseconds per image.

and with 2 threads only:

* shap's Partition explainer (shap.explainers.Partition) with
  shap.maskers.Image("blur(8,8)", (H, W, C)), max_evals=1000, batch_size=100,
  explaining the predicted class (outputs=shap.Explanation.argsort.flip[:1]),
  for the first --shap-rows images: ms per image and the number of model
  evaluations per image. The explained function takes NHWC float32 images in
  pixel / 255 space (0..1, where the blur is applied), normalises them with
  the card's mean and std, transposes to NCHW and runs onnxruntime.

It writes the numbers (and the occlusion maps of the first --save-maps
images, row-major H x W, with the target class) as JSON to --out and prints a
summary.
"""

import argparse
import csv
import json
import statistics
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

WINDOW = 4
STRIDE = 2
BASELINE = 0.0  # occluded value, in normalised space
SHAP_MASK = "blur(8,8)"
SHAP_MAX_EVALS = 1000
SHAP_BATCH = 100
REPEATS = 3
THREADS = (2, 1)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="ONNX model (card beside it)")
    parser.add_argument("--data", type=Path, required=True, help="CSV with a `path` column")
    parser.add_argument("--rows", type=int, default=20, help="images 0..N-1 of the CSV")
    parser.add_argument("--shap-rows", type=int, default=5, help="images for shap Partition")
    parser.add_argument("--save-maps", type=int, default=2, help="occlusion maps kept in the JSON")
    parser.add_argument("--out", type=Path, required=True, help="JSON results file")
    return parser.parse_args()


def load_card(model_path):
    card_path = model_path.with_name(f"{model_path.stem}.card.json")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    image = card["image"]
    if image.get("layout", "NCHW") != "NCHW":
        raise SystemExit("only NCHW models are supported")
    return card


def load_pixels(csv_path, rows, channels):
    """The first `rows` images of the CSV as float32 NHWC in 0..1 (pixel / 255)."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        paths = [r["path"] for r in csv.DictReader(f)][:rows]
    if len(paths) < rows:
        raise SystemExit(f"{csv_path} has only {len(paths)} rows")
    images = []
    for p in paths:
        with Image.open(csv_path.parent / p) as img:
            arr = np.asarray(img.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
        images.append(arr.reshape(arr.shape[0], arr.shape[1], channels))
    return np.stack(images).astype(np.float32) / np.float32(255), paths


def normalise(pixels, mean, std):
    """NHWC float32 in 0..1 -> NCHW float32, (x - mean) / std per channel."""
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(((pixels - mean) / std).transpose(0, 3, 1, 2))


def positions(size):
    """Top-left corners along one axis: 0, STRIDE, ..., and one flush with the
    far edge if the stride does not land there."""
    starts = list(range(0, size - WINDOW + 1, STRIDE))
    if starts[-1] != size - WINDOW:
        starts.append(size - WINDOW)
    return starts


class Model:
    """onnxruntime on the CPU: model(x) is the output named by the card (else
    the first output) for the input batch x."""

    def __init__(self, path, threads, output=None):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.input = self.session.get_inputs()[0].name
        self.output = output or self.session.get_outputs()[0].name

    def __call__(self, x):
        return self.session.run([self.output], {self.input: x})[0]


def occlusion(model, x):
    """Occlusion map of one normalised image x (C, H, W): (map (H, W) float64,
    target class, number of model evaluations)."""
    _, h, w = x.shape
    windows = [(t, l) for t in positions(h) for l in positions(w)]
    batch = np.repeat(x[None], len(windows) + 1, axis=0)
    for k, (t, l) in enumerate(windows, start=1):
        batch[k, :, t : t + WINDOW, l : l + WINDOW] = BASELINE
    probs = model(batch)
    target = int(np.argmax(probs[0]))
    drops = probs[0, target] - probs[1:, target]
    total = np.zeros((h, w))
    count = np.zeros((h, w))
    for (t, l), d in zip(windows, drops):
        total[t : t + WINDOW, l : l + WINDOW] += d
        count[t : t + WINDOW, l : l + WINDOW] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0), target, len(batch)


def time_runs(fn):
    """Seconds taken by each of REPEATS calls of fn()."""
    runs = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return runs


def bench_occlusion(model, X):
    occlusion(model, X[0])  # warm-up
    results = {}
    runs = time_runs(lambda: [occlusion(model, x) for x in X])
    evals = occlusion(model, X[0])[2]
    results["occlusion"] = {
        "ms_per_image": 1e3 * statistics.median(runs) / len(X),
        "evals_per_image": evals,
        "seconds_per_run": runs,
    }
    # The same batches, built once: only the model calls.
    batch = np.repeat(X[0][None], evals, axis=0)
    model(batch)
    runs = time_runs(lambda: [model(batch) for _ in range(len(X))])
    results["floor"] = {
        "ms_per_image": 1e3 * statistics.median(runs) / len(X),
        "rows_per_call": evals,
        "seconds_per_run": runs,
    }
    model(X)
    runs = time_runs(lambda: model(X))
    results["inference"] = {
        "us_per_image": 1e6 * statistics.median(runs) / len(X),
        "rows_per_call": len(X),
        "seconds_per_run": runs,
    }
    return results


def bench_shap(model, pixels, mean, std, class_names):
    import shap  # imported here: the occlusion part runs without it

    evals = [0]

    def f(x):
        evals[0] += len(x)
        return model(normalise(np.asarray(x, dtype=np.float32), mean, std))

    masker = shap.maskers.Image(SHAP_MASK, pixels[0].shape)
    explainer = shap.explainers.Partition(f, masker, output_names=class_names)

    def explain(images):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return explainer(
                images,
                max_evals=SHAP_MAX_EVALS,
                batch_size=SHAP_BATCH,
                outputs=shap.Explanation.argsort.flip[:1],
                silent=True,
            )

    explain(pixels[:1])  # warm-up
    evals[0] = 0
    start = time.perf_counter()
    explanation = explain(pixels)
    seconds = time.perf_counter() - start
    values = np.asarray(explanation.values)
    return {
        "ms_per_image": 1e3 * seconds / len(pixels),
        "evals_per_image": evals[0] / len(pixels),
        "images": len(pixels),
        "seconds": seconds,
        "masker": f'shap.maskers.Image("{SHAP_MASK}", {tuple(pixels[0].shape)})',
        "max_evals": SHAP_MAX_EVALS,
        "batch_size": SHAP_BATCH,
        "values_shape": list(values.shape),
    }


def benchmark(args):
    card = load_card(args.model)
    spec = card["image"]
    channels, h, w = spec["channels"], spec["height"], spec["width"]
    pixels, paths = load_pixels(args.data, args.rows, channels)
    if pixels.shape[1:3] != (h, w):
        raise SystemExit(f"images are {pixels.shape[1:3]}, the card says {(h, w)}")
    X = normalise(pixels, spec["mean"], spec["std"])
    output = card.get("output")

    results = {
        "model": str(args.model),
        "data": str(args.data),
        "rows": len(X),
        "image": {"channels": channels, "height": h, "width": w},
        "occlusion_settings": {
            "window": WINDOW,
            "stride": STRIDE,
            "baseline": "0 after normalisation",
            "positions_per_axis": [len(positions(h)), len(positions(w))],
        },
        "versions": {
            name: version(name) for name in ("onnxruntime", "numpy", "shap", "pillow")
        },
        "onnxruntime": {},
    }
    for threads in THREADS:
        model = Model(args.model, threads, output)
        results["onnxruntime"][f"threads_{threads}"] = bench_occlusion(model, X)

    model = Model(args.model, THREADS[0], output)
    maps = []
    for i in range(min(args.save_maps, len(X))):
        heat, target, _ = occlusion(model, X[i])
        maps.append({"row": i, "path": paths[i], "target": target, "map": heat.tolist()})
    results["occlusion_maps"] = maps
    if args.shap_rows > 0:
        results["shap_partition"] = bench_shap(
            model, pixels[: args.shap_rows], spec["mean"], spec["std"], card.get("class_names")
        )
    return results


def summary(results):
    img = results["image"]
    lines = [
        f"{results['model']}: {results['rows']} images of {img['height']}x{img['width']}x"
        f"{img['channels']}"
    ]
    for key, r in results["onnxruntime"].items():
        threads = key.split("_")[1]
        occ, floor, inf = r["occlusion"], r["floor"], r["inference"]
        lines += [
            f"  onnxruntime, {threads} thread{'s' if threads != '1' else ''}:",
            f"    occlusion {WINDOW}x{WINDOW}/{STRIDE}: {occ['ms_per_image']:9.2f} ms/image "
            f"({occ['evals_per_image']} evaluations per image)",
            f"    floor (model calls only): {floor['ms_per_image']:9.2f} ms/image",
            f"    inference, {inf['rows_per_call']} images in one call: "
            f"{inf['us_per_image']:9.1f} us/image",
        ]
    if "shap_partition" in results:
        s = results["shap_partition"]
        lines.append(
            f"  shap Partition, {s['masker']}, max_evals {s['max_evals']}: "
            f"{s['ms_per_image']:9.1f} ms/image ({s['evals_per_image']:.0f} evaluations per "
            f"image, {s['images']} images, 2 threads)"
        )
    return "\n".join(lines)


def main():
    args = parse_args()
    results = benchmark(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(summary(results))


if __name__ == "__main__":
    main()
