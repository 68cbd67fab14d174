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
* breast_cancer_gbt.onnx and breast_cancer_rf.onnx (and their cards and
  expected outputs): a gradient-boosted tree ensemble and a random forest,
  bare scikit-learn estimators on all 30 features, exported the same way;
* PROVENANCE.md: data source, split, training details, accuracies, hashes.

and, for Loupe's tree-ensemble tests, in tests/data/trees/:

* wine.csv and diabetes.csv: scikit-learn's wine (3 classes) and diabetes
  (regression) data with a train/test `split` column;
* breast_cancer_hgb, breast_cancer_gbt10, diabetes_gbr, wine_gbt and wine_rf
  (.onnx, .card.json, .expected.csv): more tree ensembles, covering
  histogram gradient boosting, a subset of the columns, regression, softmax
  over several classes and forest averaging over several classes;
* ties.csv and breast_cancer_gbt.ties.expected.csv: rows with one feature
  set exactly to a split threshold of breast_cancer_gbt, to pin down which
  branch a value equal to the threshold takes;
* PROVENANCE.md for those files.

Seeds are fixed, so two runs with the pinned versions give identical bytes.
"""

import contextlib
import csv
import functools
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
import skl2onnx.operator_converters.random_forest as skl2onnx_forest
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score
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


def make_split(y, stratify=True):
    """Train/test split, stratified by y unless told otherwise (regression);
    returns a 'train'/'test' string per row."""
    _, test_idx = train_test_split(
        np.arange(len(y)),
        test_size=TEST_SIZE,
        random_state=SPLIT_SEED,
        stratify=y if stratify else None,
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
    sort_opset_imports(model)
    onnx.checker.check_model(model)
    return model


def sort_opset_imports(model):
    """skl2onnx collects the opsets in a set, so their order follows Python's
    string hashing (PYTHONHASHSEED); sort them to get the same bytes each run.
    Some converters (GradientBoostingRegressor) list an opset twice: keep one."""
    imports = sorted({(imp.domain, imp.version) for imp in model.opset_import})
    del model.opset_import[:]
    model.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in imports)


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


# How a clinician reads each measurement: the data set's "mean", "error" (standard error)
# and "worst" (mean of the three largest values) summarise the nuclei of one image.
MEASUREMENTS = {
    "radius": "radius",
    "texture": "texture",
    "perimeter": "perimeter",
    "area": "area",
    "smoothness": "smoothness",
    "compactness": "compactness",
    "concavity": "concavity",
    "concave points": "concave points",
    "symmetry": "symmetry",
    "fractal dimension": "fractal dimension",
}


def display_name(feature):
    """`worst concave points` -> `concave points (largest)`: the average over the image's
    nuclei, the mean of its three largest, or the standard error (variation) between them."""
    if feature.startswith("mean "):
        return f"{MEASUREMENTS[feature[5:]]} (average)"
    if feature.startswith("worst "):
        return f"{MEASUREMENTS[feature[6:]]} (largest)"
    if feature.endswith(" error"):
        return f"{MEASUREMENTS[feature[:-6]]} (variation)"
    return feature


def write_card(path, spec, feature_names, n_train):
    note = f"{spec['note']} " if "note" in spec else ""
    card = {
        "display_names": {f: display_name(f) for f in feature_names},
        "task": "classification",
        # Rows are patients: the report says "higher than 94% of patients".
        "subject": "patient",
        "class_names": CLASS_NAMES,
        "positive_class": "malignant",
        "feature_names": feature_names,
        "description": (
            f"{spec['what']} that classifies a breast mass as malignant or benign "
            f"from {len(feature_names)} measurements of cell nuclei in a fine-needle "
            f"aspirate image, trained with scikit-learn on {n_train} rows of the "
            "Breast Cancer Wisconsin (Diagnostic) data set. Each measurement is the average "
            "over the image's nuclei, its variation between them (standard error) or the "
            f"largest (the mean of the three largest values). {note}It is a demo for "
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


def write_provenance(path, y, split, results, tree_results):
    model_lines = "\n".join(
        f"- `{name}.onnx`: `{r['pipeline']}` on {features_text(r['feature_names'])}; "
        f"opsets {r['opsets']}"
        for name, r in results.items()
    )
    tree_lines = "\n".join(
        f"- `{name}.onnx`: `{r['estimator']}` on {features_text(r['feature_names'])}; "
        f"opsets {r['opsets']}; graph: {r['structure']}"
        for name, r in tree_results.items()
    )
    table = "\n".join(
        f"| `{name}.onnx` | {r['test_acc']} | {r['all_acc']} | `{r['sha256']}` |"
        for name, r in {**results, **tree_results}.items()
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

All are fitted on the train rows only, with the features cast to float32 and
the integer target (0 = malignant, 1 = benign). Three are scikit-learn
pipelines:

{model_lines}

`breast_cancer_mlp12.onnx` has few enough features for exact Shapley values
(all 2^12 feature subsets) to be computed, so tests and benchmarks use it as a
reference. Its card lists its 12 feature names, which pick those columns out of
`{DATA_CSV}`.

Two are tree ensembles, bare scikit-learn estimators (no scaler: a tree does
not care about the scale of a feature):

{tree_lines}

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
columns parsed as float, cast to float32; one intra-op thread): `row` (0-based
data row), `label` (`output_label`), `p_malignant` and `p_benign`
(`output_probability` for classes 0 and 1: the float32 value widened exactly
to float64 and written as the shortest text that round-trips that float64,
i.e. Python's `repr`).

More tree ensembles, for tests, are in `tests/data/trees/` (see the
PROVENANCE.md there).

The image samples (`lesions/`, `digits/`, `lesions_cnn.onnx`, `digits_cnn.onnx`)
come from `tools/make_images.py`; see `IMAGES.md`.
"""
    write_text(path, text)


