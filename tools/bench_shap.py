"""Benchmark the `shap` package on a Loupe sample model: the Python side of
the comparison between Loupe and shap.

Run from the repository root:

    pip install -r tools/bench-requirements.txt
    python tools/bench_shap.py --model sample_models/breast_cancer_mlp12.onnx \\
        --data sample_models/breast_cancer.csv --rows 20 --background 50 \\
        --out results.json

The explained function is the model's probability of class 0 ("malignant"),
read from the tensor that feeds the ZipMap: the graph is cut there in memory.
The features are the columns named by the model card (`<stem>.card.json`
beside the model), read as float32. The rows explained are the first `--rows`
test rows of the CSV, the background the first `--background` train rows, with
uniform weights.

With M features and a budget of 2*M + 2048 model evaluations per row, it times
(ms per explained row, after an untimed run on one row, the explainer's
set-up excluded):

* kernel: shap.KernelExplainer, nsamples=budget, l1_reg=False;
* permutation: shap.PermutationExplainer with an Independent masker over the
  whole background, max_evals=budget;
* exact_numpy: brute-force interventional Shapley values over all 2^M feature
  subsets (only when M <= 16), the reference for the errors of the other two;
* inference_only: one model call on budget * background rows (the median of
  5 calls), the model cost behind one KernelExplainer row.

It writes the numbers as JSON to --out and prints a summary.
"""

import argparse
import csv
import json
import math
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import shap

EXACT_MAX_FEATURES = 16
ADDITIVITY_TOL = 1e-6
SEED = 0
CLASS_INDEX = 0  # "malignant"
INTRA_OP_THREADS = 2
INFERENCE_REPEATS = 5


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="ONNX model (card beside it)")
    parser.add_argument("--data", type=Path, required=True, help="data CSV with a `split` column")
    parser.add_argument("--rows", type=int, default=20, help="test rows to explain")
    parser.add_argument("--background", type=int, default=50, help="train rows as background")
    parser.add_argument("--out", type=Path, required=True, help="JSON results file")
    return parser.parse_args()


def load_feature_names(model_path):
    card_path = model_path.with_name(f"{model_path.stem}.card.json")
    return json.loads(card_path.read_text(encoding="utf-8"))["feature_names"]


