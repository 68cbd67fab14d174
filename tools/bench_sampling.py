"""Error against model evaluations of sampled Shapley estimators, Loupe's and
the Python packages', on one value function: the benchmark behind the curves
in BENCHMARKS.md.

Run from the repository root, after a release build of the example:

    pip install -r tools/bench-requirements.txt
    cargo build --release --example bench_sampling
    python tools/bench_sampling.py --work /tmp/bench_sampling --out docs/bench

Models: scikit-learn's breast cancer data (it ships with scikit-learn),
the first M features (M = 8, 12, 16, 30), split 75/25 with seed 0; a
StandardScaler + MLPClassifier(16, 8) and a GradientBoostingClassifier(100
trees, depth 3), each exported with skl2onnx (no ZipMap). The explained
output is P(benign), as is (identity link).

Value function: v(S) = mean over the background (the first --background
training rows, equal weights) of f(x_S, b_¬S), for the first --rows test rows.
Every estimator sees exactly this game: Loupe's through its example
`bench_sampling` (same model file, rows and background), shap's and shapiq's
through onnxruntime on the same hybrid rows. Ground truth: Loupe's exact
enumeration of all 2^M coalitions (tested against brute force in
tests/explain.rs); at 30 features, the mean of two Loupe kernel runs of 2^20
coalitions each (their difference is written to the results). The additivity of
every estimate is checked against it.

Estimators, each at the same budgets of coalition evaluations per row and
over --seeds seeds:
* Loupe `kernel` (the default: leverage allocation, stratified sizes without
  replacement, paired, regression-adjusted with the odd third-order surrogate
  once the pairs allow it), Loupe's `kernel` with the linear control variate
  only (Surrogate::Linear), with shap's design (Allocation::Kernel), Loupe
  `permutation`;
* shap KernelExplainer (nsamples=budget, l1_reg=False) and
  PermutationExplainer (max_evals=budget, Independent masker);
* shapiq KernelSHAP with the pairing trick, and KernelSHAP with the pairing
  trick and equal weights on every coalition size (Leverage SHAP's sampling);
  with shapiq >= 1.5 (Python >= 3.12) also shapiq's LeverageSHAP,
  RegressionMSR (index SV, its default XGBoost proxy, pairing) and OddSHAP.

Writes results.json (median over seeds of the mean squared error over rows ×
features, and the mean absolute error) and error_vs_evaluations.png to --out.
"""

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import shap
import shapiq
from importlib.metadata import version
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
BUDGETS = {8: [32, 64, 128], 12: [128, 256, 512, 1024], 16: [256, 512, 1024, 2048, 4096],
           30: [256, 512, 1024, 2048, 4096]}
# Past 20 features exact enumeration is out of reach: the truth is Loupe's kernel estimate at
# this budget, run with two seeds (their difference is reported as the truth's own error).
REFERENCE_BUDGET = 1 << 20
# Estimators run with --slow-seeds seeds (the first ones) instead of --seeds.
SLOW_METHODS = {"shapiq RegressionMSR"}
LOUPE = Path(os.environ.get("LOUPE_BENCH_SAMPLING", "target/release/examples/bench_sampling"))
LOUPE_METHODS = ["kernel", "kernel-kriging", "kernel-sparse", "kernel-dense", "kernel-linear",
                 "kernel-shap-design", "permutation"]


def models():
    return {
        "mlp": lambda: make_pipeline(
            StandardScaler(), MLPClassifier((16, 8), max_iter=2000, random_state=0)
        ),
        "gbt": lambda: GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0),
    }


class Game:
    """v(S) for one row, every coalition's hybrid rows in one onnxruntime call."""

    def __init__(self, session, x, background):
        self.session, self.x, self.bg = session, x, background
        self.calls = 0

    def __call__(self, coalitions):
        coalitions = np.asarray(coalitions, dtype=bool)
        n, m = coalitions.shape
        hybrid = np.where(coalitions[:, None, :], self.x[None, None, :], self.bg[None, :, :])
        hybrid = hybrid.reshape(-1, m).astype(np.float32)
        out = self.session.run(None, {"input": hybrid})[1][:, 1]
        self.calls += n
        return out.reshape(n, len(self.bg)).mean(axis=1).astype(np.float64)


def predict_fn(session):
    return lambda x: session.run(None, {"input": np.asarray(x, dtype=np.float32)})[1][:, 1]


