"""Generate tests/bad_inputs/: files a user might hand Loupe that it must refuse cleanly.

Run from the repository root (needs numpy, onnx and pillow; see tools/requirements*.txt):

    python tools/make_bad_inputs.py

Each file's name says how the corpus test feeds it to Loupe:

* `model_*.onnx`: as the model of `loupe info` and of `loupe predict` with the sample data;
* `data_*.csv`: as the data of `loupe predict` and `loupe explain` with the sample MLP;
* `card_*.card.json`: as the card of a copy of the sample MLP;
* `images_*.csv`: as the image data of `loupe predict` with the lesion CNN (each lists one or
  more images in `images/`, most of them broken: every one must be skipped or refused);
* `grad_*.onnx`: networks of 30 inputs that load and predict, but whose graphs gradient
  methods cannot (or must not) differentiate: as the model of `loupe explain --method ig`
  with the sample data.

Every one must give exit code 2 with one line on stderr, never a panic or a hang. The files are
deterministic (fixed seeds).
"""

import csv
import io
import json
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "bad_inputs"
SAMPLE_MODEL = ROOT / "sample_models" / "breast_cancer_mlp.onnx"
SAMPLE_DATA = ROOT / "sample_models" / "breast_cancer.csv"
rng = random.Random(7)


def write(name, data):
    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def model_bytes(graph, opset=13):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


def linear_graph(inputs=None, outputs=None, nodes=None, inits=None, name="g"):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 1], [0.5, -0.25, 1.0, 0.125])
    return helper.make_graph(
        nodes or [helper.make_node("MatMul", ["x", "w"], ["y"])],
        name,
        inputs if inputs is not None else [x],
        outputs if outputs is not None else [y],
        inits if inits is not None else [w],
    )


def ml_model_bytes(graph):
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 2)])
    model.ir_version = 8
    return model.SerializeToString()


def multi_input_models():
    """Graphs as DataFrame exports make them (one input per column, text for categories),
    made hostile."""
    col = lambda name, kind=TensorProto.FLOAT: helper.make_tensor_value_info(name, kind, ["N", 1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])
    w2 = helper.make_tensor("w2", TensorProto.FLOAT, [2, 1], [1.0, -1.0])
    # Two float inputs no column of the data feeds (the file has no `a` or `b`): loads, and
    # `predict` names the missing columns.
    graph = helper.make_graph(
        [helper.make_node("Concat", ["a", "b"], ["ab"], axis=1),
         helper.make_node("MatMul", ["ab", "w2"], ["y"])],
        "g", [col("a"), col("b")], [y], [w2])
    write("model_unfed_inputs.onnx", model_bytes(graph))
    # A text input computed on as if it were numbers.
    graph = helper.make_graph(
        [helper.make_node("Concat", ["a", "t"], ["at"], axis=1),
         helper.make_node("MatMul", ["at", "w2"], ["y"])],
        "g", [col("a"), col("t", TensorProto.STRING)], [y], [w2])
    write("model_text_into_matmul.onnx", model_bytes(graph))
    # Numbers made text.
    graph = helper.make_graph(
        [helper.make_node("Cast", ["a"], ["s"], to=TensorProto.STRING),
         helper.make_node("OneHotEncoder", ["s"], ["oh"], domain="ai.onnx.ml",
                          cats_strings=["1", "2"]),
         helper.make_node("Reshape", ["oh", "shape"], ["r"]),
         helper.make_node("MatMul", ["r", "w2"], ["y"])],
        "g", [col("a"), col("t", TensorProto.STRING)], [y],
        [w2, helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 2])])
    write("model_text_cast.onnx", ml_model_bytes(graph))
    # A OneHotEncoder with a vocabulary of 100,001 categories, one more than Loupe takes.
    graph = helper.make_graph(
        [helper.make_node("OneHotEncoder", ["t"], ["oh"], domain="ai.onnx.ml",
                          cats_strings=[f"{i:x}" for i in range(100_001)]),
         helper.make_node("ReduceSum", ["oh"], ["y"], keepdims=0)],
        "g", [col("t", TensorProto.STRING)], [y])
    write("model_huge_vocabulary.onnx", ml_model_bytes(graph))
    # Text mapped to text.
    graph = helper.make_graph(
        [helper.make_node("LabelEncoder", ["t"], ["u"], domain="ai.onnx.ml",
                          keys_strings=["a", "b"], values_strings=["x", "y"]),
         helper.make_node("OneHotEncoder", ["u"], ["y"], domain="ai.onnx.ml",
                          cats_strings=["x", "y"])],
        "g", [col("t", TensorProto.STRING)], [y])
    write("model_text_to_text.onnx", ml_model_bytes(graph))
    # An SVM whose support vectors do not match its rows.
    graph = helper.make_graph(
        [helper.make_node("SVMRegressor", ["x"], ["y"], domain="ai.onnx.ml",
                          kernel_type="RBF", kernel_params=[0.1, 0.0, 3.0], n_supports=2,
                          support_vectors=[1.0, 2.0, 3.0], coefficients=[1.0, 1.0], rho=[0.0])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])], [y])
    write("model_svm_ragged_vectors.onnx", ml_model_bytes(graph))


