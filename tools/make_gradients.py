"""Export small PyTorch networks to ONNX and save PyTorch's own gradients for them, so
that Loupe's reverse-mode differentiation of ONNX graphs is checked against autograd with
no Python at test time.

Run from the repository root:

    pip install torch torchvision onnx && python tools/make_gradients.py

It writes, in tests/data/gradients/:

* small_cnn.onnx: a CNN with BatchNorm after convolutions and after a linear layer (so
  that the exporter cannot fold it away), max and average pooling (kernel != stride,
  padding, ceil mode), a two-branch Concat, LeakyReLU, GELU (erf), Dropout, 32x32 RGB;
* mobilenet_v3_small.onnx: torchvision's MobileNetV3-Small architecture (depthwise
  convolutions, squeeze-excitation, HardSwish, HardSigmoid) at width 0.5, 10 classes, 64x64;
* resnet18.onnx: torchvision's ResNet class with BasicBlock in the ResNet-18 layout
  ([2, 2, 2, 2] blocks, residual adds, strided 1x1 downsampling) at an eighth of the
  widths (8, 16, 32, 64 channels), 10 classes, 64x64;
* each with a card (<name>.card.json);
* goldens.json: for each model and input, the class, the input file offsets and shapes, and
  PyTorch's score; goldens.bin: little-endian float32 arrays — the inputs, autograd's input
  gradients of the class probability, Integrated Gradients maps (black baseline, 16-point
  trapezoid, summed over channels) and Grad-CAM maps at the layer's resolution (the
  pytorch-grad-cam formula: ReLU(sum_k mean(dS/dA_k) A_k)).

Weights are random (fixed seeds), the networks are in eval mode, and the score is the
class's softmax probability — the score Loupe explains for a network whose output holds
logits.

With `--bench DIR`, it also exports the full torchvision ResNet-18 (random weights) at
224x224 to DIR/resnet18_224.onnx (45 MB: not committed) and prints onnxruntime's forward
time and PyTorch's CPU forward and forward+backward (input gradient) times, for
BENCHMARKS.md.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models.mobilenetv3 import MobileNetV3, _mobilenet_v3_conf
from torchvision.models.resnet import BasicBlock, ResNet

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "gradients"
IG_STEPS = 16


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool1 = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.left = nn.Conv2d(8, 6, 3, padding=1, stride=1)
        self.right = nn.Conv2d(8, 6, 1)
        self.bn2 = nn.BatchNorm2d(12)
        self.pool2 = nn.AvgPool2d(3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(12, 16, 3, padding=1, groups=2, dilation=1)
        self.act3 = nn.LeakyReLU(0.1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(16, 24)
        self.bn3 = nn.BatchNorm1d(24)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(24, 10)

    def forward(self, x):
        x = self.pool1(self.bn1(torch.relu(self.conv1(x))))
        x = torch.cat([torch.tanh(self.left(x)), torch.sigmoid(self.right(x))], dim=1)
        x = self.pool2(self.bn2(x))
        x = self.act3(self.conv3(x))
        x = torch.flatten(self.gap(x), 1)
        x = self.drop(nn.functional.gelu(self.bn3(self.fc1(x))))
        return self.fc2(x)


def randomise_bn(model, gen):
    """Non-trivial running statistics and affine weights for every BatchNorm."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.2)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.2)


def small_resnet18():
    """torchvision's ResNet-18 layout at an eighth of its widths."""
    model = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=10)
    widths = [8, 16, 32, 64]
    model.inplanes = widths[0]
    model.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
    model.bn1 = nn.BatchNorm2d(widths[0])
    model.layer1 = model._make_layer(BasicBlock, widths[0], 2)
    model.layer2 = model._make_layer(BasicBlock, widths[1], 2, stride=2)
    model.layer3 = model._make_layer(BasicBlock, widths[2], 2, stride=2)
    model.layer4 = model._make_layer(BasicBlock, widths[3], 2, stride=2)
    model.fc = nn.Linear(widths[3], 10)
    return model


def small_mobilenet():
    setting, last = _mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.5)
    return MobileNetV3(setting, last, num_classes=10)


def export(model, side, name):
    x = torch.zeros(1, 3, side, side)
    path = OUT / f"{name}.onnx"
    torch.onnx.export(
        model,
        (x,),
        str(path),
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
    )
    card = {
        "task": "classification",
        "class_names": [f"class {i}" for i in range(10)],
        "image": {"channels": 3, "height": side, "width": side, "layout": "NCHW"},
        "description": f"Random-weight {name} for the gradient tests (tools/make_gradients.py).",
    }
    (OUT / f"{name}.card.json").write_text(json.dumps(card, indent=2) + "\n")
    return path


