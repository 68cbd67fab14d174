"""Generate Loupe's image samples: small image data sets, CNNs trained on them,
and a hand-built image model for tests.

Run from the repository root:

    pip install -r tools/requirements-images.txt && python tools/make_images.py

It writes, in sample_models/:

* lesions/: a synthetic, dermoscopy-like data set of 64x64 RGB skin lesions,
  `benign` (round or elliptical, smooth border, even brown) or `malignant`
  (lobed, irregular border, variegated browns, dark spots, blue-grey areas),
  with a planted shortcut: a small blue sticker in a corner of most malignant
  images of the train split and of few benign ones. The test split has a
  "swapped" group in which the sticker contradicts the lesion. Images in
  ImageFolder layout (`train/<class>/NNNN.png`, `test/<class>/NNNN.png`),
  masks of the lesion and of the sticker (`masks/lesion/...`,
  `masks/marker/...`, same relative paths) and lesions.csv;
* lesions_cnn.onnx (and its card): a small CNN trained on the train split,
  which learns the shortcut and is fooled by the swapped test images;
* digits/: scikit-learn's copy of the UCI handwritten digits (8x8), upsampled
  to 28x28 grayscale PNG, with a stratified train/test split and digits.csv;
* digits_cnn.onnx (and its card): the same kind of CNN on one channel;
* expected/lesions_cnn.csv and expected/digits_cnn.csv: onnxruntime's
  probabilities for every image of the data CSV, loaded as documented;
* IMAGES.md: how all of this was made, seeds, versions, accuracies, hashes
  and the exact preprocessing.

and, in tests/data/images/:

* region_model.onnx (and its card and expected outputs): a hand-built graph
  whose class-1 logit is a fixed positive weighted sum of the pixels inside a
  known rectangle minus a constant, so that no pixel outside the rectangle has
  any influence;
* region/: eleven 32x32 test images and region.csv;
* README.md: the rectangle, the weights and the files.

Seeds are fixed and training runs on one thread with deterministic
algorithms, so two runs with the pinned versions on the same machine give
identical bytes. (Another CPU may round the training arithmetic differently;
the committed models are the reference, and every expected output is computed
from the ONNX file itself.)
"""

import csv
import hashlib
import io
import json
import platform
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import PIL
import scipy
import sklearn
import torch
from onnx import TensorProto, helper, numpy_helper
from PIL import Image
from scipy.ndimage import gaussian_filter
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "sample_models"
FIXTURE_DIR = ROOT / "tests" / "data" / "images"

INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"
CAM_NAME = "cam_features"
OPSET = 17
TRAIN_THREADS = 1  # one thread: the same float sums in the same order every run

# ---------------------------------------------------------------------------
# Lesions: data
# ---------------------------------------------------------------------------

LESION_DIR = OUT_DIR / "lesions"
LESION_CSV = "lesions.csv"
LESION_CLASSES = ["benign", "malignant"]
LESION_SIZE = 64
LESION_SEED = 20240611
SPLIT_IDS = {"train": 0, "test": 1}

# (class, marker, count) per split. In the train split 90% of malignant images
# carry the sticker and 5% of benign ones. The test split has 60 "normal"
# images in which the sticker agrees with the shortcut (benign without,
# malignant with) and 40 "swapped" ones in which it contradicts it.
LESION_GROUPS = {
    "train": [
        ("benign", 0, 190),
        ("benign", 1, 10),
        ("malignant", 1, 180),
        ("malignant", 0, 20),
    ],
    "test": [
        ("benign", 0, 30),
        ("malignant", 1, 30),
        ("benign", 1, 20),
        ("malignant", 0, 20),
    ],
}

# How irregular and variegated a lesion is, drawn uniformly from this range per
# class. The ranges overlap, so the lesion alone does not give every label.
SEVERITY = {"benign": (0.0, 0.45), "malignant": (0.35, 1.0)}

SKIN_LIGHT, SKIN_DARK = (236, 196, 168), (196, 146, 112)
LESION_LIGHT, LESION_DARK = (170, 120, 86), (112, 74, 52)
# (colour, smoothing sigma in px, threshold at severity 0, threshold drop per
# unit of severity): patches of colour where a smooth random field exceeds the
# threshold.
VARIEGATION = [
    ((62, 40, 32), 2.5, 1.6, 1.3),  # dark brown / black spots
    ((112, 122, 146), 3.5, 1.9, 1.3),  # blue-grey areas
    ((192, 148, 112), 3.0, 1.9, 1.2),  # light tan areas
]
MARKER_COLOUR = (40, 90, 235)
MARKER_RADIUS = 3.5  # a disc of the pixels within 3.5 px of its centre (37 px)
MARKER_OFFSETS = (5, 10)  # centre 5..9 px from both edges of its corner

_COORDS = np.mgrid[0:LESION_SIZE, 0:LESION_SIZE].astype(np.float64)


def lerp(a, b, t):
    return np.asarray(a, dtype=np.float64) * (1 - t) + np.asarray(b, dtype=np.float64) * t


def smooth_noise(rng, sigma, size):
    """Gaussian-smoothed white noise (wrapping at the edges), unit standard deviation."""
    field = gaussian_filter(rng.standard_normal((size, size)), sigma, mode="wrap")
    return field / field.std()


def skin(rng):
    """Skin-coloured background: a random tone, uneven lighting darker towards
    the corners, fine texture and pixel noise. Float RGB, (64, 64, 3)."""
    size = LESION_SIZE
    yy, xx = _COORDS
    centre = (size - 1) / 2
    tone = lerp(SKIN_LIGHT, SKIN_DARK, rng.uniform())
    r2 = ((xx - centre) ** 2 + (yy - centre) ** 2) / 45.0**2
    light = 1 + 0.05 * smooth_noise(rng, 12, size) - 0.10 * r2
    texture = 3.0 * smooth_noise(rng, 1.0, size)
    img = tone[None, None, :] * light[..., None] + texture[..., None]
    return img + 2.0 * rng.standard_normal((size, size, 3))