def models():
    good = SAMPLE_MODEL.read_bytes()
    for i, cut in enumerate([1, 8, 64, len(good) // 3, len(good) // 2, len(good) - 7]):
        write(f"model_truncated_{i}.onnx", good[:cut])
    for i in range(12):
        b = bytearray(good)
        for _ in range(1 + i * 3):
            k = rng.randrange(len(b))
            b[k] ^= 1 << rng.randrange(8)
        write(f"model_bitflip_{i}.onnx", bytes(b))
    for i, n in enumerate([0, 1, 100, 5000]):
        write(f"model_random_{i}.onnx", bytes(rng.randrange(256) for _ in range(n)))
    write("model_text.onnx", "this is not a model\n")
    write("model_json.onnx", json.dumps({"graph": "nope"}))
    # External data whose paths leave the model's folder.
    for i, location in enumerate(["../../etc/passwd", "/etc/passwd", "../outside.bin", "sub/../../x.bin"]):
        w = helper.make_tensor("w", TensorProto.FLOAT, [4, 1], [0.0] * 4)
        w.ClearField("float_data")
        w.data_location = TensorProto.EXTERNAL
        for k, v in [("location", location), ("offset", "0"), ("length", "16")]:
            entry = w.external_data.add()
            entry.key, entry.value = k, v
        write(f"model_external_escape_{i}.onnx", model_bytes(linear_graph(inits=[w])))
    # Two inputs, one of rank 3; a string input; an int input; no input; no output.
    x2 = helper.make_tensor_value_info("x2", TensorProto.FLOAT, ["N", 4, 2])
    graph = linear_graph(
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4]), x2],
        nodes=[helper.make_node("MatMul", ["x", "w"], ["y0"]), helper.make_node("Identity", ["y0"], ["y"])],
    )
    write("model_two_inputs.onnx", model_bytes(graph))
    multi_input_models()
    s = helper.make_tensor_value_info("x", TensorProto.STRING, ["N", 4])
    write("model_string_input.onnx", model_bytes(linear_graph(inputs=[s])))
    i64 = helper.make_tensor_value_info("x", TensorProto.INT64, ["N", 4])
    write("model_int_input.onnx", model_bytes(linear_graph(inputs=[i64])))
    write("model_no_input.onnx", model_bytes(linear_graph(inputs=[])))
    write("model_no_output.onnx", model_bytes(linear_graph(outputs=[])))
    # Absurd shapes: a huge declared width, a zero width, a reshape to nonsense.
    big = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4_000_000_000])
    write("model_absurd_width.onnx", model_bytes(linear_graph(inputs=[big])))
    zero = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 0])
    write("model_zero_width.onnx", model_bytes(linear_graph(inputs=[zero])))
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 1_000_000_007])
    graph = linear_graph(
        nodes=[helper.make_node("MatMul", ["x", "w"], ["z"]), helper.make_node("Reshape", ["z", "shape"], ["y"])],
        inits=[helper.make_tensor("w", TensorProto.FLOAT, [4, 1], [1.0] * 4), shape],
    )
    write("model_absurd_reshape.onnx", model_bytes(graph))
    # Tiny files asking for huge tensors: a Tile by a billion (per row), a ConstantOfShape and a
    # Range of 10^10 values.
    reps = helper.make_tensor("reps", TensorProto.INT64, [2], [1, 1_000_000_000])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    graph = linear_graph(
        nodes=[
            helper.make_node("Tile", ["x", "reps"], ["big"]),
            helper.make_node("ReduceSum", ["big", "axes"], ["y"], keepdims=1),
        ],
        inits=[reps, axes],
    )
    write("model_huge_tile.onnx", model_bytes(graph))
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [100_000, 100_000])
    graph = linear_graph(
        nodes=[
            helper.make_node(
                "ConstantOfShape", ["shape"], ["big"],
                value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]),
            ),
            helper.make_node("ReduceSum", ["big"], ["s"], keepdims=0),
            helper.make_node("MatMul", ["x", "w"], ["z"]),
            helper.make_node("Add", ["z", "s"], ["y"]),
        ],
        inits=[helper.make_tensor("w", TensorProto.FLOAT, [4, 1], [1.0] * 4), shape],
    )
    write("model_huge_constant.onnx", model_bytes(graph))
    graph = linear_graph(
        nodes=[
            helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
            helper.make_node("ReduceSum", ["r"], ["s"], keepdims=0),
            helper.make_node("MatMul", ["x", "w"], ["z"]),
            helper.make_node("Add", ["z", "s"], ["y"]),
        ],
        inits=[
            helper.make_tensor("w", TensorProto.FLOAT, [4, 1], [1.0] * 4),
            helper.make_tensor("start", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("limit", TensorProto.FLOAT, [], [1e10]),
            helper.make_tensor("delta", TensorProto.FLOAT, [], [1.0]),
        ],
    )
    write("model_huge_range.onnx", model_bytes(graph))
    # An output no node computes (found by fuzzing: tract panicked looking it up).
    graph = linear_graph(nodes=[helper.make_node("MatMul", ["x", "w"], ["z"])])
    write("model_dangling_output.onnx", model_bytes(graph))
    # An operator nobody implements, a missing initializer, a cycle.
    graph = linear_graph(nodes=[helper.make_node("FrobnicateXYZ", ["x"], ["y"])], inits=[])
    write("model_unknown_op.onnx", model_bytes(graph))
    graph = linear_graph(inits=[])
    write("model_missing_weight.onnx", model_bytes(graph))
    graph = linear_graph(
        nodes=[helper.make_node("Add", ["x", "y"], ["z"]), helper.make_node("Identity", ["z"], ["y"])],
        inits=[],
    )
    write("model_cycle.onnx", model_bytes(graph))
    # Broken tree ensembles: a cycle, a child that does not exist, mismatched lengths.
    for i, (true_ids, false_ids, modes) in enumerate([
        ([1, 0, 0], [0, 0, 0], ["BRANCH_LEQ", "LEAF", "LEAF"]),
        ([5, 0, 0], [2, 0, 0], ["BRANCH_LEQ", "LEAF", "LEAF"]),
        ([1, 0], [2, 0, 0], ["BRANCH_LEQ", "LEAF", "LEAF"]),
        ([1, 0, 0], [2, 0, 0], ["BRANCH_SIDEWAYS", "LEAF", "LEAF"]),
    ]):
        node = helper.make_node(
            "TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml",
            nodes_treeids=[0] * 3, nodes_nodeids=[0, 1, 2], nodes_featureids=[0, 0, 0],
            nodes_modes=modes, nodes_values=[0.5, 0.0, 0.0], nodes_truenodeids=true_ids,
            nodes_falsenodeids=false_ids, target_treeids=[0, 0], target_nodeids=[1, 2],
            target_ids=[0, 0], target_weights=[1.0, 2.0], n_targets=1,
        )
        graph = linear_graph(nodes=[node], inits=[])
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 3)]
        )
        model.ir_version = 8
        write(f"model_tree_broken_{i}.onnx", model.SerializeToString())
    # A regression ensemble declaring 13 billion outputs (found by fuzzing).
    node = helper.make_node(
        "TreeEnsembleRegressor", ["x"], ["y"], domain="ai.onnx.ml",
        nodes_treeids=[0], nodes_nodeids=[0], nodes_featureids=[0], nodes_modes=["LEAF"],
        nodes_values=[0.0], nodes_truenodeids=[0], nodes_falsenodeids=[0],
        target_treeids=[0], target_nodeids=[0], target_ids=[0], target_weights=[1.0],
        n_targets=12_897_270_972,
    )
    model = helper.make_model(
        linear_graph(nodes=[node], inits=[]),
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 3)],
    )
    model.ir_version = 8
    write("model_tree_huge_outputs.onnx", model.SerializeToString())


