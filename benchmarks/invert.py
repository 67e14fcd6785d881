"""What a trained generator can draw: held-out real digits inverted, their reconstruction error against the
error of their nearest training digit.

For each run (and latent space), `--n` digits of the MNIST test set (never trained on) are inverted with
`gankit.invert` and judged in pixels ([0, 1] units): mean MSE of the reconstructions, the mean MSE of each
digit to its nearest training digit (what a lookup table of the training set would reach), and the share of
digits the model reconstructs closer than that lookup; plus the share whose reconstruction lenet-mnist reads as
the digit's true class.

    python -m benchmarks.invert --mnist ../shared/data/mnist --runs RUN[=SPACE] ... --n 100

Results go to docs/quality.md.
"""

from __future__ import annotations

import argparse
import time

from gankit import build_dataset, load_config, load_run
from gankit.data import build_data, to_model_range
from gankit.invert import invert, nearest_mse
from gankit.metrics.extractors import load_extractor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", required=True, help="folder of the MNIST IDX files (its test split is used)")
    parser.add_argument("--runs", nargs="+", required=True, help="RUN or RUN=SPACE (z, w, w+)")
    parser.add_argument("--n", type=int, default=100, help="held-out digits inverted")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    lenet = load_extractor("lenet-mnist")
    print("| run | space | digits | mse | nearest training digit's mse | closer than it | read as its class | s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for item in args.runs:
        path, _, space = item.partition("=")
        loaded = load_run(path)
        size = loaded.shape[1]
        test = build_dataset("mnist", root=args.mnist, split="test", resolution=size, max_items=args.n, seed=1)
        targets = to_model_range(test.x)
        train = build_data(load_config(config_file=loaded.run_dir / "config.yaml").data, seed=0).x
        nearest = nearest_mse(targets, train)
        started = time.perf_counter()
        result = invert(loaded, targets, space=space or None, steps=args.steps)
        seconds = time.perf_counter() - started
        read = (lenet.run(result.images)[1].argmax(1) == test.labels).float().mean().item()
        closer = (result.mse < nearest).float().mean().item()
        name = load_config(config_file=loaded.run_dir / "config.yaml").description.split(" on ")[0][:40]
        print(
            f"| {loaded.run_dir.name} ({name}) | {result.space} | {len(targets)} | {result.mse.mean():.4f} | "
            f"{nearest.mean():.4f} | {closer:.2f} | {read:.2f} | {seconds:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
