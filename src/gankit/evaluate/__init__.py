"""`evaluate()`: judge a trained run with named, offline metrics and write eval.json beside it. Image and 2-D
runs are judged here; signal runs in `signals.py` (their metrics are TimeGAN's, not features of an image net)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gankit.config_files import load_config
from gankit.data import DataSet, build_dataset
from gankit.data.toy2d import mixture_modes, mixture_of
from gankit.errors import ConfigError, DataError
from gankit.evaluate.signals import evaluate_signals
from gankit.metrics.judge import Judge
from gankit.metrics.toy import mode_coverage
from gankit.runs.files import atomic_write_text
from gankit.runs.run_dir import RunDir
from gankit.sample import LoadedRun, check_truncation, generate, load_run


def _reference(run: RunDir, split: str | None, n: int, seed: int) -> tuple[DataSet, str]:
    """Real items to compare with: the run's data set, its test split when it has one (or as asked); of a run
    on some classes (data.classes), those classes, but every item of them, not the data.per_class few."""
    cfg = load_config(config_file=run.config).data
    for candidate in [split] if split else ["test", "train"]:
        try:
            data = build_dataset(
                cfg.name, cfg.root, candidate, cfg.resolution, cfg.channels, n, seed, cfg.classes, **cfg.kwargs
            )
            return data, f"{cfg.name}/{candidate}"
        except DataError:
            if split:
                raise
    raise DataError(f"no split of {cfg.name} could be read for reference")


def evaluate(
    run_dir: str | Path,
    n: int = 10000,
    split: str | None = None,
    extractor: str | None = None,
    seed: int = 0,
    checkpoint: str | None = None,
    repeats: int = 3,
    quick: bool = False,
    truncation: float | None = None,
) -> dict[str, Any]:
    """FID, KID, precision/recall, density/coverage, class coverage and (conditional runs) accuracy.

    Every metric name carries its protocol: e.g. fid10k[lenet-mnist] compares 10,000 generated samples
    with up to 10,000 real ones in lenet-mnist's feature space; without `extractor` the data set's own judge is
    used (lenet-mnist-stacked for StackedMNIST, whose modes26k / class_kl26k are its benchmark at n=26000),
    else lenet-mnist. Results go to RUN_DIR/eval.json too.
    Signal runs get TimeGAN's scores over `repeats` (see gankit.metrics.signals; `quick` shortens them).
    `truncation` psi judges a style-based G's truncated samples; that report goes to RUN_DIR/eval_psi{psi}.json,
    beside (never over) the untruncated eval.json.
    """
    if n < 10:
        raise ConfigError(f"--n must be >= 10, got {n}")
    if repeats < 1:
        raise ConfigError(f"--repeats must be >= 1, got {repeats}")
    run = RunDir.open(run_dir)
    loaded = load_run(run.path, checkpoint)
    check_truncation(loaded.generator, truncation)  # before any work: a G without a w space, a psi outside [0, 1]
    if len(loaded.shape) == 2:
        return _write(run, evaluate_signals(run, loaded, n, split, seed, repeats, quick))
    if len(loaded.shape) != 3:
        return _write(run, _evaluate_points(run, loaded, n, seed))
    real, reference = _reference(run, split, n, seed)
    judge = Judge(extractor or real.judge or "lenet-mnist", real.x, n, seed)
    report = {
        "run": str(run),
        "checkpoint": checkpoint or "latest",
        "reference": f"{reference} ({len(real)} items)",
        "samples": n,
        "seed": seed,
        **({"truncation": truncation} if truncation is not None else {}),
        "extractor": {k: judge.ext.meta.get(k) for k in ("name", "sha256", "trained_on", "test")},
        "metrics": judge(loaded.generator, truncation),
    }
    return _write(run, report, report_path(run, truncation))


def report_path(run: RunDir, truncation: float | None = None) -> Path:
    """Where evaluate() writes: eval.json, or eval_psi{psi}.json for truncated samples."""
    return run.eval_report if truncation is None else run.path / f"eval_psi{truncation:g}.json"


def _evaluate_points(run: RunDir, loaded: LoadedRun, n: int, seed: int) -> dict[str, Any]:
    """2-D mixtures: modes captured and high-quality share (VEEGAN/PacGAN protocol) of n samples."""
    mixture, sigma = mixture_of(load_config(config_file=run.config).data.kwargs)
    if mixture == "swissroll":
        raise ConfigError("the swiss roll has no modes to count: mode coverage needs ring8 or grid25")
    coverage = mode_coverage(generate(loaded, n, seed), mixture_modes(mixture), sigma)
    metrics = {f"modes{n}[{mixture}]": coverage.modes, f"high_quality{n}[{mixture}]": coverage.high_quality}
    return {
        "run": str(run),
        "samples": n,
        "seed": seed,
        "reference": f"{mixture}, std {sigma}",
        "metrics": metrics,
        "extractor": {"name": "none (2-D points)"},
    }


def _write(run: RunDir, report: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    atomic_write_text(path or run.eval_report, json.dumps(report, indent=1))
    return report