def data():
    text = SAMPLE_DATA.read_text()
    header, *rows = text.splitlines()
    write("data_empty.csv", "")
    write("data_header_only.csv", header + "\n")
    write("data_ragged.csv", "\n".join([header, rows[0], ",".join(rows[1].split(",")[:5])]) + "\n")
    for i, bad in enumerate(["NaN", "inf", "-inf", "", "abc", "1e999", "0x10"]):
        cells = rows[3].split(",")
        cells[2] = bad
        write(f"data_bad_cell_{i}.csv", "\n".join([header, rows[0], ",".join(cells)]) + "\n")
    write("data_non_utf8.csv", (header + "\n").encode() + b"\xff\xfe\x00bad,\x80\x81\n")
    wide = ",".join(f"c{i}" for i in range(10_000))
    write("data_10000_columns.csv", wide + "\n" + ",".join("1" for _ in range(10_000)) + "\n")
    write("data_quoted_newline.csv", header.replace("mean radius", '"mean\nradius"', 1) + "\n" + rows[0] + "\n")
    write("data_only_text.csv", "a,b,c\nx,y,z\n")
    write("data_unknown_label.csv", "\n".join([header, rows[0].replace(",malignant,", ",tumour,")]) + "\n")
    write("data_binary.csv", bytes(rng.randrange(256) for _ in range(2000)))
    write("data_one_column.csv", "x\n1\n2\n")
    write("data_duplicate_header.csv", header + "," + header.split(",")[0] + "\n" + rows[0] + ",1\n")
    write("data_missing_features.csv", ",".join(header.split(",")[:10]) + "\n" + ",".join(rows[0].split(",")[:10]) + "\n")
    write("data_bom_semicolons.csv", "\ufeff" + header.replace(",", ";") + "\n" + rows[0].replace(",", ";") + "\n")


