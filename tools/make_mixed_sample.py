"""Generate Loupe's mixed-type sample in sample_models/: penguins with text categories.

Run from the repository root:

    pip install -r tools/requirements-conformance.txt && python tools/make_mixed_sample.py

The Palmer penguins (shipped inside the `palmerpenguins` package): 333 birds with a recorded
sex, their island and sex as text, four measurements, and the species as the label. A
scikit-learn pipeline as users write one for such a table —

    ColumnTransformer(OneHotEncoder on island and sex,
                      SimpleImputer + StandardScaler on the measurements)
    + LogisticRegression

— fitted on a stratified 75% training split and exported with skl2onnx's defaults from the
DataFrame (`to_onnx(pipe, X[:1])`: one input per column, strings for the categories, ZipMap on).
It writes:

* penguins.csv: the rows with a `split` column (`train`/`test`), measurements as float32 text;
* penguins.parquet: the same table as Parquet (island and sex dictionary-encoded);
* penguins_pipeline.onnx and its card (display names, units, subject `penguin`);
* penguins_pipeline.expected.csv: onnxruntime's probabilities on every row.
"""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import palmerpenguins
import skl2onnx
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

OUT = Path(__file__).resolve().parent.parent / "sample_models"
SEED = 0
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORIES = ["island", "sex"]
COLUMNS = CATEGORIES + NUMERIC


def frame():
    df = palmerpenguins.load_penguins().dropna(subset=["sex"]).reset_index(drop=True)
    for c in NUMERIC:
        # ZipMap takes no float64 probabilities: the measurements are float32, as users
        # convert them for skl2onnx.
        df[c] = df[c].astype(np.float32)
    return df[COLUMNS + ["species"]]


def main():
    df = frame()
    train, _ = train_test_split(
        np.arange(len(df)), train_size=0.75, random_state=SEED, stratify=df["species"]
    )
    split = np.array(["test"] * len(df), dtype=object)
    split[train] = "train"
    pipe = make_pipeline(
        ColumnTransformer([
            ("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORIES),
            ("measurements", make_pipeline(SimpleImputer(), StandardScaler()), NUMERIC),
        ]),
        LogisticRegression(C=0.05, max_iter=5000),
    ).fit(df[COLUMNS].iloc[train], df["species"].iloc[train])
    model = skl2onnx.to_onnx(pipe, df[COLUMNS][:1], target_opset={"": 17, "ai.onnx.ml": 3})
    model.graph.name = "penguins_pipeline"
    ops = sorted(model.opset_import, key=lambda o: o.domain)
    del model.opset_import[:]
    model.opset_import.extend(ops)
    path = OUT / "penguins_pipeline.onnx"
    onnx.save(model, str(path))

    table = df.rename(columns={"species": "label"}).copy()
    table["split"] = split
    lines = [",".join(COLUMNS + ["label", "split"])]
    for r in range(len(table)):
        cells = [table.loc[r, c] if c in CATEGORIES else repr(float(table.loc[r, c]))
                 for c in COLUMNS]
        lines.append(",".join(cells + [table.loc[r, "label"], table.loc[r, "split"]]))
    (OUT / "penguins.csv").write_text("\n".join(lines) + "\n")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow = pa.Table.from_pandas(table, preserve_index=False)
        pq.write_table(arrow, OUT / "penguins.parquet", use_dictionary=CATEGORIES,
                       compression="snappy")
    except ImportError:
        print("pyarrow is not installed: penguins.parquet not written")

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {i.name: (df[i.name].to_numpy().astype(object) if i.type == "tensor(string)"
                     else df[i.name].to_numpy().astype(np.float32)).reshape(-1, 1)
            for i in session.get_inputs()}
    probs = session.run(None, feed)[1]
    classes = list(probs[0].keys())
    rows = [",".join(["row"] + [f"p_{c}" for c in classes])]
    rows += [",".join([str(r)] + [repr(float(p[c])) for c in classes]) for r, p in enumerate(probs)]
    (OUT / "penguins_pipeline.expected.csv").write_text("\n".join(rows) + "\n")

    accuracy = float((pipe.predict(df[COLUMNS]) == df["species"]).mean())
    card = {
        "description": (
            "A logistic regression that names a penguin's species (Adelie, Chinstrap, Gentoo) "
            "from the island it was seen on, its sex and four body measurements, trained with "
            f"scikit-learn on {len(train)} birds of the Palmer penguins data (palmerpenguins). "
            "The island and sex are text categories, one-hot encoded inside the model; missing "
            "measurements are imputed inside it too. A demo of explaining a mixed-type table."
        ),
        "display_names": {
            "bill_length_mm": "bill length",
            "bill_depth_mm": "bill depth",
            "flipper_length_mm": "flipper length",
            "body_mass_g": "body mass",
        },
        "units": {
            "bill_length_mm": "mm",
            "bill_depth_mm": "mm",
            "flipper_length_mm": "mm",
            "body_mass_g": "g",
        },
        "subject": "penguin",
    }
    (OUT / "penguins_pipeline.card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    print(f"penguins_pipeline.onnx: {path.stat().st_size} bytes, accuracy {accuracy:.3f}, "
          f"classes {classes}")


if __name__ == "__main__":
    main()
