"""Where a StackedMNIST run's KL comes from: each channel's own digit shares, and the rest.

Each channel of `--n` samples is read by lenet-mnist (trained on the 5,000 bundled digits). The KL of the 1,000-mode
histogram from uniform splits into the three channels' own (marginal) KLs over 10 digits and the rest, the
dependence between channels plus the finite-sample floor (about 999 / (2 n) for uniform stacks). With `--second`,
a second LeNet (another seed) is trained on that folder's MNIST test digits, writers lenet-mnist never saw, and
reads the same channels: if both judges see the same digit shares, the imbalance is G's, not a judge's habit.

    python -m benchmarks.stack_channels RUN [RUN ...] --second ../shared/data/mnist [--checkpoint step_00010934]

Results go to docs/r3gan.md.
"""

from __future__ import annotations

import argparse

import torch

from gankit import build_dataset, load_run
from gankit.metrics.classes import kl_from_uniform, label_shares
from gankit.metrics.classifier import predict, train_classifier
from gankit.metrics.extractors import load_extractor
from gankit.sample import generate


def shares(labels: torch.Tensor) -> str:
    return " ".join(f"{v:.3f}" for v in label_shares(labels, 10).tolist())


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--checkpoint", help="this checkpoint of each run instead of its final one")
    parser.add_argument("--n", type=int, default=26000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--second", metavar="ROOT", help="folder of the MNIST test IDX files: train a second judge")
    args = parser.parse_args(argv)

    lenet = load_extractor("lenet-mnist")
    judges = {"lenet-mnist": lambda x: lenet.run(x)[1]}
    if args.second:
        second = train_classifier(build_dataset("mnist", root=args.second, split="test"), seed=1)
        bundled = build_dataset("mnist5k")
        judges["second"] = lambda x: predict(second, x)
        with torch.no_grad():
            accuracy = (predict(second, bundled.x).argmax(1) == bundled.labels).double().mean().item()
        print(f"second judge: LeNet on the {args.second} test digits, accuracy {accuracy:.4f} on the bundled digits")
    print("digit shares 0 ... 9 per channel; 'both sure': channels both judges read as one digit at p > 0.9")
    rows = []
    for run in args.runs:
        x = generate(load_run(run, args.checkpoint), args.n, seed=args.seed)
        with torch.no_grad():
            reads = {name: [judge(x[:, i : i + 1]) for i in range(x.shape[1])] for name, judge in judges.items()}
        digits = torch.stack([p.argmax(1) for p in reads["lenet-mnist"]], 1)
        joint = kl_from_uniform(label_shares(digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2], 1000))
        own = [kl_from_uniform(label_shares(digits[:, i], 10)) for i in range(digits.shape[1])]
        rows.append({"run": str(run), "kl": joint, "own": own, "rest": joint - sum(own)})
        print(
            f"{run}: kl {joint:.4f} = channels' own {' + '.join(f'{k:.4f}' for k in own)} + rest {joint - sum(own):.4f}"
        )
        for i in range(digits.shape[1]):
            for name, probs in reads.items():
                print(f"  channel {i} {name:<12} {shares(probs[i].argmax(1))}")
            if "second" in reads:
                a, b = reads["lenet-mnist"][i], reads["second"][i]
                sure = (a.max(1).values > 0.9) & (b.max(1).values > 0.9) & (a.argmax(1) == b.argmax(1))
                agree = (a.argmax(1) == b.argmax(1)).double().mean().item()
                print(f"  channel {i} {'both sure':<12} {shares(a.argmax(1)[sure])}  ({sure.double().mean():.3f} of "
                      f"samples; the judges agree on {agree:.3f})")  # fmt: skip
    return rows


if __name__ == "__main__":
    main()
