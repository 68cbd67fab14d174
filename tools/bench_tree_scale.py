"""Interventional TreeSHAP at scale: shap's TreeExplainer against Loupe on a
100-tree, depth-6 gradient-boosted ensemble, 1,000 background rows.

Run from the repository root (writes the model and rows to --work):

    python tools/bench_tree_scale.py --work /tmp/tree_scale --rows 100
    cargo run --release --example bench_tree_scale -- /tmp/tree_scale

Data: scikit-learn's digits (1,797 rows, 64 pixel features as float32),
label "digit ≥ 5". GradientBoostingClassifier(n_estimators=100,
max_depth=6, random_state=0) is fitted on all rows and exported with
skl2onnx's defaults. The background is the last 1,000 rows, equal weights;
the explained rows the first 1,000 (`x.csv`). shap explains the first
`--rows` of them (its cost is linear in the rows: the figure is per row),
feature_perturbation="interventional", model_output="raw" (log-odds),
median of 3 runs after an untimed one-row run; its values are written to
`shap.json` for Loupe's example to compare with. (Given more than 100 rows
as `data`, shap's TreeExplainer silently keeps a random 100; the background
goes in through an Independent masker so that all 1,000 are used.)
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx
import shap
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_digits
from sklearn.ensemble import GradientBoostingClassifier

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
BACKGROUND = 1000
EXPLAINED = 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=100, help="rows shap explains")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    digits = load_digits()
    x = digits.data.astype(np.float32)
    y = (digits.target >= 5).astype(int)
    model = GradientBoostingClassifier(n_estimators=100, max_depth=6, random_state=0).fit(x, y)
    onx = convert_sklearn(
        model,
        name="digits_gbt6",
        initial_types=[("input", FloatTensorType([None, x.shape[1]]))],
        target_opset=TARGET_OPSET,
        options={id(model): {"zipmap": False}},
    )
    onnx.save(onx, args.work / "model.onnx")
    background = x[-BACKGROUND:]
    explained = x[:EXPLAINED]
    np.savetxt(args.work / "x.csv", explained, delimiter=",", fmt="%.9g")
    np.savetxt(args.work / "bg.csv", background, delimiter=",", fmt="%.9g")

    # Given more than 100 rows as `data`, shap keeps a random 100 of them: an Independent
    # masker with max_samples keeps them all.
    masker = shap.maskers.Independent(background, max_samples=BACKGROUND)
    explainer = shap.TreeExplainer(
        model, data=masker, feature_perturbation="interventional", model_output="raw"
    )
    assert explainer.data.shape[0] == BACKGROUND, explainer.data.shape
    rows = explained[: args.rows]
    explainer.shap_values(rows[:1], check_additivity=False)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        values = explainer.shap_values(rows, check_additivity=False)
        times.append(time.perf_counter() - start)
    per_row = float(np.median(times)) / len(rows)
    values = np.asarray(values)
    (args.work / "shap.json").write_text(
        json.dumps(
            {
                "shap": shap.__version__,
                "rows": len(rows),
                "background": BACKGROUND,
                "seconds_per_row": per_row,
                "shap_values": values.tolist(),
            }
        )
    )
    print(
        f"shap {shap.__version__} TreeExplainer interventional, background {BACKGROUND}: "
        f"{per_row * 1e3:.2f} ms/row over {len(rows)} rows ({per_row * EXPLAINED:.1f} s for "
        f"{EXPLAINED} rows)"
    )


if __name__ == "__main__":
    main()
