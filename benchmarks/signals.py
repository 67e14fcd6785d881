"""Signal presets by TimeGAN's protocol: each preset trained from several seeds, timed, and judged by `gankit eval`
(discriminative and predictive scores over repeats; TSTR for conditional runs). One markdown table, one JSON.

    python -m benchmarks.signals --presets sines-wgan-gp --seeds 0 1 2 --out docs/signals/sines.json

Run it alone: the training times are the budget it reports.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import tempfile
import time
from pathlib import Path

from gankit import evaluate, load_config, train
from gankit.metrics.signals import CONDITIONAL_SCORES, SCORES

COLUMNS = (*SCORES, *CONDITIONAL_SCORES)


def run_one(preset: str, seed: int, overrides: list[str], repeats: int, out: str, quick: bool) -> dict:
    config = load_config(preset, overrides=[*overrides, f"train.seed={seed}"])
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        run = train(config, out=out, quiet=True)
    seconds = time.perf_counter() - started
    metrics = evaluate(run, n=10_000, seed=seed, repeats=repeats, quick=quick)["metrics"]
    return {
        "preset": preset,
        "seed": seed,
        "train_seconds": round(seconds, 1),
        "epochs": config.train.epochs,
        **metrics,
    }


def summary(rows: list[dict]) -> list[str]:
    present = [c for c in COLUMNS if c in rows[0]]
    lines = ["| preset | epochs | train s | " + " | ".join(present) + " |", "|" + "---|" * (len(present) + 3)]
    by_preset: dict[str, list[dict]] = {}
    for row in rows:
        by_preset.setdefault(row["preset"], []).append(row)
    for preset, group in by_preset.items():
        cells = []
        for column in present:
            values = [r[column] for r in group]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.fmean(values):.4f} +- {spread:.4f}")
        seconds = statistics.fmean(r["train_seconds"] for r in group)
        lines.append(f"| {preset} | {group[0]['epochs']} | {seconds:.0f} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["sines-wgan-gp"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the post-hoc scores per run")
    parser.add_argument("--set", nargs="*", default=[], help="overrides for every run")
    parser.add_argument("--quick", action="store_true", help="a tenth of the GRU scores' steps (long series)")
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for preset in args.presets:
            for seed in args.seeds:
                rows.append(run_one(preset, seed, args.set, args.repeats, work, args.quick))
                print(json.dumps(rows[-1]), flush=True)
    print("\n".join(summary(rows)))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"overrides": args.set, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
