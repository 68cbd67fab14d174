#!/usr/bin/env bash
# Loupe against Python shap (+ onnxruntime) in one run, same rows, same background, same
# machine. Needs: pip install -r tools/bench-requirements.txt
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-20}
background=${BACKGROUND:-50}
out=${OUT:-target/bench}
mkdir -p "$out"
cargo build --release --quiet --example bench_explain
nproc
for model in breast_cancer_mlp12 breast_cancer_mlp; do
  echo "== $model: Loupe"
  target/release/examples/bench_explain "sample_models/$model.onnx" sample_models/breast_cancer.csv "$rows" "$background"
  echo "== $model: shap"
  python tools/bench_shap.py --model "sample_models/$model.onnx" --data sample_models/breast_cancer.csv \
    --rows "$rows" --background "$background" --out "$out/shap_$model.json"
done