def cards():
    for i, card in enumerate([
        '{"class_names": "malignant"}',
        '{"class_names": ["a", "b", "c"]}',
        '{"feature_names": [1, 2, 3]}',
        '{"positive_class": "nonexistent"}',
        '{"task": 7}',
        '{"image": {"width": "wide"}}',
        '{"units": ["cm"]}',
        '{"output": "no_such_output"}',
        '[1, 2, 3]',
        '{"class_names": ["a", "b"],',
        "not json at all",
        '{"cam_layer": 12}',
    ]):
        write(f"card_{i}.card.json", card)


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def images():
    good = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 150, 120)).save(good, format="PNG")
    good = good.getvalue()
    files = {}
    for i, cut in enumerate([8, 33, len(good) // 2, len(good) - 5]):
        files[f"truncated_{i}.png"] = good[:cut]
    ihdr = lambda w, h: png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    sig = b"\x89PNG\r\n\x1a\n"
    files["huge_100000.png"] = sig + ihdr(100_000, 100_000) + png_chunk(b"IDAT", b"") + png_chunk(b"IEND", b"")
    files["zero_size.png"] = sig + ihdr(0, 0) + png_chunk(b"IEND", b"")
    files["random.png"] = bytes(rng.randrange(256) for _ in range(500))
    files["text.jpg"] = b"not a jpeg"
    buf = io.BytesIO()
    Image.new("LA", (64, 64), (100, 200)).save(buf, format="PNG")
    files["grey_alpha.png"] = buf.getvalue()
    buf = io.BytesIO()
    Image.new("RGBA", (3, 500), (1, 2, 3, 4)).save(buf, format="PNG")
    files["odd_shape_rgba.png"] = buf.getvalue()
    files["empty.png"] = b""
    for name, body in files.items():
        write(f"images/{name}", body)
    broken = [n for n in files if n not in ("grey_alpha.png", "odd_shape_rgba.png")]
    for i, name in enumerate(broken):
        write(f"images_{i}.csv", f"path,label\nimages/{name},benign\n")
    write("images_all_broken.csv", "path,label\n" + "".join(f"images/{n},benign\n" for n in broken))
    write("images_missing_file.csv", "path,label\nimages/no_such.png,benign\n")
    write("images_escape.csv", "path,label\n../../../../etc/passwd,benign\n")
    write("images_no_path_column.csv", "file_name,label\nimages/empty.png,benign\n")
    write("images_bad_label.csv", "path,label\nimages/grey_alpha.png,tumour\n")


def grad_models():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 30])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])
    w = helper.make_tensor("w", TensorProto.FLOAT, [30, 1], [((i % 7) - 3) / 100.0 for i in range(30)])

    def network(name, nodes, inits=()):
        graph = helper.make_graph(nodes, name, [x], [y], [w, *inits])
        write(f"grad_{name}.onnx", model_bytes(graph, opset=17))

    # Operators with no gradient rule on the score's path: named with their node.
    network("round", [helper.make_node("MatMul", ["x", "w"], ["z"]),
                      helper.make_node("Round", ["z"], ["y"], name="rounding")])
    network("argmax", [helper.make_node("ArgMax", ["x"], ["i"], axis=1, keepdims=1, name="pick"),
                       helper.make_node("Cast", ["i"], ["y"], to=TensorProto.FLOAT)])
    # Weights computed from the input: the rule covers the data operand only.
    network("input_weights", [
        helper.make_node("MatMul", ["x", "w"], ["z"]),
        helper.make_node("Mul", ["z", "z"], ["zz"]),
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0]),
        helper.make_node("MatMul", ["x", "xt"], ["g"], name="gram"),
        helper.make_node("ReduceMean", ["g"], ["m"], axes=[1], keepdims=1),
        helper.make_node("Add", ["m", "zz"], ["y"]),
    ])
    # A logarithm of negative values: NaN scores and gradients.
    network("log_negative", [helper.make_node("MatMul", ["x", "w"], ["z"]),
                             helper.make_node("Neg", ["z"], ["n"]),
                             helper.make_node("Abs", ["n"], ["a"]),
                             helper.make_node("Neg", ["a"], ["b"]),
                             helper.make_node("Log", ["b"], ["y"])])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.rglob("*"):
        if old.is_file():
            old.unlink()
    models()
    data()
    cards()
    images()
    grad_models()
    n = sum(1 for p in OUT.rglob("*") if p.is_file())
    (OUT / "README.md").write_text(
        "Hostile inputs for Loupe's loaders, generated by `tools/make_bad_inputs.py` (see its\n"
        "docstring for how `tests/bad_inputs.rs` feeds each file). Do not edit by hand.\n"
    )
    print(f"{n} files in {OUT}")


if __name__ == "__main__":
    main()
