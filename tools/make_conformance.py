"""Generate Loupe's conformance corpus in tests/data/conformance/.

Run from the repository root:

    pip install -r tools/requirements-conformance.txt && python tools/make_conformance.py

Small models exported with the real exporters, called as their documentation
shows (skl2onnx's `to_onnx`/`convert_sklearn` with and without ZipMap,
onnxmltools for XGBoost and LightGBM, CatBoost's own `save_model(format=
"onnx")`, `torch.onnx.export` with the dynamo exporter and the legacy one),
fitted on data sets that ship inside scikit-learn. It writes:

* <data>.csv: the rows every model of that data set is checked on (features
  as float32 text that round-trips, then `label`);
* <case>.onnx: the model (torch's dynamo exporter also writes an external
  data file beside it, empty for a model this small);
* <case>.expected.csv: onnxruntime's outputs on those rows: `p_<class>` per
  class for a classifier (in the order of its class labels; the softmax of
  the logits of a torch model), `value` for a regressor;
* breast_cancer_missing.csv and xgboost_binary_missing.expected.csv: the
  breast cancer rows as users' files have them — some cells blank or `NaN`,
  labels written `no`/`yes` (classes 0/1) — and onnxruntime's probabilities
  of xgboost_binary on them (missing cells fed as NaN);
* cases.json: one entry per case: name, exporter, data, what Loupe must do
  (`works` with the class names it must report, or `refused` with the
  operator and node its message must name), and what is special about it;
* PROVENANCE.md: versions, seeds, and the table of cases.

Seeds are fixed, so two runs with the pinned versions give the same models.
"""

import json
import platform
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import sklearn
import skl2onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import Binarizer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier

from make_samples import plain_ints_for_hist_gradient_boosting, sort_opset_imports

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "conformance"
SEED = 0
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
# Rows kept per data set, evenly spaced, so the committed files stay small.
MAX_ROWS = 60


def load(name):
    """(X float32, y as the estimator is fitted on it, feature names, class names)."""
    if name == "iris":
        d = load_iris()
        return d.data.astype(np.float32), d.target, list(d.feature_names), list(d.target_names)
    if name == "breast_cancer":
        d = load_breast_cancer()
        return d.data.astype(np.float32), d.target, list(d.feature_names), list(d.target_names)
    if name == "breast_cancer_missing":
        # Training rows with 5% of cells missing (seeded), for a model that learns where
        # missing values go.
        X, y, features, _ = load("breast_cancer")
        X = X.copy()
        X[np.random.default_rng(SEED).random(X.shape) < 0.05] = np.nan
        return X, y, features, ["0", "1"]
    if name == "diabetes":
        d = load_diabetes(scaled=False)
        return d.data.astype(np.float32), d.target, list(d.feature_names), None
    if name == "penguins":
        # A DataFrame as users have one: strings for categories, float64 measurements,
        # an int64 year and an int64-coded island, string labels.
        df = penguins_frame()
        classes = sorted(df["species"].unique())
        y = np.array([classes.index(s) for s in df["species"]])
        return df.drop(columns=["species"]), y, PENGUIN_COLUMNS, classes
    if name == "penguins_categories":
        X, y, _, classes = load("penguins")
        return X[["island", "sex"]].to_numpy(), y, ["island", "sex"], classes
    raise ValueError(name)


PENGUIN_NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
PENGUIN_COLUMNS = ["island", "sex", "island_code", "year"] + PENGUIN_NUMERIC


def penguins_frame():
    """palmerpenguins' table (shipped inside the package), rows with a recorded sex, the
    measurements as float32 (skl2onnx's ZipMap takes no float64 probabilities)."""
    import palmerpenguins

    df = palmerpenguins.load_penguins().dropna(subset=["sex"]).reset_index(drop=True)
    df["island_code"] = df["island"].map({"Biscoe": 0, "Dream": 1, "Torgersen": 2}).astype("int64")
    for c in PENGUIN_NUMERIC:
        df[c] = df[c].astype(np.float32)
    return df[PENGUIN_COLUMNS + ["species"]]


