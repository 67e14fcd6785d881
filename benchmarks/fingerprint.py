"""Fingerprints of training trajectories: a change that claims to alter no number runs this before and after.

Each case trains a preset (or a variant that switches on more of the loop: lazy R1, EMA, schedules, AC-GAN,
evaluation during training) for a few steps from its seed, then hashes what the run recorded: the networks'
weights, the optimiser state, the losses in metrics.jsonl (the wall-clock rate aside) and the last sample
grid. Same code, same machine: same hashes. Image presets whose data is not on hand train on the bundled
digits at their own resolution and channels; the WAV-folder preset trains on generated one-channel sines.

    python -m benchmarks.fingerprint --out fingerprints.json   # then compare two such files with --compare
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file

from gankit import list_presets, load_config, train

SHORT = ["data.max_items=256", "train.batch_size=32", "train.epochs=2", "log.every=2", "log.grid_size=16"]
STAND_IN = {  # data on hand shaped like the preset's own data set (given first: a new data.name resets data)
    "cifar10": ["data.name=mnist5k", "data.resolution=32", "data.channels=3"],
    "celeba": ["data.name=mnist5k", "data.resolution=64", "data.channels=3"],
    "folder": ["data.name=mnist5k", "data.resolution=64", "data.channels=3"],
    "signals": ["data.name=sines", "data.features=1", "data.length=1024"],  # a mono clip in place of WAV files
}
VARIANTS = {
    "dcgan+r1+ema+schedule": [
        "loss.name=hinge", "loss.penalties.r1={weight: 1.0, every: 4}", "optim.ema_decay=0.9",
        "optim.lr_schedule=cosine", "loss.instance_noise=0.1", "model.d_dropout=0.2",
    ],
    "dcgan+acgan+smoothing": ["model.aux_classifier=true", "loss.label_smoothing=0.1", "optim.d_steps=2"],
    "dcgan+eval": ["eval.every=1", "eval.n=200", "log.best_metric=fid200[lenet-mnist]"],
    "vanilla+gradclip+rmsprop": ["model.name=vanilla", "optim.grad_clip=1.0", "optim.name=rmsprop"],
}  # fmt: skip


def cases() -> dict[str, tuple[str, list[str]]]:
    out = {}
    for name, _ in list_presets():
        data = load_config(name).data.name
        out[name] = (name, STAND_IN.get(data, []))
    for name, overrides in VARIANTS.items():
        out[name] = ("mnist-dcgan", overrides)
    return out


def _digest(items) -> str:
    h = hashlib.sha256()
    for key, value in items:
        h.update(key.encode())
        h.update(value if isinstance(value, bytes) else json.dumps(value, sort_keys=True).encode())
    return h.hexdigest()[:16]


def fingerprint(run: Path) -> dict[str, str]:
    tensors = load_file(str(run / "checkpoints" / "final.safetensors"))

    def group(*prefixes: str) -> str:
        keys = sorted(k for k in tensors if k.startswith(prefixes))
        return _digest((k, tensors[k].contiguous().numpy().tobytes()) for k in keys)

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [{k: v for k, v in r.items() if k != "images_per_s"} for r in records]
    last_grid = sorted((run / "samples").glob("*.png"))[-1]
    return {
        "weights": group("G.", "D.", "G_ema."),
        "optimizers": group("opt_"),
        "metrics": _digest([("records", losses)]),
        "grid": _digest([(last_grid.name, last_grid.read_bytes())]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the fingerprints here as JSON")
    parser.add_argument("--compare", nargs=2, metavar="JSON", help="compare two fingerprint files and exit")
    parser.add_argument("--only", nargs="*", help="case names (default: all)")
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's own choice)")
    parser.add_argument(
        "--set", nargs="*", default=[], help="overrides applied to every case, e.g. train.precision=fp32"
    )
    args = parser.parse_args()
    if args.compare:
        a, b = (json.loads(Path(p).read_text()) for p in args.compare)
        both = sorted(a.keys() & b.keys())
        differ = [k for k in both if a[k] != b[k]]
        for name in differ:
            print(f"DIFFERENT {name}: {a[name]} vs {b[name]}")
        print(f"{len(both) - len(differ)} of {len(both)} cases in both files identical")
        raise SystemExit(1 if differ else 0)
    if args.threads:
        torch.set_num_threads(args.threads)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (preset, extra) in cases().items():
            if args.only and name not in args.only:
                continue
            run = train(load_config(preset, overrides=[*extra, *SHORT, *args.set]), out=tmp, name=name, quiet=True)
            results[name] = fingerprint(run)
            print(name, results[name], flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
