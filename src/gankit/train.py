"""`train()`: build everything a RunConfig names and run the one training loop."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from gankit.config import RunConfig
from gankit.data import build_dataset
from gankit.data.sampler import BatchSampler
from gankit.errors import ConfigError
from gankit.losses import LOSSES
from gankit.models import build_models
from gankit.runs.files import atomic_write_text
from gankit.runs.run_dir import create_run_dir
from gankit.training.device import resolve_device
from gankit.training.ema import EMA
from gankit.training.objective import GANObjective
from gankit.training.optim import build_optimizer
from gankit.training.trainer import Network, Trainer


def _count(module: torch.nn.Module) -> str:
    n = sum(p.numel() for p in module.parameters())
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def train(config: RunConfig, out: str | Path = "runs", name: str | None = None, quiet: bool = False) -> Path:
    """Train a GAN as `config` says; returns the new run folder under `out` (never an existing one)."""
    cfg_d, cfg_m, cfg_t = config.data, config.model, config.train
    device = resolve_device(cfg_t.device)
    torch.manual_seed(cfg_t.seed)
    data = build_dataset(
        cfg_d.name,
        cfg_d.root,
        cfg_d.split,
        cfg_d.resolution,
        cfg_d.channels,
        cfg_d.max_items,
        cfg_t.seed,
        **cfg_d.kwargs,
    )
    if cfg_t.batch_size > len(data):
        raise ConfigError(f"train.batch_size {cfg_t.batch_size} is larger than the data set ({len(data)} items)")
    G, D = build_models(cfg_m.name, data.shape, cfg_m.z_dim, **cfg_m.kwargs)
    G.to(device)
    D.to(device)
    sampler = BatchSampler(data, cfg_t.batch_size, cfg_t.seed, device)
    total_steps = cfg_t.epochs * len(sampler)

    def network(module, lr, steps):
        opt, sched = build_optimizer(cfg_t.optimizer, module.parameters(), lr, cfg_t.betas, cfg_t.lr_schedule, steps)
        return Network(module, opt, sched, cfg_t.grad_clip)

    run_dir = create_run_dir(out, name or f"{cfg_d.name}-{cfg_m.name}")
    atomic_write_text(run_dir / "config.yaml", config.dump())
    fixed_noise = torch.randn(cfg_t.grid_size, cfg_m.z_dim, generator=torch.Generator().manual_seed(cfg_t.seed + 1))
    trainer = Trainer(
        objective=GANObjective(G, D, LOSSES.get(cfg_t.loss)(), cfg_t.label_smoothing),
        g=network(G, cfg_t.lr_g, total_steps // cfg_t.d_steps),
        d=network(D, cfg_t.lr_d, total_steps),
        sampler=sampler,
        run_dir=run_dir,
        device=device,
        epochs=cfg_t.epochs,
        d_steps=cfg_t.d_steps,
        precision=cfg_t.precision,
        log_every=cfg_t.log_every,
        sample_every=cfg_t.sample_every,
        checkpoint_every=cfg_t.checkpoint_every,
        keep_checkpoints=cfg_t.keep_checkpoints,
        ema=None if cfg_t.ema_decay is None else EMA(G, cfg_t.ema_decay),
        fixed_noise=fixed_noise.to(device),
        reference_points=None if data.is_image else data.x[:2000],
        checkpoint_meta={
            "model": {"name": cfg_m.name, "z_dim": cfg_m.z_dim, "shape": list(data.shape), "kwargs": cfg_m.kwargs},
            "data": {"name": cfg_d.name, "class_names": data.class_names},
        },
        quiet=quiet,
    )
    say = print if quiet else (lambda msg: print(msg, file=sys.stderr))
    shape = "x".join(map(str, data.shape))
    say(
        f"gankit: {cfg_m.name} on {cfg_d.name} ({len(data)} items of {shape}) | G {_count(G)} D {_count(D)} params | "
        f"batch {cfg_t.batch_size}, {len(sampler)} steps/epoch x {cfg_t.epochs} epochs | {device} {cfg_t.precision} | "
        f"-> {run_dir}"
    )
    trainer.fit()
    return run_dir
