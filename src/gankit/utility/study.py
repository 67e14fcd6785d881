"""`utility()`: does a GAN's synthetic data help a classifier? The study, with its baselines and intervals.

For each fraction of the real training set (a class-balanced subset, drawn per seed) and each seed, the same
classifier recipe is trained on:

    real             the real subset, no augmentation
    real+aug         the real subset with classic augmentation (shifts; flips for colour): the honest baseline
    real+aug+syn xR  the real subset plus R times as many synthetic samples (balanced classes), augmented
    synthetic (CAS)  synthetic samples only, as many as the whole real training set (Ravuri & Vinyals 2019)

and tested on the real test set. With `train_gan`, the GAN of each (fraction, seed) is trained on that real
subset only, so no test digit and no digit outside the subset leaks into its samples; with `synthetic`, one
source (a run or an exported set) serves every fraction, and the report says so.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.config_files import load_config
from gankit.data import DataSet, build_dataset, to_uint8
from gankit.data.signals import to_units
from gankit.errors import ConfigError
from gankit.export import export_labels
from gankit.runs.files import atomic_write_text
from gankit.runs.run_dir import RunDir
from gankit.sample import generate, load_run
from gankit.train import train
from gankit.utility.classify import accuracy, fit, like
from gankit.utility.rare import parse_rare, rare_study, require_imbalanced_learn
from gankit.utility.report import interval, plot_utility
from gankit.utility.units import Units


def load_data(spec: str, split: str) -> DataSet:
    """A data set from a spec: an image folder, a .npz/.npy file, a registered name, or NAME=ROOT."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return build_dataset("folder", root=str(path))
    if path.suffix.lower() in (".npz", ".npy"):
        return build_dataset("array", root=str(path))
    name, _, root = spec.partition("=")
    data = build_dataset(name, root=root or None, split=split)
    if data.labels is None or not (data.is_image or data.is_signal):
        raise ConfigError(f"{spec} has no labels: the utility study needs a labelled image or signal data set")
    return data


