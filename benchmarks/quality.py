"""Sample quality at an equal CPU budget: presets trained for the same wall time, several seeds, one table.

Each preset's time per epoch is measured first (a second epoch, driven by hand after a first one); then it
trains for the number of epochs that budget buys, from each seed, and its final (EMA) generator is
judged on `--n` samples. Digits, by the packaged lenet-mnist extractor:

    confident   share of samples the classifier gives one class with probability > 0.9 (real digits: 0.913)
    min class   the smallest share of the ten predicted classes (0.10 when balanced)
    fid, precision, recall   fid5k[lenet-mnist] etc. against the data set the run trained on
    as asked, worst asked   (conditional G) share classified as the class asked for, overall and worst class

Points of a 2-D mixture: modes captured and the share of high-quality samples (VEEGAN/PacGAN's protocol).
StackedMNIST, by lenet-mnist on each channel (lenet-mnist-stacked), the protocol of PacGAN / VEEGAN / R3GAN at
`--n 26000`: modes (of 1,000 holding a sample), kl (of the predicted-mode histogram from uniform), three
confident (share of samples whose three channels each read as one digit at p > 0.9), fid / recall.
`--as-preset` trains each preset for its own epochs instead of a wall-time budget. `--runs` judges trained
digit runs instead, at each of `--truncations` (psi of a style-based G: fidelity against variety).

    python -m benchmarks.quality --presets mnist-dcgan mnist-stylegan2 --budgets 60 180 --seeds 0 1 2
    python -m benchmarks.quality --runs runs/00000-mnist-stylegan2 --truncations 1 0.85 0.7 0.5

Run it alone: the rates, and so the epochs, assume nothing else is running. Results go to docs/quality.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time

import torch

from gankit import build_dataset, evaluate, load_config, load_run, train
from gankit.data.toy2d import mixture_modes, mixture_std
from gankit.metrics.distances import fid
from gankit.metrics.extractors import load_extractor
from gankit.metrics.toy import mode_coverage
from gankit.runs.run_dir import RunDir
from gankit.sample import generate
from gankit.training.builder import new_trainer


def seconds_per_epoch(preset: str, overrides: list[str], max_steps: int | None = None) -> float:
    """Wall time of one real epoch of the preset (its grid, plot and checkpoint included), timed after a first
    epoch that warms the caches. With `max_steps`, both epochs stop after that many steps and the timed steps are
    scaled to the whole epoch (for presets whose epochs take minutes)."""
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
        config = load_config(preset, overrides=[*overrides, "train.epochs=2"])
        trainer = new_trainer(config, out)
        trainer.schedule = type(trainer.schedule)(**{**trainer.schedule.__dict__, "epochs": 2})
        steps = len(trainer.sampler) if max_steps is None else min(max_steps, len(trainer.sampler))
        for epoch in (1, 2):
            started = time.perf_counter()
            for _, (real, labels) in zip(range(steps), trainer.sampler.epoch(epoch)):
                trainer.train_step(real, labels)
                trainer.step += 1
            trainer.stats.flush()
            stepping = time.perf_counter() - started
            trainer.end_epoch(epoch)
        return stepping * len(trainer.sampler) / steps + time.perf_counter() - started - stepping


def stop_if_unfinished(run) -> None:
    """A run stopped by SIGINT/SIGTERM returns like a finished one: never judge it as if it had had its budget."""
    if not RunDir(run).finished:
        raise SystemExit(f"{run} was stopped before the end of its budget; its numbers would not be the budget's")


def judge(
    run,
    config,
    n: int,
    seed: int = 0,
    test: torch.Tensor | None = None,
    truncation: float | None = None,
    checkpoint: str | None = None,
) -> dict[str, float]:
    """The numbers of the run's kind. Points of a 2-D mixture: modes captured and the high-quality share. Digits:
    confident / min class share from lenet-mnist's probabilities and fid / precision / recall (and the FID
    against `test`, real held-out images, when given); for a conditional G also the share of samples classified
    as the class asked for, overall and for its worst class. Digits only: samples at `truncation` psi. `checkpoint`:
    that one instead of the final (or newest) checkpoint."""
    loaded = load_run(run, checkpoint)
    if truncation is not None and config.data.name in ("toy2d", "stackedmnist"):
        raise SystemExit("--truncations judges runs on digits")
    if config.data.name == "toy2d":
        mixture = config.data.kwargs.get("mixture", "ring8")
        std = mixture_std(mixture, config.data.kwargs.get("std"))
        coverage = mode_coverage(generate(loaded, n, seed=seed), mixture_modes(mixture), sigma=std)
        return {"modes": coverage.modes, "hq": coverage.high_quality}
    if config.data.name == "stackedmnist":
        return judge_stacks(run, loaded, n, seed, checkpoint)
    images = generate(loaded, n, seed=seed, truncation=truncation)
    extractor = load_extractor("lenet-mnist")
    feats, probs = extractor.run(images)
    shares = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).double() / n
    report = evaluate(run, n=n, split="train", seed=seed, checkpoint=checkpoint, truncation=truncation)["metrics"]
    tag = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    extra = {} if test is None else {"fid_test": fid(extractor.run(test)[0], feats)}
    if loaded.generator.num_classes:
        asked = torch.arange(loaded.generator.num_classes).repeat_interleave(n // loaded.generator.num_classes)
        hit = (
            extractor.run(generate(loaded, len(asked), seed=seed, labels=asked, truncation=truncation))[1].argmax(1)
            == asked
        )
        per_class = torch.stack([hit[asked == k].double().mean() for k in asked.unique()])
        extra |= {"as_asked": hit.double().mean().item(), "worst_asked": per_class.min().item()}
    return {
        "confident": (probs.max(1).values > 0.9).float().mean().item(),
        "min_class": shares.min().item(),
        "fid": report[f"fid{tag}[lenet-mnist]"],
        "precision": report[f"precision{tag}[lenet-mnist]"],
        "recall": report[f"recall{tag}[lenet-mnist]"],
        **extra,
    }


def three_confident(images: torch.Tensor) -> float:
    """Share of stacks [N, 3, H, W] whose every channel lenet-mnist reads as one digit with p > 0.9."""
    digit = load_extractor("lenet-mnist")
    sure = [digit.run(images[:, i : i + 1])[1].max(1).values > 0.9 for i in range(images.shape[1])]
    return torch.stack(sure).all(0).float().mean().item()


def judge_stacks(run, loaded, n: int, seed: int, checkpoint: str | None = None) -> dict[str, float]:
    """StackedMNIST: modes and KL over 1,000 by lenet-mnist-stacked, three-confident share, fid / recall, all of
    `loaded`'s checkpoint."""
    report = evaluate(run, n=n, split="train", seed=seed, checkpoint=checkpoint)["metrics"]
    tag = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    key = f"{tag}[lenet-mnist-stacked]"
    return {
        "modes": report[f"modes{key}"],
        "kl": report[f"class_kl{key}"],
        "three_confident": three_confident(generate(loaded, n, seed=seed)),
        "fid": report[f"fid{key}"],
        "recall": report[f"recall{key}"],
    }


