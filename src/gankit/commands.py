"""What each `gankit` subcommand does: a thin wrapper over one API function, fed by cli.py's parser."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


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
    from gankit.training.continue_from import source_checkpoint
    from gankit.training.distributed import is_main_process
    from gankit.training.init_from import split_source

    if args.resume:
        if args.set or args.init_from:
            raise ConfigError("--resume continues a run as it was configured: leave out --set and --init-from")
        run_dir = resume(args.resume, quiet=args.quiet)
    elif args.continue_from:
        if args.init_from:
            raise ConfigError("--continue-from starts from a run's whole training state: leave out --init-from")
        source, record = source_checkpoint(args.continue_from)
        config = load_config(config_file=source.config, overrides=args.set or [])
        config.train.continue_from = f"{source.path.resolve()}:{record.stem}"  # absolute: repeats from anywhere
        name = args.name or source.path.name.split("-", 1)[-1]
        run_dir = train(config, out=args.out, name=name, quiet=args.quiet)
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
    from gankit.utility.units import STUDY, UNITS

    def numbers(text: str, name: str) -> tuple[float, ...]:
        try:
            return tuple(float(v) for v in text.split(","))
        except ValueError:
            raise ConfigError(f"{name} must be a comma list of numbers, got {text!r}") from None

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    try:
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
            resume=args.resume,
        )
    except KeyboardInterrupt:
        if (Path(args.out) / STUDY).is_file():
            print(
                f"gankit: {Path(args.out) / UNITS} keeps the finished units; continue with the same command and --resume",
                file=sys.stderr,
            )
        raise
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
