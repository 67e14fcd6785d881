"""The Inception-v3 of published FIDs (the TensorFlow graph `2015-12-05` that pytorch-fid and torch-fidelity
port), for users who have its weights: gankit never downloads them.

The network differs from torchvision's Inception-v3 where TensorFlow's graph did: average pools ignore the
zero padding, the last block max-pools, batch norm eps is 1e-3, and the classifier has 1008 outputs. Images
are quantised to 8 bits, resized to 299x299 bilinearly and scaled as (x - 128) / 128, as in those ports; the
resize is PyTorch's bilinear (pytorch-fid's choice), not torch-fidelity's bit-exact TensorFlow-1 resize, so
FIDs can differ from torch-fidelity's in the last digits.

`import_inception` turns the weights file users have (`pt_inception-2015-12-05-6726825d.pth`, a PyTorch
state dict) into safetensors once, through torch.load(weights_only=True): a restricted unpickler that
rebuilds tensors and plain containers and refuses anything else.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from gankit.errors import ConfigError
from gankit.runs.files import atomic_write, atomic_write_text

NAME = "inception"


def extractor_home() -> Path:
    """Where `gankit evaluator import-inception` writes and `--extractor inception` reads: $GANKIT_EXTRACTORS,
    else ~/.cache/gankit/extractors."""
    return Path(os.environ.get("GANKIT_EXTRACTORS", "~/.cache/gankit/extractors")).expanduser()


ARCHITECTURE = "inception-v3-fid"
SIZE = 299


class BasicConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, kernel, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)  # TensorFlow averages over real pixels only


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = BasicConv2d(cin, 48, 1), BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branches = [self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)), double, self.branch_pool(_avg_pool(x))]
        return torch.cat(branches, 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), double, F.max_pool2d(x, 3, 2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int):
        super().__init__()
        row, col = ((1, 7), (0, 3)), ((7, 1), (3, 0))  # (kernel, padding) of the factorised 7x7 convs
        self.branch1x1 = BasicConv2d(cin, 192, 1)
        self.branch7x7_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, row[0], padding=row[1])
        self.branch7x7_3 = BasicConv2d(c7, 192, col[0], padding=col[1])
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, col[0], padding=col[1])
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, row[0], padding=row[1])
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, col[0], padding=col[1])
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, row[0], padding=row[1])
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = conv(double)
        return torch.cat([self.branch1x1(x), single, double, self.branch_pool(_avg_pool(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = BasicConv2d(cin, 192, 1), BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), seven, F.max_pool2d(x, 3, 2)], 1)


class InceptionE(nn.Module):
    """`max_pool`: the graph's last block pools with max instead of average (a quirk the FID weights depend on)."""

    def __init__(self, cin: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(cin, 320, 1)
        self.branch3x3_1 = BasicConv2d(cin, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch3x3_1(x)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, 1, 1) if self.max_pool else _avg_pool(x)
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(single),
                self.branch3x3_2b(single),
                self.branch3x3dbl_3a(double),
                self.branch3x3dbl_3b(double),
                self.branch_pool(pooled),
            ],
            1,
        )


class FIDInceptionV3(nn.Module):
    """features(x) -> [N, 2048] pool features (what FID and KID use); head(h) -> [N, 1008] logits (Inception Score)."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = InceptionA(192, 32), InceptionA(256, 64), InceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b, self.Mixed_6c = InceptionC(768, 128), InceptionC(768, 160)
        self.Mixed_6d, self.Mixed_6e = InceptionC(768, 160), InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b, self.Mixed_7c = InceptionE(1280, max_pool=False), InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1], [N, 1 or 3, H, W] of any size -> [N, 2048]."""
        pixels = ((x.float() + 1) * 127.5).round().clamp(0, 255)  # the 8-bit images FID is defined on
        if pixels.shape[1] == 1:
            pixels = pixels.expand(-1, 3, -1, -1)
        pixels = F.interpolate(pixels, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        h = (pixels - 128) / 128
        h = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(h)))
        h = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(F.max_pool2d(h, 3, 2)))
        h = F.max_pool2d(h, 3, 2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c):
            h = block(h)
        for block in (self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            h = block(h)
        return h.mean((2, 3))

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return self.fc(h)


def import_inception(weights: str | Path, out: str | Path | None = None) -> Path:
    """Convert the FID Inception weights (a PyTorch .pth state dict) into OUT/inception.{safetensors,json}."""
    weights = Path(weights).expanduser()
    if not weights.is_file():
        raise ConfigError(f"no such weights file: {weights}")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        raise ConfigError(
            f"{weights} is not a plain PyTorch state dict ({str(err).splitlines()[0][:120]})",
            "give the FID Inception weights, pt_inception-2015-12-05-6726825d.pth",
        ) from None
    model = FIDInceptionV3()
    expected = model.state_dict()
    if isinstance(state, dict):  # files written before BatchNorm counted its batches lack these counters
        state = {**{k: v for k, v in expected.items() if k.endswith("num_batches_tracked")}, **state}
    if not isinstance(state, dict) or set(state) != set(expected):
        missing = sorted(set(expected) - set(state if isinstance(state, dict) else {}))
        raise ConfigError(
            f"{weights} does not hold the FID Inception-v3 weights ({len(missing)} of {len(expected)} tensors missing,"
            f" e.g. {missing[:1]})",
            "give pt_inception-2015-12-05-6726825d.pth (pytorch-fid) or weights-inception-2015-12-05-6726825d.pth",
        )
    model.load_state_dict(state)  # checks every shape
    out = extractor_home() if out is None else Path(out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    target = atomic_write(out / f"{NAME}.safetensors", lambda tmp: save_file(tensors, str(tmp)))
    meta = {
        "name": NAME,
        "architecture": ARCHITECTURE,
        "shape": None,  # any size, 1 or 3 channels: images are resized to 299x299
        "num_classes": 1008,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "source": weights.name,
        "source_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
    }
    record = out / f"{NAME}.json"
    atomic_write_text(record, json.dumps(meta, indent=2) + "\n")
    return record
