"""`evaluate()`: judge a trained run with named, offline metrics and write eval.json beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from gankit.config import load_config
from gankit.data import build_dataset
from gankit.errors import ConfigError, DataError
from gankit.metrics.classes import class_coverage, classifier_score, conditional_accuracy
from gankit.metrics.distances import density_coverage, fid, kid, precision_recall
from gankit.metrics.features import load_extractor
from gankit.runs.files import atomic_write_text
from gankit.sample import generate, load_run, sample_labels


def _reference(run_dir: Path, split: str | None, n: int, seed: int):
    """Real items to compare with: the run's data set, its test split when it has one (or as asked)."""
    cfg = load_config(config_file=run_dir / "config.yaml").data
    for candidate in [split] if split else ["test", "train"]:
        try:
            data = build_dataset(cfg.name, cfg.root, candidate, cfg.resolution, cfg.channels, n, seed, **cfg.kwargs)
            return data, f"{cfg.name}/{candidate}"
        except DataError:
            if split:
                raise
    raise DataError(f"no split of {cfg.name} could be read for reference")


def evaluate(
    run_dir: str | Path,
    n: int = 10000,
    split: str | None = None,
    extractor: str = "lenet-mnist",
    seed: int = 0,
    checkpoint: str | None = None,
) -> dict[str, Any]:
    """FID, KID, precision/recall, density/coverage, class coverage and (conditional runs) accuracy.

    Every metric name carries its protocol: e.g. fid10k[lenet-mnist] compares 10,000 generated samples
    with up to 10,000 real ones in lenet-mnist's feature space. Results go to RUN_DIR/eval.json too.
    """
    if n < 10:
        raise ConfigError(f"--n must be >= 10, got {n}")
    run_dir = Path(run_dir).expanduser()
    run = load_run(run_dir, checkpoint)
    if len(run.shape) != 3:
        raise ConfigError("this run makes 2-D points: judge it with gankit.metrics.toy.mode_coverage")
    real, reference = _reference(run_dir, split, n, seed)
    ext = load_extractor(extractor)
    labels = sample_labels(run, n, None, torch.Generator().manual_seed(seed + 7))
    fake_images = generate(run, n, seed, labels)
    real_feats, _ = ext.run(real.x)
    fake_feats, fake_probs = ext.run(fake_images)
    tag = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    name = f"[{ext.name}]"
    kid_mean, kid_std = kid(real_feats, fake_feats)
    precision, recall = precision_recall(real_feats, fake_feats)
    density, coverage = density_coverage(real_feats, fake_feats)
    results: dict[str, Any] = {
        f"fid{tag}{name}": fid(real_feats, fake_feats),
        f"kid{tag}{name}": kid_mean,
        f"kid{tag}_std{name}": kid_std,
        f"precision{tag}{name}": precision,
        f"recall{tag}{name}": recall,
        f"density{tag}{name}": density,
        f"coverage{tag}{name}": coverage,
        f"cs{tag}{name}": classifier_score(fake_probs),
    }
    classes = class_coverage(fake_probs)
    results[f"classes{tag}{name}"] = classes["classes"]
    results[f"class_kl{tag}{name}"] = classes["class_kl"]
    if labels is not None:
        results[f"cond_acc{tag}{name}"] = conditional_accuracy(fake_probs, labels)
    report = {
        "run": str(run_dir),
        "checkpoint": checkpoint or "latest",
        "reference": f"{reference} ({len(real)} items)",
        "samples": n,
        "seed": seed,
        "extractor": {k: ext.meta.get(k) for k in ("name", "sha256", "trained_on", "test")},
        "metrics": results,
    }
    atomic_write_text(run_dir / "eval.json", json.dumps(report, indent=1))
    return report
