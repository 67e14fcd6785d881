"""Training speed: gankit's loop against the tutorial loop, against the machine's ceiling, lever by lever.

    python -m benchmarks.speed                       # everything below, as markdown (about 20 minutes on 2 cores)
    python -m benchmarks.speed --sections compare --presets mnist-dcgan --batches 64

Sections: `ceiling` (GEMM GFLOP/s of the machine), `compare` (images/s of gankit with each preset's
shipped settings and of the tutorial loop, same networks and batch, their ratio, the step's FLOPs and
its share of the GEMM peak and of its own layers' ceiling), `levers` (each speed lever alone against
the loop with all of them off, at batch 64), `allocator` (a step with glibc's default malloc against gankit's
setting, in fresh processes) and `memory` (peak RSS of a training process per preset).

Every rate is real images per second through full D+G iterations, after warm-up, the median of
`--repeats` measurements of about `--seconds` each; the loops alternate, since whichever runs second
gains from the first's warm caches. Data is synthetic uint8 of each preset's image shape. Run it
alone: another busy process skews every number.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial

import torch

from benchmarks.allocator import step_cost
from benchmarks.ceiling import gemm_gflops, gemm_size, layer_calls, layer_ceiling, step_flops, sync
from benchmarks.memory import peak_rss_mib
from benchmarks.reference import reference_rate, synthetic
from gankit import load_config
from gankit.training import optim
from gankit.training.builder import new_trainer
from gankit.training.device import keep_freed_host_memory, resolve_device

DEVICE = resolve_device("auto")

PRESETS = {
    "mnist-vanilla": (1, 28, 28),
    "mnist-dcgan": (1, 28, 28),
    "cifar10-dcgan": (3, 32, 32),
    "mnist-wgan-gp-paper": (1, 28, 28),
    "celeba-dcgan": (3, 64, 64),  # on request (--presets): the largest images we ship a preset for
}
DEFAULT_PRESETS = ["mnist-vanilla", "mnist-dcgan", "cifar10-dcgan", "mnist-wgan-gp-paper"]


@dataclass(frozen=True)
class Levers:
    """How the gankit loop runs: the preset's own settings plus these overrides and switches."""

    overrides: tuple[str, ...] = ()
    fused_adam: bool = optim.FUSED_ADAM
    frozen_d: bool = True  # G's step skips D's weight gradients
    threads: int | None = None
    cudnn_benchmark: bool = True  # CUDA only: cuDNN times its conv algorithms for our fixed shapes
    notes: dict = field(default_factory=dict, compare=False)


_OFF = {"fused_adam": False, "frozen_d": False, "cudnn_benchmark": False}
ALL_OFF = Levers(("train.precision=fp32", "train.channels_last=false"), **_OFF)
LEVERS = {
    "frozen D in G's step": Levers(ALL_OFF.overrides, **{**_OFF, "frozen_d": True}),
    "fused Adam": Levers(ALL_OFF.overrides, **{**_OFF, "fused_adam": True}),
    "channels_last": Levers(("train.precision=fp32", "train.channels_last=true"), **_OFF),
    "bf16 autocast": Levers(("train.precision=bf16", "train.channels_last=false"), **_OFF),
}
if DEVICE.type == "cuda":
    LEVERS["cudnn.benchmark"] = Levers(ALL_OFF.overrides, **{**_OFF, "cudnn_benchmark": True})
else:
    LEVERS["1 thread"] = Levers(ALL_OFF.overrides, **_OFF, threads=1)
COMPILE = Levers((*ALL_OFF.overrides, "train.compile=true"), **_OFF)


@contextlib.contextmanager
def trainer_for(preset: str, batch: int, levers: Levers = Levers()):
    overrides = [f"train.batch_size={batch}", "log.every=50", *levers.overrides]
    threads = torch.get_num_threads()
    fused, optim.FUSED_ADAM = optim.FUSED_ADAM, levers.fused_adam
    try:
        if levers.threads:
            torch.set_num_threads(levers.threads)
        with tempfile.TemporaryDirectory() as out:
            config = load_config(preset, overrides=overrides)
            with contextlib.redirect_stdout(io.StringIO()):  # the run's header line
                trainer = new_trainer(config, out, synthetic(PRESETS[preset]))
            if not levers.frozen_d:
                for phase in trainer.phases:
                    phase.frozen = None
            torch.backends.cudnn.benchmark = levers.cudnn_benchmark and trainer.device.type == "cuda"
            yield trainer
    finally:
        optim.FUSED_ADAM = fused
        torch.set_num_threads(threads)


