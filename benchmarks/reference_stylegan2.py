"""The StyleGAN2 swap test: our networks against NVlabs' reference networks, in gankit's one loop.

Each cell trains a (G, D) pair on the bundled digits at 32x32 with the same batch, optimiser, R1, EMA and image
count, and only the networks differ:

    a  reference G + reference D      c  reference G + our D
    b  our G + our D                  d  our G + reference D

so a gap between a and b that follows G (c against b, d against a) or D is located by the table. Cells e (ours)
and f (the reference's networks) replace gankit's phases with the reference's own StyleGAN2Loss and its loop's
schedule: fresh latents per phase, G's step before D's, lazy R1 every 16 D steps and path length every 4 G steps
(--pl, the weight) with Adam's lr and betas corrected for the lazy steps; f is the reference as it trains
itself. The reference networks are imported from a checkout of NVlabs/stylegan2-ada-pytorch whose path is given with --reference
(never copied here); their ops run through the pure-PyTorch reference paths on a CPU. Widths match: both
families give min(channel_base / r, channel_max) maps at resolution r.

    git clone https://github.com/NVlabs/stylegan2-ada-pytorch ~/src/stylegan2-ada-pytorch
    python -m benchmarks.reference_stylegan2 --reference ~/src/stylegan2-ada-pytorch --cells a b c d --seeds 0 1 2
    python -m benchmarks.reference_stylegan2 --reference ~/src/stylegan2-ada-pytorch --speed

`--speed` times one G+D training step of ours against the reference's at the same widths and precision, in one
run (images/s, interleaved repeats). Results go to docs/stylegan2.md. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.quality import judge, stop_if_unfinished
from gankit import load_config, train
from gankit.models.registry import MODELS
from gankit.models.stylegan2 import stylegan2
from gankit.training.builder import new_trainer

# What every cell shares: the papers' optimiser (Adam 2.5e-3, betas (0, 0.99)), batch 32, lazy R1 with
# StyleGAN2-ADA's gamma heuristic every 16 D steps, EMA half-life 10k images with ramp-up 0.05, style mixing 0.9.
COMMON = [
    "data.resolution=32",
    "train.precision=fp32",  # the reference runs fp32 on a CPU (its fp16 layers are for GPUs)
    "model.name=stylegan2-swap",
    "optim.lr_g=2.5e-3",
    "optim.lr_d=2.5e-3",
    "optim.betas=[0.0,0.99]",
    "loss.penalties.r1={weight: auto, every: 16}",  # 0.0002 H W / batch = 0.0064 at 32 px, batch 32
    "log.sample_every=1000",
    "log.checkpoint_every=1000",
]
CELLS = {  # cell: (G, D, loop)
    "a": ("reference", "reference", "gankit"),
    "b": ("ours", "ours", "gankit"),
    "c": ("reference", "ours", "gankit"),
    "d": ("ours", "reference", "gankit"),
    "e": ("ours", "ours", "reference"),
    "f": ("reference", "reference", "reference"),
}
NETWORKS: types.ModuleType | None = None  # the reference's training/networks.py, once loaded
LOSS: types.ModuleType | None = None  # its training/loss.py


def load_module(root: Path, relative: str) -> types.ModuleType:
    """A file of the checkout as a module of its own name (not `training.*`, which other packages may hold)."""
    name = "stylegan2_ada_reference." + relative.removesuffix(".py").replace("/", ".")
    spec = importlib.util.spec_from_file_location(name, root / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its persistence decorator looks the module up by name
    with contextlib.redirect_stderr(io.StringIO()):
        spec.loader.exec_module(module)
    return module


def import_reference(path: str) -> tuple[types.ModuleType, types.ModuleType]:
    """training/networks.py and training/loss.py from a checkout of NVlabs/stylegan2-ada-pytorch."""
    root = Path(path).expanduser()
    if not (root / "training" / "networks.py").is_file():
        raise SystemExit(
            f"{root} is not a checkout of NVlabs/stylegan2-ada-pytorch (no training/networks.py): "
            "git clone https://github.com/NVlabs/stylegan2-ada-pytorch and pass its path with --reference"
        )
    sys.path.insert(0, str(root))  # for its torch_utils and dnnlib
    # dnnlib imports requests for its URL downloads, which the networks never use
    if importlib.util.find_spec("requests") is None:
        sys.modules["requests"] = types.ModuleType("requests")
    return load_module(root, "training/networks.py"), load_module(root, "training/loss.py")


def reference_c(c: torch.Tensor | None, classes: int | None, like: torch.Tensor) -> torch.Tensor:
    """gankit's class indices [N] (or None) as the reference takes c: one-hot [N, classes], or [N, 0]."""
    if not classes:
        return like.new_zeros(len(like), 0)
    return F.one_hot(c, classes).to(like.dtype)


