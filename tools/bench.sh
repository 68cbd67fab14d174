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
# Images: occlusion (4x4 window, stride 2, all occluded variants of an image in one batch) with
# numpy + onnxruntime, the model-call floor, and shap's Partition explainer (blur(8,8) masker,
# max_evals 1000) on the digits (28x28x1) and lesions (64x64x3) samples; then Loupe on the same
# model and rows, once its bench example exists.
image_rows=${IMAGE_ROWS:-20}
shap_image_rows=${SHAP_IMAGE_ROWS:-5}
if [[ -f examples/bench_images.rs ]]; then
  cargo build --release --quiet --example bench_images
fi
for spec in digits_cnn:digits/digits.csv lesions_cnn:lesions/lesions.csv; do
  model=${spec%%:*}
  data=sample_models/${spec#*:}
  echo "== $model: occlusion and shap Partition (Python)"
  python tools/bench_images.py --model "sample_models/$model.onnx" --data "$data" \
    --rows "$image_rows" --shap-rows "$shap_image_rows" --out "$out/images_$model.json"
  if [[ -f examples/bench_images.rs ]]; then
    echo "== $model: Loupe (images)"
    target/release/examples/bench_images "sample_models/$model.onnx" "$data" "$image_rows"
  fi
done