def lesion(rng, severity):
    """A lesion of the given severity (0: round, even colour; 1: lobed,
    variegated): (coverage alpha in 0..1, float RGB colour), both (64, 64[, 3])."""
    size = LESION_SIZE
    yy, xx = _COORDS
    cx, cy = (size - 1) / 2 + rng.uniform(-5, 5, 2)
    r0 = rng.uniform(10, 16)
    aspect = rng.uniform(0.75, 1.0)
    angle = rng.uniform(0, np.pi)
    dx, dy = xx - cx, yy - cy
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / aspect
    rho, phi = np.hypot(u, v), np.arctan2(v, u)

    # Border: r0 * (1 + 0.3 * severity * w(phi)), w a sum of harmonics 3..8
    # scaled to a maximum |w| of 1.
    ks = np.arange(3, 9)
    amps = rng.uniform(0.3, 1.0, len(ks)) / np.sqrt(ks)
    phases = rng.uniform(0, 2 * np.pi, len(ks))

    def wave(p):
        return sum(a * np.cos(k * p + ph) for a, k, ph in zip(amps, ks, phases))

    peak = np.abs(wave(np.linspace(0, 2 * np.pi, 720, endpoint=False))).max()
    radius = r0 * (1 + 0.3 * severity * wave(phi) / peak)
    edge = 1.8 - 1.0 * severity  # width of the soft border, px
    alpha = np.clip((radius - rho) / edge + 0.5, 0, 1)

    base = lerp(LESION_LIGHT, LESION_DARK, rng.uniform())
    darker_centre = 1 - 0.10 * np.clip(1 - rho / r0, 0, 1)
    colour = base[None, None, :] * darker_centre[..., None]
    colour = colour + 3.0 * smooth_noise(rng, 1.5, size)[..., None]
    for patch, sigma, threshold, drop in VARIEGATION:
        field = smooth_noise(rng, sigma, size)
        weight = np.clip((field - (threshold - drop * severity)) / 0.4, 0, 1)
        weight = weight * min(1.0, 1.5 * severity)
        colour = colour * (1 - weight[..., None]) + np.asarray(patch, float) * weight[..., None]
    return alpha, colour


def marker(rng):
    """The sticker: a disc in a random corner; (mask, float RGB colour)."""
    size = LESION_SIZE
    yy, xx = _COORDS
    corner = int(rng.integers(4))
    off_x, off_y = rng.integers(*MARKER_OFFSETS, 2)
    mx = off_x if corner % 2 == 0 else size - 1 - off_x
    my = off_y if corner < 2 else size - 1 - off_y
    mask = (xx - mx) ** 2 + (yy - my) ** 2 <= MARKER_RADIUS**2
    colour = np.asarray(MARKER_COLOUR, float) + 3.0 * rng.standard_normal((size, size, 3))
    return mask, colour


def render_lesion(split, index, label, with_marker):
    """One image: (RGB uint8 with the sticker if with_marker, the same image
    without it, lesion mask, sticker mask). The image and the sticker have
    their own random streams, seeded by (LESION_SEED, split, index)."""
    key = [LESION_SEED, SPLIT_IDS[split], index]
    rng = np.random.default_rng(key + [0])
    severity = rng.uniform(*SEVERITY[label])
    img = skin(rng)
    alpha, colour = lesion(rng, severity)
    img = img * (1 - alpha[..., None]) + colour * alpha[..., None]
    lesion_mask = alpha >= 0.5
    clean = np.clip(np.rint(img), 0, 255).astype(np.uint8)

    marker_mask, marker_colour = marker(np.random.default_rng(key + [1]))
    if not with_marker:
        return clean, clean, lesion_mask, np.zeros_like(marker_mask)
    assert not np.any(marker_mask & (alpha > 0)), f"sticker on the lesion: {split} {index}"
    img[marker_mask] = marker_colour[marker_mask]
    marked = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return marked, clean, lesion_mask, marker_mask


def save_png(path, array):
    """Save a uint8 array (H, W) or (H, W, 3) as PNG (no metadata, so the bytes
    depend on the pixels only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format="PNG")


def make_lesion_data():
    """Write the lesion images, masks and CSV. Returns a list of rows (dicts)
    and, per row, the same image without the sticker (for a control model)."""
    shutil.rmtree(LESION_DIR, ignore_errors=True)
    rows, clean_images = [], {}
    for split, groups in LESION_GROUPS.items():
        specs = [(label, m) for label, m, count in groups for _ in range(count)]
        # Shuffle so that the first rows of each split hold both classes.
        order = np.random.default_rng([LESION_SEED, SPLIT_IDS[split], 99]).permutation(len(specs))
        for index, k in enumerate(order):
            label, with_marker = specs[k]
            marked, clean, lesion_mask, marker_mask = render_lesion(split, index, label, with_marker)
            rel = f"{split}/{label}/{index:04d}.png"
            save_png(LESION_DIR / rel, marked)
            save_png(LESION_DIR / "masks" / "lesion" / rel, lesion_mask.astype(np.uint8) * 255)
            save_png(LESION_DIR / "masks" / "marker" / rel, marker_mask.astype(np.uint8) * 255)
            swapped = int(with_marker != (label == "malignant"))
            rows.append(
                {"path": rel, "label": label, "split": split, "marker": int(with_marker),
                 "swapped": swapped}
            )
            clean_images[rel] = clean
    write_csv(
        LESION_DIR / LESION_CSV,
        ["path", "label", "split", "marker", "swapped"],
        ([r["path"], r["label"], r["split"], r["marker"], r["swapped"]] for r in rows),
    )
    return rows, clean_images


# ---------------------------------------------------------------------------
# Digits: data
# ---------------------------------------------------------------------------

DIGITS_DIR = OUT_DIR / "digits"
DIGITS_CSV = "digits.csv"
DIGIT_CLASSES = [str(d) for d in range(10)]
DIGITS_SIZE = 28
SPLIT_SEED = 0
TEST_SIZE = 0.25


def digit_image(values):
    """An 8x8 digit (values 0..16) as a 28x28 uint8 image: round(v * 255 / 16),
    then Pillow's bilinear resize."""
    small = np.rint(np.asarray(values, dtype=np.float64).reshape(8, 8) * 255 / 16)
    img = Image.fromarray(small.astype(np.uint8))
    return np.asarray(img.resize((DIGITS_SIZE, DIGITS_SIZE), Image.Resampling.BILINEAR))


