"""`audit()`: are a run's samples near-copies of its training items? Distances to the closest record (DCR).

For n samples, each one's distance to its closest training item, in pixels and in the judge's feature space,
read two ways against real items the run never saw:

- nearer the training set than an equal held-out set: the share of samples whose nearest training item is
  nearer than their nearest of as many held-out items. Both sets come from one distribution, so a generator of
  new items scores 0.5 whatever its quality, and its own noise adds to both distances alike; one that copies
  scores near 1. Flagged above 0.6, when the samples are also as near the training set as held-out items are
  (median DCR below theirs).
- closer than held-out items come: the share of samples closer to a training item than the q-quantile
  (q = 0.05) of the held-out items' own distances to the training set. New draws put about q there; exact
  copies put most of theirs there. q = 0.05 rather than 0.01 so that the quantile rests on enough held-out
  items to be stable (250 of 5,000 lie under it). Flagged above 3q. Copies drawn with noise escape this one
  (a DCGAN trained on 10 digits: 8% here against 97% nearer the training set), hence the first.

The held-out items are, in order: `holdout` when given; the items of the run's data set that its subset left out
(data.max_items, data.per_class: the exact complement, same classes); the data set's test split. Without any,
the second reading uses each training item's distance to the *other* training items (leave-one-out: the same
distribution as a fresh item's when the training items are independent draws) and the first is left out. The
report says which one it used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from gankit.config_files import load_config
from gankit.data import DataSet, Storage, build_dataset, subset_order, to_model_range, to_uint8
from gankit.data.disk import DiskImages
from gankit.errors import ConfigError, DataError
from gankit.metrics.extractors import load_extractor
from gankit.runs.files import atomic_write_text
from gankit.sample import LoadedRun, generate, load_run
from gankit.seeds import Seeds

QUANTILE = 0.05
# A share of samples under the quantile above this many times q is flagged: a generator of new items puts about
# q there (measured: docs/synthetic-data.md), so 3q leaves room for a good generator's typical samples, while
# copies put most of theirs there.
FLAG_FACTOR = 3.0
# Nearer to the training set than to an equal held-out set: 0.5 for new items; copies go towards 1 (measured:
# docs/synthetic-data.md).
FLAG_CLOSER = 0.6
MAX_HOLDOUT = 10_000
PAIRS = 16  # closest pairs drawn side by side


def training_sets(run_dir: Path, holdout: str | None, seed: int) -> tuple[DataSet, torch.Tensor | None, str]:
    """(the run's training items exactly as it drew them, held-out real items or None, what they are)."""
    cfg = load_config(config_file=Path(run_dir) / "config.yaml")
    d = cfg.data
    storage = Storage(d.cache, d.cache_dir, d.skip_unreadable, d.in_memory)  # the run's own cache, if any
    full = build_dataset(d.name, d.root, d.split, d.resolution, d.channels, storage=storage, **d.kwargs)
    order = subset_order(full, Seeds(cfg.train.seed).subset, d.classes, d.per_class, d.max_items)
    train = DataSet(full.name, _rows(full.x, order) if len(order) < len(full) else full.x)
    if holdout is not None:
        name, _, root = holdout.partition("=")
        held = build_dataset(name, root or None, "test", d.resolution, d.channels, classes=d.classes).x
        return train, _cap(held, seed), f"--holdout {holdout}"
    left_out = torch.ones(len(full), dtype=torch.bool)
    left_out[order] = False
    if d.classes is not None:
        left_out &= torch.isin(full.labels, torch.as_tensor(list(d.classes)))
    if left_out.sum() >= 100:
        held = _rows(full.x, left_out.nonzero().flatten())
        return train, _cap(held, seed), f"{d.name}/{d.split}: the {int(left_out.sum())} items the run's subset left out"
    try:
        test = build_dataset(
            d.name, d.root, "test", d.resolution, d.channels, classes=d.classes, storage=storage, **d.kwargs
        )
        return train, _cap(test.x, seed), f"{d.name}/test"
    except DataError:
        return train, None, "leave-one-out: each training item against the others (no held-out real items)"


def _rows(x, rows: torch.Tensor):
    """Some rows of images in memory, or of a streamed set (still streamed: a subset view of its file)."""
    return x.subset(rows) if isinstance(x, DiskImages) else x[rows]


def _cap(x, seed: int) -> torch.Tensor:
    """At most MAX_HOLDOUT held-out items (a seeded draw), in memory."""
    if len(x) > MAX_HOLDOUT:
        x = _rows(x, torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:MAX_HOLDOUT])
    return x[:]