def python_estimates(name, budget, seed, session, rows, background, m):
    out = []
    for x in rows:
        game = Game(session, x, background)
        if name == "shap kernel":
            np.random.seed(seed)
            explainer = shap.KernelExplainer(predict_fn(session), background)
            v = explainer.shap_values(x[None, :], nsamples=budget, l1_reg=False, silent=True)
            v = np.asarray(v).reshape(-1)[:m]
        elif name == "shap permutation":
            masker = shap.maskers.Independent(background, max_samples=len(background))
            explainer = shap.PermutationExplainer(predict_fn(session), masker, seed=seed)
            v = explainer(x[None, :], max_evals=budget).values[0]
        else:
            approximator = shapiq_approximator(name, m, seed)
            iv = approximator.approximate(budget, game)
            v = np.array([iv[(j,)] for j in range(m)])
        out.append(np.asarray(v, dtype=np.float64))
    return np.array(out)


def shapiq_approximator(name, m, seed):
    a = shapiq.approximator
    if name == "shapiq kernel":
        return a.KernelSHAP(n=m, pairing_trick=True, random_state=seed)
    if name == "shapiq leverage weights":
        return a.KernelSHAP(n=m, pairing_trick=True, sampling_weights=np.ones(m + 1),
                            random_state=seed)
    if name == "shapiq LeverageSHAP":
        return a.LeverageSHAP(n=m, pairing_trick=True, random_state=seed)
    if name == "shapiq RegressionMSR":
        return a.RegressionMSR(n=m, index="SV", pairing_trick=True, random_state=seed)
    if name == "shapiq OddSHAP":
        return a.OddSHAP(n=m, random_state=seed)
    raise ValueError(name)


