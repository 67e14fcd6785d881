"""Feature extractors behind the metrics. Every reported number names its extractor, e.g. fid[lenet-mnist].

An extractor is a domain classifier trained by `gankit evaluator train`, stored as NAME.safetensors with
NAME.json (architecture, SHA-256 of the weights, how it was trained, its test accuracy). The packaged
`lenet-mnist` was made that way from the bundled digits; nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from gankit.data.base import to_model_range
from gankit.errors import ConfigError, RunError
from gankit.metrics import inception
from gankit.metrics.classifier import LeNet

PACKAGED = ("lenet-mnist",)


@dataclass
class Extractor:
    """A trained classifier used two ways: penultimate features [N, F] and class probabilities [N, K]."""

    name: str
    model: LeNet | inception.FIDInceptionV3
    meta: dict[str, Any]

    @property
    def shape(self) -> tuple[int, int, int] | None:
        """The image shape it takes, or None for any (Inception resizes)."""
        return None if self.meta.get("shape") is None else tuple(self.meta["shape"])

    @torch.inference_mode()
    def run(self, images: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """(features float64 [N, F], probabilities [N, K]) of uint8 images or images in [-1, 1]."""
        if self.shape is not None and tuple(images.shape[1:]) != self.shape:
            raise ConfigError(
                f"extractor {self.name} takes images of shape {self.shape}, got {tuple(images.shape[1:])}"
            )
        feats, probs = [], []
        device = next(self.model.parameters()).device
        for part in images.split(batch_size):
            part = part.to(device)
            x = to_model_range(part) if part.dtype == torch.uint8 else part.float()
            h = self.model.features(x)
            feats.append(h.double().cpu())
            probs.append(F.softmax(self.model.head(h), 1).cpu())
        return torch.cat(feats), torch.cat(probs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_extractor(name_or_path: str) -> Extractor:
    """A packaged extractor by name (`lenet-mnist`), or one made by `gankit evaluator train` by its .json path."""
    if name_or_path in PACKAGED:
        record = Path(str(resources.files("gankit.metrics") / "weights" / f"{name_or_path}.json"))
    elif name_or_path == inception.NAME:
        record = inception.extractor_home() / "inception.json"
        if not record.is_file():
            raise ConfigError(
                f"no Inception-v3 weights at {record}: gankit never downloads them",
                "if you have the FID weights (pt_inception-2015-12-05-6726825d.pth), run `gankit evaluator "
                "import-inception THAT_FILE` once; otherwise use --extractor lenet-mnist or an evaluator of "
                "your own (gankit evaluator train)",
            )
    else:
        record = Path(name_or_path).expanduser()
        if not record.is_file():
            raise ConfigError(
                f"unknown feature extractor {name_or_path!r}",
                f"use one of {', '.join(PACKAGED)} or the .json of one made by `gankit evaluator train`",
            )
    meta = json.loads(record.read_text())
    weights = record.with_suffix(".safetensors")
    if not weights.is_file() or _sha256(weights) != meta.get("sha256"):
        raise RunError(f"extractor weights {weights} are missing or do not match the hash in {record.name}")
    with torch.random.fork_rng(devices=[]):  # its random init is overwritten; the caller's RNG stays untouched
        if meta.get("architecture") == inception.ARCHITECTURE:
            model = inception.FIDInceptionV3()
        else:
            channels, resolution, _ = meta["shape"]
            model = LeNet(channels, resolution, meta["num_classes"], meta.get("width", 32))
    model.load_state_dict(load_file(str(weights)))
    return Extractor(meta["name"], model.eval(), meta)
