"""The `gankit` command line: its arguments and entry point; what each subcommand does is in commands.py."""

from __future__ import annotations

import argparse
import sys

from gankit.commands import (
    cmd_audit,
    cmd_eval,
    cmd_evaluator_import_inception,
    cmd_evaluator_train,
    cmd_export,
    cmd_generate,
    cmd_invert,
    cmd_list,
    cmd_prepare,
    cmd_report,
    cmd_sample,
    cmd_train,
    cmd_utility,
)
from gankit.errors import GankitError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="Train, sample and inspect GANs.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train a GAN (default: the mnist-dcgan-cond preset on the bundled digits)")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--preset", help="packaged preset name (see `gankit presets`); default mnist-dcgan-cond")
    source.add_argument("--config", help="a YAML config file, e.g. the config.yaml of an earlier run")
    source.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its newest checkpoint")
    source.add_argument(
        "--continue-from",
        metavar="RUN[:CHECKPOINT]",
        help="a new run in that run's whole training state, e.g. with --set train.epochs=N (default: final)",
    )
    train.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a field, e.g. train.epochs=5 or optim.lr_g=1e-4"
    )
    train.add_argument(
        "--init-from",
        metavar="RUN[:CHECKPOINT]",
        help="start G, D and the EMA from a trained run (fine-tuning; default checkpoint: final, else newest)",
    )
    train.add_argument("--out", default="runs", help="parent folder for the numbered run folder (default: runs)")
    train.add_argument("--name", help="run folder name after its number (default: the preset or data-model)")
    train.add_argument("--quiet", action="store_true", help="no progress bar; one log line per epoch")
    train.set_defaults(func=cmd_train)

    smp = sub.add_parser("sample", help="generate images from a trained run")
    smp.add_argument("run_dir", help="a run folder made by `gankit train`")
    smp.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    smp.add_argument("--out", required=True, help="FILE.png: one grid; FILE.npy: (N, C, H, W) in [-1, 1]; DIR: N PNGs")
    smp.add_argument("--seed", type=int, default=0, help="seed of the latent noise (default 0)")
    smp.add_argument("--overwrite", action="store_true", help="replace an existing output")
    smp.add_argument("--checkpoint", help="which checkpoint, e.g. best or step_00000780 (default: final, else newest)")
    smp.add_argument(
        "--truncation", type=float, metavar="PSI", help="style-based runs: pull w toward its average (0..1, e.g. 0.7)"
    )
    which = smp.add_mutually_exclusive_group()
    which.add_argument("--class", dest="label", type=int, help="conditional runs: generate this class only")
    which.add_argument("--class-grid", action="store_true", help="conditional runs: one row of --n samples per class")
    walks = smp.add_mutually_exclusive_group()
    walks.add_argument(
        "--interpolate",
        nargs=2,
        type=int,
        metavar=("SEED_A", "SEED_B"),
        help="a latent walk from seed A's latent to seed B's (slerp in z, lerp in w); --out FILE.png or FILE.gif",
    )
    walks.add_argument(
        "--morph",
        nargs=2,
        type=int,
        metavar=("CLASS_A", "CLASS_B"),
        help="conditional runs: the latent of --seed drawn as class A, then more and more as class B",
    )
    smp.add_argument("--steps", type=int, default=8, help="--interpolate / --morph: frames from A to B (default 8)")
    smp.set_defaults(func=cmd_sample)

    gen = sub.add_parser("generate", help="export a labelled synthetic data set from a run (PNG folders or .npz)")
    gen.add_argument("run_dir", help="a run folder made by `gankit train`")
    gen.add_argument("--n", type=int, required=True, help="how many samples")
    gen.add_argument("--out", required=True, help="DIR (PNGs, one sub-folder per class) or FILE.npz")
    gen.add_argument("--format", choices=["png", "npz"], help="default: npz for FILE.npz, else png")
    gen.add_argument("--seed", type=int, default=0, help="seed of the latents (default 0)")
    gen.add_argument("--truncation", type=float, metavar="PSI", help="style-based runs: truncation psi in [0, 1]")
    gen.add_argument("--checkpoint", help="which checkpoint (default: final, else newest)")
    classes = gen.add_mutually_exclusive_group()
    classes.add_argument("--class", dest="label", type=int, help="conditional runs: this class only")
    classes.add_argument("--balanced", action="store_true", help="conditional runs: the same count of every class")
    gen.set_defaults(func=cmd_generate)

    ex = sub.add_parser("export", help="the generator as an ONNX graph, checked in onnxruntime against PyTorch")
    ex.add_argument("run_dir", help="a run folder made by `gankit train`")
    ex.add_argument("--onnx", required=True, metavar="FILE.onnx", help="the graph to write (FILE.onnx.json beside it)")
    ex.add_argument("--checkpoint", help="which checkpoint (default: final, else newest)")
    ex.add_argument("--truncation", type=float, metavar="PSI", help="style-based runs: bake truncation psi in")
    ex.add_argument("--overwrite", action="store_true", help="replace an existing FILE.onnx")
    ex.set_defaults(func=cmd_export)

    inv = sub.add_parser("invert", help="find the latents from which a run draws given images (GAN inversion)")
    inv.add_argument("run_dir", help="a run folder made by `gankit train`")
    inv.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders of them")
    inv.add_argument("--out", required=True, help="a new folder: latents.npy, ORIGINAL|FIT PNGs, inversion.json")
    inv.add_argument("--space", choices=["z", "w", "w+"], help="latent to fit (default: w for style-based G, else z)")
    inv.add_argument("--class", dest="label", type=int, help="conditional runs: fit in this class (default: try all)")
    inv.add_argument("--steps", type=int, default=300, help="Adam steps on the latents (default 300)")
    inv.add_argument("--feature-weight", type=float, default=1.0, help="weight of the feature loss (0: pixels only)")
    inv.add_argument("--extractor", help="features of the loss (default lenet-mnist, if it takes the run's images)")
    inv.add_argument("--seed", type=int, default=0, help="seed of the random starts (default 0)")
    inv.add_argument("--checkpoint", help="which checkpoint (default: final, else newest)")
    inv.set_defaults(func=cmd_invert)

    aud = sub.add_parser("audit", help="are a run's samples near-copies of its training items? (distance to closest)")
    aud.add_argument("run_dir", help="a run folder made by `gankit train`")
    aud.add_argument("--n", type=int, default=2000, help="samples audited (default 2000)")
    aud.add_argument("--holdout", metavar="NAME=ROOT", help="held-out real items (its test split), e.g. mnist=~/MNIST")
    aud.add_argument("--quantile", type=float, default=0.05, help="q of the held-out distances (default 0.05)")
    aud.add_argument("--extractor", help="feature space besides pixels (default: the run's eval.extractor)")
    aud.add_argument("--seed", type=int, default=0, help="seed of the samples (default 0)")
    aud.add_argument("--checkpoint", help="which checkpoint (default: final, else newest)")
    aud.set_defaults(func=cmd_audit)

    prep = sub.add_parser("prepare", help="decode an image data set once into a cache that runs open in a moment")
    prep.add_argument("source", metavar="NAME=ROOT", help="a data set and its data.root, e.g. folder=~/faces")
    prep.add_argument("--resolution", type=int, help="data.resolution of the runs that will read it")
    prep.add_argument("--channels", type=int, choices=[1, 3], help="data.channels of those runs")
    prep.add_argument("--split", default="train", help="data.split (default train)")
    prep.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="the data set's own options, e.g. attribute=Smiling"
    )
    prep.add_argument("--out", help="the cache folder (default: $GANKIT_CACHE, else ~/.cache/gankit/data)")
    prep.add_argument("--skip-unreadable", action="store_true", help="leave out files that cannot be decoded (listed)")
    prep.set_defaults(func=cmd_prepare)

    ut = sub.add_parser("utility", help="does synthetic data help a classifier? accuracy with 95%% intervals")
    ut.add_argument(
        "--real", required=True, help="labelled training data: a name (mnist5k), NAME=ROOT, a folder or .npz"
    )
    ut.add_argument("--test", required=True, help="labelled test data, as --real (its test split), e.g. mnist=~/MNIST")
    source = ut.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", help="a conditional run folder, or a set exported by `gankit generate`")
    source.add_argument("--train-gan", metavar="PRESET", help="train a conditional GAN on each real subset")
    ut.add_argument("--budget-steps", type=int, default=3000, help="with --train-gan: steps of each GAN (3000)")
    ut.add_argument("--budget-epochs", type=int, help="with --train-gan: passes over each subset instead")
    ut.add_argument("--fractions", default="0.01,0.02,0.1,1.0", help="fractions of the real set (0.01,0.02,0.1,1.0)")
    ut.add_argument("--ratios", default="0,1,4", help="synthetic samples per real one added (0,1,4)")
    ut.add_argument("--seeds", type=int, default=3, help="repeats, each with its own subset and seed (3)")
    ut.add_argument("--steps", type=int, default=2000, help="training steps of each classifier (2000)")
    ut.add_argument(
        "--rare",
        action="append",
        metavar="CLASS=COUNT",
        help="make a class rare (repeatable): cGAN against oversampling and SMOTE instead of the fractions",
    )
    ut.add_argument("--out", default="utility", help="a new or empty folder for utility.json and utility.png")
    ut.add_argument("--resume", action="store_true", help="continue the stopped study in --out (same options)")
    ut.set_defaults(func=cmd_utility)

    rep = sub.add_parser("report", help="one self-contained HTML page of one or more runs (compares several)")
    rep.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders made by `gankit train`")
    rep.add_argument("--out", default="report.html", help="the HTML file to write (default: report.html)")
    rep.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    rep.set_defaults(func=cmd_report)

    ev = sub.add_parser("eval", help="judge a run: FID, KID, precision/recall, coverage, class metrics")
    ev.add_argument("run_dir", help="a run folder made by `gankit train`")
    ev.add_argument("--n", type=int, default=10000, help="generated samples (and at most this many real ones)")
    ev.add_argument("--split", choices=["train", "test"], help="real reference split (default: test if it exists)")
    ev.add_argument(
        "--extractor",
        help="lenet-mnist, lenet-mnist-stacked, inception (imported weights), or your evaluator's .json "
        "(default: the run's data set's own judge, lenet-mnist for most)",
    )
    ev.add_argument("--seed", type=int, default=0, help="seed of the latents and the real subset (default 0)")
    ev.add_argument("--checkpoint", help="which checkpoint (default: final, else newest)")
    ev.add_argument("--repeats", type=int, default=3, help="signal runs: repeats of the post-hoc GRU scores (3)")
    ev.add_argument(
        "--truncation", type=float, metavar="PSI",
        help="style-based G: judge samples at truncation psi in [0, 1] (into eval_psiPSI.json, beside eval.json)",
    )  # fmt: skip
    ev.set_defaults(func=cmd_eval)

    evaluator = sub.add_parser("evaluator", help="train the domain classifier behind the metrics")
    evsub = evaluator.add_subparsers(dest="evaluator_command", metavar="COMMAND", required=True)
    et = evsub.add_parser("train", help="fit a LeNet to a labelled data set and save it for gankit eval")
    et.add_argument("--name", default="lenet-mnist", help="the extractor's name in metric names")
    et.add_argument("--dataset", default="mnist5k", help="a labelled data set (gankit datasets)")
    et.add_argument("--root", help="its data.root")
    et.add_argument("--test-dataset", help="data set whose test split measures the accuracy written to the .json")
    et.add_argument("--test-root", help="its data.root")
    et.add_argument("--epochs", type=int, default=8)
    et.add_argument("--out", default="evaluators", help="folder for NAME.safetensors and NAME.json")
    et.set_defaults(func=cmd_evaluator_train)
    ei = evsub.add_parser("import-inception", help="convert the FID Inception-v3 weights you have, once")
    ei.add_argument("weights", help="pt_inception-2015-12-05-6726825d.pth (a PyTorch state dict; never downloaded)")
    ei.add_argument(
        "--out",
        help="folder for inception.{safetensors,json} (default $GANKIT_EXTRACTORS, else ~/.cache/gankit/extractors, "
        "where `--extractor inception` looks)",
    )
    ei.set_defaults(func=cmd_evaluator_import_inception)

    for name, text in (
        ("presets", "list packaged presets"),
        ("datasets", "list data sets"),
        ("models", "list model families"),
        ("losses", "list adversarial losses"),
        ("penalties", "list penalties (loss.penalties)"),
        ("extractors", "list feature extractors (eval.extractor, gankit eval --extractor)"),
        ("augments", "list differentiable augmentations (augment.name)"),
    ):
        sub.add_parser(name, help=text, description=text).set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # plain `gankit train` is the one-command path; bare `gankit` shows help
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except GankitError as err:
        if args.debug:
            raise
        print(f"gankit: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