def score(model, x, target):
    return torch.softmax(model(x), dim=1)[:, target]


def input_gradient(model, x, target):
    x = x.clone().requires_grad_(True)
    s = score(model, x, target).sum()
    (g,) = torch.autograd.grad(s, x)
    return g


def integrated_gradients(model, x, target):
    base = torch.zeros_like(x)
    alphas = torch.linspace(0, 1, IG_STEPS, dtype=torch.float64)
    weights = torch.full((IG_STEPS,), 1.0 / (IG_STEPS - 1), dtype=torch.float64)
    weights[0] /= 2
    weights[-1] /= 2
    path = torch.cat([base + float(a) * (x - base) for a in alphas])
    g = input_gradient(model, path, target).double()
    avg = (g * weights[:, None, None, None]).sum(0, keepdim=True)
    return ((x - base).double() * avg).sum(1)[0]


def grad_cam(model, layer, x, target):
    store = {}

    def hook(_module, _inputs, output):
        output.retain_grad()
        store["a"] = output

    handle = layer.register_forward_hook(hook)
    s = score(model, x, target).sum()
    s.backward()
    handle.remove()
    a, g = store["a"], store["a"].grad
    weights = g.mean(dim=(2, 3), keepdim=True)
    return torch.relu((weights * a).sum(1))[0]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    small = SmallCnn()
    mobile = small_mobilenet()
    resnet = small_resnet18()
    models = [
        ("small_cnn", small, 32, lambda m: m.act3),
        ("mobilenet_v3_small", mobile, 64, lambda m: m.features[-1]),
        ("resnet18", resnet, 64, lambda m: m.layer4[-1]),
    ]
    blob = []
    offset = 0
    index = {"torch": torch.__version__, "torchvision": torchvision.__version__, "ig_steps": IG_STEPS, "models": {}}

    def put(array):
        nonlocal offset
        a = np.ascontiguousarray(array.detach().cpu().numpy().astype("<f4"))
        blob.append(a.tobytes())
        entry = {"offset": offset, "shape": list(a.shape)}
        offset += a.size
        return entry

    for name, model, side, layer in models:
        randomise_bn(model, gen)
        model.eval()
        export(model, side, name)
        cases = []
        for i in range(2):
            x = torch.randn(1, 3, side, side, generator=gen)
            with torch.no_grad():
                logits = model(x)
            order = torch.argsort(logits[0], descending=True)
            target = int(order[i])  # the top class, then the second
            cases.append({
                "target": target,
                "score": float(score(model, x, target)),
                "input": put(x[0]),
                "gradient": put(input_gradient(model, x, target)[0]),
                "ig": put(integrated_gradients(model, x, target)),
                "gradcam": put(grad_cam(model, layer(model), x, target)),
            })
        index["models"][name] = cases
    (OUT / "goldens.bin").write_bytes(b"".join(blob))
    (OUT / "goldens.json").write_text(json.dumps(index, indent=1) + "\n")
    for f in sorted(OUT.iterdir()):
        print(f"{f.name}: {f.stat().st_size} bytes")


def bench(directory):
    import onnxruntime as ort

    torch.set_num_threads(2)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000).eval()
    path = directory / "resnet18_224.onnx"
    x = torch.randn(1, 3, 224, 224)
    torch.onnx.export(
        model, (x,), str(path), dynamo=False, opset_version=17,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
    )
    card = {"task": "classification", "class_names": [f"class {i}" for i in range(1000)],
            "image": {"channels": 3, "height": 224, "width": 224, "layout": "NCHW"}}
    (directory / "resnet18_224.card.json").write_text(json.dumps(card))

    def median(f, n=10):
        f()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return sorted(times)[len(times) // 2] * 1000

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    xn = x.numpy()
    ort_ms = median(lambda: sess.run(None, {"input": xn}))
    with torch.no_grad():
        fwd_ms = median(lambda: model(x))
    grad_ms = median(lambda: input_gradient(model, x, 0))
    path32 = torch.cat([x * (i / 31) for i in range(32)])
    ig_ms = median(lambda: input_gradient(model, path32, 0), n=3)
    print(json.dumps({
        "onnxruntime_forward_ms": round(ort_ms, 1),
        "torch_forward_ms": round(fwd_ms, 1),
        "torch_input_gradient_ms": round(grad_ms, 1),
        "torch_ig32_ms": round(ig_ms, 1),
        "threads": 2,
        "model": str(path),
    }, indent=1))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--bench":
        bench(sys.argv[2])
    else:
        main()
