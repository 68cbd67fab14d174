#!/usr/bin/env bash
# Seeds each fuzz target's corpus (fuzz/corpus/<target>) from the repository's own files:
# the hostile-input corpus, the bundled samples and the test fixtures. Run from anywhere.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/fuzz/corpus"
mkdir -p "$corpus"/{csv,onnx,image,trees}

# CSV: every bad CSV whole, and the first rows of every good one.
cp "$root"/tests/bad_inputs/*.csv "$corpus/csv/"
for f in "$root"/sample_models/*.csv "$root"/tests/data/trees/*.csv; do
    head -n 12 "$f" > "$corpus/csv/head-$(basename "$f")"
done

# ONNX: a little-endian u16 card length, the card, then the model.
le16() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8)))"; }
for model in "$root"/sample_models/*.onnx "$root"/tests/data/trees/*.onnx \
             "$root"/tests/data/images/*.onnx "$root"/tests/bad_inputs/*.onnx \
             "$root"/tests/data/conformance/*.onnx; do
    name="$(basename "$model" .onnx)"
    { le16 0; cat "$model"; } > "$corpus/onnx/$name"
    card="${model%.onnx}.card.json"
    if [[ -f "$card" ]]; then
        { le16 "$(stat -c %s "$card")"; cat "$card"; cat "$model"; } > "$corpus/onnx/$name-card"
    fi
done
for card in "$root"/tests/bad_inputs/*.json; do
    { le16 "$(stat -c %s "$card")"; cat "$card"; cat "$root/sample_models/breast_cancer_logreg.onnx"; } \
        > "$corpus/onnx/card-$(basename "$card" .json)"
done

# Images: the bad ones, and a few of every sample set.
find "$root/tests/bad_inputs" -type f \( -name '*.png' -o -name '*.jpg' -o -name '*.jpeg' \) \
    -exec cp {} "$corpus/image/" \;
find "$root/sample_models/digits" "$root/sample_models/lesions" "$root/tests/data/images" \
    -type f \( -name '*.png' -o -name '*.jpg' \) | sort | awk 'NR % 97 == 1' |
    while read -r f; do cp "$f" "$corpus/image/$(echo "$f" | md5sum | cut -c1-12)-$(basename "$f")"; done

# Trees: structured input from bytes; no seeds needed.
for t in csv onnx image trees; do
    echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