def rows_of(n):
    step = max(1, n // MAX_ROWS)
    return np.arange(0, n, step)[:MAX_ROWS]


def text(v):
    return repr(float(v))


def write_data(name):
    X, y, features, classes = load(name)
    rows = rows_of(len(X))
    if name == "penguins":
        return write_penguins(X, y, classes, rows)
    if name == "penguins_categories":
        lines = [",".join(features + ["label"])]
        lines += [",".join(list(X[r]) + [classes[y[r]]]) for r in rows]
        (OUT_DIR / f"{name}.csv").write_text("\n".join(lines) + "\n")
        return X[rows]
    lines = [",".join(features + ["label"])]
    for r in rows:
        label = classes[y[r]] if classes else text(y[r])
        lines.append(",".join([text(v) for v in X[r]] + [label]))
    (OUT_DIR / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return X[rows]


def skl(estimator, n, zipmap=True):
    options = None if zipmap else {id(estimator): {"zipmap": False}}
    return convert_sklearn(
        estimator,
        initial_types=[("input", FloatTensorType([None, n]))],
        options=options,
        target_opset=TARGET_OPSET,
    )


def hgb_export(model, n):
    """skl2onnx 1.20 with onnx 1.23 needs plain ints in HistGradientBoosting's attributes
    (see tools/make_samples.py)."""
    with plain_ints_for_hist_gradient_boosting():
        return skl(model, n)


# Cells of the penguins CSV left blank (row, column): the pipelines impute them.
PENGUIN_BLANKS = [(5, "bill_length_mm"), (17, "body_mass_g"), (33, "flipper_length_mm")]


def write_penguins(X, y, classes, rows):
    frame = X.iloc[rows].reset_index(drop=True).copy()
    for r, c in PENGUIN_BLANKS:
        frame.loc[r, c] = np.nan
    lines = [",".join(PENGUIN_COLUMNS + ["label"])]
    for r in range(len(frame)):
        cells = []
        for c in PENGUIN_COLUMNS:
            v = frame.loc[r, c]
            if isinstance(v, str):
                cells.append(v)
            elif c in ("island_code", "year"):
                cells.append(str(int(v)))
            else:
                cells.append("" if np.isnan(v) else text(v))
        lines.append(",".join(cells + [classes[y[rows[r]]]]))
    (OUT_DIR / "penguins.csv").write_text("\n".join(lines) + "\n")
    return frame


def frame_export(model, X, zipmap=True):
    """skl2onnx's documented DataFrame export: one graph input per column, typed as the
    column is (strings, float32, float64, int64)."""
    options = None if zipmap else {type(model.steps[-1][1]): {"zipmap": False}}
    return skl2onnx.to_onnx(model, X[:1], target_opset=TARGET_OPSET, options=options)



def torch_mlp(X, y, path, dynamo):
    """A small torch MLP fitted on (X, y) with fixed seeds, exported as torch's documentation
    shows: `torch.onnx.export(model, (x,), path, dynamic_axes=...)` (dynamo, the default in
    torch 2.x) or with `dynamo=False` (the legacy TorchScript exporter)."""
    import torch

    torch.manual_seed(SEED)
    mean, std = X.mean(0), X.std(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], 8), torch.nn.ReLU(), torch.nn.Linear(8, int(y.max()) + 1)
    )
    xs = torch.tensor((X - mean) / std)
    ys = torch.tensor(y, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xs), ys).backward()
        opt.step()
    # The scaling is part of the exported model, so it takes raw features.
    full = torch.nn.Sequential(Standardise(mean, std), model).eval()
    x = torch.tensor(X[:2])
    kwargs = {"dynamic_axes": {"x": {0: "batch"}, "logits": {0: "batch"}}} if not dynamo else {
        "dynamic_shapes": ({0: torch.export.Dim("batch")},)}
    torch.onnx.export(full, (x,), str(path), input_names=["x"], output_names=["logits"],
                      dynamo=dynamo, **kwargs)
    return onnx.load(str(path))