def gankit_rate(preset: str, batch: int, steps: int, warmup: int, levers: Levers = Levers()) -> float:
    with trainer_for(preset, batch, levers) as trainer:
        batches = trainer.sampler.endless()
        started = time.perf_counter()
        for _ in range(warmup):
            trainer.train_step(*next(batches))
            trainer.step += 1
        sync()
        levers.notes["warmup_s"] = time.perf_counter() - started
        start = time.perf_counter()
        for _ in range(steps):
            trainer.train_step(*next(batches))
            trainer.step += 1
            if trainer.step % 50 == 0:
                trainer.stats.flush()  # the loop's readout cost, as in training
        trainer.stats.flush()
        sync()
        return steps * batch / (time.perf_counter() - start)


def steps_for(preset: str, batch: int, seconds: float) -> int:
    """Steps that take about `seconds` in the gankit loop (at least 5)."""
    rate = gankit_rate(preset, batch, steps=5, warmup=5)
    return max(5, round(seconds * rate / batch))


def measure(runs: dict, repeats: int) -> dict[str, list[float]]:
    """`repeats` rounds of every named rate function, alternating, after one untimed round."""
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(repeats + 1):
        for name, run in runs.items():
            value = run()
            if i:
                rates[name].append(value)
    return rates


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median over rounds of a/b: this machine's speed drifts over seconds, and both sides of a round share it."""
    return statistics.median(x / y for x, y in zip(a, b))


def section_ceiling(args) -> dict[str, float]:
    peaks = {"fp32": gemm_gflops(torch.float32, DEVICE), "bf16": gemm_gflops(torch.bfloat16, DEVICE)}
    n = gemm_size(DEVICE)
    print("## Machine ceiling\n")
    print(f"fp32 GEMM {n}x{n}: {peaks['fp32']:,.0f} GFLOP/s; bf16 GEMM: {peaks['bf16']:,.0f} GFLOP/s\n")
    return peaks