PYTHON_METHODS = ["shap kernel", "shap permutation", "shapiq kernel", "shapiq leverage weights"]
# shapiq's own Leverage SHAP, regression-adjusted MSR and OddSHAP arrived in shapiq 1.5
# (Python >= 3.12).
if hasattr(shapiq.approximator, "RegressionMSR"):
    PYTHON_METHODS += ["shapiq LeverageSHAP", "shapiq RegressionMSR", "shapiq OddSHAP"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--background", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--features", default="8,12,16,30")
    parser.add_argument("--models", default="mlp,gbt")
    parser.add_argument("--slow-seeds", type=int, default=None,
                        help="seeds for the slowest estimators (RegressionMSR), default --seeds")
    parser.add_argument("--loupe-only", action="store_true",
                        help="rerun Loupe's estimators only, keeping the Python packages' curves "
                             "from --out/results.json (same data, models and budgets)")
    parser.add_argument("--replot", action="store_true",
                        help="only redraw the plot and tables from --out/results.json")
    args = parser.parse_args()
    if args.replot:
        results = json.loads((args.out / "results.json").read_text())
        plot(results, args.out / "error_vs_evaluations.png")
        tables(results)
        wall_times(results)
        against_shapiq(results)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    data = load_breast_cancer()
    x_all = data.data.astype(np.float32)
    y = data.target
    results = {
        "versions": {p: version(p) for p in ["shap", "shapiq", "scikit-learn", "onnxruntime"]},
        "rows": args.rows,
        "background": args.background,
        "seeds": args.seeds,
        "cases": [],
    }
    previous = {}
    if args.loupe_only:
        results = json.loads((args.out / "results.json").read_text())
        previous = {(c["model"], c["features"]): c for c in results["cases"]}
        results["loupe_rerun"] = {"features": args.features, "seeds": args.seeds}
    for m in [int(f) for f in args.features.split(",")]:
        x_train, x_test, y_train, _ = train_test_split(
            x_all[:, :m], y, test_size=0.25, random_state=0, stratify=y
        )
        rows, background = x_test[: args.rows], x_train[: args.background]
        for model_name, make in models().items():
            if model_name not in args.models.split(","):
                continue
            estimator = make().fit(x_train, y_train)
            options = {id(estimator): {"zipmap": False}}
            if model_name == "mlp":
                options = {id(estimator.steps[-1][1]): {"zipmap": False}}
            onx = convert_sklearn(
                estimator,
                initial_types=[("input", FloatTensorType([None, m]))],
                target_opset=TARGET_OPSET,
                options=options,
            )
            stem = args.work / f"{model_name}{m}"
            model_path = stem.with_suffix(".onnx")
            model_path.write_bytes(onx.SerializeToString())
            np.savetxt(f"{stem}_x.csv", rows, delimiter=",", fmt="%.9g")
            np.savetxt(f"{stem}_bg.csv", background, delimiter=",", fmt="%.9g")
            session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
            budgets = BUDGETS[m]
            start = time.perf_counter()
            def loupe(methods, budgets, seeds):
                return subprocess.run(
                    [str(LOUPE), str(model_path), f"{stem}_x.csv", f"{stem}_bg.csv", "1",
                     ",".join(methods), ",".join(map(str, budgets)), str(seeds)],
                    check=True, capture_output=True, text=True,
                ).stdout.splitlines()

            reference = m > 20
            lines = loupe(([] if reference else ["exact"]) + LOUPE_METHODS, budgets, args.seeds)
            if reference:
                lines += loupe(["reference"], [REFERENCE_BUDGET], 2)
            estimates = {}
            for line in lines:
                f = line.split(",")
                key = ("loupe " + f[0], int(f[1]), int(f[2]))
                estimates.setdefault(key, {})[int(f[3])] = (np.array(f[6:], float), float(f[5]))
            case = {"model": model_name, "features": m, "methods": {}}
            if reference:
                runs = [np.array([estimates[("loupe reference", REFERENCE_BUDGET, s)][r][0]
                                  for r in range(len(rows))]) for s in range(2)]
                exact = (runs[0] + runs[1]) / 2
                # Each run's error is about |a − b|/√2; the mean of two, half of |a − b|.
                case["truth"] = {
                    "budget": REFERENCE_BUDGET,
                    "seeds": 2,
                    "max_abs_difference": float(np.abs(runs[0] - runs[1]).max()),
                    "mse_of_mean": float(np.mean((runs[0] - runs[1]) ** 2) / 4),
                }
                print(f"{model_name}{m} truth: {case['truth']}", flush=True)
            else:
                exact = np.array([estimates[("loupe exact", 0, 0)][r][0] for r in range(len(rows))])
            methods = ["loupe " + n for n in LOUPE_METHODS] + PYTHON_METHODS
            kept = previous.get((model_name, m))
            for method in methods:
                if kept is not None and not method.startswith("loupe"):
                    case["methods"][method] = kept["methods"][method]
                    continue
                curve = []
                seeds = args.seeds
                if method in SLOW_METHODS and args.slow_seeds is not None:
                    seeds = min(seeds, args.slow_seeds)
                for budget in budgets:
                    mse, mae, micros = [], [], []
                    for seed in range(seeds):
                        if method.startswith("loupe"):
                            got = estimates[(method, budget, seed)]
                            values = np.array([got[r][0] for r in range(len(rows))])
                            micros.append(got[0][1])
                        else:
                            t0 = time.perf_counter()
                            values = python_estimates(
                                method, budget, seed, session, rows, background, m
                            )
                            micros.append((time.perf_counter() - t0) * 1e6 / len(rows))
                        # Every estimator is additive: the same game, the same totals.
                        gap = np.abs(values.sum(1) - exact.sum(1)).max()
                        assert gap < 1e-4, (method, budget, seed, gap)
                        err = values - exact
                        mse.append(float(np.mean(err**2)))
                        mae.append(float(np.mean(np.abs(err))))
                    curve.append({
                        "budget": budget,
                        "mse_median": float(np.median(mse)),
                        "mae_mean": float(np.mean(mae)),
                        "us_per_row": float(np.median(micros)),
                        "seeds": seeds,
                    })
                case["methods"][method] = curve
                print(f"{model_name}{m} {method:28s} " + "  ".join(
                    f"{c['budget']}: {c['mse_median']:.2e}" for c in curve), flush=True)
            if kept is not None:
                case = {**kept, **{k: v for k, v in case.items() if k != "methods"},
                        "methods": case["methods"]}
                results["cases"] = [case if c is kept else c for c in results["cases"]]
            else:
                results["cases"].append(case)
            print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)
            # Written after every case, so a long run keeps what it has measured.
            (args.out / "results.json").write_text(json.dumps(results, indent=1))
    plot(results, args.out / "error_vs_evaluations.png")
    tables(results)
    wall_times(results)
    against_shapiq(results)


def evaluations_to_reach(curve, target):
    """Budget at which a curve reaches `target` MSE, interpolated in log-log (None beyond)."""
    points = [(c["budget"], c["mse_median"]) for c in curve]
    for (b0, e0), (b1, e1) in zip(points, points[1:]):
        if e0 >= target >= e1 and e0 > e1:
            t = (np.log(e0) - np.log(target)) / (np.log(e0) - np.log(e1))
            return float(np.exp(np.log(b0) + t * (np.log(b1) - np.log(b0))))
    if points and points[0][1] <= target:
        return float(points[0][0])
    return None


