"""Feature extractors behind the metrics. Every reported number names its extractor, e.g. fid10k[lenet-mnist].

An extractor is a trained classifier used two ways: penultimate features (FID, KID, precision/recall) and class
probabilities (classifier score, class coverage). Each is stored as NAME.safetensors with NAME.json
(architecture, SHA-256 of the weights, how it was trained, its test accuracy). Named ones are registered in
EXTRACTORS (`gankit extractors`); one made by `gankit evaluator train` is given by the path of its .json.
Nothing is ever downloaded.
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
from safetensors.torch import load_file, save_file

from gankit.data import build_dataset
from gankit.data.base import to_model_range
from gankit.errors import ConfigError, RunError
from gankit.metrics import inception
from gankit.metrics.classifier import ChannelStack, LeNet, predict, train_classifier
from gankit.registry import Registry
from gankit.runs.files import atomic_write, atomic_write_text

EXTRACTORS = Registry("feature extractor")


@dataclass
class Extractor:
    """A trained classifier used two ways: penultimate features [N, F] and class probabilities [N, K]."""

    name: str
    model: LeNet | ChannelStack | inception.FIDInceptionV3
    meta: dict[str, Any]

    @property
    def shape(self) -> tuple[int, int, int] | None:
        """The image shape it takes, or None for any (Inception resizes)."""
        return None if self.meta.get("shape") is None else tuple(self.meta["shape"])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Differentiable features [N, F] of float images [N, C, H, W] in [-1, 1], resized to the extractor's."""
        if self.shape is not None and tuple(x.shape[2:]) != self.shape[1:]:
            # e.g. digits trained at 32x32 for a 28x28 judge: resized as FID resizes for Inception
            x = F.interpolate(x, size=self.shape[1:], mode="bilinear", antialias=True, align_corners=False)
        return self.model.features(x)

    @torch.inference_mode()
    def run(self, images: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """(features float64 [N, F], probabilities [N, K]) of uint8 images or images in [-1, 1]; square images of
        another size are resized to the extractor's (bilinear, antialiased)."""
        resize = self.shape is not None and tuple(images.shape[1:]) != self.shape
        if resize and (images.dim() != 4 or images.shape[1] != self.shape[0] or images.shape[2] != images.shape[3]):
            raise ConfigError(
                f"extractor {self.name} takes images of shape {self.shape}, got {tuple(images.shape[1:])}",
                "square images of its channel count are resized to it; others need an extractor of their own",
            )
        feats, probs = [], []
        device = next(self.model.parameters()).device
        for part in images.split(batch_size):
            part = part.to(device)
            h = self.features(to_model_range(part) if part.dtype == torch.uint8 else part.float())
            feats.append(h.double().cpu())
            probs.append(F.softmax(self.model.head(h), 1).cpu())
        return torch.cat(feats), torch.cat(probs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _load_record(record: Path) -> Extractor:
    """An extractor from its NAME.json and hash-checked NAME.safetensors."""
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


@EXTRACTORS.register("lenet-mnist")
def lenet_mnist() -> Extractor:
    """LeNet trained on the 5,000 bundled digits (97.65% on the real MNIST test set); packaged, 1x28x28."""
    return _load_record(Path(str(resources.files("gankit.metrics") / "weights" / "lenet-mnist.json")))


@EXTRACTORS.register("lenet-mnist-stacked")
def lenet_mnist_stacked() -> Extractor:
    """lenet-mnist on each of 3 channels: StackedMNIST's 1,000 modes (features 3 x 128; probabilities the product)."""
    digit = lenet_mnist()
    shape = [3, *digit.meta["shape"][1:]]
    names = [f"{k:03d}" for k in range(1000)]
    meta = {**digit.meta, "name": "lenet-mnist-stacked", "shape": shape, "num_classes": 1000, "class_names": names}
    return Extractor("lenet-mnist-stacked", ChannelStack(digit.model, 3).eval(), meta)


@EXTRACTORS.register(inception.NAME)
def inception_v3() -> Extractor:
    """The FID Inception-v3 (TF 2015-12-05), once its weights are imported with `gankit evaluator import-inception`."""
    record = inception.extractor_home() / "inception.json"
    if not record.is_file():
        raise ConfigError(
            f"no Inception-v3 weights at {record}: gankit never downloads them",
            "if you have the FID weights (pt_inception-2015-12-05-6726825d.pth), run `gankit evaluator "
            "import-inception THAT_FILE` once; otherwise use --extractor lenet-mnist or an evaluator of "
            "your own (gankit evaluator train)",
        )
    return _load_record(record)


def extractor_name(name_or_path: str) -> str:
    """The name an extractor's metrics carry: a registered name, or the stem of an evaluator's .json."""
    if name_or_path.endswith(".json"):
        return Path(name_or_path).stem
    if name_or_path not in EXTRACTORS:
        raise ConfigError(
            f"unknown feature extractor {name_or_path!r}",
            f"use one of {', '.join(EXTRACTORS.names())} or the .json of one made by `gankit evaluator train`",
        )
    return name_or_path


def load_extractor(name_or_path: str) -> Extractor:
    """A registered extractor by name (`lenet-mnist`), or one made by `gankit evaluator train` by its .json path."""
    if not name_or_path.endswith(".json"):
        return EXTRACTORS.get(extractor_name(name_or_path))()
    record = Path(name_or_path).expanduser()
    if not record.is_file():
        raise ConfigError(f"no extractor record {record}", "give the .json that `gankit evaluator train` wrote")
    return _load_record(record)


def train_evaluator(
    name: str,
    out_dir: str | Path,
    dataset: str = "mnist5k",
    root: str | None = None,
    test_dataset: str | None = None,
    test_root: str | None = None,
    epochs: int = 8,
    seed: int = 0,
) -> Path:
    """Train a LeNet on `dataset` (its train split), report accuracy on a test split, write NAME.safetensors/.json."""
    data = build_dataset(dataset, root=root)
    if data.labels is None or not data.is_image:
        raise ConfigError(f"data set {dataset!r} has no labels: an evaluator is a classifier and needs them")
    model = train_classifier(data, epochs=epochs, seed=seed)
    meta = {
        "name": name,
        "shape": list(data.shape),
        "num_classes": data.num_classes,
        "class_names": data.class_names,
        "width": 32,
        "trained_on": {"dataset": dataset, "items": len(data), "epochs": epochs, "seed": seed},
    }
    if test_dataset is not None:
        test = build_dataset(test_dataset, root=test_root, split="test")
        accuracy = (predict(model, test.x).argmax(1) == test.labels).float().mean().item()
        meta["test"] = {"dataset": test_dataset, "items": len(test), "accuracy": round(accuracy, 4)}
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = atomic_write(out_dir / f"{name}.safetensors", lambda tmp: save_file(model.state_dict(), str(tmp)))
    meta["sha256"] = _sha256(weights)
    return atomic_write_text(out_dir / f"{name}.json", json.dumps(meta, indent=1))


def list_extractors() -> list[tuple[str, str]]:
    """(name, one-line description) of each registered extractor."""
    return EXTRACTORS.describe()