# ---------------------------------------------------------------------------
# Tree ensembles
# ---------------------------------------------------------------------------

TREES_DIR = OUT_DIR.parent / "tests" / "data" / "trees"
WINE_CLASS_NAMES = ["cultivar 1", "cultivar 2", "cultivar 3"]
TIES_CSV = "ties.csv"
TIES_MODEL = "breast_cancer_gbt"
N_TIES = 40

# The data sets the tree models are trained on. "csv": the data CSV, whose
# columns are the features, then "target" (the class name, or the regression
# target), then `split`; "class_names": the class of integer target i is
# class_names[i] (None for regression); "positive_class", if given, goes into
# the model cards.
TREE_DATA = {
    "breast_cancer": {
        "csv": OUT_DIR / DATA_CSV,
        "target": "diagnosis",
        "class_names": CLASS_NAMES,
        "positive_class": "malignant",
    },
    "wine": {
        "csv": TREES_DIR / "wine.csv",
        "target": "class",
        "class_names": WINE_CLASS_NAMES,
    },
    "diabetes": {
        "csv": TREES_DIR / "diabetes.csv",
        "target": "target",
        "class_names": None,
    },
}

FIXTURE_NOTE = "a test fixture for Loupe's tree-ensemble code"

# "data": a TREE_DATA key; "n_features": the model uses the first n feature
# columns; "dir": where it goes (OUT_DIR: a bundled sample, with a card like the
# others, from "what"; TREES_DIR: a test fixture, whose card has "description").
TREE_MODELS = {
    "breast_cancer_gbt": {
        "estimator": "GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)",
        "make": lambda: GradientBoostingClassifier(
            n_estimators=100, max_depth=3, random_state=0
        ),
        "data": "breast_cancer",
        "n_features": N_ALL_FEATURES,
        "dir": OUT_DIR,
        "what": "A gradient-boosted ensemble of 100 decision trees of depth 3",
    },
    "breast_cancer_rf": {
        "estimator": "RandomForestClassifier(n_estimators=100, max_depth=6, random_state=0)",
        "make": lambda: RandomForestClassifier(n_estimators=100, max_depth=6, random_state=0),
        "data": "breast_cancer",
        "n_features": N_ALL_FEATURES,
        "dir": OUT_DIR,
        "what": "A random forest of 100 decision trees of depth at most 6",
    },
    "breast_cancer_hgb": {
        "estimator": "HistGradientBoostingClassifier(max_iter=50, random_state=0)",
        "make": lambda: HistGradientBoostingClassifier(max_iter=50, random_state=0),
        "data": "breast_cancer",
        "n_features": N_ALL_FEATURES,
        "dir": TREES_DIR,
        "description": "A histogram gradient-boosted tree ensemble (50 iterations) that "
        "classifies a breast mass as malignant or benign from the 30 measurements of "
        f"breast_cancer.csv, {FIXTURE_NOTE}, not a medical device.",
    },
    "breast_cancer_gbt10": {
        "estimator": "GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)",
        "make": lambda: GradientBoostingClassifier(
            n_estimators=100, max_depth=3, random_state=0
        ),
        "data": "breast_cancer",
        "n_features": 10,
        "dir": TREES_DIR,
        "description": "The gradient-boosted trees of breast_cancer_gbt trained on only "
        "the first 10 columns of breast_cancer.csv (the mean measurements), "
        f"{FIXTURE_NOTE}, not a medical device.",
    },
    "diabetes_gbr": {
        "estimator": "GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=0)",
        "make": lambda: GradientBoostingRegressor(
            n_estimators=100, max_depth=3, random_state=0
        ),
        "data": "diabetes",
        "n_features": 10,
        "dir": TREES_DIR,
        "description": "A gradient-boosted regression ensemble of 100 trees of depth 3 "
        "that predicts a measure of diabetes progression one year after baseline from "
        "age, sex, body mass index, blood pressure and six blood serum measurements, "
        f"{FIXTURE_NOTE}.",
    },
    "wine_gbt": {
        "estimator": "GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0)",
        "make": lambda: GradientBoostingClassifier(
            n_estimators=50, max_depth=3, random_state=0
        ),
        "data": "wine",
        "n_features": 13,
        "dir": TREES_DIR,
        "description": "A gradient-boosted ensemble (50 rounds of one depth-3 tree per "
        "class) that tells which of three cultivars a wine comes from by 13 results of "
        f"its chemical analysis, {FIXTURE_NOTE}.",
    },
    "wine_rf": {
        "estimator": "RandomForestClassifier(n_estimators=30, max_depth=5, random_state=0)",
        "make": lambda: RandomForestClassifier(n_estimators=30, max_depth=5, random_state=0),
        "data": "wine",
        "n_features": 13,
        "dir": TREES_DIR,
        "description": "A random forest of 30 trees of depth at most 5 that tells which "
        "of three cultivars a wine comes from by 13 results of its chemical analysis, "
        f"{FIXTURE_NOTE}.",
    },
}


