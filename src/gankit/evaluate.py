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
from gankit.metrics.names import metric_names
from gankit.runs.files import atomic_write_text
from gankit.sample import generate, generate_from, load_run


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


class Judge:
    """Scores a generator against real images with a feature extractor; real features are computed once."""

    def __init__(self, extractor: str, real_images: torch.Tensor, n: int, seed: int = 0, device=None):
        self.ext = load_extractor(extractor)
        self.ext.model.to(device or "cpu")  # features are computed where the generator runs
        self.real_feats, _ = self.ext.run(real_images)
        self.n, self.seed = n, seed

    @torch.no_grad()
    def __call__(self, G: torch.nn.Module) -> dict[str, float]:
        """The metrics of n samples from fixed latents; uses its own RNG, so training is not perturbed."""
        g = torch.Generator().manual_seed(self.seed)
        z = torch.randn(self.n, G.z_dim, generator=g)
        labels = torch.randint(G.num_classes, (self.n,), generator=g) if G.num_classes else None
        was_training = G.training
        G.eval()
        try:
            fake_feats, probs = self.ext.run(generate_from(G, z, labels))
        finally:
            G.train(was_training)
        kid_mean, kid_std = kid(self.real_feats, fake_feats)
        precision, recall = precision_recall(self.real_feats, fake_feats)
        density, coverage = density_coverage(self.real_feats, fake_feats)
        classes = class_coverage(probs)
        values = [fid(self.real_feats, fake_feats), kid_mean, kid_std, precision, recall, density, coverage]
        values += [classifier_score(probs), classes["classes"], classes["class_kl"]]
        if labels is not None:
            values.append(conditional_accuracy(probs, labels))
        return dict(zip(metric_names(self.n, self.ext.name, labels is not None), values))


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
        return _evaluate_points(run_dir, run, n, seed)
    real, reference = _reference(run_dir, split, n, seed)
    judge = Judge(extractor, real.x, n, seed)
    report = {
        "run": str(run_dir),
        "checkpoint": checkpoint or "latest",
        "reference": f"{reference} ({len(real)} items)",
        "samples": n,
        "seed": seed,
        "extractor": {k: judge.ext.meta.get(k) for k in ("name", "sha256", "trained_on", "test")},
        "metrics": judge(run.generator),
    }
    atomic_write_text(run_dir / "eval.json", json.dumps(report, indent=1))
    return report


def _evaluate_points(run_dir: Path, run, n: int, seed: int) -> dict[str, Any]:
    """2-D mixtures: modes captured and high-quality share (VEEGAN/PacGAN protocol) of n samples."""
    from gankit.data.toy2d import mixture_modes
    from gankit.metrics.toy import mode_coverage

    options = load_config(config_file=run_dir / "config.yaml").data.kwargs
    mixture = options.get("mixture", "ring8")
    if mixture == "swissroll":
        raise ConfigError("the swiss roll has no modes to count: mode coverage needs ring8 or grid25")
    sigma = options.get("std") or (0.01 if mixture == "ring8" else 0.05)
    coverage = mode_coverage(generate(run, n, seed), mixture_modes(mixture), sigma)
    metrics = {f"modes{n}[{mixture}]": coverage.modes, f"high_quality{n}[{mixture}]": coverage.high_quality}
    report = {
        "run": str(run_dir),
        "samples": n,
        "seed": seed,
        "reference": f"{mixture}, std {sigma}",
        "metrics": metrics,
    }
    report["extractor"] = {"name": "none (2-D points)"}
    atomic_write_text(run_dir / "eval.json", json.dumps(report, indent=1))
    return report