def section_compare(args, peaks: dict[str, float]) -> None:
    print("## gankit (shipped settings) against the tutorial loop\n")
    print(
        "| preset | batch | precision | gankit img/s | tutorial img/s | ratio | GFLOP/step | GFLOP/s | of GEMM peak | of layer ceiling |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.presets:
        for batch in args.batches:
            steps = args.steps or steps_for(preset, batch, args.seconds)
            runs = {
                "ours": partial(gankit_rate, preset, batch, steps, 10),
                "theirs": partial(reference_rate, preset, PRESETS[preset], batch, steps, 10, DEVICE),
            }
            rates = measure(runs, args.repeats)
            ratio = paired_ratio(rates["ours"], rates["theirs"])
            ours, theirs = statistics.median(rates["ours"]), statistics.median(rates["theirs"])
            with trainer_for(preset, batch) as trainer:
                flops = step_flops(trainer)
                # On a GPU a layer timed alone is mostly launch and sync latency: no ceiling there.
                ceiling = layer_ceiling(trainer, layer_calls(trainer)) if DEVICE.type == "cpu" else None
                precision = trainer.precision
            achieved = flops * ours / batch / 1e9
            print(
                f"| {preset} | {batch} | {precision} | {ours:,.0f} | {theirs:,.0f} | "
                f"{ratio:.2f}x | {flops / 1e9:.3f} | {achieved:,.0f} | "
                f"{achieved / peaks[precision]:.1%} | {f'{achieved / ceiling:.0%}' if ceiling else '-'} |",
                flush=True,
            )
    print()


def section_levers(args) -> None:
    batch = args.lever_batch
    print(
        f"## Levers, one at a time, batch {batch} (images/s, median; in brackets the median per-round ratio to all off)\n"
    )
    names = ["all off", *LEVERS, "shipped", *(["torch.compile"] if args.compile else [])]
    print("| preset | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    notes = []
    for preset in args.presets:
        steps = args.steps or steps_for(preset, batch, args.seconds)
        settings = {"all off": ALL_OFF, **LEVERS, "shipped": Levers()}
        runs = {name: partial(gankit_rate, preset, batch, steps, 10, lv) for name, lv in settings.items()}
        rates = measure(runs, args.repeats)
        pairs = {name: (rates[name], rates["all off"]) for name in names[1:] if name in rates}
        penalties = load_config(preset).loss.penalties
        if args.compile and not penalties:  # compiled graphs have no double backward
            compiled = Levers(COMPILE.overrides, **_OFF)
            gankit_rate(preset, batch, 5, 10, compiled)  # compiles (slow) and caches
            notes.append(f"{preset}: torch.compile's first 10 steps took {compiled.notes['warmup_s']:.0f} s")
            runs = {"on": partial(gankit_rate, preset, batch, steps, 10, compiled), "off": runs["all off"]}
            timed = measure(runs, args.repeats)
            pairs["torch.compile"] = (timed["on"], timed["off"])
        cells = [f"{statistics.median(rates['all off']):,.0f}"] + [
            f"{statistics.median(pairs[n][0]):,.0f} ({paired_ratio(*pairs[n]):.2f}x)" if n in pairs else "-"
            for n in names[1:]
        ]
        print(f"| {preset} | " + " | ".join(cells) + " |", flush=True)
    print("\n" + "; ".join(notes) + "\n" if notes else "")


def section_allocator(args) -> None:
    batch = args.lever_batch
    print(f"## Host allocator, batch {batch}: glibc's default malloc against gankit's setting (fresh processes)\n")
    print(
        "| preset | ms/step default | ms/step kept | ratio | faults/step default | kept | kernel ms/step default | kept |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.presets:
        steps = args.steps or steps_for(preset, batch, args.seconds)
        runs: dict[str, list] = {"default": [], "kept": []}
        for _ in range(args.repeats):
            for mode, costs in runs.items():
                costs.append(step_cost(preset, batch, steps, mode))
        ms, faults, kernel = ({m: [c[i] for c in costs] for m, costs in runs.items()} for i in range(3))
        cells = [
            f"{statistics.median(ms['default']):.2f}",
            f"{statistics.median(ms['kept']):.2f}",
            f"{paired_ratio(ms['default'], ms['kept']):.2f}x",
            *(f"{statistics.median(v[m]):,.{d}f}" for v, d in ((faults, 0), (kernel, 2)) for m in ("default", "kept")),
        ]
        print(f"| {preset} | " + " | ".join(cells) + " |", flush=True)
    print()


def section_memory(args) -> None:
    print("## Peak memory of a training process (batch 64, data set of the real size, 100 steps, a checkpoint)\n")
    print("| preset | peak RSS |" + (" CUDA max allocated |" if torch.cuda.is_available() else ""))
    print("|---|---:|" + ("---:|" if torch.cuda.is_available() else ""))
    for preset in args.presets:
        rss, cuda = peak_rss_mib(preset, 64)
        print(f"| {preset} | {rss:,.0f} MiB |" + (f" {cuda:,.0f} MiB |" if cuda is not None else ""), flush=True)
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=["ceiling", "compare", "levers", "allocator", "memory"])
    parser.add_argument("--presets", nargs="+", default=DEFAULT_PRESETS, choices=list(PRESETS))
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--seconds", type=float, default=1.5, help="about how long one measurement runs")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per measurement (overrides --seconds)")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per cell; the median is reported")
    parser.add_argument("--lever-batch", type=int, default=64, help="batch size of the levers table")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile in the levers table")
    args = parser.parse_args(argv)
    # gankit sets this in every CPU training process; the tutorial loop runs in the same process and gains from
    # it too, so the ratios below credit the loop alone (set here, not first by whichever loop happens to run first).
    keep_freed_host_memory()
    print(
        f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}\n"
    )
    peaks = section_ceiling(args) if "ceiling" in args.sections or "compare" in args.sections else {}
    if "compare" in args.sections:
        section_compare(args, peaks)
    if "levers" in args.sections:
        section_levers(args)
    if "allocator" in args.sections:
        section_allocator(args)
    if "memory" in args.sections:
        section_memory(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