@functools.cache
def load_tree_data(name):
    """A TREE_DATA set as scikit-learn ships it: float64 features, their names,
    the target (int class index, or float) and the 'train'/'test' split."""
    if name == "breast_cancer":
        dataset = load_breast_cancer()
    elif name == "wine":
        dataset = load_wine()
    elif name == "diabetes":
        # scaled=False: the measurements in their own units (age in years,
        # body mass index, mm Hg, ...), not mean-centred and rescaled.
        dataset = load_diabetes(scaled=False)
    else:
        raise KeyError(name)
    regression = TREE_DATA[name]["class_names"] is None
    target = dataset.target.astype(float if regression else int)
    return {
        "data": dataset.data,
        "feature_names": [str(n) for n in dataset.feature_names],
        "target": target,
        "split": make_split(target, stratify=not regression),
    }


def fit_tree_model(name):
    """Fit a TREE_MODELS estimator on the train rows of its data set, features
    cast to float32; return (estimator, feature names)."""
    spec = TREE_MODELS[name]
    data = load_tree_data(spec["data"])
    n = spec["n_features"]
    train = data["split"] == "train"
    X_train = data["data"].astype(np.float32)[train][:, :n]
    return spec["make"]().fit(X_train, data["target"][train]), data["feature_names"][:n]


@contextlib.contextmanager
def plain_ints_for_hist_gradient_boosting():
    """Let skl2onnx 1.20 export HistGradientBoosting* models with onnx 1.23.

    skl2onnx reads a HistGradientBoosting tree from its numpy node records, so
    the integer attributes it collects hold numpy integers (uint32 child ids,
    int64 feature ids, uint8 missing_go_to_left), and for every leaf
    nodes_missing_value_tracks_true gets a Python bool (False). onnx's
    make_attribute hands the list to protobuf's AttributeProto.ints, which
    refuses bools ("Expected an int, got a boolean"), so the conversion fails.
    While this is active, every entry of those lists is turned into a plain
    Python int right after each tree is added; the values are unchanged.
    """
    original = skl2onnx_forest.add_tree_to_attribute_pairs_hist_gradient_boosting
    keys = (
        "nodes_featureids",
        "nodes_truenodeids",
        "nodes_falsenodeids",
        "nodes_missing_value_tracks_true",
    )

    def add_tree(attr_pairs, *args, **kwargs):
        original(attr_pairs, *args, **kwargs)
        for key in keys:
            attr_pairs[key] = [int(v) for v in attr_pairs[key]]

    skl2onnx_forest.add_tree_to_attribute_pairs_hist_gradient_boosting = add_tree
    try:
        yield
    finally:
        skl2onnx_forest.add_tree_to_attribute_pairs_hist_gradient_boosting = original