def load_rows(csv_path, feature_names, n_rows, n_background):
    """The first n_rows test rows (and their CSV row indices) and the first
    n_background train rows, as float32 arrays of the named feature columns."""
    explain, explain_idx, background = [], [], []
    with open(csv_path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            values = [float(row[name]) for name in feature_names]
            if row["split"] == "test" and len(explain) < n_rows:
                explain.append(values)
                explain_idx.append(i)
            elif row["split"] == "train" and len(background) < n_background:
                background.append(values)
    if len(explain) < n_rows or len(background) < n_background:
        raise SystemExit(f"{csv_path} has too few test or train rows")
    return to_float32(explain), explain_idx, to_float32(background)


def to_float32(rows):
    """Parsed float64 values cast to float32, as Loupe reads them."""
    return np.array(rows, dtype=np.float64).astype(np.float32)


def cut_at_zipmap(model):
    """Return (model, name): the graph cut to output the probability tensor
    that feeds the ZipMap, keeping only the nodes it needs."""
    graph = model.graph
    zipmap = next(n for n in graph.node if n.op_type == "ZipMap")
    probs = zipmap.input[0]
    needed, kept = {probs}, []
    for node in reversed(graph.node):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    kept.reverse()
    initializers = [t for t in graph.initializer if t.name in needed]
    del graph.node[:], graph.initializer[:], graph.output[:]
    graph.node.extend(kept)
    graph.initializer.extend(initializers)
    graph.output.append(
        onnx.helper.make_tensor_value_info(probs, onnx.TensorProto.FLOAT, [None, None])
    )
    onnx.checker.check_model(model)
    return model, probs


def make_probability_fn(model_path):
    """f(X) -> float64 probability of CLASS_INDEX for each row of X, one
    onnxruntime call per batch."""
    model, output = cut_at_zipmap(onnx.load(str(model_path)))
    options = ort.SessionOptions()
    options.intra_op_num_threads = INTRA_OP_THREADS
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    input_name = session.get_inputs()[0].name

    def f(X):
        X = np.ascontiguousarray(X, dtype=np.float32)
        probs = session.run([output], {input_name: X})[0]
        return probs[:, CLASS_INDEX].astype(np.float64)

    return f


def timed(fn):
    """Run fn() and return (result, seconds)."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def warmed_up(run, f, X, *rest):
    """run(f, X, *rest) after an untimed run on the first row, which pays the
    one-off costs (shap compiles numba code on first use)."""
    run(f, X[:1], *rest)
    return run(f, X, *rest)


def run_kernel(f, X, background, budget):
    np.random.seed(SEED)  # KernelExplainer samples with the global generator
    explainer = shap.KernelExplainer(f, background)
    return timed(lambda: explainer.shap_values(X, nsamples=budget, l1_reg=False, silent=True))


def run_permutation(f, X, background, budget):
    masker = shap.maskers.Independent(background, max_samples=len(background))
    explainer = shap.PermutationExplainer(f, masker, seed=SEED)
    explanation, seconds = timed(lambda: explainer(X, max_evals=budget, silent=True))
    return explanation.values, seconds


def subset_weights(m):
    """Shapley weight |S|!(m-|S|-1)!/m! for each subset size |S| = 0..m-1."""
    return np.array(
        [math.factorial(k) * math.factorial(m - k - 1) / math.factorial(m) for k in range(m)]
    )


def exact_shapley_row(f, x, background, masks, sizes, weights):
    """Interventional Shapley values of f at x over all subsets (bitmasks):
    v(S) = mean over background b of f(x on S, b elsewhere)."""
    m = len(x)
    hybrid = np.where(masks[:, None, :], x[None, None, :], background[None, :, :])
    v = f(hybrid.reshape(-1, m)).reshape(len(masks), len(background)).mean(axis=1)
    subsets = np.arange(len(masks))
    phi = np.empty(m)
    for i in range(m):
        without = subsets[(subsets >> i) & 1 == 0]
        phi[i] = np.sum(weights[sizes[without]] * (v[without | (1 << i)] - v[without]))
    return phi


def run_exact(f, X, background):
    """Exact Shapley values for every row of X, checked for additivity."""
    m = X.shape[1]
    subsets = np.arange(1 << m)
    masks = (subsets[:, None] >> np.arange(m)) & 1 == 1
    sizes = masks.sum(axis=1)
    weights = subset_weights(m)
    phi, seconds = timed(
        lambda: np.array([exact_shapley_row(f, x, background, masks, sizes, weights) for x in X])
    )
    gap = np.abs(phi.sum(axis=1) - (f(X) - f(background).mean())).max()
    assert gap <= ADDITIVITY_TOL, f"exact Shapley values not additive: gap {gap:.3g}"
    return phi, seconds


def time_inference(f, background, n_rows):
    """Median seconds of one f call on n_rows rows (the background tiled)."""
    batch = np.resize(background, (n_rows, background.shape[1]))
    seconds = sorted(timed(lambda: f(batch))[1] for _ in range(INFERENCE_REPEATS))
    return seconds[len(seconds) // 2]


def errors(values, exact):
    """Max, mean and root-mean-square error over all rows and features."""
    values = np.asarray(values)
    assert values.shape == exact.shape, f"{values.shape} != {exact.shape}"
    diff = np.abs(values - exact)
    return {
        "max_abs_err": float(diff.max()),
        "mean_abs_err": float(diff.mean()),
        "rmse": float(np.sqrt(np.mean(diff**2))),
    }


def versions():
    return {
        "shap": version("shap"),
        "onnxruntime": version("onnxruntime"),
        "numpy": version("numpy"),
        "sklearn": version("scikit-learn"),
    }


def benchmark(args):
    feature_names = load_feature_names(args.model)
    X, rows_explained, background = load_rows(
        args.data, feature_names, args.rows, args.background
    )
    m = len(feature_names)
    budget = 2 * m + 2048
    f = make_probability_fn(args.model)
    f(background)  # warm-up: the first call pays one-off costs

    estimates, methods = {}, {}
    for name, run in (("kernel", run_kernel), ("permutation", run_permutation)):
        estimates[name], seconds = warmed_up(run, f, X, background, budget)
        methods[name] = {"ms_per_row": 1000 * seconds / len(X)}
    # PermutationExplainer runs max_evals // (2*M + 1) forward-and-back permutations.
    methods["permutation"]["permutations"] = budget // (2 * m + 1)

    exact = None
    if m <= EXACT_MAX_FEATURES:
        exact, seconds = warmed_up(run_exact, f, X, background)
        for name, values in estimates.items():
            methods[name].update(errors(values, exact))
        methods["exact_numpy"] = {"ms_per_row": 1000 * seconds / len(X)}

    rows_per_batch = budget * len(background)
    methods["inference_only"] = {
        "ms_per_model_row_batch": 1000 * time_inference(f, background, rows_per_batch),
        "rows_per_batch": rows_per_batch,
    }

    results = {
        "model": str(args.model),
        "features": m,
        "rows": len(X),
        "background": len(background),
        "budget": budget,
        "versions": versions(),
        "methods": methods,
    }
    if exact is not None:
        results["exact_values"] = exact.tolist()
    results["rows_explained"] = rows_explained
    return results


def summary(results):
    lines = [
        f"{results['model']}: {results['features']} features, {results['rows']} rows, "
        f"{results['background']} background rows, budget {results['budget']}"
    ]
    for name, r in results["methods"].items():
        if "ms_per_row" in r:
            text = f"  {name:<14} {r['ms_per_row']:10.2f} ms/row"
            if "max_abs_err" in r:
                text += (
                    f"   max abs err {r['max_abs_err']:.3g}, mean abs err "
                    f"{r['mean_abs_err']:.3g}, rmse {r['rmse']:.3g}"
                )
        else:
            text = (
                f"  {name:<14} {r['ms_per_model_row_batch']:10.2f} ms per batch of "
                f"{r['rows_per_batch']} model rows"
            )
        lines.append(text)
    return "\n".join(lines)


def main():
    args = parse_args()
    results = benchmark(args)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(summary(results))


if __name__ == "__main__":
    main()
