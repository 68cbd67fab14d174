#!/usr/bin/env bash
# Loupe against Python shap (+ onnxruntime) in one run, same rows, same background, same
# machine. Needs: pip install -r tools/bench-requirements.txt
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-20}
background=${BACKGROUND:-50}
tree_rows=${TREE_ROWS:-100}
out=${OUT:-target/bench}
mkdir -p "$out"
cargo build --release --quiet --example bench_explain --example bench_trees
nproc
for model in breast_cancer_mlp12 breast_cancer_mlp; do
  echo "== $model: Loupe"
  target/release/examples/bench_explain "sample_models/$model.onnx" sample_models/breast_cancer.csv "$rows" "$background"
  echo "== $model: shap"
  python tools/bench_shap.py --model "sample_models/$model.onnx" --data sample_models/breast_cancer.csv \
    --rows "$rows" --background "$background" --out "$out/shap_$model.json"
done
for model in breast_cancer_gbt breast_cancer_rf; do
  echo "== $model: onnxruntime and shap TreeExplainer"
  python tools/bench_trees.py --model "sample_models/$model.onnx" --data sample_models/breast_cancer.csv \
    --rows "$tree_rows" --background "$background" --out "$out/trees_$model.json"
  echo "== $model: Loupe (trees)"
  target/release/examples/bench_trees "sample_models/$model.onnx" sample_models/breast_cancer.csv \
    "$tree_rows" "$background" "$out/trees_$model.json"
done
