"""Benchmark onnxruntime and shap's TreeExplainer on a Loupe tree-ensemble
model: the Python side of the comparison with Loupe's tree code.

Run from the repository root:

    pip install -r tools/bench-requirements.txt
    python tools/bench_trees.py --model sample_models/breast_cancer_gbt.onnx \\
        --data sample_models/breast_cancer.csv --rows 100 --background 50 \\
        --out results.json

The model must be one of make_samples.py's TREE_MODELS: shap explains the
scikit-learn estimator, which is refitted here with make_samples.py's own
code (same data, split, float32 features and seed), and its predictions are
checked against the ONNX model's before anything is timed. The features are
the columns named by the model card (`<stem>.card.json` beside the model),
read as float32 like Loupe does.

Rows: the rows explained are the first `--rows` rows of the CSV (rows 0 to
N-1, whatever their split); the background is the first `--background` rows
whose `split` is `train`, with equal weights (the same rule as bench_shap.py,
so the background is data the model was fitted on, and the same for every
run).

It measures, in one process:

* onnxruntime: microseconds per row to predict all rows of the CSV in one
  call, on a plain InferenceSession whose graph is cut before the ZipMap (so
  it outputs the probability tensor; a regressor's output as is), with 1 and
  with 2 intra-op threads. Each repeat calls it until at least 1 s has passed;
  the figure is the median of 5 repeats.
* shap.TreeExplainer with feature_perturbation="interventional" and
  model_output="raw" over the background: microseconds per explained row
  (median of 3 runs over all explained rows, after an untimed run on one row;
  the explainer's set-up and shap's additivity check are not timed);
* shap.TreeExplainer with feature_perturbation="tree_path_dependent" (no
  background; it uses the training cover stored in the trees), timed the same
  way.

The additivity of both sets of values is checked afterwards against the
estimator's raw output, and the rows where it fails are listed: shap's
interventional code (tree_shap_indep in shap's C extension) keeps thresholds
and leaf values as float32, thresholds rounded to nearest. scikit-learn
compares a float32 feature with a float64 threshold, and skl2onnx stores the
float32 just below the threshold so that ONNX agrees with scikit-learn. A
feature value equal to the float32 that a threshold rounds up to therefore
takes a different branch in shap's interventional code than in scikit-learn,
shap's own path-dependent code and onnxruntime, and that row's values are
not additive (they explain a slightly different model). The rows are listed
in the JSON so comparisons can leave them out.

It writes the numbers and the SHAP values as JSON to --out and prints a
summary.

shap's conventions for the saved values ("raw" output): for a binary
GradientBoostingClassifier or HistGradientBoostingClassifier, shap returns one
array, the contributions to the log-odds of classes_[1] (for the breast
cancer models, class 1 = benign; the values for class 0, malignant, are the
same with the opposite sign); for a RandomForestClassifier it returns one
array per class, contributions to that class's probability, and the JSON
keeps class 1's for two classes, all of them ([row][feature][class]) for more;
for a regressor, contributions to the predicted value. The JSON's
`shap_output` says which. shap 0.51 cannot explain a multi-class
GradientBoostingClassifier; for such a model only onnxruntime is timed.
"""

import argparse
import csv
import json
import statistics
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import shap

sys.dont_write_bytecode = True  # no __pycache__ in tools/ from this import
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_samples import INPUT_NAME, TREE_MODELS, fit_tree_model  # noqa: E402