def mean_cells(results: list[dict[str, float]], columns: list[str]) -> list[str]:
    """Each column's mean over the results, with the standard deviation when there are several."""
    cells = []
    for key in columns:
        values = [r[key] for r in results]
        spread = f" +- {statistics.stdev(values):.3f}" if len(values) > 1 else ""
        cells.append(f"{statistics.mean(values):.3f}{spread}")
    return cells


def judge_runs(
    runs: list[str], truncations: list[float] | None, n: int, test: torch.Tensor | None, checkpoint: str | None = None
) -> int:
    """One row per psi: the trained runs' numbers at that truncation (mean +- sd over the runs); without
    `truncations`, one row of the runs as they sample (any family)."""
    columns: list[str] = []
    for psi in truncations or [None]:
        results = []
        for run in runs:
            if checkpoint is None:
                stop_if_unfinished(run)
            config = load_config(config_file=RunDir(run).config)
            results.append(judge(run, config, n, test=test, truncation=psi, checkpoint=checkpoint))
            row = {"run": str(run), "checkpoint": checkpoint, "truncation": psi, **results[-1]}
            print(json.dumps(row), file=sys.stderr, flush=True)
        if not columns:
            columns = list(results[0])
            print(f"\n| truncation | runs | {' | '.join(columns)} |")
            print("|---:|---:|" + "---:|" * len(columns))
        print(
            f"| {1 if psi is None else psi:g} | {len(runs)} | {' | '.join(mean_cells(results, columns))} |", flush=True
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["mnist-dcgan", "mnist-stylegan2"])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0], help="training seconds per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=5000, help="samples judged per run")
    parser.add_argument("--set", nargs="*", default=[], help="overrides for every run, e.g. data.max_items=500")
    parser.add_argument("--steps", type=int, help="train each run this many steps instead of for the budgets")
    parser.add_argument("--rate-steps", type=int, help="time this many steps of an epoch and scale (slow presets)")
    parser.add_argument("--as-preset", action="store_true", help="train each run for its preset's own epochs")
    parser.add_argument("--variants", nargs="*", default=[], help="NAME=OVERRIDE[,OVERRIDE] rows besides the plain one")
    parser.add_argument("--test", help="also the FID against this labelled set's test split, NAME=ROOT")
    parser.add_argument("--runs", nargs="+", help="judge these trained run folders instead of training")
    parser.add_argument("--truncations", type=float, nargs="+", help="--runs: psi of each row (style-based G)")
    parser.add_argument("--checkpoint", help="--runs: judge this checkpoint of each run (e.g. step_00010500)")
    args = parser.parse_args(argv)
    test = None
    if args.test:
        name, _, root = args.test.partition("=")
        test = build_dataset(name, root=root or None, split="test").x
    if args.runs:
        return judge_runs(args.runs, args.truncations, args.n, test, args.checkpoint)
    columns: list[str] = []
    variants = {"": []} | {v.split("=", 1)[0]: v.split("=", 1)[1].split(",") for v in args.variants}
    for preset, (variant, extra) in ((p, v) for p in args.presets for v in variants.items()):
        settings = [*args.set, *extra]
        fixed = args.steps or args.as_preset
        per_epoch = None if fixed else seconds_per_epoch(preset, settings, args.rate_steps)
        for budget in [None] if fixed else args.budgets:
            if args.as_preset:
                epochs = load_config(preset, overrides=settings).train.epochs
            elif args.steps:
                with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()):
                    steps_per_epoch = len(new_trainer(load_config(preset, overrides=settings), out).sampler)
                epochs = max(1, round(args.steps / steps_per_epoch))
            else:
                epochs = max(1, round(budget / per_epoch))
            results, seconds = [], []
            for seed in args.seeds:
                with tempfile.TemporaryDirectory() as out:
                    overrides = [*settings, f"train.epochs={epochs}", f"train.seed={seed}"]
                    started = time.perf_counter()
                    config = load_config(preset, overrides=overrides)
                    with contextlib.redirect_stdout(io.StringIO()):  # the run's header line
                        run = train(config, out=out, quiet=True)
                    stop_if_unfinished(run)
                    seconds.append(time.perf_counter() - started)
                    results.append(judge(run, config, args.n, test=test))
                    # each run's numbers on stderr, so a table's mean +- spread can be read back per seed
                    row = {"preset": preset, "variant": variant, "seed": seed, "train_s": round(seconds[-1], 1)}
                    print(json.dumps({**row, **results[-1]}), file=sys.stderr, flush=True)
            if list(results[0]) != columns:  # a table per kind of run: digits, conditional digits, 2-D points
                columns = list(results[0])
                print(f"\n| preset | budget | epochs | train s | {' | '.join(columns)} |")
                print("|---|---:|---:|---:|" + "---:|" * len(columns))
            cells = mean_cells(results, columns)
            label = f"{preset} {variant}".strip()
            spent = "preset" if args.as_preset else f"{args.steps} steps" if args.steps else f"{budget:.0f} s"
            print(
                f"| {label} | {spent} | {epochs} | {statistics.mean(seconds):.0f} | {' | '.join(cells)} |", flush=True
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