def export_tree_model(name, estimator, n_features):
    """Convert a fitted tree estimator with default skl2onnx options."""
    with plain_ints_for_hist_gradient_boosting():
        model = convert_sklearn(
            estimator,
            name=name,
            initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
            target_opset=TARGET_OPSET,
        )
    sort_opset_imports(model)
    onnx.checker.check_model(model)
    return model


def write_tree_data_csv(path, data, class_names):
    """Features, then the class name (or the regression target), then split."""
    target = "class" if class_names else "target"
    header = data["feature_names"] + [target, "split"]
    rows = (
        [repr(float(v)) for v in features]
        + [class_names[t] if class_names else repr(float(t)), part]
        for features, t, part in zip(data["data"], data["target"], data["split"])
    )
    write_csv(path, header, rows)


def read_feature_csv(path, feature_names, target):
    """Read the named feature columns back the way Loupe does (parsed as float,
    cast to float32), the target column as text, and the split."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    X = np.array([[float(r[n]) for n in feature_names] for r in rows]).astype(np.float32)
    return X, [r[target] for r in rows], [r["split"] for r in rows]


def predict_tree(path, X):
    """onnxruntime's outputs with one intra-op thread: (labels, (n, k) float32
    probabilities) for a classifier, (None, (n, 1) float32 values) for a
    regressor."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        str(path), options, providers=["CPUExecutionProvider"]
    )
    outputs = [o.name for o in session.get_outputs()]
    if "output_probability" not in outputs:
        (values,) = session.run(["variable"], {INPUT_NAME: X})
        return None, values
    labels, zipmap = session.run(["output_label", "output_probability"], {INPUT_NAME: X})
    k = len(zipmap[0])
    probs = np.array([[row[c] for c in range(k)] for row in zipmap], dtype=np.float32)
    return labels.astype(int), probs


def write_tree_expected(path, labels, outputs, class_names):
    """`row,label,p_<class>...` for a classifier, `row,value` for a regressor."""
    if class_names is None:
        rows = ([i, repr(float(v))] for i, v in enumerate(outputs[:, 0]))
        write_csv(path, ["row", "value"], rows)
        return
    rows = (
        [i, int(label)] + [repr(float(p)) for p in ps]
        for i, (label, ps) in enumerate(zip(labels, outputs))
    )
    write_csv(path, ["row", "label"] + [f"p_{c}" for c in class_names], rows)


def write_fixture_card(path, spec, feature_names):
    data = TREE_DATA[spec["data"]]
    card = {
        "task": "regression" if data["class_names"] is None else "classification",
        "feature_names": feature_names,
        "description": spec["description"],
    }
    if data["class_names"] is not None:
        card["class_names"] = data["class_names"]
    if "positive_class" in data:
        card["positive_class"] = data["positive_class"]
    write_text(path, json.dumps(card, indent=2, sort_keys=True) + "\n")


def evaluate_tree(labels, outputs, target, split, class_names):
    """(test, all rows) accuracy of the labels, or R^2 of a regressor's values."""
    test = np.array(split) == "test"
    if class_names is None:
        y = np.array([float(t) for t in target])
        v = outputs[:, 0].astype(np.float64)
        return f"R² {r2_score(y[test], v[test]):.4f}", f"R² {r2_score(y, v):.4f}"
    correct = np.array([class_names[label] == t for label, t in zip(labels, target)])
    return (
        accuracy_text(int(correct[test].sum()), int(test.sum())),
        accuracy_text(int(correct.sum()), len(correct)),
    )


# A re-implementation of onnxruntime 1.32's TreeEnsembleClassifier and
# TreeEnsembleRegressor (ai.onnx.ml 1) for float32 input, as far as these
# exports need: it documents what an evaluator must do to give the same bits,
# and the generator checks it against onnxruntime on every row it writes.


