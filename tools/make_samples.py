"""Generate Loupe's bundled sample models and data in sample_models/.

Run from the repository root:

    pip install -r tools/requirements.txt && python tools/make_samples.py

It writes:

* breast_cancer.csv: scikit-learn's copy of the UCI Breast Cancer Wisconsin
  (Diagnostic) data, with a `diagnosis` and a stratified train/test `split`
  column;
* breast_cancer_mlp.onnx and breast_cancer_logreg.onnx: two scikit-learn
  pipelines trained on the train split, exported with skl2onnx's default
  options (ZipMap included), plus a model card (.card.json) for each;
* breast_cancer_mlp12.onnx (and its card): the same MLP on only the first 12
  features, few enough for exact Shapley values (2^12 coalitions) to serve as
  a reference in tests and benchmarks;
* expected/<model>.csv: onnxruntime's label and probabilities for every row
  of breast_cancer.csv, with the model's input columns read back from that
  CSV as float32;
* PROVENANCE.md: data source, split, training details, accuracies, hashes.

Seeds are fixed, so two runs with the pinned versions give identical bytes.
"""

import csv
import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import scipy
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT_DIR = Path(__file__).resolve().parent.parent / "sample_models"
DATA_CSV = "breast_cancer.csv"
SPLIT_SEED = 0
TEST_SIZE = 0.25
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
INPUT_NAME = "input"
# sklearn's target: 0 = malignant, 1 = benign.
CLASS_NAMES = ["malignant", "benign"]
N_ALL_FEATURES = 30

MLP_PIPELINE = {
    "pipeline": "StandardScaler() -> MLPClassifier(hidden_layer_sizes=(16, 8), "
    "max_iter=2000, random_state=0)",
    "make": lambda: make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=2000, random_state=0),
    ),
    "what": "A small neural network (multilayer perceptron with hidden layers "
    "of 16 and 8 ReLU units, after standardising each feature)",
}

# "n_features": the model uses the first n feature columns of the data CSV.
# "note": an extra sentence for the model card's description.
MODELS = {
    "breast_cancer_mlp": {**MLP_PIPELINE, "n_features": N_ALL_FEATURES},
    "breast_cancer_logreg": {
        "pipeline": "StandardScaler() -> LogisticRegression(max_iter=5000, C=1.0)",
        "make": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=5000, C=1.0)
        ),
        "what": "A logistic regression (after standardising each feature)",
        "n_features": N_ALL_FEATURES,
    },
    "breast_cancer_mlp12": {
        **MLP_PIPELINE,
        "n_features": 12,
        "note": "It is the 12-feature variant of breast_cancer_mlp (the 10 mean "
        "features, then radius error and texture error), small enough that exact "
        "Shapley values over all 2^12 feature subsets can be computed, and is used "
        "as the exact-Shapley reference in Loupe's tests and benchmarks.",
    },
}


def write_text(path, text):
    """Write UTF-8 text with '\\n' line endings."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def accuracy_text(correct, total):
    return f"{correct / total:.4f} ({correct}/{total})"


def make_split(y):
    """Stratified train/test split; returns a 'train'/'test' string per row."""
    _, test_idx = train_test_split(
        np.arange(len(y)), test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y
    )
    split = np.full(len(y), "train", dtype=object)
    split[test_idx] = "test"
    return split


def write_data_csv(path, data, feature_names, y, split):
    header = feature_names + ["diagnosis", "split"]
    rows = (
        [repr(float(v)) for v in features] + [CLASS_NAMES[label], part]
        for features, label, part in zip(data, y, split)
    )
    write_csv(path, header, rows)


def read_data_csv(path):
    """Read the data CSV back the way Loupe does: features as float32."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    n_features = header.index("diagnosis")
    X = np.array([[float(v) for v in r[:n_features]] for r in rows]).astype(np.float32)
    diagnosis = [r[n_features] for r in rows]
    split = [r[n_features + 1] for r in rows]
    return X, diagnosis, split


def train_and_export(name, spec, X_train, y_train):
    """Fit the pipeline on float32 X and convert it with default skl2onnx options."""
    pipeline = spec["make"]().fit(X_train, y_train)
    model = convert_sklearn(
        pipeline,
        name=name,  # the default graph name is a random UUID
        initial_types=[(INPUT_NAME, FloatTensorType([None, X_train.shape[1]]))],
        target_opset=TARGET_OPSET,
    )
    # skl2onnx collects the opsets in a set, so their order follows Python's
    # string hashing (PYTHONHASHSEED); sort them to get the same bytes each run.
    imports = sorted((imp.domain, imp.version) for imp in model.opset_import)
    del model.opset_import[:]
    model.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in imports)
    onnx.checker.check_model(model)
    return model