def nearest(queries: torch.Tensor, reference, embed, leave_one_out: bool = False, chunk: int = 2048):
    """(distance, index) of each query's nearest item of `reference` (uint8 items, embedded by `embed` a chunk at
    a time, so a large training set is never held twice); `leave_one_out` when queries are the reference itself."""
    best = torch.full((len(queries),), float("inf"), dtype=torch.float64)
    where = torch.zeros(len(queries), dtype=torch.long)
    for start in range(0, len(reference), chunk):
        part = embed(reference[start : start + chunk])
        d = torch.cdist(queries, part)
        if leave_one_out:
            rows = torch.arange(start, min(start + chunk, len(queries)))
            d[rows, rows - start] = float("inf")
        value, index = d.min(1)
        better = value < best
        best[better], where[better] = value[better], index[better] + start
    return best, where


def pixels(x: torch.Tensor) -> torch.Tensor:
    """Items as vectors in [0, 1] units scaled by 1/sqrt(dimensions): distances are RMS pixel differences."""
    flat = (to_model_range(x) if x.dtype == torch.uint8 else x.float()).flatten(1).double()
    return (flat + 1) / 2 / flat.shape[1] ** 0.5


def space_report(samples, train, held, embed, q: float, seed: int) -> tuple[dict[str, Any], torch.Tensor, torch.Tensor]:
    """The numbers of one space, and each sample's distance to (and index of) its closest training item."""
    queries = embed(samples)
    dcr, index = nearest(queries, train, embed)
    if held is None:
        yard, _ = nearest(embed(train[:MAX_HOLDOUT]), train, embed, leave_one_out=True)
    else:
        yard, _ = nearest(embed(held), train, embed)
    threshold = torch.quantile(yard, q).item()
    share = (dcr < threshold).double().mean().item()
    report = {
        "sample_dcr_median": dcr.median().item(),
        "holdout_dcr_median": yard.median().item(),
        "median_ratio": dcr.median().item() / max(yard.median().item(), 1e-12),
        "threshold": threshold,
        "share_below": share,
        "expected_share": q,
    }
    flagged = share > FLAG_FACTOR * q
    if held is not None:
        closer = closer_to_training(queries, dcr, train, held, embed, seed)
        report["closer_to_training"] = closer
        # and near in earnest: samples of a collapsed G sit together, so one training item nearer to their spot
        # than the held-out ones swings the share for all of them, however far they all are
        flagged |= closer > FLAG_CLOSER and report["median_ratio"] < 1
    return report | {"flagged": flagged}, dcr, index


def closer_to_training(queries, dcr, train, held, embed, seed: int, draws: int = 5) -> float:
    """Share of samples nearer to the training set than to as many held-out items (mean over seeded draws of the
    larger side). Both sets come from one distribution, so a generator of new items lands nearer to either half
    the time, whatever its quality; its own noise adds to both distances alike."""
    g = torch.Generator().manual_seed(seed)
    m = min(len(train), len(held))
    shares = []
    for _ in range(draws):
        if m == len(train):
            to_train = dcr
            to_held, _ = nearest(queries, held[torch.randperm(len(held), generator=g)[:m]], embed)
        else:
            to_train, _ = nearest(queries, _rows(train, torch.randperm(len(train), generator=g)[:m]), embed)
            to_held, _ = nearest(queries, held, embed)
        shares.append((to_train < to_held).double().mean().item())
    return sum(shares) / draws


