"""One point of the Shapley-estimation benchmark, for the wall-time table in BENCHMARKS.md:
Loupe's median MSE and time per row at chosen budgets on one of the files that
tools/bench_sampling.py wrote to --work, and (with --shap BUDGET) shap KernelExplainer's
time per row there, both in the same sitting.

    python tools/bench_sampling_point.py --work /tmp/bench_sampling mlp12 256 --seeds 20 \
        --shap 1024

Truth: Loupe's exact enumeration up to 20 features, else the mean of two kernel runs of 2^20
coalitions (as in tools/bench_sampling.py), cached in --work.
"""

import argparse
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

import bench_sampling as bench

LOUPE = Path(os.environ.get("LOUPE_BENCH_SAMPLING", "target/release/examples/bench_sampling"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("case", help="a file stem in --work, e.g. mlp12")
    parser.add_argument("budgets", help="comma-separated coalition budgets")
    parser.add_argument("--method", default="kernel")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--shap", type=int, default=None, help="time shap kernel at this budget")
    parser.add_argument("--shap-seeds", type=int, default=5)
    args = parser.parse_args()
    stem = args.work / args.case
    m = int("".join(c for c in args.case if c.isdigit()))

    def loupe(method, budgets, seeds):
        out = subprocess.run(
            [str(LOUPE), f"{stem}.onnx", f"{stem}_x.csv", f"{stem}_bg.csv", "1", method,
             budgets, str(seeds)], check=True, capture_output=True, text=True).stdout
        runs = {}
        for line in out.splitlines():
            f = line.split(",")
            runs.setdefault((int(f[1]), int(f[2])), {})[int(f[3])] = (
                np.array(f[6:], float), float(f[5]))
        return {k: (np.array([r[i][0] for i in sorted(r)]), r[0][1]) for k, r in runs.items()}

    cached = Path(f"{stem}_truth.npy")
    if cached.exists():
        truth = np.load(cached)
    elif m <= 20:
        truth = loupe("exact", "0", 1)[(0, 0)][0]
        np.save(cached, truth)
    else:
        runs = loupe("reference", str(bench.REFERENCE_BUDGET), 2)
        truth = (runs[(bench.REFERENCE_BUDGET, 0)][0] + runs[(bench.REFERENCE_BUDGET, 1)][0]) / 2
        np.save(cached, truth)
    runs = loupe(args.method, args.budgets, args.seeds)
    for budget in map(int, args.budgets.split(",")):
        mse = [np.mean((runs[(budget, s)][0] - truth) ** 2) for s in range(args.seeds)]
        micros = [runs[(budget, s)][1] for s in range(args.seeds)]
        print(f"{args.case} loupe {args.method} {budget}: MSE {np.median(mse):.3e}, "
              f"{np.median(micros):.0f} µs/row")
    if args.shap:
        session = ort.InferenceSession(f"{stem}.onnx", providers=["CPUExecutionProvider"])
        rows = np.loadtxt(f"{stem}_x.csv", delimiter=",", dtype=np.float32, ndmin=2)
        background = np.loadtxt(f"{stem}_bg.csv", delimiter=",", dtype=np.float32, ndmin=2)
        micros, mse = [], []
        for seed in range(args.shap_seeds):
            t0 = time.perf_counter()
            values = bench.python_estimates("shap kernel", args.shap, seed, session, rows,
                                            background, m)
            micros.append((time.perf_counter() - t0) * 1e6 / len(rows))
            mse.append(np.mean((values - truth) ** 2))
        print(f"{args.case} shap kernel {args.shap}: MSE {np.median(mse):.3e}, "
              f"{np.median(micros):.0f} µs/row")


if __name__ == "__main__":
    main()
