"""Sample quality at an equal CPU budget: presets trained for the same wall time, several seeds, one table.

Each preset's images/s is measured first (steps driven by hand after a warm-up, as benchmarks/speed.py does);
then it trains for the number of epochs that budget buys, from each seed, and its final (EMA) generator is
judged on `--n` samples with the packaged lenet-mnist extractor:

    confident   share of samples the classifier gives one class with probability > 0.9 (real digits: 0.913)
    min class   the smallest share of the ten predicted classes (0.10 when balanced)
    fid, precision, recall   fid5k[lenet-mnist] etc. against the data set the run trained on

    python -m benchmarks.quality --presets mnist-dcgan mnist-stylegan2 --budgets 60 180 --seeds 0 1 2

Run it alone: the rates, and so the epochs, assume nothing else is running. Results go to docs/quality.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from gankit import evaluate, load_config, load_run, train
from gankit.metrics.extractors import load_extractor
from gankit.sample import generate
from gankit.training.builder import new_trainer


def images_per_second(preset: str, overrides: list[str], steps: int = 40, warmup: int = 10) -> float:
    with tempfile.TemporaryDirectory() as out:
        trainer = new_trainer(load_config(preset, overrides=overrides), out)
        batches = trainer.sampler.endless()
        for _ in range(warmup):
            trainer.train_step(*next(batches))
            trainer.step += 1
        started = time.perf_counter()
        for _ in range(steps):
            trainer.train_step(*next(batches))
            trainer.step += 1
        trainer.stats.flush()
        return steps * trainer.sampler.batch_size / (time.perf_counter() - started)


def judge(run, n: int, seed: int = 0) -> dict[str, float]:
    """confident / min class share from lenet-mnist's probabilities, and fid / precision / recall."""
    images = generate(load_run(run), n, seed=seed)
    _, probs = load_extractor("lenet-mnist").run(images)
    shares = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).double() / n
    report = evaluate(run, n=n, split="train", seed=seed)["metrics"]
    tag = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    return {
        "confident": (probs.max(1).values > 0.9).float().mean().item(),
        "min_class": shares.min().item(),
        "fid": report[f"fid{tag}[lenet-mnist]"],
        "precision": report[f"precision{tag}[lenet-mnist]"],
        "recall": report[f"recall{tag}[lenet-mnist]"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["mnist-dcgan", "mnist-stylegan2"])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0], help="training seconds per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=5000, help="samples judged per run")
    parser.add_argument("--set", nargs="*", default=[], help="overrides for every run, e.g. data.max_items=500")
    args = parser.parse_args(argv)
    columns = ["confident", "min_class", "fid", "precision", "recall"]
    print(f"| preset | budget | epochs | train s | {' | '.join(columns)} |")
    print("|---|---:|---:|---:|" + "---:|" * len(columns))
    for preset in args.presets:
        rate = images_per_second(preset, args.set)
        size = len(new_trainer(load_config(preset, overrides=args.set), tempfile.mkdtemp()).sampler.x)
        for budget in args.budgets:
            epochs = max(1, round(budget * rate / size))
            results, seconds = [], []
            for seed in args.seeds:
                with tempfile.TemporaryDirectory() as out:
                    overrides = [*args.set, f"train.epochs={epochs}", f"train.seed={seed}"]
                    started = time.perf_counter()
                    run = train(load_config(preset, overrides=overrides), out=out, quiet=True)
                    seconds.append(time.perf_counter() - started)
                    results.append(judge(run, args.n))
            cells = []
            for key in columns:
                values = [r[key] for r in results]
                spread = f" +- {statistics.stdev(values):.3f}" if len(values) > 1 else ""
                cells.append(f"{statistics.mean(values):.3f}{spread}")
            print(
                f"| {preset} | {budget:.0f} s | {epochs} | {statistics.mean(seconds):.0f} | {' | '.join(cells)} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