def balanced_subset(data: DataSet, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """round(fraction x count) items of every class (at least one), chosen by seed."""
    g = torch.Generator().manual_seed(seed)
    keep = []
    for k in range(data.num_classes):
        members = (data.labels == k).nonzero().flatten()
        take = max(1, round(fraction * len(members)))
        keep.append(members[torch.randperm(len(members), generator=g)[:take]])
    keep = torch.cat(keep)
    return data.x[keep], data.labels[keep]


@dataclass
class Source:
    """Where synthetic samples come from: a run folder, an exported data set, or a GAN trained per subset."""

    run: str | None = None
    exported: DataSet | None = None
    train_gan: str | None = None  # preset
    budget_steps: int | None = 3000  # G+D steps of each GAN, or:
    budget_epochs: int | None = None  # passes over its subset
    units: torch.Tensor | None = None  # signals: the real set's (low, high) per channel, which [-1, 1] stands for

    def samples(self, subset, n: int, seed: int, work: Path, tag: str, labels: torch.Tensor | None = None):
        """n (images uint8 or signals on the real set's scale, labels): of the classes `labels` asks for, else
        the classes in turn (balanced)."""
        if self.exported is not None and self.units is not None:
            raise ConfigError("synthetic signals come from a run folder (--synthetic RUN) or --train-gan")
        if self.exported is not None:
            return _take_balanced(self.exported, n, seed) if labels is None else _take_classes(self.exported, labels)
        run_dir = self.run if self.train_gan is None else _train_gan(self.train_gan, subset, seed, work, tag, self)
        loaded = load_run(run_dir)
        if not loaded.generator.num_classes:
            raise ConfigError(f"{run_dir} is not class-conditional: synthetic training data needs labels")
        labels = export_labels(loaded, n, None, True, seed) if labels is None else labels
        made = generate(loaded, n, seed=seed, labels=labels)
        if self.units is None:
            return to_uint8(made), labels
        return rescale(made, loaded.meta.get("data", {}).get("units"), self.units), labels


def rescale(series: torch.Tensor, run_units, real_units: torch.Tensor) -> torch.Tensor:
    """A run's series ([-1, 1] on the scale of the set it trained on) on the real set's scale: through the units
    both stand for, so a GAN trained on a subset (another min and max) is read as the real series are."""
    if run_units is None:
        raise ConfigError("the run's checkpoint has no data units: train it with gankit >= 0.2 to compare its series")
    low, high = torch.as_tensor(real_units, dtype=torch.float64)
    span = torch.where(high > low, high - low, torch.ones_like(high))
    return ((to_units(series, run_units) - low[None, :, None]) / span[None, :, None] * 2 - 1).float()


def _take_balanced(data: DataSet, n: int, seed: int):
    """n items of an exported set, cycling through it in a seeded order, so that ratios > 1 reuse items."""
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    idx = order[torch.arange(n) % len(data)]
    return data.x[idx], data.labels[idx]


def _take_classes(data: DataSet, labels: torch.Tensor):
    """Items of an exported set of the classes `labels` asks for, in order, reusing items when it asks more."""
    picks = torch.empty(len(labels), dtype=torch.long)
    for k in labels.unique():
        members = (data.labels == k).nonzero().flatten()
        if not len(members):
            raise ConfigError(f"the synthetic set has no items of class {int(k)}")
        asked = (labels == k).nonzero().flatten()
        picks[asked] = members[torch.arange(len(asked)) % len(members)]
    return data.x[picks], labels


def _train_gan(preset: str, subset, seed: int, work: Path, tag: str, source: Source) -> Path:
    """A GAN of `preset` trained on this subset only (saved as .npz, so the run folder repeats it), or the one
    a stopped study had finished for this unit."""
    finished = [p for p in sorted(work.glob(f"[0-9][0-9][0-9][0-9][0-9]-{tag}")) if RunDir(p).finished]
    if finished:  # a resumed study: this unit's GAN had finished before the stop
        return finished[-1]
    images, labels = subset
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"{tag}.npz"
    if source.units is not None:  # signals, in their own units: the run scales them as any signal file
        np.savez(path, signals=to_units(images, source.units).numpy(), labels=labels.numpy())
    else:
        pixels = images.permute(0, 2, 3, 1).numpy()
        np.savez(path, images=pixels[..., 0] if pixels.shape[-1] == 1 else pixels, labels=labels.numpy())
    batch = min(load_config(preset).train.batch_size, len(images))
    epochs = source.budget_epochs or max(1, math.ceil(source.budget_steps / (len(images) // batch)))
    kind = "array" if source.units is None else "signals"
    overrides = [f"data.name={kind}", f"data.root={path}", f"train.batch_size={batch}", f"train.epochs={epochs}"]
    overrides += [f"train.seed={seed}", "log.sample_every=1000000", "log.checkpoint_every=1000000"]
    with contextlib.redirect_stdout(io.StringIO()):  # the run's header line; the study prints its own table
        return train(load_config(preset, overrides=overrides), out=work, name=tag, quiet=True)


def utility(
    real: str,
    test: str,
    out: str | Path,
    synthetic: str | None = None,
    train_gan: str | None = None,
    budget_steps: int | None = 3000,
    budget_epochs: int | None = None,
    fractions: tuple[float, ...] = (0.01, 0.02, 0.1, 1.0),
    ratios: tuple[float, ...] = (0, 1, 4),
    seeds: tuple[int, ...] = (0, 1, 2),
    steps: int = 2000,
    rare: list[str] | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Run the study; writes OUT/utility.json and OUT/utility.png and returns the report. With `rare`
    (CLASS=COUNT items), the rare-class study of gankit.utility.rare instead (utility.json only). Each unit's
    scores are kept as it ends (gankit.utility.units); `resume` continues a study stopped in `out`."""
    if (synthetic is None) == (train_gan is None):
        raise ConfigError("give --synthetic (a run or an exported set) or --train-gan PRESET, one of them")
    if not fractions or any(not 0 < f <= 1 for f in fractions) or any(r < 0 for r in ratios) or steps < 1:
        raise ConfigError("fractions must be in (0, 1], ratios >= 0 and --steps >= 1")
    out = Path(out).expanduser()
    real_data, test_data = load_data(real, "train"), load_data(test, "test")
    if real_data.shape != test_data.shape or real_data.num_classes != test_data.num_classes:
        raise ConfigError(f"--real {real_data.shape} and --test {test_data.shape} differ in shape or classes")
    budget = None if train_gan is None else {"steps": budget_steps, "epochs": budget_epochs}
    source_of = {"real": real, "test": test, "synthetic": synthetic, "train_gan": train_gan, "gan_budget": budget}
    asked = source_of | {"seeds": list(seeds), "classifier_steps": steps}
    asked |= {"rare": rare} if rare else {"fractions": list(fractions), "ratios": list(ratios)}
    if rare:  # before the folder is made, so a bad --rare leaves nothing behind
        counts = parse_rare(rare, real_data.num_classes)
        require_imbalanced_learn()
    done = Units(out, asked, resume)
    source = _source(synthetic, train_gan, budget_steps, budget_epochs)
    source.units = real_data.units if real_data.is_signal else None
    if rare:
        smote_on = "the classifier's input (pixels, or series values)"
        protocol = source_of | {"classifier_steps": steps, "smote_on": smote_on}
        return rare_study(real_data, test_data, counts, source, seeds, steps, out, protocol, done)
    rows: dict[str, dict[str, list[float]]] = {}
    for fraction in fractions:
        for seed in seeds:
            tag = f"fraction{fraction:g}-seed{seed}"
            run = partial(
                _balanced_unit, real_data, test_data, source, fraction, seed, ratios, steps, out / "gans", tag
            )
            for name, value in done.scores(tag, run).items():
                rows.setdefault(name, {}).setdefault(str(fraction), []).append(value)
    report = _report(rows, real, test, synthetic, train_gan, budget, fractions, ratios, seeds, steps)
    atomic_write_text(out / "utility.json", json.dumps(report, indent=1))
    plot_utility(report, out / "utility.png")
    return report


def _balanced_unit(real: DataSet, test: DataSet, source: Source, fraction, seed, ratios, steps, work: Path, tag):
    """The test accuracy of every training set on one seed's balanced subset of `fraction`."""
    subset = balanced_subset(real, fraction, seed)
    pool_size = max(int(max(ratios) * len(subset[0])), len(real))
    syn_x, syn_y = source.samples(subset, pool_size, seed, work, tag)
    syn_x = like(syn_x, real.shape)
    scores = {}
    for name, (x, y, augment) in _training_sets(subset, (syn_x, syn_y), ratios, len(real)).items():
        scores[name] = accuracy(fit(x, y, real.num_classes, steps, seed, augment), test.x, test.labels)
    return scores


def _source(synthetic: str | None, train_gan: str | None, budget_steps, budget_epochs) -> Source:
    if train_gan is not None:
        return Source(train_gan=train_gan, budget_steps=budget_steps, budget_epochs=budget_epochs)
    path = Path(synthetic).expanduser()
    if (path / "config.yaml").is_file():
        return Source(run=str(path))
    return Source(exported=load_data(synthetic, "train"))


def _training_sets(subset, synthetic, ratios, cas_size: int) -> dict[str, tuple]:
    (rx, ry), (sx, sy) = subset, synthetic
    sets = {"real": (rx, ry, False), "real+aug": (rx, ry, True)}
    for ratio in ratios:
        if ratio > 0:
            k = int(ratio * len(rx))
            sets[f"real+aug+syn x{ratio:g}"] = (torch.cat([rx, sx[:k]]), torch.cat([ry, sy[:k]]), True)
    sets["synthetic (CAS)"] = (sx[:cas_size], sy[:cas_size], True)
    return sets


def _report(rows, real, test, synthetic, train_gan, budget, fractions, ratios, seeds, steps) -> dict[str, Any]:
    results = {}
    for name, by_fraction in rows.items():
        results[name] = {f: {"per_seed": v, **interval(v)} for f, v in by_fraction.items()}
    gains = {}
    for name in rows:
        if "syn x" in name:
            gains[name] = {f: interval([a - b for a, b in zip(rows[name][f], rows["real+aug"][f])]) for f in rows[name]}
    return {
        "protocol": {
            "real": real,
            "test": test,
            "synthetic": synthetic,
            "train_gan": train_gan,
            "gan_budget": budget,
            "leakage": "none: a GAN per (fraction, seed), trained on that subset only"
            if train_gan
            else "one synthetic source for every fraction: if its GAN saw more real data than a fraction, that "
            "fraction's rows overstate what the synthetic data adds",
            "fractions": list(fractions),
            "ratios": list(ratios),
            "seeds": list(seeds),
            "classifier_steps": steps,
            "interval": "mean and 95% t-interval over seeds",
        },
        "accuracy": results,
        "gain_over_real_aug": gains,
    }