def describe_graph(model):
    """Print the op types, the graph outputs and the tensor feeding ZipMap."""
    graph = onnx.shape_inference.infer_shapes(model).graph
    inferred = {v.name: v.type for v in graph.value_info}
    print(f"  opsets: {opset_text(model)}")
    print(f"  ops: {[n.op_type for n in graph.node]}")
    for out in graph.output:
        print(f"  output {out.name}: {type_text(out.type)}")
    for node in graph.node:
        if node.op_type == "ZipMap":
            feed = node.input[0]
            print(f"  ZipMap input {feed}: {type_text(inferred[feed])}")


def type_text(t):
    """Readable ONNX type, e.g. 'seq(map(int64, tensor(float32)))'."""
    kind = t.WhichOneof("value")
    if kind == "tensor_type":
        elem = onnx.helper.tensor_dtype_to_np_dtype(t.tensor_type.elem_type).name
        if not t.tensor_type.HasField("shape"):
            return f"tensor({elem})"
        dims = [
            d.dim_param or (str(d.dim_value) if d.HasField("dim_value") else "?")
            for d in t.tensor_type.shape.dim
        ]
        return f"tensor({elem}, [{', '.join(dims)}])"
    if kind == "sequence_type":
        return f"seq({type_text(t.sequence_type.elem_type)})"
    if kind == "map_type":
        key = onnx.helper.tensor_dtype_to_np_dtype(t.map_type.key_type).name
        return f"map({key}, {type_text(t.map_type.value_type)})"
    return kind


def opset_text(model):
    return ", ".join(
        f"{imp.domain or 'ai.onnx'} {imp.version}"
        for imp in model.opset_import
    )


def predict(path, X):
    """Run onnxruntime; return labels (int) and an (n, 2) float32 probability array."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )
    labels, zipmap = session.run(["output_label", "output_probability"], {INPUT_NAME: X})
    probs = np.array([[row[0], row[1]] for row in zipmap], dtype=np.float32)
    return labels.astype(int), probs


def write_expected(path, labels, probs):
    rows = (
        [i, int(label), repr(float(p[0])), repr(float(p[1]))]
        for i, (label, p) in enumerate(zip(labels, probs))
    )
    write_csv(path, ["row", "label", "p_malignant", "p_benign"], rows)


def write_card(path, spec, feature_names, n_train):
    note = f"{spec['note']} " if "note" in spec else ""
    card = {
        "task": "classification",
        "class_names": CLASS_NAMES,
        "positive_class": "malignant",
        "feature_names": feature_names,
        "description": (
            f"{spec['what']} that classifies a breast mass as malignant or benign "
            f"from {len(feature_names)} measurements of cell nuclei in a fine-needle "
            f"aspirate image, trained with scikit-learn on {n_train} rows of the "
            f"Breast Cancer Wisconsin (Diagnostic) data set. {note}It is a demo for "
            "exploring Loupe, not a medical device."
        ),
    }
    write_text(path, json.dumps(card, indent=2, sort_keys=True) + "\n")


def evaluate(labels, diagnosis, split):
    """Accuracy text on the test split and on all rows, against the diagnosis."""
    correct = [CLASS_NAMES[label] == d for label, d in zip(labels, diagnosis)]
    test = [c for c, s in zip(correct, split) if s == "test"]
    return accuracy_text(sum(test), len(test)), accuracy_text(sum(correct), len(correct))


def split_table(y, split):
    lines = [
        "| split | rows | malignant (0) | benign (1) |",
        "| --- | --- | --- | --- |",
    ]
    for part in ("train", "test"):
        mask = split == part
        counts = [int(np.sum(y[mask] == c)) for c in range(len(CLASS_NAMES))]
        lines.append(f"| {part} | {int(mask.sum())} | {counts[0]} | {counts[1]} |")
    counts = [int(np.sum(y == c)) for c in range(len(CLASS_NAMES))]
    lines.append(f"| all | {len(y)} | {counts[0]} | {counts[1]} |")
    return "\n".join(lines)


def versions_text():
    pairs = [
        ("Python", platform.python_version()),
        ("numpy", np.__version__),
        ("scipy", scipy.__version__),
        ("scikit-learn", sklearn.__version__),
        ("skl2onnx", skl2onnx.__version__),
        ("onnx", onnx.__version__),
        ("onnxruntime", ort.__version__),
    ]
    return ", ".join(f"{name} {version}" for name, version in pairs)


def features_text(feature_names):
    """How a model's input relates to the data CSV's feature columns."""
    if len(feature_names) == N_ALL_FEATURES:
        return f"all {N_ALL_FEATURES} features"
    return (
        f"only the first {len(feature_names)} features "
        f"(`{feature_names[0]}` to `{feature_names[-1]}`)"
    )


def write_provenance(path, y, split, results):
    model_lines = "\n".join(
        f"- `{name}.onnx`: `{r['pipeline']}` on {features_text(r['feature_names'])}; "
        f"opsets {r['opsets']}"
        for name, r in results.items()
    )
    table = "\n".join(
        f"| `{name}.onnx` | {r['test_acc']} | {r['all_acc']} | `{r['sha256']}` |"
        for name, r in results.items()
    )
    text = f"""# Sample models: provenance

