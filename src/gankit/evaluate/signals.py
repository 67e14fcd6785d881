"""`gankit eval` on a signal run: TimeGAN's discriminative and predictive scores, Context-FID, spectrum,
autocorrelation and marginal distances, train-on-synthetic-test-on-real for conditional runs, and a figure
(RUN/eval_signals.png)."""

from __future__ import annotations

from typing import Any

import torch

from gankit.config_files import load_config
from gankit.data import DataSet, build_dataset
from gankit.data.config import DataConfig
from gankit.errors import DataError
from gankit.metrics import context_fid as context
from gankit.metrics.signals import classifier_accuracy, power_spectrum, signal_metrics
from gankit.runs.run_dir import RunDir
from gankit.sample import LoadedRun, generate
from gankit.viz.curves import save_figure
from gankit.viz.traces import comparison_figure

FIGURE = "eval_signals.png"
TSTR_STEPS = 1000  # of each classifier; not shortened by `quick`, which is for the GRU scores


def _split(section: DataConfig, split: str) -> DataSet:
    return build_dataset(section.name, section.root, split, None, None, None, 0, **section.kwargs)


def _pca(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat_real, flat_fake = real.flatten(1).double(), fake.flatten(1).double()
    mean = flat_real.mean(0)
    _, _, v = torch.linalg.svd(flat_real - mean, full_matrices=False)
    return (flat_real - mean) @ v[:2].T, (flat_fake - mean) @ v[:2].T


def tstr(loaded: LoadedRun, train: DataSet, test: DataSet, seed: int, steps: int) -> dict[str, float]:
    """Accuracy on the real test set of one classifier trained on generated series (as many per class as the
    real training set has) and of one trained on the real training set."""
    fake = generate(loaded, len(train), seed, train.labels)
    classes = train.num_classes or 0
    on_synthetic = classifier_accuracy(fake, train.labels, test.x, test.labels, classes, seed, steps)
    on_real = classifier_accuracy(train.x, train.labels, test.x, test.labels, classes, seed, steps)
    return {"tstr_accuracy": on_synthetic, "trtr_accuracy": on_real, "tstr_ratio": on_synthetic / max(on_real, 1e-9)}


def evaluate_signals(
    run: RunDir, loaded: LoadedRun, n: int, split: str | None, seed: int, repeats: int, quick: bool
) -> dict[str, Any]:
    """Generated series against up to n real ones of the training split (TimeGAN's protocol) or of `split`."""
    section = load_config(config_file=run.config).data
    real_set = _split(section, split or "train")
    keep = torch.randperm(len(real_set), generator=torch.Generator().manual_seed(seed))[:n]
    real = real_set.x[keep]
    conditional = bool(loaded.generator.num_classes)
    labels = real_set.labels[keep] if conditional else None  # the real set's class mix: like with like
    fake = generate(loaded, len(real), seed, labels)
    units = loaded.meta.get("data", {}).get("units")
    metrics, per_repeat = signal_metrics(real, fake, None if units is None else torch.tensor(units), repeats, quick)
    reference = f"{section.name}/{split or 'train'} ({len(real)} items)"
    if conditional:
        try:
            test = _split(section, "test")
        except DataError:
            test = real_set  # no test split: judged on the training series, and said so
        train = real_set if (split or "train") == "train" else _split(section, "train")
        metrics.update(tstr(loaded, train, test, seed, TSTR_STEPS))
        reference += f"; classifiers tested on {test.name}/{'test' if test is not real_set else 'train'}"
    figure = comparison_figure(real, fake, power_spectrum(real), power_spectrum(fake), *_pca(real, fake))
    save_figure(figure, run.path / FIGURE)
    return {
        "run": str(run),
        "checkpoint": loaded.record.stem,
        "reference": reference,
        "samples": len(fake),
        "seed": seed,
        "repeats": repeats,
        "protocol": "TimeGAN (Yoon et al. 2019): post-hoc GRU discriminator 2,000 steps, predictor 5,000 steps, "
        f"batch 128; Context-FID encoder (TS2Vec-style, width {context.WIDTH}, {context.DIMS} dims) "
        f"{context.STEPS} steps of {context.BATCH} on the real series"
        + (" (quick: a tenth of the steps)" if quick else "")
        + f"; TSTR classifiers {TSTR_STEPS} steps",
        "extractor": {"name": "none (signals)"},
        "metrics": metrics,
        "per_repeat": per_repeat,
        "figure": FIGURE,
    }