def tables(results):
    """Markdown: MSE per budget, and coalitions to reach shap KernelExplainer's largest-budget MSE."""
    for case in results["cases"]:
        budgets = [c["budget"] for c in next(iter(case["methods"].values()))]
        print(f"\n{case['model'].upper()}, {case['features']} features: median MSE (mean abs error)\n")
        print("| | " + " | ".join(str(b) for b in budgets) + " | to reach shap kernel at "
              f"{budgets[-1]} |")
        print("|---|" + "---:|" * (len(budgets) + 1))
        target = case["methods"]["shap kernel"][-1]["mse_median"]
        for method, curve in case["methods"].items():
            reach = evaluations_to_reach(curve, target)
            cells = [f"{c['mse_median']:.2e} ({c['mae_mean']:.1e})" for c in curve]
            reach = f"{reach:.0f} ({reach / budgets[-1]:.2f}×)" if reach else "—"
            print(f"| {method} | " + " | ".join(cells) + f" | {reach} |")


def wall_times(results, method="loupe kernel"):
    """Markdown: time per row of `method` at its smallest budget at least as accurate as shap
    KernelExplainer at its largest, against shap's time there (same run)."""
    print("\n| case | budget | MSE | µs / row | shap kernel: budget | MSE | µs / row | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for case in results["cases"]:
        shap_last = case["methods"]["shap kernel"][-1]
        hit = next((c for c in case["methods"][method]
                    if c["mse_median"] <= shap_last["mse_median"]), None)
        name = f"{case['model']}, {case['features']}"
        if hit is None:
            print(f"| {name} | — | | | {shap_last['budget']} | {shap_last['mse_median']:.2e} "
                  f"| {shap_last['us_per_row']:.0f} | — |")
            continue
        print(f"| {name} | {hit['budget']} | {hit['mse_median']:.2e} | {hit['us_per_row']:.0f} "
              f"| {shap_last['budget']} | {shap_last['mse_median']:.2e} "
              f"| {shap_last['us_per_row']:.0f} | {hit['us_per_row'] / shap_last['us_per_row']:.3f}× |")


def against_shapiq(results, method="loupe kernel"):
    """Markdown: `method` against the best of shapiq's estimators at each budget."""
    print("\n| case | budget | Loupe MSE | shapiq best | its MSE | Loupe / best |")
    print("|---|---:|---:|---|---:|---:|")
    for case in results["cases"]:
        ours = {c["budget"]: c["mse_median"] for c in case["methods"][method]}
        for budget, mse in ours.items():
            rivals = [(c["mse_median"], name) for name, curve in case["methods"].items()
                      if name.startswith("shapiq") for c in curve if c["budget"] == budget]
            if not rivals:
                continue
            best, name = min(rivals)
            print(f"| {case['model']}, {case['features']} | {budget} | {mse:.2e} "
                  f"| {name[len('shapiq '):]} | {best:.2e} | {mse / best:.2f} |")


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = results["cases"]
    columns = (len(cases) + 1) // 2
    fig, axes = plt.subplots(2, columns, figsize=(4.2 * columns, 7.5), squeeze=False)
    # One colour per estimator across all panels (more estimators than tab10 has colours).
    names = sorted({m for case in cases for m in case["methods"]})
    palette = list(plt.cm.tab10.colors) + ["black", "#999999", "#8c6d31", "#ff1493", "#00ced1",
                                           "#6b8e23"]
    colour = {m: palette[i % len(palette)] for i, m in enumerate(names)}
    for i, case in enumerate(cases):
        ax = axes[i % 2][i // 2]
        for method, curve in case["methods"].items():
            style = "-o" if method.startswith("loupe") else "--s"
            ax.loglog([c["budget"] for c in curve], [c["mse_median"] for c in curve], style,
                      label=method, markersize=3, color=colour[method])
        # Ticks at the budgets measured, written in full (no overlapping minor labels).
        budgets = sorted({c["budget"] for curve in case["methods"].values() for c in curve})
        ax.set_xticks(budgets)
        ax.set_xticklabels([f"{b:,}" for b in budgets], rotation=45, fontsize=7)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{case['model'].upper()}, {case['features']} features")
        ax.set_xlabel("coalition evaluations per row")
        ax.set_ylabel("MSE vs exact (median over seeds)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
