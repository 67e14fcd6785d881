"""Transfer to a few images: a GAN pretrained on digits 0-4, fine-tuned on SHOTS images of each of 5-9, against the
same GAN trained from scratch on those images for the same steps (and fine-tuned with FreezeD).

Per seed: one pretraining run of `--preset` on the bundled digits 0-4 (its own epochs); then for each of
`--shots` (images per class of 5-9, a seeded subset) three runs of `--steps` steps at batch `--batch`: scratch,
fine-tune (`train.init_from`), fine-tune + FreezeD (`optim.freeze_d`). Each final (EMA) G is judged on `--n`
samples by lenet-mnist: fid against all 2,500 bundled digits of 5-9 (fid) and, with `--test`, against the
held-out MNIST test digits of 5-9 (fid_test); confident (p > 0.9); target (share read as one of 5-9);
recall.

    python -m benchmarks.finetune --seeds 0 1 2 --shots 10 50 --test ../shared/data/mnist

Results go to docs/quality.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.quality import judge, mean_cells, stop_if_unfinished
from gankit import build_dataset, load_config, load_run, train
from gankit.metrics.extractors import load_extractor
from gankit.sample import generate

SOURCE, TARGET = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]


def classes(values: list[int]) -> str:
    return "[" + ",".join(map(str, values)) + "]"


def quiet_train(preset: str, overrides: list[str], out: str) -> Path:
    with contextlib.redirect_stdout(io.StringIO()):
        run = train(load_config(preset, overrides=overrides), out=out, quiet=True)
    stop_if_unfinished(run)
    return run


def target_share(run: Path, n: int) -> float:
    probs = load_extractor("lenet-mnist").run(generate(load_run(run), n, seed=0))[1]
    return torch.isin(probs.argmax(1), torch.tensor(TARGET)).float().mean().item()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-dcgan")
    parser.add_argument("--pretrain-epochs", type=int, help="epochs of the pretraining on 0-4 (default: the preset's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--shots", type=int, nargs="+", default=[10, 50], help="images per class of 5-9")
    parser.add_argument("--steps", type=int, default=2000, help="steps of every run on 5-9")
    parser.add_argument("--batch", type=int, default=25, help="batch of the runs on 5-9 (<= 5 x shots)")
    parser.add_argument("--freeze", type=int, default=1, help="FreezeD: D's first blocks frozen")
    parser.add_argument("--n", type=int, default=5000, help="samples judged per run")
    parser.add_argument("--test", help="folder of the MNIST IDX files: also the fid against their test 5-9")
    args = parser.parse_args(argv)
    test = None
    if args.test:
        test = build_dataset("mnist", root=args.test, split="test", classes=TARGET).x
    arms = {"scratch": [], "fine-tune": ["init"], f"fine-tune + FreezeD {args.freeze}": ["init", "freeze"]}
    results: dict[tuple[int, str], list[dict]] = {}
    with tempfile.TemporaryDirectory() as out:
        for seed in args.seeds:
            started = time.perf_counter()
            pretrain = [f"data.classes={classes(SOURCE)}", f"train.seed={seed}"]
            if args.pretrain_epochs:
                pretrain.append(f"train.epochs={args.pretrain_epochs}")
            source = quiet_train(args.preset, pretrain, out)
            print(json.dumps({"seed": seed, "pretrain_s": round(time.perf_counter() - started)}), file=sys.stderr)
            for shots, (arm, parts) in ((s, a) for s in args.shots for a in arms.items()):
                per_epoch = 5 * shots // args.batch
                epochs = max(1, round(args.steps / per_epoch))
                overrides = [
                    f"data.classes={classes(TARGET)}", f"data.per_class={shots}", f"train.batch_size={args.batch}",
                    f"train.epochs={epochs}", f"train.seed={seed}", f"log.sample_every={epochs}",
                    f"log.checkpoint_every={epochs}",
                ]  # fmt: skip
                if "init" in parts:
                    overrides.append(f"train.init_from={source}")
                if "freeze" in parts:
                    overrides.append(f"optim.freeze_d={args.freeze}")
                started = time.perf_counter()
                run = quiet_train(args.preset, overrides, out)
                row = judge(run, load_config(config_file=run / "config.yaml"), args.n, test=test)
                row = {k: row[k] for k in ("confident", "fid", "recall", *(["fid_test"] if test is not None else []))}
                row["target"] = target_share(run, args.n)
                results.setdefault((shots, arm), []).append(row)
                info = {"seed": seed, "shots": shots, "arm": arm, "steps": epochs * per_epoch}
                info["train_s"] = round(time.perf_counter() - started)
                print(json.dumps({**info, **row}), file=sys.stderr, flush=True)
    columns = list(next(iter(results.values()))[0])
    print(f"\n| images of each of 5-9 | start | {' | '.join(columns)} |")
    print("|---:|---|" + "---:|" * len(columns))
    for (shots, arm), rows in results.items():
        print(f"| {shots} | {arm} | {' | '.join(mean_cells(rows, columns))} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