def make_digit_data():
    """Write the digit images and CSV; returns the rows (dicts) and the split counts."""
    shutil.rmtree(DIGITS_DIR, ignore_errors=True)
    digits = load_digits()
    y = digits.target.astype(int)
    _, test_idx = train_test_split(
        np.arange(len(y)), test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y
    )
    split = np.full(len(y), "train", dtype=object)
    split[test_idx] = "test"
    rows = []
    for i, (values, label, part) in enumerate(zip(digits.data, y, split)):
        rel = f"{part}/{label}/{i:04d}.png"
        save_png(DIGITS_DIR / rel, digit_image(values))
        rows.append({"path": rel, "label": str(label), "split": part})
    write_csv(
        DIGITS_DIR / DIGITS_CSV,
        ["path", "label", "split"],
        ([r["path"], r["label"], r["split"]] for r in rows),
    )
    return rows


# ---------------------------------------------------------------------------
# Loading images the documented way
# ---------------------------------------------------------------------------


def load_pixels(path, channels):
    """PIL open -> convert("RGB") (or "L" for one channel) -> float32 HWC in 0..1."""
    with Image.open(path) as img:
        arr = np.asarray(img.convert("RGB" if channels == 3 else "L"), dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[..., None]
    return arr.astype(np.float32) / np.float32(255)


def normalise(pixels, mean, std):
    """(N, H, W, C) float32 pixels in 0..1 -> (N, C, H, W) float32 model input,
    (x - mean) / std per channel."""
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(((pixels - mean) / std).transpose(0, 3, 1, 2))


def load_set(data_dir, rows, channels):
    """All images of rows as (N, H, W, C) float32 pixels in 0..1."""
    return np.stack([load_pixels(data_dir / r["path"], channels) for r in rows])


def channel_stats(pixels):
    """Per-channel mean and standard deviation of float32 pixels, rounded to 3 decimals."""
    flat = pixels.reshape(-1, pixels.shape[-1]).astype(np.float64)
    return [round(float(v), 3) for v in flat.mean(axis=0)], [
        round(float(v), 3) for v in flat.std(axis=0)
    ]


# ---------------------------------------------------------------------------
# The CNN
# ---------------------------------------------------------------------------


class SmallCNN(torch.nn.Module):
    """conv3x3(C->16)-ReLU-maxpool2 -> conv3x3(16->32)-ReLU-maxpool2 ->
    conv3x3(32->32)-ReLU (the CAM layer) -> global average pool -> linear(32->K).
    Convolutions keep the size (padding 1). forward returns (logits, CAM activations)."""

    def __init__(self, channels, n_classes):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(channels, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = torch.nn.Conv2d(32, 32, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(32, n_classes)

    def forward(self, x):
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        cam = torch.relu(self.conv3(x))
        return self.fc(torch.flatten(self.pool(cam), 1)), cam


class Exported(torch.nn.Module):
    """What goes into the ONNX file: (softmax probabilities, CAM activations)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        logits, cam = self.net(x)
        return torch.softmax(logits, dim=1), cam


def train_cnn(X, y, n_classes, seed, epochs, lr, weight_decay, batch_size=32):
    """Train SmallCNN on X (N, C, H, W float32, normalised) and y (N int) with
    Adam and cross-entropy, mini-batches in a seeded random order, no
    augmentation. Returns the net in eval mode."""
    torch.manual_seed(seed)
    net = SmallCNN(X.shape[1], n_classes)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    order = torch.Generator().manual_seed(seed)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(np.asarray(y, dtype=np.int64))
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(Xt), generator=order)
        for start in range(0, len(Xt), batch_size):
            batch = perm[start : start + batch_size]
            optimiser.zero_grad()
            logits, _ = net(Xt[batch])
            loss = torch.nn.functional.cross_entropy(logits, yt[batch])
            loss.backward()
            optimiser.step()
    return net.eval()


def torch_predict(net, X):
    with torch.no_grad():
        logits, _ = net(torch.from_numpy(X))
        return torch.softmax(logits, dim=1).numpy()


def export_cnn(net, channels, size, path):
    """Export with the TorchScript-based (legacy) exporter, opset 17, a
    dynamic batch axis; outputs `probabilities` then `cam_features`."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated, and says so.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            Exported(net),
            torch.zeros(1, channels, size, size),
            buffer,
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME, CAM_NAME],
            dynamic_axes={INPUT_NAME: {0: "N"}, OUTPUT_NAME: {0: "N"}, CAM_NAME: {0: "N"}},
        )
    model = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(model, full_check=True)
    path.write_bytes(model.SerializeToString())
    return model


def describe_graph(model):
    """Op types in order, inputs and outputs with their inferred shapes; also
    returned as text."""
    inferred = onnx.shape_inference.infer_shapes(model).graph
    shapes = {v.name: v.type for v in list(inferred.value_info) + list(inferred.output)}
    lines = [
        "opsets: "
        + ", ".join(f"{i.domain or 'ai.onnx'} {i.version}" for i in model.opset_import)
        + f"; IR version {model.ir_version}",
        f"ops: {' -> '.join(n.op_type for n in model.graph.node)}",
    ]
    for value in model.graph.input:
        lines.append(f"input {value.name}: {type_text(value.type)}")
    for value in model.graph.output:
        lines.append(f"output {value.name}: {type_text(shapes.get(value.name, value.type))}")
    for line in lines:
        print(f"  {line}")
    return lines


def type_text(t):
    elem = helper.tensor_dtype_to_np_dtype(t.tensor_type.elem_type).name
    dims = [
        d.dim_param or (str(d.dim_value) if d.HasField("dim_value") else "?")
        for d in t.tensor_type.shape.dim
    ]
    return f"{elem} [{', '.join(dims)}]"


def session(path, threads=1):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_probabilities(sess, X, batch=256):
    return np.concatenate(
        [sess.run([OUTPUT_NAME], {INPUT_NAME: X[i : i + batch]})[0] for i in range(0, len(X), batch)]
    )


def write_expected(path, rows, probs, class_names):
    write_csv(
        path,
        ["row", "path"] + [f"p_{c}" for c in class_names],
        ([i, r["path"]] + [repr(float(p)) for p in ps] for i, (r, ps) in enumerate(zip(rows, probs))),
    )


def write_card(path, card):
    write_text(path, json.dumps(card, indent=2, sort_keys=True) + "\n")


def image_card(class_names, size, channels, mean, std, description, subject, positive=None):
    card = {
        "task": "classification",
        "class_names": class_names,
        "output": OUTPUT_NAME,
        "image": {
            "width": size,
            "height": size,
            "channels": channels,
            "layout": "NCHW",
            "mean": mean,
            "std": std,
        },
        "cam_layer": CAM_NAME,
        "subject": subject,
        "description": description,
    }
    if positive is not None:
        card["positive_class"] = positive
    return card


# ---------------------------------------------------------------------------
# Lesions: model and checks
# ---------------------------------------------------------------------------

LESION_TRAIN = {"seed": 0, "epochs": 40, "lr": 2e-3, "weight_decay": 1e-4}
OCCLUSION_WINDOW, OCCLUSION_STRIDE = 4, 2


def accuracy(probs, labels):
    correct = int(np.sum(np.argmax(probs, axis=1) == np.asarray(labels)))
    return correct, len(labels)


def accuracy_text(correct_total):
    correct, total = correct_total
    return f"{correct / total:.4f} ({correct}/{total})" if total else "n/a"


def lesion_groups(rows):
    """Row indices per reporting group."""
    groups = {
        "train": [i for i, r in enumerate(rows) if r["split"] == "train"],
        "test, normal": [i for i, r in enumerate(rows) if r["split"] == "test" and not r["swapped"]],
        "test, swapped": [i for i, r in enumerate(rows) if r["split"] == "test" and r["swapped"]],
    }
    groups["test, swapped: benign with sticker"] = [
        i for i in groups["test, swapped"] if rows[i]["label"] == "benign"
    ]
    groups["test, swapped: malignant without sticker"] = [
        i for i in groups["test, swapped"] if rows[i]["label"] == "malignant"
    ]
    return groups


def occlusion_map(sess, x, target):
    """Occlusion of one normalised image x (C, H, W): a WINDOW x WINDOW square
    set to 0 at every STRIDE-th position; returns (per-window drop in the
    target's probability as a (rows, cols) array, window positions)."""
    _, h, w = x.shape
    tops = list(range(0, h - OCCLUSION_WINDOW + 1, OCCLUSION_STRIDE))
    lefts = list(range(0, w - OCCLUSION_WINDOW + 1, OCCLUSION_STRIDE))
    batch = np.repeat(x[None], len(tops) * len(lefts) + 1, axis=0)
    k = 1
    for top in tops:
        for left in lefts:
            batch[k, :, top : top + OCCLUSION_WINDOW, left : left + OCCLUSION_WINDOW] = 0
            k += 1
    p = sess.run([OUTPUT_NAME], {INPUT_NAME: batch})[0][:, target]
    return (p[0] - p[1:]).reshape(len(tops), len(lefts)), (tops, lefts)


def marker_checks(sess, rows, X, malignant):
    """On the swapped benign images with a sticker: p(malignant) as is, with the
    sticker's pixels set to 0 (normalised), and with the same shape set to 0 in
    the mirrored corner (plain skin); and whether the most important window
    of a 4x4/stride-2 occlusion map touches the sticker."""
    marker_masks = {
        i: np.asarray(Image.open(LESION_DIR / "masks" / "marker" / rows[i]["path"])) > 0
        for i in range(len(rows))
    }
    idx = [i for i, r in enumerate(rows) if r["split"] == "test" and r["swapped"] and r["marker"]]
    before, on_marker, control, top_hits = [], [], [], 0
    for i in idx:
        mask = marker_masks[i]
        occluded = X[i].copy()
        occluded[:, mask] = 0
        mirrored = X[i].copy()
        mirrored[:, mask[:, ::-1]] = 0
        p = sess.run([OUTPUT_NAME], {INPUT_NAME: np.stack([X[i], occluded, mirrored])})[0]
        before.append(p[0, malignant])
        on_marker.append(p[1, malignant])
        control.append(p[2, malignant])
        drops, (tops, lefts) = occlusion_map(sess, X[i], int(np.argmax(p[0])))
        r, c = np.unravel_index(np.argmax(drops), drops.shape)
        window = mask[tops[r] : tops[r] + OCCLUSION_WINDOW, lefts[c] : lefts[c] + OCCLUSION_WINDOW]
        top_hits += int(window.any())
    before, on_marker, control = map(np.asarray, (before, on_marker, control))
    result = {
        "images": len(idx),
        "p_malignant_mean": float(before.mean()),
        "p_malignant_marker_occluded_mean": float(on_marker.mean()),
        "p_malignant_mirror_occluded_mean": float(control.mean()),
        "mean_abs_change_marker": float(np.abs(before - on_marker).mean()),
        "mean_abs_change_mirror": float(np.abs(before - control).mean()),
        "flipped_marker": int(np.sum((before > 0.5) != (on_marker > 0.5))),
        "flipped_mirror": int(np.sum((before > 0.5) != (control > 0.5))),
        "top_window_on_marker": top_hits,
    }
    return result


def make_lesion_model(rows, clean_images):
    train = [i for i, r in enumerate(rows) if r["split"] == "train"]
    pixels = load_set(LESION_DIR, rows, 3)
    mean, std = channel_stats(pixels[train])
    X = normalise(pixels, mean, std)
    y = np.array([LESION_CLASSES.index(r["label"]) for r in rows])

    net = train_cnn(X[train], y[train], 2, **LESION_TRAIN)
    path = OUT_DIR / "lesions_cnn.onnx"
    model = export_cnn(net, 3, LESION_SIZE, path)
    print(f"{path.relative_to(ROOT)}")
    graph = describe_graph(model)

    sess = session(path)
    probs = ort_probabilities(sess, X)
    torch_diff = float(np.abs(probs - torch_predict(net, X)).max())
    print(f"  max |torch - onnxruntime| = {torch_diff:.3g}")
    write_expected(OUT_DIR / "expected" / "lesions_cnn.csv", rows, probs, LESION_CLASSES)
    groups = lesion_groups(rows)
    accuracies = {name: accuracy(probs[idx], y[idx]) for name, idx in groups.items()}
    for name, acc in accuracies.items():
        print(f"  accuracy, {name}: {accuracy_text(acc)}")
    checks = marker_checks(sess, rows, X, LESION_CLASSES.index("malignant"))
    print(f"  sticker check: {checks}")
    test_normal = accuracies["test, normal"]
    test_swapped = accuracies["test, swapped"]
    assert test_normal[0] / test_normal[1] >= 0.9, "the model should do well on normal test images"
    assert test_swapped[0] / test_swapped[1] < 0.5, "the model should be fooled by the sticker"

    # Control: the same training on the same images without any sticker.
    clean = normalise(
        np.stack([clean_images[r["path"]] for r in rows]).astype(np.float32) / np.float32(255),
        mean,
        std,
    )
    control = train_cnn(clean[train], y[train], 2, **LESION_TRAIN)
    control_probs = torch_predict(control, clean)
    test = groups["test, normal"] + groups["test, swapped"]
    control_acc = accuracy(control_probs[test], y[test])
    print(f"  control model (no stickers anywhere), test accuracy: {accuracy_text(control_acc)}")

    n_train = len(train)
    card = image_card(
        LESION_CLASSES,
        LESION_SIZE,
        3,
        mean,
        std,
        "A small convolutional network that classifies a synthetic, dermoscopy-like 64x64 "
        "image of a skin lesion as benign or malignant, trained with PyTorch on "
        f"{n_train} generated images. The training data carry a planted shortcut: a blue "
        "sticker in a corner of 90% of the malignant images and 5% of the benign ones, and "
        "the model relies on it, so a benign lesion with a sticker is called malignant. "
        "It is a demo of how explanations reveal a shortcut, not a medical device.",
        "lesion",
        positive="malignant",
    )
    # The sticker is blue and the skin reddish: a red-blue map would tint the one purple and
    # hide in the other.
    card["image"]["palette"] = "green-magenta"
    write_card(OUT_DIR / "lesions_cnn.card.json", card)
    return {
        "path": path,
        "graph": graph,
        "mean": mean,
        "std": std,
        "accuracies": accuracies,
        "checks": checks,
        "control_acc": control_acc,
        "torch_diff": torch_diff,
        "card": card,
        "sha256": sha256(path),
    }


# ---------------------------------------------------------------------------
# Digits: model
# ---------------------------------------------------------------------------

DIGITS_TRAIN = {"seed": 0, "epochs": 60, "lr": 3e-3, "weight_decay": 0.0}


def make_digit_model(rows):
    train = [i for i, r in enumerate(rows) if r["split"] == "train"]
    test = [i for i, r in enumerate(rows) if r["split"] == "test"]
    pixels = load_set(DIGITS_DIR, rows, 1)
    mean, std = channel_stats(pixels[train])
    X = normalise(pixels, mean, std)
    y = np.array([int(r["label"]) for r in rows])

    net = train_cnn(X[train], y[train], 10, **DIGITS_TRAIN)
    path = OUT_DIR / "digits_cnn.onnx"
    model = export_cnn(net, 1, DIGITS_SIZE, path)
    print(f"{path.relative_to(ROOT)}")
    graph = describe_graph(model)
    sess = session(path)
    probs = ort_probabilities(sess, X)
    torch_diff = float(np.abs(probs - torch_predict(net, X)).max())
    print(f"  max |torch - onnxruntime| = {torch_diff:.3g}")
    write_expected(OUT_DIR / "expected" / "digits_cnn.csv", rows, probs, DIGIT_CLASSES)
    accuracies = {"train": accuracy(probs[train], y[train]), "test": accuracy(probs[test], y[test])}
    for name, acc in accuracies.items():
        print(f"  accuracy, {name}: {accuracy_text(acc)}")
    card = image_card(
        DIGIT_CLASSES,
        DIGITS_SIZE,
        1,
        mean,
        std,
        "A small convolutional network that reads a handwritten digit (0 to 9) from a 28x28 "
        f"grayscale image, trained with PyTorch on {len(train)} images of the UCI Optical "
        "Recognition of Handwritten Digits data (the 8x8 copy shipped with scikit-learn, "
        "upsampled). A demo for exploring Loupe's image explanations.",
        "image",
    )
    write_card(OUT_DIR / "digits_cnn.card.json", card)
    return {
        "path": path,
        "graph": graph,
        "mean": mean,
        "std": std,
        "accuracies": accuracies,
        "torch_diff": torch_diff,
        "card": card,
        "sha256": sha256(path),
        "n_train": len(train),
        "n_test": len(test),
    }


# ---------------------------------------------------------------------------
# Test fixture: a model that looks at one rectangle only
# ---------------------------------------------------------------------------

REGION_SIZE = 32
REGION = (8, 20, 16, 28)  # top, left, bottom, right; rows top..bottom-1, cols left..right-1
REGION_CLASSES = ["dark", "bright"]
REGION_BIAS = 6.0
REGION_SEED = 7
# Mean brightness (0..1) inside the rectangle of each test image.
REGION_LEVELS = [0.18, 0.27, 0.34, 0.40, 0.45, 0.56, 0.61, 0.68, 0.75, 0.84]


def region_weights():
    """w[c, i, j] = (1 + (i + j + c) % 3) / 32 for channel c and (i, j) inside
    the rectangle: 1/32, 2/32 or 3/32, 64 entries each, summing to 12."""
    top, left, bottom, right = REGION
    c, i, j = np.meshgrid(
        np.arange(3), np.arange(bottom - top), np.arange(right - left), indexing="ij"
    )
    return ((1 + (i + j + c) % 3) / 32).astype(np.float32)


def make_region_model(path):
    """input [N, 3, 32, 32] -> Slice (the rectangle) -> Mul (weights) ->
    ReduceSum -> Flatten -> Sub (bias): z [N, 1] -> Mul by [0, 1]: logits [N, 2] = [0, z]
    -> Softmax: probabilities [N, 2]."""
    top, left, bottom, right = REGION
    inits = [
        numpy_helper.from_array(np.array([top, left], dtype=np.int64), "starts"),
        numpy_helper.from_array(np.array([bottom, right], dtype=np.int64), "ends"),
        numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes"),
        numpy_helper.from_array(region_weights()[None], "weights"),
        numpy_helper.from_array(np.array([1, 2, 3], dtype=np.int64), "sum_axes"),
        numpy_helper.from_array(np.array(REGION_BIAS, dtype=np.float32), "bias"),
        numpy_helper.from_array(np.array([0, 1], dtype=np.float32), "class_mask"),
    ]
    nodes = [
        helper.make_node("Slice", [INPUT_NAME, "starts", "ends", "axes"], ["region"]),
        helper.make_node("Mul", ["region", "weights"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "sum_axes"], ["weighted_sum"], keepdims=1),
        helper.make_node("Flatten", ["weighted_sum"], ["flat_sum"], axis=1),
        helper.make_node("Sub", ["flat_sum", "bias"], ["logit"]),
        helper.make_node("Mul", ["logit", "class_mask"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [OUTPUT_NAME], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "region_model",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", 3, REGION_SIZE, REGION_SIZE])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", 2])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="loupe"
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path.write_bytes(model.SerializeToString())
    return model


def region_image(rng, level):
    """Random noise of a random brightness everywhere, and noise around `level`
    inside the rectangle."""
    lo = rng.uniform(0, 0.6)
    img = rng.uniform(lo, lo + 0.4, (REGION_SIZE, REGION_SIZE, 3))
    top, left, bottom, right = REGION
    img[top:bottom, left:right] = rng.uniform(level - 0.12, level + 0.12, (bottom - top, right - left, 3))
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def region_reference(pixels):
    """Probabilities in float64 from the definition, for (N, 32, 32, 3) pixels in 0..1."""
    top, left, bottom, right = REGION
    x = pixels[:, top:bottom, left:right, :].transpose(0, 3, 1, 2).astype(np.float64)
    z = (x * region_weights().astype(np.float64)).sum(axis=(1, 2, 3)) - REGION_BIAS
    p1 = 1 / (1 + np.exp(-z))
    return np.stack([1 - p1, p1], axis=1), z


def make_region_fixture():
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    path = FIXTURE_DIR / "region_model.onnx"
    model = make_region_model(path)
    print(f"{path.relative_to(ROOT)}")
    graph = describe_graph(model)

    rng = np.random.default_rng(REGION_SEED)
    images = [region_image(rng, level) for level in REGION_LEVELS]
    # The last image: the first one's rectangle on a different surround, so a
    # test can check that the two get the same output.
    last = region_image(rng, 0.5)
    top, left, bottom, right = REGION
    last[top:bottom, left:right] = images[0][top:bottom, left:right]
    images.append(last)

    data_dir = FIXTURE_DIR / "region"
    names = [f"{i:04d}.png" for i in range(len(images))]
    for name, img in zip(names, images):
        save_png(data_dir / name, img)
    rows = [{"path": n} for n in names]
    pixels = load_set(data_dir, rows, 3)
    X = normalise(pixels, [0.0] * 3, [1.0] * 3)
    probs = session(path).run([OUTPUT_NAME], {INPUT_NAME: X})[0]
    reference, logits = region_reference(pixels)
    diff = float(np.abs(probs - reference).max())
    print(f"  max |onnxruntime - float64 reference| = {diff:.3g}; logits {np.round(logits, 3).tolist()}")
    assert diff < 1e-5
    assert np.all(np.abs(logits) > 0.2), "keep the test images away from the decision boundary"
    assert np.array_equal(probs[0], probs[-1])
    for r, p in zip(rows, probs):
        r["label"] = REGION_CLASSES[int(np.argmax(p))]
    write_csv(data_dir / "region.csv", ["path", "label"], ([r["path"], r["label"]] for r in rows))
    write_expected(FIXTURE_DIR / "region_model.expected.csv", rows, probs, REGION_CLASSES)

    card = {
        "task": "classification",
        "class_names": REGION_CLASSES,
        "positive_class": "bright",
        "output": OUTPUT_NAME,
        "image": {
            "width": REGION_SIZE,
            "height": REGION_SIZE,
            "channels": 3,
            "layout": "NCHW",
            "mean": [0.0, 0.0, 0.0],
            "std": [1.0, 1.0, 1.0],
        },
        "region": list(REGION),
        "subject": "image",
        "description": (
            "A hand-built test model (no training): the logit of class `bright` is "
            "sum(w[c,i,j] * x[c,top+i,left+j]) - 6 over the rectangle region = [top, left, "
            f"bottom, right] = {list(REGION)} (rows {REGION[0]}..{REGION[2] - 1}, columns "
            f"{REGION[1]}..{REGION[3] - 1}, all 3 channels), with w[c,i,j] = (1 + (i + j + c) "
            "mod 3) / 32, and the logit of `dark` is 0; x = pixel / 255. No pixel outside the "
            "rectangle has any influence on the output."
        ),
    }
    write_card(FIXTURE_DIR / "region_model.card.json", card)
    write_region_readme(graph, rows, probs, logits, sha256(path))


def write_region_readme(graph, rows, probs, logits, digest):
    top, left, bottom, right = REGION
    table = "\n".join(
        f"| `{r['path']}` | {r['label']} | {z:.4f} | {p[1]:.6f} |"
        for r, p, z in zip(rows, probs, logits)
    )
    graph_lines = "\n".join(f"- {line}" for line in graph)
    text = f"""# Image test fixtures

Generated by `tools/make_images.py` (see `sample_models/IMAGES.md`). Do not
edit these files by hand.

## `region_model.onnx`: a model that looks at one rectangle only

A hand-built ONNX graph (onnx.helper, no training), for tests of image
explanations: the right answer is known.

- Input `{INPUT_NAME}`: float32 [N, 3, {REGION_SIZE}, {REGION_SIZE}], NCHW, x = pixel / 255
  (the card's mean is 0 and std 1 for every channel).
- Rectangle `region` = [top, left, bottom, right] = {list(REGION)}, half-open:
  rows {top} to {bottom - 1} and columns {left} to {right - 1}, all three channels
  (8 x 8 x 3 = 192 inputs). The card carries it as the extra key `"region"`.
- Logit of class 1 (`bright`): z = S - {REGION_BIAS:g}, where S is the sum over c, i, j of
  w[c, i, j] * x[c, {top} + i, {left} + j] and w[c, i, j] = (1 + (i + j + c) mod 3) / 32,
  i.e. 1/32, 2/32 or 3/32 (64 weights of each; they sum to 12, so z runs from -6
  for a black rectangle to +6 for a white one). Logit of class 0 (`dark`): 0.
- Output `{OUTPUT_NAME}`: float32 [N, 2] = softmax([0, z]) = [1 - s, s] with
  s = 1 / (1 + exp(-z)).

Every pixel outside the rectangle has exactly zero influence: the graph slices
the rectangle out before anything else. The model is linear in the pixels up
to the final softmax, so the exact Shapley value of input x[c, r, k] for z
against a baseline b is w * (x - b) inside the rectangle and 0 outside.

Graph:

{graph_lines}

sha256 `{digest}`.

## `region/`: test images

Eleven 32x32 RGB PNGs, `0000.png` to `{rows[-1]['path']}`, listed in `region/region.csv`
(`path,label`; the label is the class the model gives, which is the true
class by construction). Each image is uniform noise of a random brightness,
with noise around a chosen level (0.18 to 0.84, one per image) inside the
rectangle. `{rows[-1]['path']}` has the rectangle of `0000.png` on a different
surround, so its output equals that of `0000.png` exactly.

`region_model.expected.csv`: onnxruntime's probabilities (`row,path,p_dark,p_bright`,
float32 widened to float64, Python `repr`), images loaded as PIL open ->
convert("RGB") -> uint8 HWC -> float32 / 255 -> CHW.

| image | label | z | p_bright |
| --- | --- | --- | --- |
{table}
"""
    write_text(FIXTURE_DIR / "README.md", text)


# ---------------------------------------------------------------------------
# Shared helpers and IMAGES.md
# ---------------------------------------------------------------------------


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


def folder_bytes(path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def versions_text():
    pairs = [
        ("Python", platform.python_version()),
        ("numpy", np.__version__),
        ("scipy", scipy.__version__),
        ("scikit-learn", sklearn.__version__),
        ("Pillow", PIL.__version__),
        ("torch", torch.__version__),
        ("onnx", onnx.__version__),
        ("onnxruntime", ort.__version__),
    ]
    return ", ".join(f"{name} {version}" for name, version in pairs)


def count_table(rows, columns):
    """Markdown table of image counts by split and the given row keys."""
    keys = sorted({tuple(r[c] for c in columns) for r in rows})
    header = "| split | " + " | ".join(", ".join(f"{c} {v}" for c, v in zip(columns, k)) for k in keys) + " | all |"
    lines = [header, "|" + " --- |" * (len(keys) + 2)]
    for split in ("train", "test"):
        part = [r for r in rows if r["split"] == split]
        counts = [sum(1 for r in part if tuple(r[c] for c in columns) == k) for k in keys]
        lines.append(f"| {split} | " + " | ".join(str(n) for n in counts) + f" | {len(part)} |")
    return "\n".join(lines)


def write_images_md(lesion_rows, lesions, digit_rows, digits):
    acc = lesions["accuracies"]
    checks = lesions["checks"]
    lesion_acc_lines = "\n".join(f"| {name} | {accuracy_text(a)} |" for name, a in acc.items())
    lesion_graph = "\n".join(f"- {line}" for line in lesions["graph"])
    digit_graph = "\n".join(f"- {line}" for line in digits["graph"])
    text = f"""# Image samples: provenance

Generated by `tools/make_images.py`. Do not edit these files by hand; to
regenerate them, from the repository root:

    pip install -r tools/requirements-images.txt && python tools/make_images.py

(`torch` from PyPI pulls in CUDA libraries that are not used here; the files
were made with that wheel. `--extra-index-url https://download.pytorch.org/whl/cpu`
gets the smaller CPU-only wheel of the same version instead.)

Library versions: {versions_text()}.

## Preprocessing (both models)

An image file becomes the model input like this, with the card's `image.mean`
and `image.std`:

1. PIL `Image.open(path).convert("RGB")` (`convert("L")` for the one-channel
   digits model): uint8, height x width x channels;
2. float32, divided by 255 (so 0..1);
3. per channel, (x - mean[c]) / std[c] (float32);
4. transposed to channels x height x width and stacked into [N, C, H, W].

No resizing: the images have the model's size. The probabilities are the
graph output `{OUTPUT_NAME}` (a Softmax).

## `lesions/`: synthetic skin lesions with a planted shortcut

Entirely synthetic (numpy, seed {LESION_SEED}; no patient data): 64x64 RGB
PNGs of a lesion on skin. Each image has its own random stream,
`numpy.random.default_rng([{LESION_SEED}, split (0 train, 1 test), index, 0])`,
and the sticker its own (`..., 1]`), so an image is the same with or without
its sticker.

- Skin: a random tone between RGB {SKIN_LIGHT} and {SKIN_DARK}, uneven
  lighting (smooth noise, darker towards the corners), fine texture and pixel
  noise.
- Lesion: centred within 5 px of the middle, radius 10 to 16 px, aspect 0.75
  to 1, random rotation, even brown between RGB {LESION_LIGHT} and
  {LESION_DARK} with a slightly darker centre. A severity s, uniform in
  {SEVERITY['benign']} for `benign` and {SEVERITY['malignant']} for `malignant`,
  makes it irregular and variegated: the border radius varies by up to 30% x s
  (harmonics 3 to 8), the border sharpens, and patches of dark brown, blue-grey
  and light tan grow with s. The ranges overlap on purpose.
- Sticker (`marker`): a bright blue (RGB {MARKER_COLOUR}, noise 3) disc of the
  pixels within {MARKER_RADIUS} px of its centre (37 pixels), in a random corner,
  its centre 5 to 9 px from both edges; it never touches the lesion.

Layout: `train/<class>/NNNN.png` and `test/<class>/NNNN.png` (ImageFolder;
NNNN numbers the images of a split, shuffled so classes alternate);
`masks/lesion/<same path>` (255 where the lesion's coverage is at least 0.5)
and `masks/marker/<same path>` (255 on the sticker's pixels, all 0 without a
sticker), 8-bit grayscale PNGs; `{LESION_CSV}` with `path` (relative to the
CSV), `label`, `split`, `marker` (1 if the image has a sticker) and `swapped`
(1 if the sticker contradicts the shortcut: a benign image with a sticker or
a malignant one without).

{count_table(lesion_rows, ['label', 'marker'])}

In the train split 90% of malignant images carry the sticker and 5% of benign
ones. The test split has 60 normal images (benign without, malignant with a
sticker) and 40 swapped ones (20 benign with, 20 malignant without).

## `lesions_cnn.onnx`

`SmallCNN` of `make_images.py`: conv 3x3 (3->16) - ReLU - max pool 2 -> conv
3x3 (16->32) - ReLU - max pool 2 -> conv 3x3 (32->32) - ReLU (the CAM layer,
graph output `{CAM_NAME}`) -> global average pool -> linear (32->2) ->
softmax. Trained with PyTorch on the 400 train images:

- input normalised with the train split's per-channel mean {lesions['mean']}
  and std {lesions['std']} (rounded to 3 decimals);
- cross-entropy, Adam (lr {LESION_TRAIN['lr']}, weight decay {LESION_TRAIN['weight_decay']}), batches of 32 in a random
  order, torch seed {LESION_TRAIN['seed']}, {LESION_TRAIN['epochs']} epochs, no augmentation;
- one thread, `torch.use_deterministic_algorithms(True)`.

Exported with the TorchScript-based exporter (`torch.onnx.export(...,
dynamo=False, opset_version={OPSET})`), a dynamic batch axis `N`:

{lesion_graph}

`{CAM_NAME}` is the output of the last ReLU, the activations that the global
average pool and the linear layer (Gemm) turn into the class scores.

Accuracy of onnxruntime's argmax, images loaded as above (max |torch -
onnxruntime| {lesions['torch_diff']:.2g}):

| images | accuracy |
| --- | --- |
{lesion_acc_lines}

The model is fooled by the sticker: it does well when the sticker agrees with
the lesion and badly when it does not. The same network trained the same way
on the same images without any sticker reaches {accuracy_text(lesions['control_acc'])} on the
100 test images (without stickers), so the lesions themselves can be learned;
the lesion classes overlap on purpose, so it cannot be perfect.

Sticker check (onnxruntime), on the {checks['images']} swapped benign images with a
sticker, occluding by setting pixels to 0 after normalisation (the train mean
colour):

| input | mean p(malignant) | mean change | predictions flipped |
| --- | --- | --- | --- |
| as is | {checks['p_malignant_mean']:.3f} | | |
| sticker's pixels occluded | {checks['p_malignant_marker_occluded_mean']:.3f} | {checks['mean_abs_change_marker']:.3f} | {checks['flipped_marker']} of {checks['images']} |
| same shape occluded in the mirrored corner (skin) | {checks['p_malignant_mirror_occluded_mean']:.3f} | {checks['mean_abs_change_mirror']:.3f} | {checks['flipped_mirror']} of {checks['images']} |

(mean change: mean |difference| from the image as is.) In an occlusion map of
the predicted class (4x4 window, stride 2, 0 after normalisation), the most
important window touches the sticker in {checks['top_window_on_marker']} of {checks['images']} images.

sha256 `{lesions['sha256']}`.

## `digits/`: handwritten digits

The UCI Optical Recognition of Handwritten Digits data (E. Alpaydin and C.
Kaynak, 1998; CC BY 4.0 on the UCI repository), in the 8x8 version shipped
with scikit-learn (`sklearn.datasets.load_digits`, 1797 images, values 0 to
16). Each image is scaled to 0..255 as round(v * 255 / 16) and upsampled to
28x28 with Pillow's bilinear resize (`Image.resize((28, 28),
Image.Resampling.BILINEAR)`), 8-bit grayscale PNG. Layout:
`train/<digit>/NNNN.png` and `test/<digit>/NNNN.png`, NNNN the index in
scikit-learn's data; `{DIGITS_CSV}` (`path,label,split`) in that order. The
split is `train_test_split(test_size={TEST_SIZE}, random_state={SPLIT_SEED},
stratify=target)`: {digits['n_train']} train and {digits['n_test']} test images,
all kept.

## `digits_cnn.onnx`

The same `SmallCNN` with one input channel and 10 classes, trained on the
train split:

- mean {digits['mean']} and std {digits['std']};
- Adam (lr {DIGITS_TRAIN['lr']}, weight decay {DIGITS_TRAIN['weight_decay']}), batches of 32, torch seed {DIGITS_TRAIN['seed']},
  {DIGITS_TRAIN['epochs']} epochs;
- one thread, deterministic algorithms; exported the same way:

{digit_graph}

Accuracy (onnxruntime): train {accuracy_text(digits['accuracies']['train'])}, test
{accuracy_text(digits['accuracies']['test'])}. Max |torch - onnxruntime| {digits['torch_diff']:.2g}.

sha256 `{digits['sha256']}`.

## Expected outputs: `expected/lesions_cnn.csv`, `expected/digits_cnn.csv`

onnxruntime's `{OUTPUT_NAME}` (one intra-op thread) for every image of the data
CSV, in its order, loaded as above: `row` (0-based), `path` (as in the data
CSV), then `p_<class>` per class; float32 widened exactly to float64 and
written with Python's `repr`.

## Determinism

Every seed is fixed, training runs on one thread with deterministic
algorithms, PNGs carry no metadata, and two runs on the same machine with
the pinned versions give identical bytes. Training on another CPU may round
differently and so give other weights; the committed ONNX files are the
reference, and every expected output is computed from them.

## Test fixture

`tests/data/images/` holds `region_model.onnx`, a hand-built model whose
output depends only on a known rectangle, with test images; see the README
there.
"""
    write_text(OUT_DIR / "IMAGES.md", text)


def main():
    torch.set_num_threads(TRAIN_THREADS)
    torch.use_deterministic_algorithms(True)

    lesion_rows, clean_images = make_lesion_data()
    print(f"lesions/: {len(lesion_rows)} images, {folder_bytes(LESION_DIR)} bytes")
    lesions = make_lesion_model(lesion_rows, clean_images)

    digit_rows = make_digit_data()
    print(f"digits/: {len(digit_rows)} images, {folder_bytes(DIGITS_DIR)} bytes")
    digits = make_digit_model(digit_rows)

    make_region_fixture()
    write_images_md(lesion_rows, lesions, digit_rows, digits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
