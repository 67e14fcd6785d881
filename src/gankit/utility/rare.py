"""`rare_study()`: one or two classes made rare; does a cGAN rebalance them better than oversampling or SMOTE?

For each seed, the real training set keeps every class whole except the rare ones, cut to COUNT items drawn by
the seed. The cGAN (when trained here) sees that imbalanced set only. The same classifier recipe is trained on:

    imbalanced         the imbalanced set as it is
    imbalanced+aug     the same, with classic augmentation (shifts)
    oversampled        random oversampling (imbalanced-learn): rare items repeated up to the largest class
    oversampled+aug    the same, augmented: each repeat is another shifted copy of a rare item
    smote              SMOTE (imbalanced-learn) on the classifier's input (pixels), up to the largest class
    cgan               the rare classes filled up to the largest class with the cGAN's samples of them
    cgan+aug           the same, augmented

and judged on the real test set: balanced accuracy, and recall and F1 of each rare class. Gains are paired by
seed (same real subset, same classifier seed), with 95% t-intervals.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data import DataSet
from gankit.errors import ConfigError
from gankit.runs.files import atomic_write_text
from gankit.utility.classify import fit, like, predict
from gankit.utility.report import interval

IMBALANCED_HINT = "pip install 'gankit[imbalanced]' (imbalanced-learn, for random oversampling and SMOTE)"
COMPARISONS = [("cgan", "smote"), ("cgan", "oversampled"), ("cgan+aug", "oversampled+aug"), ("cgan", "imbalanced")]


def require_imbalanced_learn() -> None:
    """Fail before the study starts (no folder made, no GAN trained) when SMOTE's library is missing."""
    try:
        import imblearn  # noqa: F401
    except ImportError:
        raise ConfigError("--rare needs imbalanced-learn, which is not installed", IMBALANCED_HINT) from None


def parse_rare(items: list[str], classes: int) -> dict[int, int]:
    """{class: count} from CLASS=COUNT strings."""
    rare = {}
    for item in items:
        name, sep, count = item.partition("=")
        try:
            k, n = int(name), int(count)
        except ValueError:
            raise ConfigError(f"--rare takes CLASS=COUNT, e.g. 3=20; got {item!r}") from None
        if not sep or not 0 <= k < classes or n < 2:
            raise ConfigError(f"--rare {item!r}: the class must be 0..{classes - 1} and the count >= 2 (SMOTE needs 2)")
        rare[k] = n
    return rare