def gankit_c(c: torch.Tensor) -> torch.Tensor | None:
    """The reference's c (one-hot [N, K] or [N, 0]) as gankit's class indices, or None."""
    return c.argmax(1) if c.shape[1] else None


class ReferenceGenerator(nn.Module):
    """The reference Generator behind gankit's G(z, c=None, truncation=1.0), with StyleGAN2Loss's style mixing."""

    def __init__(self, net: nn.Module, z_dim: int, shape, num_classes: int | None, style_mixing: float):
        super().__init__()
        self.net, self.z_dim, self.shape, self.num_classes = net, z_dim, tuple(shape), num_classes
        self.style_mixing = style_mixing

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation: float = 1.0) -> torch.Tensor:
        cc = reference_c(c, self.num_classes, z)
        ws = self.net.mapping(z, cc, truncation_psi=truncation)
        if self.training and self.style_mixing > 0:
            cutoff = int(torch.randint(1, ws.shape[1], ()))
            if float(torch.rand(())) >= self.style_mixing:
                cutoff = ws.shape[1]
            second = self.net.mapping(torch.randn_like(z), cc, truncation_psi=truncation, skip_w_avg_update=True)
            ws = torch.cat([ws[:, :cutoff], second[:, cutoff:]], 1)
        return self.net.synthesis(ws, noise_mode="random" if self.training else "const")


class ReferenceDiscriminator(nn.Module):
    """The reference Discriminator behind gankit's D(x, c=None) -> logits [N]."""

    def __init__(self, net: nn.Module, num_classes: int | None):
        super().__init__()
        self.net, self.num_classes = net, num_classes

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x, reference_c(c, self.num_classes, x)).squeeze(1)


@MODELS.register("stylegan2-swap")
def stylegan2_swap(
    *,
    shape: tuple[int, ...],
    z_dim: int,
    num_classes: int | None = None,
    generator: Literal["ours", "reference"] = "ours",
    discriminator: Literal["ours", "reference"] = "ours",
    w_dim: int = 128,
    mapping_layers: int = 2,
    channel_base: int = 1024,
    channel_max: int = 64,
    style_mixing: float = 0.9,
    mbstd_group: int = 4,
    condition: Literal["none", "projection"] = "none",
) -> tuple[nn.Module, nn.Module]:
    """StyleGAN2 with either network taken from the reference checkout (benchmarks/reference_stylegan2.py)."""
    G, D = stylegan2(
        shape=shape, z_dim=z_dim, num_classes=num_classes, w_dim=w_dim, mapping_layers=mapping_layers,
        channel_base=channel_base, channel_max=channel_max, style_mixing=style_mixing, mbstd_group=mbstd_group,
        condition=condition,
    )  # fmt: skip
    classes = num_classes if condition == "projection" else None
    widths = {"channel_base": channel_base, "channel_max": channel_max, "num_fp16_res": 0, "conv_clamp": None}
    if generator == "reference":
        net = NETWORKS.Generator(
            z_dim=z_dim, c_dim=classes or 0, w_dim=w_dim, img_resolution=shape[1], img_channels=shape[0],
            mapping_kwargs={"num_layers": mapping_layers}, synthesis_kwargs=widths,
        )  # fmt: skip
        G = ReferenceGenerator(net, z_dim, shape, classes, style_mixing)
    if discriminator == "reference":
        net = NETWORKS.Discriminator(
            c_dim=classes or 0, img_resolution=shape[1], img_channels=shape[0], epilogue_kwargs={
                "mbstd_group_size": mbstd_group}, **widths,
        )  # fmt: skip
        D = ReferenceDiscriminator(net, classes)
    return G, D