INFERENCE_REPEATS = 5
INFERENCE_MIN_SECONDS = 1.0
SHAP_REPEATS = 3
MATCH_TOL = 1e-5
# shap's interventional code sums float32 leaf values: allow for their rounding.
ADDITIVITY_TOL = 1e-5


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="ONNX model (card beside it)")
    parser.add_argument("--data", type=Path, required=True, help="data CSV with a `split` column")
    parser.add_argument("--rows", type=int, default=100, help="explain rows 0..N-1 of the CSV")
    parser.add_argument(
        "--background", type=int, default=50, help="the first N train rows as background"
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON results file")
    return parser.parse_args()


def load_feature_names(model_path):
    card_path = model_path.with_name(f"{model_path.stem}.card.json")
    return json.loads(card_path.read_text(encoding="utf-8"))["feature_names"]


def load_csv(csv_path, feature_names):
    """All rows of the named feature columns (parsed as float, cast to
    float32) and the split column."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    X = np.array([[float(r[n]) for n in feature_names] for r in rows]).astype(np.float32)
    return X, [r["split"] for r in rows]


def cut_at_zipmap(model):
    """Return (model, output name): the graph cut to output the tensor that
    feeds the ZipMap, if there is one; otherwise the model and its first
    output."""
    graph = model.graph
    zipmaps = [n for n in graph.node if n.op_type == "ZipMap"]
    if not zipmaps:
        return model, graph.output[0].name
    probs = zipmaps[0].input[0]
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


def make_session(model_bytes, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def time_calls(fn):
    """Seconds per fn() call: call it until INFERENCE_MIN_SECONDS have
    passed; the median over INFERENCE_REPEATS such runs. Also returns the
    number of calls in each run."""
    fn()  # warm-up
    per_call, calls = [], []
    for _ in range(INFERENCE_REPEATS):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= INFERENCE_MIN_SECONDS:
                break
        per_call.append(elapsed / n)
        calls.append(n)
    return statistics.median(per_call), calls


def time_onnxruntime(model_bytes, output, X):
    results = {}
    for threads in (1, 2):
        session = make_session(model_bytes, threads)
        seconds, calls = time_calls(lambda: session.run([output], {INPUT_NAME: X}))
        results[f"threads_{threads}"] = {
            "us_per_row": 1e6 * seconds / len(X),
            "rows_per_call": len(X),
            "calls_per_repeat": calls,
        }
    return results


def time_shap(explainer, X):
    """(values, microseconds per row): the median of SHAP_REPEATS runs over
    all rows of X, after an untimed run on one row."""
    explainer.shap_values(X[:1], check_additivity=False)
    runs = []
    for _ in range(SHAP_REPEATS):
        start = time.perf_counter()
        values = explainer.shap_values(X, check_additivity=False)
        runs.append(time.perf_counter() - start)
    return np.asarray(values), 1e6 * statistics.median(runs) / len(X), runs


def raw_output(estimator, X):
    """What shap's model_output="raw" explains, one column per output."""
    if hasattr(estimator, "decision_function"):  # boosted classifiers: log-odds
        raw = estimator.decision_function(X)
    elif hasattr(estimator, "predict_proba"):  # forests: probabilities
        raw = estimator.predict_proba(X)
    else:
        raw = estimator.predict(X)
    return raw.reshape(len(X), -1)


def explained_slice(values, expected, estimator):
    """The values and expected value the JSON keeps, and what they explain:
    class 1 of a binary forest's per-class arrays, every class of a
    multi-class forest's ([row][feature][class], expected value per class)."""
    expected = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    classes = list(getattr(estimator, "classes_", []))
    if values.ndim == 3 and values.shape[2] == 2:  # (rows, features, classes)
        return values[:, :, 1], float(expected[1]), f"probability of class {classes[1]}"
    if values.ndim == 3:
        return values, expected.tolist(), "probability of each class ([row][feature][class])"
    if classes:
        return values, float(expected[0]), f"log-odds of class {classes[1]}"
    return values, float(expected[0]), "predicted value"


def additivity_gaps(values, expected, raw):
    """Per row, |sum of the values + expected value - raw output| (the largest
    over classes when every class is kept)."""
    if values.ndim == 3:
        return np.abs(values.sum(axis=1) + np.asarray(expected) - raw).max(axis=1)
    column = raw[:, 1] if raw.shape[1] == 2 else raw[:, 0]
    return np.abs(values.sum(axis=1) + expected - column)


def benchmark(args):
    name = args.model.stem
    if name not in TREE_MODELS:
        raise SystemExit(f"{name} is not one of make_samples.py's TREE_MODELS")
    feature_names = load_feature_names(args.model)
    X_all, split = load_csv(args.data, feature_names)
    train_rows = [i for i, s in enumerate(split) if s == "train"][: args.background]
    if args.rows > len(X_all) or len(train_rows) < args.background:
        raise SystemExit(f"{args.data} has too few rows or train rows")
    rows_explained = list(range(args.rows))
    X = X_all[rows_explained]
    background = X_all[train_rows]

    model, output = cut_at_zipmap(onnx.load(str(args.model)))
    model_bytes = model.SerializeToString()
    onnx_out = make_session(model_bytes, 1).run([output], {INPUT_NAME: X_all})[0]

    estimator, fitted_features = fit_tree_model(name)
    assert fitted_features == feature_names, "card and make_samples.py disagree on features"
    if hasattr(estimator, "predict_proba"):
        sk_out = estimator.predict_proba(X_all)
        scale = 1.0
    else:
        sk_out = estimator.predict(X_all).reshape(onnx_out.shape)
        scale = max(1.0, float(np.abs(onnx_out).max()))  # relative for a regressor
    sk_diff = float(np.abs(sk_out - onnx_out).max())
    matches = sk_diff <= MATCH_TOL * scale

    results = {
        "model": str(args.model),
        "data": str(args.data),
        "features": len(feature_names),
        "rows": len(X),
        "background": len(background),
        "versions": versions(),
        "sklearn_vs_onnx": {
            "max_abs_diff": sk_diff,
            "tolerance": MATCH_TOL * scale,
            "matches": matches,
            "rows_compared": len(X_all),
        },
        "onnxruntime": time_onnxruntime(model_bytes, output, X_all),
    }

    methods = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. shap's notes on float32 input
            interventional = shap.TreeExplainer(
                estimator,
                data=background.astype(np.float64),
                feature_perturbation="interventional",
                model_output="raw",
            )
            path_dependent = shap.TreeExplainer(
                estimator, feature_perturbation="tree_path_dependent"
            )
    except shap.utils._exceptions.InvalidModelError as e:
        results["shap_error"] = str(e)
    else:
        raw = raw_output(estimator, X)
        for method, explainer in (
            ("interventional", interventional),
            ("tree_path_dependent", path_dependent),
        ):
            values, us_per_row, runs = time_shap(explainer, X)
            kept, expected, what = explained_slice(values, explainer.expected_value, estimator)
            gaps = additivity_gaps(kept, expected, raw)
            tolerance = ADDITIVITY_TOL * max(1.0, float(np.abs(raw).max()))
            methods[method] = {
                "us_per_row": us_per_row,
                "seconds_per_run": runs,
                "expected_value": expected,
                "additivity_max_gap": float(gaps.max()),
                "additivity_tolerance": tolerance,
                "rows_not_additive": [rows_explained[i] for i in np.nonzero(gaps > tolerance)[0]],
                "values": kept.tolist(),
            }
            results["shap_output"] = what
        results["shap"] = {
            m: {k: v for k, v in r.items() if k != "values"} for m, r in methods.items()
        }
        # The values to compare Loupe's against: interventional, raw output.
        results["shap_values"] = methods["interventional"]["values"]
        results["shap_values_tree_path_dependent"] = methods["tree_path_dependent"]["values"]
    results["rows_explained"] = rows_explained
    results["background_rows"] = train_rows
    return results


def versions():
    return {
        "shap": version("shap"),
        "onnxruntime": version("onnxruntime"),
        "numpy": version("numpy"),
        "sklearn": version("scikit-learn"),
    }


def summary(results):
    check = results["sklearn_vs_onnx"]
    lines = [
        f"{results['model']}: {results['features']} features, {results['rows']} rows "
        f"explained, {results['background']} background rows",
        f"  refitted scikit-learn model vs ONNX on {check['rows_compared']} rows: max |diff| "
        f"{check['max_abs_diff']:.3g} ("
        + ("matches" if check["matches"] else "DOES NOT MATCH")
        + f" to {check['tolerance']:.3g})",
    ]
    for key, r in results["onnxruntime"].items():
        threads = key.split("_")[1]
        lines.append(
            f"  onnxruntime, {threads} thread{'s' if threads != '1' else ''}: "
            f"{r['us_per_row']:10.3f} us/row ({r['rows_per_call']} rows per call)"
        )
    if "shap_error" in results:
        lines.append(f"  shap: {results['shap_error']}")
    for method, r in results.get("shap", {}).items():
        text = (
            f"  shap TreeExplainer, {method}: {r['us_per_row']:10.1f} us/row "
            f"(max additivity gap {r['additivity_max_gap']:.2g}"
        )
        bad = r["rows_not_additive"]
        if bad:
            listed = ", ".join(str(i) for i in bad[:8]) + (", ..." if len(bad) > 8 else "")
            text += f"; not additive on {len(bad)} rows: {listed}"
        lines.append(text + ")")
    if "shap_output" in results:
        lines.append(f"  SHAP values explain the {results['shap_output']}")
    return "\n".join(lines)


def main():
    args = parse_args()
    results = benchmark(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(summary(results))


if __name__ == "__main__":
    main()