def imbalanced_subset(data: DataSet, rare: dict[int, int], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every item of the other classes, and `rare[k]` items of class k drawn by seed."""
    g = torch.Generator().manual_seed(seed)
    keep = []
    for k in range(data.num_classes):
        members = (data.labels == k).nonzero().flatten()
        if k in rare:
            if rare[k] >= len(members):
                raise ConfigError(f"--rare {k}={rare[k]}: class {k} has only {len(members)} items")
            members = members[torch.randperm(len(members), generator=g)[: rare[k]]]
        keep.append(members)
    keep = torch.cat(keep)
    return data.x[keep], data.labels[keep]


def shortfall(labels: torch.Tensor, classes: int) -> dict[int, int]:
    """How many items each class lacks to match the largest one (classes that lack none left out)."""
    counts = torch.bincount(labels, minlength=classes)
    return {k: int(counts.max() - c) for k, c in enumerate(counts.tolist()) if c < counts.max()}


def resampled(x: torch.Tensor, y: torch.Tensor, method: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """imbalanced-learn's random oversampling or SMOTE (on the flattened pixels or series), up to the largest
    class."""
    from imblearn.over_sampling import SMOTE, RandomOverSampler

    if method == "smote":
        smallest = int(torch.bincount(y).min())
        sampler = SMOTE(k_neighbors=min(5, smallest - 1), random_state=seed)
    else:
        sampler = RandomOverSampler(random_state=seed)
    flat, labels = sampler.fit_resample(x.flatten(1).numpy().astype(np.float32), y.numpy())  # uint8 differences wrap
    if x.dtype != torch.uint8:  # signals
        return torch.from_numpy(flat.reshape(-1, *x.shape[1:])), torch.from_numpy(labels)
    # SMOTE's points lie between two items: rounded back to the pixel values the classifier reads
    pixels = np.clip(np.rint(flat), 0, 255).astype(np.uint8).reshape(-1, *x.shape[1:])
    return torch.from_numpy(pixels), torch.from_numpy(labels)


def scores(predicted: torch.Tensor, truth: torch.Tensor, rare: dict[int, int]) -> dict[str, float]:
    """Balanced accuracy, accuracy, and each rare class's recall and F1 (scikit-learn's definitions)."""
    from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

    t, p = truth.numpy(), predicted.numpy()
    out = {"balanced_accuracy": balanced_accuracy_score(t, p), "accuracy": float((t == p).mean())}
    ks = sorted(rare)
    for k, r, f in zip(ks, recall_score(t, p, labels=ks, average=None), f1_score(t, p, labels=ks, average=None)):
        out[f"recall[{k}]"], out[f"f1[{k}]"] = float(r), float(f)
    out["rare_f1"] = float(np.mean([out[f"f1[{k}]"] for k in ks]))
    out["rare_recall"] = float(np.mean([out[f"recall[{k}]"] for k in ks]))
    return out


def rare_study(
    real: DataSet, test: DataSet, rare: dict[int, int], source, seeds, steps: int, out: Path, protocol, done
):
    """Run the rows above for every seed (a seed that `done`, the study's Units, kept is not run again); writes
    OUT/utility.json and returns the report."""
    rows: dict[str, list[dict[str, float]]] = {}
    for seed in seeds:
        tag = f"rare-seed{seed}"
        unit = done.scores(tag, partial(_rare_unit, real, test, rare, source, seed, steps, out / "gans", tag))
        for name, row in unit.items():
            rows.setdefault(name, []).append(row)
    report = {
        "protocol": {**protocol, "rare": {str(k): n for k, n in rare.items()}, "seeds": list(seeds)},
        "rows": {name: _summary(per_seed) for name, per_seed in rows.items()},
        "gains": {f"{a} - {b}": _gains(rows[a], rows[b]) for a, b in COMPARISONS},
    }
    atomic_write_text(out / "utility.json", json.dumps(report, indent=1))
    return report


def _rare_unit(real: DataSet, test: DataSet, rare: dict[int, int], source, seed: int, steps: int, work: Path, tag):
    """The scores of every row on one seed's imbalanced subset."""
    classes = real.num_classes
    x, y = imbalanced_subset(real, rare, seed)
    lacking = shortfall(y, classes)
    asked = torch.cat([torch.full((n,), k) for k, n in lacking.items()])
    syn_x, syn_y = source.samples((x, y), len(asked), seed, work, tag, labels=asked)
    syn_x = like(syn_x, real.shape)
    over = resampled(x, y, "random", seed)
    sets = {
        "imbalanced": (x, y, False),
        "imbalanced+aug": (x, y, True),
        "oversampled": (*over, False),
        "oversampled+aug": (*over, True),
        "smote": (*resampled(x, y, "smote", seed), False),
        "cgan": (torch.cat([x, syn_x]), torch.cat([y, syn_y]), False),
        "cgan+aug": (torch.cat([x, syn_x]), torch.cat([y, syn_y]), True),
    }
    unit = {}
    for name, (tx, ty, augment) in sets.items():
        unit[name] = scores(predict(fit(tx, ty, classes, steps, seed, augment), test.x), test.labels, rare)
    return unit


def _summary(per_seed: list[dict[str, float]]) -> dict[str, Any]:
    return {
        key: {"per_seed": [r[key] for r in per_seed], **interval([r[key] for r in per_seed])} for key in per_seed[0]
    }


def _gains(a: list[dict[str, float]], b: list[dict[str, float]]) -> dict[str, Any]:
    keys = [k for k in a[0] if k.startswith(("rare_", "f1[", "balanced"))]
    return {key: interval([x[key] - y[key] for x, y in zip(a, b)]) for key in keys}