def audit(
    run_dir: str | Path,
    n: int = 2000,
    holdout: str | None = None,
    seed: int = 0,
    checkpoint: str | None = None,
    extractor: str | None = None,
    quantile: float = QUANTILE,
) -> dict[str, Any]:
    """Audit n samples of a run for copies of its training items; writes RUN/audit.json and RUN/audit.png."""
    if n < 10:
        raise ConfigError(f"--n must be >= 10, got {n}")
    if not 0 < quantile < 1 / FLAG_FACTOR:
        raise ConfigError(f"--quantile must be in (0, {1 / FLAG_FACTOR:.3f}), got {quantile}")
    loaded = load_run(run_dir, checkpoint)
    if len(loaded.shape) != 3:
        raise ConfigError("gankit audit compares images: this run draws signals or points")
    train, held, yardstick = training_sets(loaded.run_dir, holdout, seed)
    if tuple(train.x.shape[1:]) != tuple(loaded.shape) or (held is not None and held.shape[1:] != train.x.shape[1:]):
        raise ConfigError(f"the training items {tuple(train.x.shape[1:])} and samples {tuple(loaded.shape)} differ")
    samples = to_uint8(generate(loaded, n, seed=seed))  # what an export would write
    spaces: dict[str, Any] = {}
    report_px, dcr, index = space_report(samples, train.x, held, pixels, quantile, seed)
    spaces["pixels"] = report_px
    judge = _extractor(loaded, extractor)
    if judge is not None:
        spaces[f"features[{judge.name}]"] = space_report(
            samples, train.x, held, lambda x: judge.run(x)[0], quantile, seed
        )[0]
    flagged = [name for name, s in spaces.items() if s["flagged"]]
    report = {
        "run": str(Path(loaded.run_dir).resolve()),
        "checkpoint": loaded.record.stem,
        "samples": n,
        "seed": seed,
        "training_items": len(train.x),
        "yardstick": yardstick,
        "quantile": quantile,
        "flag_above": FLAG_FACTOR * quantile,
        "spaces": spaces,
        "verdict": _verdict(spaces, flagged, quantile),
        "closest": [
            {"sample": int(i), "train": int(index[i]), "pixel_dcr": dcr[i].item()} for i in dcr.argsort()[:PAIRS]
        ],
    }
    _draw_pairs(samples, train.x, dcr, index, Path(loaded.run_dir) / "audit.png")
    atomic_write_text(Path(loaded.run_dir) / "audit.json", json.dumps(report, indent=1))
    return report


def _extractor(loaded: LoadedRun, name: str | None):
    """The judge whose features the audit uses, or None when none fits these images (pixels only, then)."""
    cfg = load_config(config_file=Path(loaded.run_dir) / "config.yaml")
    try:
        judge = load_extractor(name or cfg.eval.extractor or "lenet-mnist")
        judge.run(torch.zeros(1, *loaded.shape, dtype=torch.uint8))
    except (ConfigError, DataError):
        if name:
            raise
        return None
    return judge


def _verdict(spaces: dict[str, Any], flagged: list[str], q: float) -> str:
    """One line: the judgement, then each space's numbers beside what new items would score."""
    parts = []
    for name, s in spaces.items():
        closer = (
            f"{s['closer_to_training']:.0%} nearer the training set than an equal held-out set (new items: 50%), "
            if "closer_to_training" in s
            else ""
        )
        parts.append(f"{name}: {closer}{s['share_below']:.1%} closer than {1 - q:.0%} of held-out items come ({q:.0%})")
    head = f"near-copies of training items in {', '.join(flagged)}" if flagged else "no sign of copying"
    return f"{head}; " + "; ".join(parts)


def _draw_pairs(samples, train, dcr, index, path: Path) -> None:
    """The closest pairs, sample beside its nearest training item (pixels), closest first, four pairs a row."""
    from gankit.runs.files import atomic_write
    from gankit.viz.grids import grid_image

    order = dcr.argsort()[:PAIRS]
    pairs = torch.stack([samples[order], _rows(train, index[order])[:]], 1).flatten(0, 1)
    image = grid_image(pairs, nrow=8)
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))