def Standardise(mean, std):
    import torch

    class _Standardise(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean))
            self.register_buffer("std", torch.tensor(std))

        def forward(self, x):
            return (x - self.mean) / self.std

    return _Standardise()


def onnxmltools_xgb(model, n):
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType as T

    return onnxmltools.convert_xgboost(model, initial_types=[("input", T([None, n]))], target_opset=15)


def onnxmltools_lgbm(model, n):
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType as T

    return onnxmltools.convert_lightgbm(
        model, initial_types=[("input", T([None, n]))], target_opset=15, zipmap=False
    )


def catboost_export(model, path):
    model.save_model(str(path), format="onnx")
    model = onnx.load(str(path))
    # The training time and a random id would make every run's file differ.
    kept = [p for p in model.metadata_props if p.key not in ("train_finish_time", "model_guid")]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    return model


def string_labels(y, classes):
    return np.array([classes[i] for i in y])


def ort_outputs(path, X, classes):
    """onnxruntime's probabilities (rows x classes) or values (rows x 1)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    if hasattr(X, "columns"):
        # One input per DataFrame column, typed as the graph declares it.
        kinds = {"tensor(string)": object, "tensor(double)": np.float64,
                 "tensor(float)": np.float32, "tensor(int64)": np.int64}
        # Every runtime is fed the float32 value of a CSV cell.
        feed = {i.name: X[i.name].to_numpy().astype(kinds[i.type]).reshape(-1, 1)
                for i in inputs}
    else:
        feed = {inputs[0].name: X}
    outs = session.run(None, feed)
    if classes is None:
        return np.asarray(outs[0], dtype=np.float64).reshape(len(X), -1), None
    probs = outs[-1] if len(outs) > 1 else outs[0]
    if isinstance(probs, list):  # ZipMap: a list of {label: p}
        keys = list(probs[0].keys())
        probs = np.array([[row[k] for k in keys] for row in probs])
        labels = [str(k) for k in keys]
    else:
        probs = np.asarray(probs)
        labels = None
    return np.asarray(probs, dtype=np.float64), labels


def graph_labels(model):
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name == "classlabels_strings" and attr.strings:
                return [s.decode() for s in attr.strings]
            if attr.name in ("classlabels_int64s", "classlabels_ints") and attr.ints:
                return [str(i) for i in attr.ints]
    return None


def cases():
    """(name, exporter, data, note, build) where build(X, y, classes) returns an
    onnx.ModelProto (or writes the file itself and returns it)."""
    from catboost import CatBoostClassifier, CatBoostRegressor
    from lightgbm import LGBMClassifier
    from xgboost import XGBClassifier

    def gbc(n=10):
        return GradientBoostingClassifier(n_estimators=n, max_depth=2, random_state=SEED)

    return [
        ("gbc_zipmap_off_binary", "skl2onnx", "breast_cancer",
         "GradientBoostingClassifier, options zipmap False: probabilities behind an Identity",
         lambda X, y, c: skl(gbc().fit(X, y), X.shape[1], zipmap=False)),
        ("gbc_zipmap_off_multiclass", "skl2onnx", "iris",
         "GradientBoostingClassifier on 3 classes, zipmap False",
         lambda X, y, c: skl(gbc().fit(X, y), X.shape[1], zipmap=False)),
        ("gbc_zipmap_binary", "skl2onnx", "breast_cancer",
         "GradientBoostingClassifier, default options (ZipMap)",
         lambda X, y, c: skl(gbc().fit(X, y), X.shape[1])),
        ("mlp_zipmap_off", "skl2onnx", "iris",
         "StandardScaler + MLPClassifier, zipmap False",
         lambda X, y, c: skl(make_pipeline(StandardScaler(), MLPClassifier(
             hidden_layer_sizes=(8,), max_iter=2000, random_state=SEED)).fit(X, y),
             X.shape[1], zipmap=False)),
        ("logreg_string_labels", "skl2onnx", "iris",
         "LogisticRegression fitted on string labels, default options",
         lambda X, y, c: skl(LogisticRegression(max_iter=2000).fit(X, string_labels(y, c)),
                             X.shape[1])),
        ("scaler_logreg_string_labels_zipmap_off", "skl2onnx", "iris",
         "StandardScaler + LogisticRegression on string labels, zipmap False",
         lambda X, y, c: skl(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                             .fit(X, string_labels(y, c)), X.shape[1], zipmap=False)),
        ("logreg_string_labels_binary", "skl2onnx", "breast_cancer",
         "StandardScaler + LogisticRegression on two string labels",
         lambda X, y, c: skl(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
                             .fit(X, string_labels(y, c)), X.shape[1])),
        ("rf_string_labels", "skl2onnx", "iris",
         "RandomForestClassifier on string labels",
         lambda X, y, c: skl(RandomForestClassifier(n_estimators=5, max_depth=3,
                                                    random_state=SEED).fit(X, string_labels(y, c)),
                             X.shape[1])),
        ("gbc_string_labels_zipmap_off", "skl2onnx", "iris",
         "GradientBoostingClassifier on string labels, zipmap False",
         lambda X, y, c: skl(gbc().fit(X, string_labels(y, c)), X.shape[1], zipmap=False)),
        ("tree_string_labels_binary", "skl2onnx", "breast_cancer",
         "DecisionTreeClassifier on two string labels",
         lambda X, y, c: skl(DecisionTreeClassifier(max_depth=3, random_state=SEED)
                             .fit(X, string_labels(y, c)), X.shape[1])),
        ("linear_regression", "skl2onnx", "diabetes",
         "LinearRegression",
         lambda X, y, c: skl(LinearRegression().fit(X, y), X.shape[1])),
        ("xgboost_binary", "onnxmltools", "breast_cancer",
         "XGBClassifier, binary",
         lambda X, y, c: onnxmltools_xgb(XGBClassifier(n_estimators=10, max_depth=3,
                                                       random_state=SEED).fit(X, y), X.shape[1])),
        ("xgboost_multiclass", "onnxmltools", "iris",
         "XGBClassifier, 3 classes",
         lambda X, y, c: onnxmltools_xgb(XGBClassifier(n_estimators=10, max_depth=3,
                                                       random_state=SEED).fit(X, y), X.shape[1])),
        ("lightgbm_binary", "onnxmltools", "breast_cancer",
         "LGBMClassifier, binary, zipmap False",
         lambda X, y, c: onnxmltools_lgbm(LGBMClassifier(n_estimators=10, num_leaves=7,
                                                         random_state=SEED, verbose=-1)
                                          .fit(X, y), X.shape[1])),
        ("lightgbm_multiclass", "onnxmltools", "iris",
         "LGBMClassifier, 3 classes, zipmap False",
         lambda X, y, c: onnxmltools_lgbm(LGBMClassifier(n_estimators=10, num_leaves=7,
                                                         random_state=SEED, verbose=-1,
                                                         min_child_samples=5)
                                          .fit(X, y), X.shape[1])),
        ("catboost_binary", "catboost", "breast_cancer",
         "CatBoostClassifier, binary, save_model(format='onnx')",
         lambda X, y, c: CatBoostClassifier(iterations=10, depth=3, random_seed=SEED,
                                            verbose=False, allow_writing_files=False).fit(X, y)),
        ("catboost_multiclass", "catboost", "iris",
         "CatBoostClassifier, 3 classes, save_model(format='onnx')",
         lambda X, y, c: CatBoostClassifier(iterations=10, depth=3, random_seed=SEED,
                                            loss_function="MultiClass", verbose=False, allow_writing_files=False).fit(X, y)),
        ("catboost_regressor", "catboost", "diabetes",
         "CatBoostRegressor, save_model(format='onnx')",
         lambda X, y, c: CatBoostRegressor(iterations=10, depth=3, random_seed=SEED,
                                           verbose=False, allow_writing_files=False).fit(X, y)),
        ("hgb_missing_values", "skl2onnx", "breast_cancer_missing",
         "HistGradientBoostingClassifier fitted with missing values, run on rows with blank and "
         "NaN cells",
         lambda X, y, c: hgb_export(HistGradientBoostingClassifier(max_iter=10, max_depth=3,
                                                                   random_state=SEED).fit(X, y),
                                    X.shape[1])),
        ("torch_dynamo_mlp", "torch", "iris",
         "torch MLP (standardise, Linear, ReLU, Linear), torch.onnx.export with the dynamo "
         "exporter (the default); logits",
         lambda X, y, c: ("torch", lambda path: torch_mlp(X, y, path, dynamo=True))),
        ("torch_legacy_mlp", "torch", "iris",
         "the same MLP, torch.onnx.export(..., dynamo=False); logits",
         lambda X, y, c: ("torch", lambda path: torch_mlp(X, y, path, dynamo=False))),
        ("svc_probability", "skl2onnx", "iris",
         "StandardScaler + SVC(probability=True): SVMClassifier, not supported yet",
         lambda X, y, c: skl(make_pipeline(StandardScaler(), SVC(probability=True,
                                                                 random_state=SEED)).fit(X, y),
                             X.shape[1])),
        ("imputer_logreg", "skl2onnx", "iris",
         "SimpleImputer + LogisticRegression: Imputer",
         lambda X, y, c: skl(make_pipeline(SimpleImputer(), LogisticRegression(max_iter=2000))
                             .fit(X, y), X.shape[1])),
        ("svc_probability_binary", "skl2onnx", "breast_cancer",
         "StandardScaler + SVC(probability=True), rbf kernel, 2 classes",
         lambda X, y, c: skl(make_pipeline(StandardScaler(), SVC(probability=True,
                                                                 random_state=SEED)).fit(X, y),
                             X.shape[1])),
        ("svc_poly_linear", "skl2onnx", "iris",
         "StandardScaler + SVC(kernel='poly', probability=True), and a linear-kernel SVC "
         "beside it is the next case",
         lambda X, y, c: skl(make_pipeline(StandardScaler(), SVC(kernel="poly", degree=2,
                                                                 probability=True,
                                                                 random_state=SEED)).fit(X, y),
                             X.shape[1])),
        ("svc_linear_kernel", "skl2onnx", "breast_cancer",
         "StandardScaler + SVC(kernel='linear', probability=True)",
         lambda X, y, c: skl(make_pipeline(StandardScaler(), SVC(kernel="linear",
                                                                 probability=True,
                                                                 random_state=SEED)).fit(X, y),
                             X.shape[1])),
        ("svr_rbf", "skl2onnx", "diabetes",
         "StandardScaler + SVR (rbf): SVMRegressor",
         lambda X, y, c: skl(make_pipeline(StandardScaler(), SVR(C=50.0)).fit(X, y),
                             X.shape[1])),
        ("svr_sigmoid", "skl2onnx", "diabetes",
         "StandardScaler + SVR(kernel='sigmoid')",
         lambda X, y, c: skl(make_pipeline(StandardScaler(), SVR(kernel="sigmoid", C=5.0))
                             .fit(X, y), X.shape[1])),
        ("binarizer_logreg", "skl2onnx", "iris",
         "Binarizer(threshold=1.5) + LogisticRegression: Binarizer",
         lambda X, y, c: skl(make_pipeline(Binarizer(threshold=1.5),
                                           LogisticRegression(max_iter=2000)).fit(X, y),
                             X.shape[1])),
        ("penguins_column_transformer", "skl2onnx", "penguins",
         "ColumnTransformer(OneHotEncoder on island and sex, SimpleImputer + StandardScaler on "
         "the measurements) + LogisticRegression, to_onnx(pipe, df[:1]): one input per column, "
         "strings and float64; string labels; blank cells imputed",
         lambda X, y, c: frame_export(make_pipeline(ColumnTransformer([
             ("cat", OneHotEncoder(handle_unknown="ignore"), ["island", "sex"]),
             ("num", make_pipeline(SimpleImputer(), StandardScaler()), PENGUIN_NUMERIC)]),
             LogisticRegression(max_iter=2000)).fit(X, string_labels(y, c)),
             X[["island", "sex"] + PENGUIN_NUMERIC])),
        ("penguins_onehot_int_columns", "skl2onnx", "penguins",
         "ColumnTransformer(OneHotEncoder on int64-coded island and year, SimpleImputer + "
         "StandardScaler) + LogisticRegression, DataFrame export: int64 and float inputs",
         lambda X, y, c: frame_export(make_pipeline(ColumnTransformer([
             ("cat", OneHotEncoder(handle_unknown="ignore"), ["island_code", "year"]),
             ("num", make_pipeline(SimpleImputer(), StandardScaler()), PENGUIN_NUMERIC)]),
             LogisticRegression(max_iter=2000)).fit(X, string_labels(y, c)),
             X[["island_code", "year"] + PENGUIN_NUMERIC])),
        ("penguins_ordinal_tree", "skl2onnx", "penguins",
         "ColumnTransformer(OrdinalEncoder on island and sex, SimpleImputer on the "
         "measurements) + DecisionTreeClassifier, DataFrame export: LabelEncoder",
         lambda X, y, c: frame_export(make_pipeline(ColumnTransformer([
             ("cat", OrdinalEncoder(), ["island", "sex"]),
             ("num", SimpleImputer(), PENGUIN_NUMERIC)]),
             DecisionTreeClassifier(max_depth=4, random_state=SEED))
             .fit(X, string_labels(y, c)), X[["island", "sex"] + PENGUIN_NUMERIC])),
        ("penguins_onehot_string_matrix", "skl2onnx", "penguins_categories",
         "OneHotEncoder + LogisticRegression on a string matrix (one string input, 2 columns)",
         lambda X, y, c: skl2onnx.to_onnx(make_pipeline(OneHotEncoder(), LogisticRegression(
             max_iter=2000)).fit(X, string_labels(y, c)), X[:1], target_opset=TARGET_OPSET)),
    ]


# Operators Loupe does not run yet, and the cases that use them.
REFUSED = {}


def node_of(model, op):
    for node in model.graph.node:
        if node.op_type == op:
            return node.name or node.output[0]
    raise ValueError(op)


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    data = {}
    entries = []
    for name, exporter, data_name, note, build in cases():
        X, y, _features, classes = load(data_name)
        if data_name == "breast_cancer_missing" and data_name not in data:
            data[data_name] = write_missing(data["breast_cancer"])
        if data_name not in data:
            data[data_name] = write_data(data_name)
        rows = data[data_name]
        path = OUT_DIR / f"{name}.onnx"
        model = build(X, y, classes)
        if exporter == "catboost":
            model = catboost_export(model, path)
        elif exporter == "torch":
            model = model[1](path)
        # skl2onnx names each graph with a random UUID: name it after the case, so two runs
        # write the same bytes.
        model.graph.name = name
        # skl2onnx lists opsets in set order, which changes with Python's string hashing.
        sort_opset_imports(model)
        onnx.save(model, str(path))
        entry = {"name": name, "exporter": exporter, "data": data_name, "note": note}
        if name in REFUSED:
            op = REFUSED[name]
            entry.update(expect="refused", operator=op, node=node_of(model, op))
        probs, zip_labels = ort_outputs(path, rows, classes)
        if exporter == "torch":
            # Logits: Loupe reports the softmax of onnxruntime's output.
            e = np.exp(probs - probs.max(axis=1, keepdims=True))
            probs = e / e.sum(axis=1, keepdims=True)
        if classes is None:
            header, out = ["value"], probs
        else:
            # The class names a model stores (ZipMap, classifier attributes); a graph that
            # stores none (an MLP's classes live in an initializer) gets Loupe's `class i`.
            labels = (zip_labels or graph_labels(model)
                      or [f"class {i}" for i in range(probs.shape[1])])
            header, out = [f"p_{c}" for c in labels], probs
            if name not in REFUSED:
                entry.update(expect="works", class_names=labels)
        if classes is None and name not in REFUSED:
            entry.update(expect="works", class_names=None)
        lines = [",".join(header)] + [",".join(text(v) for v in row) for row in out]
        (OUT_DIR / f"{name}.expected.csv").write_text("\n".join(lines) + "\n")
        entries.append(entry)
        print(f"{name}: {exporter}, {path.stat().st_size} bytes")
    write_xgboost_missing(data["breast_cancer_missing"])
    (OUT_DIR / "cases.json").write_text(json.dumps(entries, indent=1) + "\n")
    write_provenance(entries)


def write_missing(rows):
    """Every fifth row gets a blank cell, every seventh a `NaN` (in varying columns)."""
    X, y, features, _ = load("breast_cancer")
    keep = rows_of(len(X))
    rows = rows.copy()
    cells = [[text(v) for v in row] for row in rows]
    for r in range(len(rows)):
        for every, word in ((5, ""), (7, "NaN")):
            if r % every == 0:
                c = (r * 3 + every) % len(features)
                rows[r, c] = np.nan
                cells[r][c] = word
    lines = [",".join(features + ["label"])]
    for r, k in enumerate(keep):
        lines.append(",".join(cells[r] + ["yes" if y[k] == 1 else "no"]))
    (OUT_DIR / "breast_cancer_missing.csv").write_text("\n".join(lines) + "\n")
    return rows


def write_xgboost_missing(rows):
    """xgboost_binary (fitted without missing values) on the rows with missing cells."""
    probs, _ = ort_outputs(OUT_DIR / "xgboost_binary.onnx", rows, ["0", "1"])
    out = [",".join(["p_0", "p_1"])] + [",".join(text(v) for v in row) for row in probs]
    (OUT_DIR / "xgboost_binary_missing.expected.csv").write_text("\n".join(out) + "\n")


def write_provenance(entries):
    import catboost
    import lightgbm
    import torch
    import onnxmltools
    import xgboost

    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "onnxmltools": onnxmltools.__version__,
        "xgboost": xgboost.__version__,
        "lightgbm": lightgbm.__version__,
        "catboost": catboost.__version__,
        "torch": torch.__version__,
    }
    lines = [
        "# Conformance corpus: provenance",
        "",
        "Generated by `tools/make_conformance.py`; do not edit by hand. To regenerate, from the",
        "repository root:",
        "",
        "    pip install -r tools/requirements-conformance.txt && python tools/make_conformance.py",
        "",
        "Data: scikit-learn's bundled iris, breast cancer (Wisconsin diagnostic) and diabetes",
        "(`load_diabetes(scaled=False)`) data sets, and the Palmer penguins shipped inside the",
        "`palmerpenguins` package (rows with a recorded sex; three measurement cells left blank",
        f"in the CSV). Every model is fitted on all rows (seed {SEED});",
        f"the CSVs keep up to {MAX_ROWS} evenly spaced rows, and the expected outputs are",
        "onnxruntime's on those rows, fed as float32.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        "",
        "| case | exporter | data | what | Loupe |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        what = "works" if e["expect"] == "works" else f"refused (`{e['operator']}`)"
        lines.append(f"| {e['name']} | {e['exporter']} | {e['data']} | {e['note']} | {what} |")
    (OUT_DIR / "PROVENANCE.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