def cell_overrides(cell: str, images: int, batch: int) -> list[str]:
    g, d, _ = CELLS[cell]
    steps_per_epoch = 5000 // batch
    epochs = max(1, round(images / batch / steps_per_epoch))
    return [*COMMON, f"model.generator={g}", f"model.discriminator={d}", f"train.epochs={epochs}"]


def run_cells(args) -> None:
    tag = f"{args.n // 1000}k" if args.n % 1000 == 0 else str(args.n)
    print(f"| cell | G | D | loop | images | train s | confident | min class | fid{tag} | precision | recall |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for cell in args.cells:
        results, seconds = [], []
        for seed in args.seeds:
            overrides = [*cell_overrides(cell, args.images, 32), *args.set, f"train.seed={seed}"]
            config = load_config(args.preset, overrides=overrides)
            with contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory() as out:
                started = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    if CELLS[cell][2] == "gankit":
                        run = train(config, out=out, quiet=True)
                    else:
                        run = train_reference_loop(config, out, args.pl)
                stop_if_unfinished(run)
                seconds.append(time.perf_counter() - started)
                results.append(judge(run, config, args.n))
            row = {"cell": cell, "seed": seed, "train_s": round(seconds[-1], 1), **results[-1]}
            print(json.dumps(row), file=sys.stderr, flush=True)
        cells = []
        for key in ("confident", "min_class", "fid", "precision", "recall"):
            values = [r[key] for r in results]
            spread = f" +- {statistics.stdev(values):.3f}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):.3f}{spread}")
        g, d, loop = CELLS[cell]
        images = config.train.epochs * (5000 // 32) * 32
        print(
            f"| {cell} | {g} | {d} | {loop} | {images} | {statistics.mean(seconds):.0f} | {' | '.join(cells)} |",
            flush=True,
        )


class RefMapping(nn.Module):
    """Our mapping network called as the reference loss calls G.mapping: (z, one-hot c) -> ws [N, num_ws, w_dim]."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor, c: torch.Tensor, skip_w_avg_update: bool = False) -> torch.Tensor:
        w = self.G.mapping(z, gankit_c(c), track=not skip_w_avg_update)
        return w[:, None].repeat(1, self.G.num_ws, 1)


class RefCritic(nn.Module):
    """Our D called as the reference loss calls D: (images, one-hot c) -> logits [N, 1]."""

    def __init__(self, D: nn.Module):
        super().__init__()
        self.D = D

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.D(x, gankit_c(c))[:, None]


def train_reference_loop(config, out: str, pl_weight: float) -> Path:
    """Train the config's networks with the reference's StyleGAN2Loss and the phase schedule of its training loop
    (training/training_loop.py), in a gankit run folder whose final checkpoint the judge reads."""
    from gankit.runs.run_dir import FINAL

    trainer = new_trainer(config, out)
    trainer.run.config.write_text(config.dump())  # what the judge reads back
    G, D = trainer.networks["g"].module, trainer.networks["d"].module
    if isinstance(G, ReferenceGenerator):
        mapping, synthesis, mixing = G.net.mapping, G.net.synthesis, G.style_mixing
    else:
        mapping, synthesis, mixing = RefMapping(G), G.synthesis, G.style_mixing
    critic = D.net if isinstance(D, ReferenceDiscriminator) else RefCritic(D)
    r1 = next(r for p in trainer.phases for r in p.regularizers if r.name == "r1")
    loss = LOSS.StyleGAN2Loss(
        torch.device("cpu"), mapping, synthesis, critic, style_mixing_prob=mixing, r1_gamma=r1.weight,
        pl_weight=pl_weight,
    )  # fmt: skip
    o = config.optim
    phases = []  # (name, module, optimiser, interval), as training_loop.py builds them
    for name, module, lr, interval in (("G", G, o.lr_g, 4 if pl_weight else None), ("D", D, o.lr_d, r1.every)):
        ratio = 1.0 if interval is None else interval / (interval + 1)
        opt = torch.optim.Adam(module.parameters(), lr=lr * ratio, betas=[b**ratio for b in o.betas], eps=1e-8)
        phases += [(f"{name}both" if interval is None else f"{name}main", module, opt, 1)]
        if interval is not None:
            phases += [(f"{name}reg", module, opt, interval)]
    G.requires_grad_(False)
    D.requires_grad_(False)
    classes = G.num_classes or 0
    steps = config.train.epochs * len(trainer.sampler)
    batches = trainer.sampler.endless()
    for step in range(steps):
        real, labels = next(batches)
        real_c = reference_c(labels, classes, real)
        for name, module, opt, interval in phases:
            if step % interval:
                continue
            z = torch.randn(len(real), G.z_dim)
            c = reference_c(torch.randint(classes, (len(z),)) if classes else None, classes, z)
            opt.zero_grad(set_to_none=True)
            module.requires_grad_(True)
            loss.accumulate_gradients(name, real, real_c, z, c, sync=True, gain=interval)
            module.requires_grad_(False)
            for p in module.parameters():
                if p.grad is not None:
                    torch.nan_to_num(p.grad, nan=0, posinf=1e5, neginf=-1e5, out=p.grad)
            opt.step()
        trainer.ema.update(G)
    G.requires_grad_(True)
    D.requires_grad_(True)
    trainer.step = steps
    trainer.save(config.train.epochs, name=FINAL)
    return trainer.run.path


def run_speed(args) -> None:
    """Images/s of one full training step (D step with R1 every 16, G step, EMA) for ours and the reference's,
    interleaved so both see the same machine state."""
    trainers = {}
    for cell in ("b", "a"):
        config = load_config(args.preset, overrides=[*cell_overrides(cell, 32, 32), *args.set])
        trainers[cell] = new_trainer(config, tempfile.mkdtemp())
    rates: dict[str, list[float]] = {cell: [] for cell in trainers}
    for _ in range(args.repeats):
        for cell, trainer in trainers.items():
            batches = iter(trainer.sampler.epoch(1))
            for i in range(args.warmup + args.steps):
                if i == args.warmup:
                    started = time.perf_counter()
                trainer.train_step(*next(batches))
                trainer.step += 1
            rates[cell].append(args.steps * 32 / (time.perf_counter() - started))
    ours, ref = statistics.median(rates["b"]), statistics.median(rates["a"])
    print(
        f"ours {ours:.0f} img/s, reference {ref:.0f} img/s, ours / reference {ours / ref:.2f}x ({args.repeats} repeats)"
    )


def main(argv: list[str] | None = None) -> int:
    global NETWORKS, LOSS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", help="path of a checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--preset", default="mnist-stylegan2", help="the preset every cell starts from")
    parser.add_argument("--cells", nargs="+", choices=sorted(CELLS), default=sorted(CELLS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--images", type=int, default=100_000, help="real images shown to D per run")
    parser.add_argument("--n", type=int, default=5000, help="samples judged per run")
    parser.add_argument("--set", nargs="*", default=[], help="overrides for every cell, e.g. model.style_mixing=0")
    parser.add_argument(
        "--pl", type=float, default=2.0, help="cells e, f: path length weight (2 in the paper, 0: none)"
    )
    parser.add_argument("--keep", help="keep the run folders under this folder (default: deleted once judged)")
    parser.add_argument("--speed", action="store_true", help="time a training step of ours against the reference's")
    parser.add_argument("--steps", type=int, default=32, help="--speed: timed steps per repeat")
    parser.add_argument("--warmup", type=int, default=8, help="--speed: untimed steps before each repeat")
    parser.add_argument("--repeats", type=int, default=5, help="--speed: interleaved repeats")
    args = parser.parse_args(argv)
    if not args.reference:
        parser.error(
            "--reference PATH is required: git clone https://github.com/NVlabs/stylegan2-ada-pytorch and pass its path"
        )
    NETWORKS, LOSS = import_reference(args.reference)
    run_speed(args) if args.speed else run_cells(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