def tree_ensemble(model):
    """The model's TreeEnsemble* node as flat arrays, one entry per node."""
    (node,) = [n for n in model.graph.node if n.op_type.startswith("TreeEnsemble")]
    a = {att.name: onnx.helper.get_attribute_value(att) for att in node.attribute}
    classifier = node.op_type == "TreeEnsembleClassifier"
    prefix = "class_" if classifier else "target_"
    ids = list(zip(a["nodes_treeids"], a["nodes_nodeids"]))
    index = {key: i for i, key in enumerate(ids)}
    modes = [m.decode() for m in a["nodes_modes"]]
    assert set(modes) <= {"LEAF", "BRANCH_LEQ"}, set(modes)
    leaf = np.array([m == "LEAF" for m in modes])
    k = len(a["classlabels_int64s"]) if classifier else a["n_targets"]
    weights = np.zeros((len(ids), k), dtype=np.float32)
    seen = set()
    for t, n, c, w in zip(
        a[prefix + "treeids"], a[prefix + "nodeids"], a[prefix + "ids"], a[prefix + "weights"]
    ):
        assert (t, n, c) not in seen  # one weight per leaf and class
        seen.add((t, n, c))
        weights[index[(t, n)], c] = w
    # onnxruntime takes each tree's first node in attribute order as its root
    # and adds the trees up in that order.
    roots = [i for i, (t, _) in enumerate(ids) if i == 0 or ids[i - 1][0] != t]

    def child(i, key):
        return i if leaf[i] else index[(ids[i][0], a[key][i])]

    return {
        "op": node.op_type,
        "classifier": classifier,
        "k": k,
        "roots": roots,
        "leaf": leaf,
        "feature": np.array(a["nodes_featureids"]),
        "threshold": np.array(a["nodes_values"], dtype=np.float32),
        "true": np.array([child(i, "nodes_truenodeids") for i in range(len(ids))]),
        "false": np.array([child(i, "nodes_falsenodeids") for i in range(len(ids))]),
        "missing_true": np.array(a["nodes_missing_value_tracks_true"]) == 1,
        "weights": weights,
        "class_ids": sorted(set(a[prefix + "ids"])),
        "base_values": np.array(a.get("base_values", []), dtype=np.float32),
        "post_transform": a.get("post_transform", b"NONE").decode(),
        "classlabels": a.get("classlabels_int64s"),
        "attributes": a,
    }


def tree_sums(ens, X, strict=False):
    """Per row, the float32 sum of the leaf weights of every tree, trees in
    order (what onnxruntime does with one thread). A node sends x to its true
    child if x[feature] <= threshold (both float32), or if x[feature] is NaN
    and the node's missing-value flag is set; strict=True uses < instead, to
    show which rows depend on the tie rule."""
    rows = np.arange(len(X))
    sums = np.zeros((len(X), ens["k"]), dtype=np.float32)
    for root in ens["roots"]:
        node = np.full(len(X), root)
        inner = ~ens["leaf"][node]
        while inner.any():
            value = X[rows, ens["feature"][node]]
            threshold = ens["threshold"][node]
            go_true = value < threshold if strict else value <= threshold
            go_true |= ens["missing_true"][node] & np.isnan(value)
            node = np.where(inner, np.where(go_true, ens["true"][node], ens["false"][node]), node)
            inner = ~ens["leaf"][node]
        sums += ens["weights"][node]
    return sums


def ort_logistic(x):
    """onnxruntime's ComputeLogistic in float32: v = 1 / (1 + exp(-|x|)), then
    1 - v for x < 0. onnxruntime calls expf; here exp is computed in float64
    and rounded to float32, which is what glibc's expf returns except in rare
    cases one unit in the last place apart."""
    x = np.asarray(x, dtype=np.float32)
    e = np.exp(-np.abs(x).astype(np.float64)).astype(np.float32)
    v = np.float32(1) / (np.float32(1) + e)
    return np.where(x < 0, np.float32(1) - v, v).astype(np.float32)


def ort_softmax(scores):
    """onnxruntime's ComputeSoftmax in float32: exp(x - max) (see ort_logistic
    about exp), summed in class order, each divided by the sum."""
    e = np.exp((scores - scores.max(axis=1, keepdims=True)).astype(np.float64))
    e = e.astype(np.float32)
    total = np.zeros(len(e), dtype=np.float32)
    for j in range(e.shape[1]):
        total += e[:, j]
    return (e / total[:, None]).astype(np.float32)


def tree_outputs(ens, X, strict=False):
    """(labels, outputs) as onnxruntime computes them (see predict_tree)."""
    sums = tree_sums(ens, X, strict)
    base = ens["base_values"]
    if not ens["classifier"]:
        assert ens["k"] == 1 and len(base) <= 1
        return None, sums + base[0] if len(base) else sums
    labels = np.array(ens["classlabels"])
    post = ens["post_transform"]
    if ens["k"] == 2 and len(ens["class_ids"]) == 1:
        # Binary, all weights on one class id (0): the sum, plus base_values[0],
        # is the score of the second class (label 1).
        assert ens["class_ids"] == [0] and len(base) <= 1
        raw = sums[:, 0] + base[0] if len(base) else sums[:, 0]
        if (ens["weights"] >= 0).all():
            # Averaged probabilities (forests): [1 - s, s], label 1 if s > 0.5.
            # onnxruntime takes this branch whenever no weight is negative,
            # and then applies no post_transform.
            return np.where(raw > 0.5, labels[1], labels[0]), np.stack(
                [np.float32(1) - raw, raw], axis=1
            )
        # Margins (boosting): label 1 if s > 0.
        chosen = np.where(raw > 0, labels[1], labels[0])
        if post == "LOGISTIC":
            return chosen, np.stack([ort_logistic(-raw), ort_logistic(raw)], axis=1)
        assert post == "NONE", post
        return chosen, np.stack([-raw, raw], axis=1)
    scores = sums + base if len(base) else sums
    chosen = labels[np.argmax(scores, axis=1)]  # the first of equal maxima
    if post == "SOFTMAX":
        return chosen, ort_softmax(scores)
    if post == "LOGISTIC":
        return chosen, ort_logistic(scores)
    assert post == "NONE", post
    return chosen, scores


