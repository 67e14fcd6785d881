"""The `gankit` command: each subcommand parses arguments and calls one API function."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gankit.errors import GankitError


def _summary(run_dir: Path) -> str:
    from gankit.runs.run_dir import RunDir

    run = RunDir(run_dir)
    samples = [p.name for _, p in run.grids()]
    span = f"samples/{samples[0]} .. {samples[-1]}" if len(samples) > 1 else "samples/" + "".join(samples)
    checkpoints = ", ".join(sorted(p.name for p in run.checkpoints.glob("*.safetensors")))
    extra = "".join(f", {path.name}" for path in (run.metrics_plot, run.eval_report) if path.is_file())
    return (
        f"next: gankit sample {run_dir} --n 64 --out {run_dir / 'sample.png'}\n"
        f"run folder: {run_dir}  ({run.config.name}, {span}, {run.losses_plot.name}{extra}, {run.metrics.name}, "
        f"checkpoints/: {checkpoints})"
    )


def cmd_train(args: argparse.Namespace) -> int:
    from gankit.config_files import load_config
    from gankit.errors import ConfigError
    from gankit.runs.run_dir import RunDir
    from gankit.train import resume, train
    from gankit.training.distributed import is_main_process
    from gankit.training.init_from import split_source

    if args.resume:
        if args.set or args.init_from:
            raise ConfigError("--resume continues a run as it was configured: leave out --set and --init-from")
        run_dir = resume(args.resume, quiet=args.quiet)
    else:
        config = load_config(args.preset, args.config, args.set or [])
        if args.init_from:  # absolute in config.yaml, so the run repeats from any folder
            source, checkpoint = split_source(args.init_from)
            config.train.init_from = str(source.resolve()) + (f":{checkpoint}" if checkpoint else "")
        run_dir = train(config, out=args.out, name=args.name or args.preset, quiet=args.quiet)
    if is_main_process() and RunDir(run_dir).finished:
        print(_summary(run_dir))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gankit.report import report

    print(f"wrote {report(args.run_dirs, args.out, args.overwrite)}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from gankit.sample import sample

    if args.interpolate or args.morph:
        return _walk(args)
    path = sample(
        args.run_dir,
        args.n,
        args.out,
        args.seed,
        args.overwrite,
        args.label,
        args.class_grid,
        args.checkpoint,
        args.truncation,
    )
    what = f"a class grid of {args.n} samples per class" if args.class_grid else f"{args.n} samples"
    print(f"wrote {what} to {path}")
    return 0


def _walk(args: argparse.Namespace) -> int:
    from gankit.errors import ConfigError
    from gankit.walks import interpolate

    if args.class_grid:
        raise ConfigError(
            "--class-grid does not apply to --interpolate / --morph (a conditional walk has a row per class)"
        )
    path = interpolate(
        args.run_dir, args.out, args.steps, seeds=args.interpolate, classes=args.morph, seed=args.seed,
        label=args.label, checkpoint=args.checkpoint, truncation=args.truncation, overwrite=args.overwrite,
    )  # fmt: skip
    a, b = args.interpolate or args.morph
    print(f"wrote {args.steps} steps from {'seed' if args.interpolate else 'class'} {a} to {b} to {path}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from gankit.export import generate_dataset

    out = generate_dataset(
        args.run_dir,
        args.n,
        args.out,
        args.seed,
        args.label,
        args.balanced,
        args.truncation,
        args.format,
        args.checkpoint,
    )
    print(f"wrote {args.n} samples to {out} (manifest beside them)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from gankit.onnx_export import export_onnx

    record = export_onnx(args.run_dir, args.onnx, args.checkpoint, args.truncation, args.overwrite)
    inputs = ", ".join(f"{k} {v['dtype']} {v['shape']}" for k, v in record["inputs"].items())
    print(
        f"wrote {args.onnx} (opset {record['opset']}; {inputs} -> images {record['output']['shape']}); "
        f"onnxruntime matches PyTorch to {record['check']['max_abs_difference']:.1e}"
    )
    return 0


def cmd_invert(args: argparse.Namespace) -> int:
    from gankit.invert import invert_files

    options = {"space": args.space, "label": args.label, "steps": args.steps, "seed": args.seed}
    options |= {"feature_weight": args.feature_weight, "extractor": args.extractor}
    report = invert_files(args.run_dir, args.images, args.out, args.checkpoint, **options)
    nearest = report.get("mean_nearest_train_mse")
    scale = "" if nearest is None else f"; their nearest training items: {nearest:.4f}"
    print(
        f"wrote {len(report['images'])} inversions ({report['space']}) to {args.out}: "
        f"mean pixel MSE {report['mean_mse']:.4f}{scale} (inversion.json)"
    )
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from gankit.audit import audit

    report = audit(args.run_dir, args.n, args.holdout, args.seed, args.checkpoint, args.extractor, args.quantile)
    print(f"{report['verdict']}")
    print(f"yardstick: {report['yardstick']}; wrote audit.json and audit.png (closest pairs) in {args.run_dir}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    import time

    import yaml

    from gankit.data import Storage, build_dataset
    from gankit.errors import ConfigError

    name, _, root = args.source.partition("=")
    options = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set takes KEY=VALUE, got {item!r}")
        options[key] = yaml.safe_load(value)
    storage = Storage(cache=True, cache_dir=args.out, skip_unreadable=args.skip_unreadable, in_memory=False)
    started = time.perf_counter()
    data = build_dataset(name, root or None, args.split, args.resolution, args.channels, storage=storage, **options)
    shape = "x".join(map(str, data.shape))
    where = f"; runs read it with --set data.cache_dir={args.out}" if args.out else ""
    print(
        f"prepared {len(data)} images of {shape} in {data.x.path.parent} ({time.perf_counter() - started:.1f} s){where}"
    )
    return 0


def cmd_utility(args: argparse.Namespace) -> int:
    from gankit.errors import ConfigError
    from gankit.utility import utility

    def numbers(text: str, name: str) -> tuple[float, ...]:
        try:
            return tuple(float(v) for v in text.split(","))
        except ValueError:
            raise ConfigError(f"{name} must be a comma list of numbers, got {text!r}") from None

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    report = utility(
        args.real,
        args.test,
        args.out,
        synthetic=args.synthetic,
        train_gan=args.train_gan,
        budget_steps=None if args.budget_epochs else args.budget_steps,
        budget_epochs=args.budget_epochs,
        fractions=numbers(args.fractions, "--fractions"),
        ratios=numbers(args.ratios, "--ratios"),
        seeds=tuple(range(args.seeds)),
        steps=args.steps,
        rare=args.rare,
    )
    if args.rare:
        keys = [k for k in next(iter(report["rows"].values())) if k.startswith(("f1[", "balanced"))]
        print(f"{'training set':<18} " + " ".join(f"{k:>17}" for k in keys))
        for name, row in report["rows"].items():
            print(f"{name:<18} " + " ".join(f"{row[k]['mean']:>17.4f}" for k in keys))
        print(f"wrote {Path(args.out) / 'utility.json'}")
        return 0
    for name, by_fraction in report["accuracy"].items():
        cells = ", ".join(f"{f}: {v['mean']:.4f}" for f, v in by_fraction.items())
        print(f"{name:<24} {cells}")
    print(f"wrote {Path(args.out) / 'utility.json'} and utility.png")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from gankit.evaluate import evaluate, report_path
    from gankit.runs.run_dir import RunDir

    report = evaluate(
        args.run_dir, args.n, args.split, args.extractor, args.seed, args.checkpoint, args.repeats,
        truncation=args.truncation,
    )  # fmt: skip
    print(f"reference: {report['reference']}; {report['samples']} samples; extractor {report['extractor']['name']}")
    for key, value in report["metrics"].items():
        print(f"{key:<36} {value:.4f}" if isinstance(value, float) else f"{key:<36} {value}")
    print(f"wrote {report_path(RunDir(args.run_dir), args.truncation)}")
    return 0


def cmd_evaluator_train(args: argparse.Namespace) -> int:
    from gankit.metrics.extractors import train_evaluator

    path = train_evaluator(args.name, args.out, args.dataset, args.root, args.test_dataset, args.test_root, args.epochs)
    print(f"wrote {path} and {path.with_suffix('.safetensors').name}; use it with: gankit eval RUN --extractor {path}")
    return 0


def cmd_evaluator_import_inception(args: argparse.Namespace) -> int:
    from gankit.metrics.inception import import_inception

    record = import_inception(args.weights, args.out)
    print(
        f"wrote {record} and {record.with_suffix('.safetensors').name}; use it with: gankit eval RUN --extractor inception"
    )
    return 0


def _table(rows: list[tuple[str, str]]) -> int:
    width = max(len(name) for name, _ in rows)
    for name, text in rows:
        print(f"{name:<{width}}  {text}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    import gankit

    listing = {
        "presets": gankit.list_presets,
        "datasets": gankit.list_datasets,
        "models": gankit.list_models,
        "losses": gankit.list_losses,
        "penalties": gankit.list_penalties,
        "extractors": gankit.list_extractors,
        "augments": gankit.list_augments,
    }
    return _table(listing[args.command]())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gankit", description="Train, sample and inspect GANs.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", help="train a GAN (default: the mnist-dcgan-cond preset on the bundled digits)")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--preset", help="packaged preset name (see `gankit presets`); default mnist-dcgan-cond")
    source.add_argument("--config", help="a YAML config file, e.g. the config.yaml of an earlier run")
    source.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its newest checkpoint")
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