Generated by `tools/make_samples.py`. Do not edit these files by hand; to
regenerate them, from the repository root:

    pip install -r tools/requirements.txt && python tools/make_samples.py

## Data: `{DATA_CSV}`

Breast Cancer Wisconsin (Diagnostic) data set, created by William H. Wolberg,
W. Nick Street and Olvi L. Mangasarian (University of Wisconsin, November
1995), from the UCI Machine Learning Repository, licensed CC BY 4.0 as stated
on the UCI repository. Taken from the copy shipped with scikit-learn
(`sklearn.datasets.load_breast_cancer`).

All 569 rows in their original order: the 30 features under scikit-learn's
names, then `diagnosis` (`malignant` for target 0, `benign` for target 1),
then `split`. Numbers are the shortest text that round-trips the float64 value.

`split` comes from `train_test_split(test_size={TEST_SIZE}, random_state={SPLIT_SEED},
stratify=target)`:

{split_table(y, split)}

## Models

All are scikit-learn pipelines fitted on the train rows only, with the
features cast to float32 and the integer target (0 = malignant, 1 = benign):

{model_lines}

`breast_cancer_mlp12.onnx` has few enough features for exact Shapley values
(all 2^12 feature subsets) to be computed, so tests and benchmarks use it as a
reference. Its card lists its 12 feature names, which pick those columns out of
`{DATA_CSV}`.

They were exported with skl2onnx `convert_sklearn` and its default options
(so the graph ends in a ZipMap), one input `{INPUT_NAME}` of type
`FloatTensorType([None, n])` with n the model's number of features, and
`target_opset={TARGET_OPSET}` (skl2onnx writes
the lowest opsets the graph needs, listed above). Outputs: `output_label`
(int64, [N]) and `output_probability` (sequence of maps int64 -> float, keys 0
and 1).

Library versions: {versions_text()}.

Accuracy is of onnxruntime's `output_label` against `diagnosis`, with the
input read back from `{DATA_CSV}` as float32.

| model | test accuracy | accuracy, all 569 rows | sha256 |
| --- | --- | --- | --- |
{table}

## Expected outputs: `expected/*.csv`

onnxruntime's output for every row of `{DATA_CSV}` (the model's feature
columns parsed as float, cast to float32): `row` (0-based data row), `label`
(`output_label`), `p_malignant` and `p_benign` (`output_probability` for
classes 0 and 1: the float32 value widened exactly to float64 and written as
the shortest text that round-trips that float64, i.e. Python's `repr`).
"""
    write_text(path, text)


def main():
    dataset = load_breast_cancer()
    feature_names = [str(n) for n in dataset.feature_names]
    y = dataset.target.astype(int)
    split = make_split(y)

    data_path = OUT_DIR / DATA_CSV
    write_data_csv(data_path, dataset.data, feature_names, y, split)
    X, diagnosis, split_read = read_data_csv(data_path)
    train = split == "train"
    X_train = dataset.data.astype(np.float32)[train]

    results = {}
    for name, spec in MODELS.items():
        n = spec["n_features"]
        model = train_and_export(name, spec, X_train[:, :n], y[train])
        model_path = OUT_DIR / f"{name}.onnx"
        model_path.write_bytes(model.SerializeToString())
        print(f"{name}.onnx")
        describe_graph(model)

        write_card(OUT_DIR / f"{name}.card.json", spec, feature_names[:n], int(train.sum()))
        labels, probs = predict(model_path, X[:, :n])
        write_expected(OUT_DIR / "expected" / f"{name}.csv", labels, probs)
        test_acc, all_acc = evaluate(labels, diagnosis, split_read)
        print(f"  test accuracy {test_acc}, all rows {all_acc}")
        print(f"  max |p_malignant + p_benign - 1| = {np.abs(probs.astype(np.float64).sum(axis=1) - 1).max():.3g}")
        results[name] = {
            "pipeline": spec["pipeline"],
            "feature_names": feature_names[:n],
            "opsets": opset_text(model),
            "test_acc": test_acc,
            "all_acc": all_acc,
            "sha256": sha256(model_path),
        }

    write_provenance(OUT_DIR / "PROVENANCE.md", y, split, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