def check_reference(model, X, labels, outputs):
    """Compare the re-implementation with onnxruntime's labels and outputs."""
    ref_labels, ref_outputs = tree_outputs(tree_ensemble(model), X)
    if labels is not None:
        assert np.array_equal(ref_labels, labels), "re-implemented labels differ"
    diff = np.abs(ref_outputs.astype(np.float64) - outputs).max()
    same = int(np.all(ref_outputs == outputs, axis=1).sum())
    print(
        f"  float32 re-implementation: {same}/{len(X)} rows bit-identical to onnxruntime, "
        f"max |diff| {diff:.3g}"
    )
    assert diff <= 1e-6 * max(1.0, float(np.abs(outputs).max()))


def describe_tree_graph(model):
    """Print the graph and the facts about the tree node an evaluator needs;
    return a one-line summary."""
    graph = model.graph
    ens = tree_ensemble(model)
    a = ens["attributes"]
    weights = a.get("class_weights", a.get("target_weights"))
    n_trees = len(ens["roots"])
    n_leaves = int(ens["leaf"].sum())
    print(f"  opsets: {opset_text(model)}")
    print(f"  ops: {[n.op_type for n in graph.node]}")
    for out in graph.output:
        print(f"  output {out.name}: {type_text(out.type)}")
    for node in graph.node:
        text = f"  {node.op_type}: {list(node.input)} -> {list(node.output)}"
        if not node.op_type.startswith("TreeEnsemble"):
            text += f" {({t.name: onnx.helper.get_attribute_value(t) for t in node.attribute})}"
        print(text)
    aggregate = a.get("aggregate_function", b"SUM (the default)").decode()
    print(f"  {ens['op']}: post_transform {ens['post_transform']}, "
          f"base_values {[float(v) for v in ens['base_values']]}, "
          f"aggregate_function {aggregate}")
    print(f"    {n_trees} trees, {len(ens['leaf'])} nodes ({n_leaves} leaves), "
          f"modes {sorted(set(m.decode() for m in a['nodes_modes']))}, "
          f"{len(weights)} weights")
    ids_key = "class_ids" if ens["classifier"] else "target_ids"
    print(f"    {ids_key} {ens['class_ids']}, classlabels_int64s {a.get('classlabels_int64s')}, "
          f"classlabels_strings {a.get('classlabels_strings')}, n_targets {a.get('n_targets')}")
    tracks = a.get("nodes_missing_value_tracks_true")
    print("    nodes_missing_value_tracks_true: "
          + ("absent" if tracks is None else f"{sum(tracks)} of {len(tracks)} set"))
    print(f"    *_as_tensor attributes: {[k for k in a if k.endswith('_as_tensor')] or 'none'}")
    per_leaf = ens["weights"][ens["leaf"]].astype(np.float64).sum(axis=1)
    print(f"    weights: min {min(weights):.6g}, max {max(weights):.6g}; per-leaf sum "
          f"x {n_trees} trees in [{per_leaf.min() * n_trees:.6g}, {per_leaf.max() * n_trees:.6g}]")
    after = [n.op_type for n in graph.node if not n.op_type.startswith("TreeEnsemble")]
    return (
        f"{ens['op']} ({n_trees} trees, {len(ens['leaf'])} nodes, post_transform "
        f"{ens['post_transform']})" + (f" -> {', '.join(after)}" if after else "")
    )


