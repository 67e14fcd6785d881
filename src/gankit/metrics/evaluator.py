"""`gankit evaluator train`: fit the domain classifier behind the metrics to a labelled data set and save it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from safetensors.torch import save_file

from gankit.data import build_dataset
from gankit.errors import ConfigError
from gankit.metrics.classifier import predict, train_classifier
from gankit.runs.files import atomic_write, atomic_write_text


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
    meta["sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    return atomic_write_text(out_dir / f"{name}.json", json.dumps(meta, indent=1))