def write_ties(model, data_path, ties_path):
    """Rows 0..N_TIES-1 of the data CSV, each with one feature set to exactly a
    split threshold on the row's own path: for row i, the split at depth i % 3
    (or the deepest split, if the path is shorter) of tree i. The threshold is
    a float32, written as the float64 it widens to."""
    ens = tree_ensemble(model)
    with open(data_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [next(reader) for _ in range(N_TIES)]
    ties = []
    for i, row in enumerate(rows):
        x = np.array([float(v) for v in row[:N_ALL_FEATURES]]).astype(np.float32)
        path, node = [], ens["roots"][i % len(ens["roots"])]
        while not ens["leaf"][node]:
            path.append(node)
            left = x[ens["feature"][node]] <= ens["threshold"][node]
            node = ens["true"][node] if left else ens["false"][node]
        split_node = path[min(i % 3, len(path) - 1)]
        row = list(row)
        row[ens["feature"][split_node]] = repr(float(ens["threshold"][split_node]))
        ties.append(row)
    write_csv(ties_path, header, ties)


def write_tree_provenance(path, results, ties_note):
    model_lines = "\n".join(
        f"- `{name}.onnx`: `{r['estimator']}` on {r['data_text']}; opsets {r['opsets']}; "
        f"graph: {r['structure']}"
        for name, r in results.items()
    )
    table = "\n".join(
        f"| `{name}.onnx` | {r['test_acc']} | {r['all_acc']} | `{r['sha256']}` |"
        for name, r in results.items()
    )
    text = f"""# Tree-ensemble test fixtures: provenance

Generated by `tools/make_samples.py` together with `sample_models/`. Do not
edit these files by hand; to regenerate them, from the repository root:

    pip install -r tools/requirements.txt && python tools/make_samples.py

## Data

- `../../../sample_models/{DATA_CSV}`: the breast cancer data and split of
  the sample models (see `sample_models/PROVENANCE.md`).
- `wine.csv`: scikit-learn's copy of the UCI Wine data set
  (`sklearn.datasets.load_wine`; Forina et al., CC BY 4.0 on the UCI
  repository): 178 wines, 13 results of chemical analysis under
  scikit-learn's names, `class` (`cultivar 1`, `cultivar 2`, `cultivar 3` for
  targets 0, 1, 2), then `split` from `train_test_split(test_size={TEST_SIZE},
  random_state={SPLIT_SEED}, stratify=target)`.
- `diabetes.csv`: scikit-learn's diabetes data (`load_diabetes(scaled=False)`,
  from Efron et al., "Least Angle Regression", 2004): 442 patients, the 10
  baseline variables in their own units under scikit-learn's names (`age`,
  `sex`, `bmi`, `bp`, `s1`..`s6`), `target` (disease progression one year
  later), then `split` from `train_test_split(test_size={TEST_SIZE},
  random_state={SPLIT_SEED})` (not stratified).

Numbers are the shortest text that round-trips the float64 value.

## Models

Bare scikit-learn estimators fitted on the train rows only, features cast to
float32, with the integer class index (classifiers) or the float target:

{model_lines}

Exported like the sample models: skl2onnx `convert_sklearn` with default
options, one input `{INPUT_NAME}` of type `FloatTensorType([None, n])`,
`target_opset={TARGET_OPSET}`. skl2onnx 1.20 with onnx 1.23 cannot export a
HistGradientBoostingClassifier as is (it passes a Python bool in an integer
list attribute); the generator turns those entries into plain ints first.
Classifiers output `output_label` (int64, the class index) and
`output_probability` (sequence of maps int64 -> float); the regressor outputs
`variable` (float, [N, 1]). Each card lists the model's class names (in class
index order) and feature names, which select the columns of the data CSV.

Library versions: {versions_text()}.

Scores are of onnxruntime's outputs with the input read back from the data
CSV as float32: accuracy of `output_label` against the class column, or the
coefficient of determination R² of `variable` against `target`.

| model | test split | all rows | sha256 |
| --- | --- | --- | --- |
{table}

## Expected outputs: `<model>.expected.csv`

onnxruntime's output (one intra-op thread) for every row of the model's data
CSV, its feature columns parsed as float and cast to float32: for a
classifier `row` (0-based), `label` (`output_label`) and `p_<class name>` per
class; for the regressor `row` and `value` (`variable`). Float32 values are
widened exactly to float64 and written with Python's `repr`.

A float32 re-implementation of onnxruntime's tree-ensemble kernels in the
generator (`tree_outputs`) reproduces every expected output bit for bit.

## Ties: `{TIES_CSV}` and `{TIES_MODEL}.ties.expected.csv`

{ties_note}
"""
    write_text(path, text)


def make_tree_models():
    """Write the tree-ensemble samples and fixtures; return the results of the
    bundled samples for sample_models/PROVENANCE.md."""
    for name in ("wine", "diabetes"):
        write_tree_data_csv(
            TREE_DATA[name]["csv"], load_tree_data(name), TREE_DATA[name]["class_names"]
        )

    bundled, fixtures, models = {}, {}, {}
    for name, spec in TREE_MODELS.items():
        data_spec = TREE_DATA[spec["data"]]
        class_names = data_spec["class_names"]
        estimator, feature_names = fit_tree_model(name)
        model = export_tree_model(name, estimator, len(feature_names))
        models[name] = model
        model_path = spec["dir"] / f"{name}.onnx"
        model_path.write_bytes(model.SerializeToString())
        print(f"{model_path.relative_to(OUT_DIR.parent)}")
        structure = describe_tree_graph(model)

        X, target, split = read_feature_csv(data_spec["csv"], feature_names, data_spec["target"])
        labels, outputs = predict_tree(model_path, X)
        check_reference(model, X, labels, outputs)
        if class_names is None:
            sk_diff = np.abs(estimator.predict(X) - outputs[:, 0]).max()
        else:
            sk_diff = np.abs(estimator.predict_proba(X) - outputs).max()
        print(f"  max |scikit-learn - onnxruntime| = {sk_diff:.3g}")
        test_acc, all_acc = evaluate_tree(labels, outputs, target, split, class_names)
        print(f"  test {test_acc}, all rows {all_acc}")

        n_train = split.count("train")
        if spec["dir"] == OUT_DIR:
            write_card(OUT_DIR / f"{name}.card.json", spec, feature_names, n_train)
            write_tree_expected(OUT_DIR / "expected" / f"{name}.csv", labels, outputs, class_names)
        else:
            write_fixture_card(TREES_DIR / f"{name}.card.json", spec, feature_names)
            write_tree_expected(
                TREES_DIR / f"{name}.expected.csv", labels, outputs, class_names
            )
        result = {
            "estimator": spec["estimator"],
            "feature_names": feature_names,
            "data_text": f"{features_text_of(spec, feature_names)} of "
            f"`{data_spec['csv'].name}`",
            "opsets": opset_text(model),
            "structure": structure,
            "test_acc": test_acc,
            "all_acc": all_acc,
            "sha256": sha256(model_path),
        }
        (bundled if spec["dir"] == OUT_DIR else fixtures)[name] = result

    ties_note = make_ties(models[TIES_MODEL])
    write_tree_provenance(TREES_DIR / "PROVENANCE.md", fixtures, ties_note)
    return bundled


def features_text_of(spec, feature_names):
    """Which feature columns a tree model uses."""
    n_all = len(load_tree_data(spec["data"])["feature_names"])
    if len(feature_names) == n_all:
        return f"all {n_all} features"
    return (
        f"only the first {len(feature_names)} features "
        f"(`{feature_names[0]}` to `{feature_names[-1]}`)"
    )


def make_ties(model):
    """Write the ties CSV and onnxruntime's outputs on it; return the
    PROVENANCE.md paragraph about them."""
    ties_path = TREES_DIR / TIES_CSV
    write_ties(model, OUT_DIR / DATA_CSV, ties_path)
    X, _, _ = read_data_csv(ties_path)
    model_path = OUT_DIR / f"{TIES_MODEL}.onnx"
    labels, probs = predict_tree(model_path, X)
    check_reference(model, X, labels, probs)
    write_tree_expected(
        TREES_DIR / f"{TIES_MODEL}.ties.expected.csv", labels, probs, CLASS_NAMES
    )
    _, strict = tree_outputs(tree_ensemble(model), X, strict=True)
    changed = int(np.any(strict != probs, axis=1).sum())
    print(f"{TIES_CSV}: {N_TIES} rows; sending values equal to a threshold to the "
          f"false branch would change the output of {changed}")
    return f"""`{TIES_CSV}` has the columns of `{DATA_CSV}` and its rows 0 to {N_TIES - 1},
each with one feature replaced by exactly a split threshold of
`sample_models/{TIES_MODEL}.onnx` (the float32 `nodes_values` entry, written
as the float64 it widens to, so it reads back as the same float32): for row
i, the split at depth i mod 3 (or the deepest one, if the path is shorter) on
row i's path through tree i. onnxruntime sends a value equal to the threshold
to the true branch (`x <= threshold` for `BRANCH_LEQ`);
`{TIES_MODEL}.ties.expected.csv` (same format as the other expected files)
holds its outputs on these rows. Sending ties to the false branch instead
would change the output of {changed} of the {N_TIES} rows."""


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

    tree_results = make_tree_models()
    write_provenance(OUT_DIR / "PROVENANCE.md", y, split, results, tree_results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
