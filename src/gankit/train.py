"""`train()`: build everything a RunConfig names and run the one training loop."""

from __future__ import annotations

import functools
import inspect
import sys
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from gankit.config import RunConfig, load_config
from gankit.data import DataSet, build_dataset
from gankit.data.sampler import BatchSampler
from gankit.errors import ConfigError, RunError
from gankit.losses import LOSSES, PENALTIES, clip_weights
from gankit.models import build_models
from gankit.models.layers import use_memory_format
from gankit.runs.checkpoint import latest_checkpoint, load_checkpoint
from gankit.runs.files import atomic_write_text
from gankit.runs.run_dir import create_run_dir
from gankit.training.device import keep_freed_host_memory, resolve_device, resolve_precision, set_deterministic
from gankit.training.distributed import World, rank_seed, world_from_env
from gankit.training.ema import EMA
from gankit.training.objective import GANObjective, Penalty
from gankit.training.optim import build_optimizer
from gankit.training.sync_batchnorm import convert_sync_batchnorm
from gankit.training.trainer import Network, Trainer

# torch 2.13 renamed the switch (and its new name still syncs once at construction, which we want).
_NO_FORWARD_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


def _count(module: torch.nn.Module) -> str:
    n = sum(p.numel() for p in module.parameters())
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def build_trainer(
    config: RunConfig,
    run_dir: Path | None,
    out: str | Path,
    name: str | None,
    quiet: bool,
    data: DataSet | None = None,
    world: World | None = None,
    device: torch.device | None = None,
) -> Trainer:
    """Everything the config names, wired into a Trainer; makes a new run folder unless `run_dir` is given.

    `data` replaces the configured data set (benchmarks feed synthetic data of the same shape). Under torchrun
    `world` is this process's rank (see `world_from_env`): G and D are wrapped in DistributedDataParallel and
    train.batch_size is the global batch, split evenly over the processes.
    """
    cfg_d, cfg_m, cfg_t = config.data, config.model, config.train
    world = world or World()
    device = device or resolve_device(cfg_t.device)
    if cfg_t.batch_size % world.size:
        raise ConfigError(
            f"train.batch_size {cfg_t.batch_size} (the global batch) does not split evenly over {world.size} processes",
            f"use a multiple of {world.size}",
        )
    torch.manual_seed(cfg_t.seed)
    if data is None:
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
    G, D = build_models(cfg_m.name, data.shape, cfg_m.z_dim, data.num_classes, **cfg_m.kwargs)
    memory_format = torch.channels_last if cfg_t.channels_last else torch.contiguous_format
    G, D = (use_memory_format(net.to(device), memory_format) for net in (G, D))
    if device.type == "cuda":
        set_deterministic(cfg_t.deterministic)
    elif device.type == "cpu":
        keep_freed_host_memory()
    precision = resolve_precision(cfg_t.precision, device)
    if cfg_t.sync_batchnorm and world.size > 1:
        G, D = convert_sync_batchnorm(G, device), convert_sync_batchnorm(D, device)
    ema = None if cfg_t.ema_decay is None else EMA(G, cfg_t.ema_decay)
    G_train, D_train = G, D
    if world.size > 1:
        torch.manual_seed(rank_seed(cfg_t.seed, world.rank))  # dropout, penalties' draws: one stream per rank
        ids = [device.index] if device.type == "cuda" else None
        # No buffer broadcast at every forward: D runs twice (real, fake) before one backward, and overwriting its
        # BatchNorm running stats in between bumps tensors autograd saved (torch < 2.13 then refuses the backward).
        # Each rank's running stats follow its own batches; the trainer broadcasts rank 0's before every checkpoint.
        G_train, D_train = (DistributedDataParallel(m, device_ids=ids, **_NO_FORWARD_BUFFER_SYNC) for m in (G, D))
    if cfg_t.compile:
        G_train, D_train = torch.compile(G_train), torch.compile(D_train)
    sampler = BatchSampler(data, cfg_t.batch_size, cfg_t.seed, device, world.rank, world.size, memory_format)
    total_steps = cfg_t.epochs * len(sampler)

    def network(module, lr, steps, constraint=None):
        opt, sched = build_optimizer(cfg_t.optimizer, module.parameters(), lr, cfg_t.betas, cfg_t.lr_schedule, steps)
        return Network(module, opt, sched, cfg_t.grad_clip, constraint)

    clip = None if cfg_t.clip_weights is None else functools.partial(clip_weights, bound=cfg_t.clip_weights)
    penalties = [Penalty("gp", PENALTIES.get("gp"), cfg_t.gp_weight)] if cfg_t.gp_weight else []
    if cfg_t.r1_weight:
        penalties.append(Penalty("r1", PENALTIES.get("r1"), cfg_t.r1_weight, cfg_t.r1_every))
    objective = GANObjective(
        G_train,
        D_train,
        LOSSES.get(cfg_t.loss)(),
        cfg_t.label_smoothing,
        num_classes=G.num_classes,
        penalties=tuple(penalties),
        instance_noise=cfg_t.instance_noise,
        aux_weight=cfg_t.aux_weight if cfg_m.kwargs.get("aux_classifier") else 0.0,
        z_dim=G.z_dim,
        latent_seed=cfg_t.seed + 2,
        shard=(world.rank, world.size),
        device=device,
    )

    if run_dir is None:  # rank 0 makes the folder and tells the others its name
        if world.main:
            run_dir = create_run_dir(out, name or f"{cfg_d.name}-{cfg_m.name}")
            atomic_write_text(run_dir / "config.yaml", config.dump())
        run_dir = Path(world.share_text(str(run_dir) if world.main else None))
    grid = cfg_t.grid_size
    fixed_labels = None
    if G.num_classes:  # one row per class, as many columns as the grid size allows (at least 1)
        columns = max(1, grid // G.num_classes)
        grid = columns * G.num_classes
        fixed_labels = torch.arange(G.num_classes).repeat_interleave(columns).to(device)
    fixed_noise = torch.randn(grid, cfg_m.z_dim, generator=torch.Generator().manual_seed(cfg_t.seed + 1))
    trainer = Trainer(
        objective=objective,
        g=network(G, cfg_t.lr_g, total_steps // cfg_t.d_steps),
        d=network(D, cfg_t.lr_d, total_steps, clip),
        sampler=sampler,
        run_dir=run_dir,
        device=device,
        epochs=cfg_t.epochs,
        d_steps=cfg_t.d_steps,
        precision=precision,
        log_every=cfg_t.log_every,
        sample_every=cfg_t.sample_every,
        checkpoint_every=cfg_t.checkpoint_every,
        checkpoint_steps=cfg_t.checkpoint_steps,
        best_metric=cfg_t.best_metric,
        best_mode=cfg_t.best_mode,
        on_divergence=cfg_t.on_divergence,
        judge=_judge(config, data) if cfg_t.eval_every and world.main else None,
        eval_every=cfg_t.eval_every,
        rollback_lr_scale=cfg_t.rollback_lr_scale,
        keep_checkpoints=cfg_t.keep_checkpoints,
        ema=ema,
        fixed_noise=fixed_noise.to(device),
        fixed_labels=fixed_labels,
        reference_points=None if data.is_image else data.x[:2000],
        checkpoint_meta={
            "model": {
                "name": cfg_m.name,
                "z_dim": cfg_m.z_dim,
                "shape": list(data.shape),
                "num_classes": data.num_classes,
                "kwargs": cfg_m.kwargs,
            },
            "data": {"name": cfg_d.name, "class_names": data.class_names},
        },
        quiet=quiet,
        world=world,
        seed=cfg_t.seed,
    )
    if world.main:
        say = print if quiet else (lambda msg: print(msg, file=sys.stderr))
        shape = "x".join(map(str, data.shape))
        batch = (
            f"{cfg_t.batch_size}"
            if world.size == 1
            else f"{cfg_t.batch_size} = {world.size} processes x {sampler.local_batch}"
        )
        where = f"{device}" if world.size == 1 else f"{world.size} x {device.type} (DDP)"
        say(
            f"gankit: {cfg_m.name} on {cfg_d.name} ({len(data)} items of {shape}) | G {_count(G)} D {_count(D)} params | "
            f"batch {batch}, {len(sampler)} steps/epoch x {cfg_t.epochs} epochs | {where} {precision} | "
            f"-> {run_dir}"
        )
    return trainer


def _judge(config: RunConfig, data):
    """Scores G during training against up to eval_n real training items (a fixed, seeded subset)."""
    from gankit.evaluate import Judge

    if not data.is_image:
        raise ConfigError("train.eval_every needs image data: 2-D points are judged with gankit.metrics.toy")
    cfg_t = config.train
    keep = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg_t.seed))[: cfg_t.eval_n]
    return Judge(cfg_t.eval_extractor, data.x[keep], cfg_t.eval_n, cfg_t.seed, resolve_device(cfg_t.device))


def train(config: RunConfig, out: str | Path = "runs", name: str | None = None, quiet: bool = False) -> Path:
    """Train a GAN as `config` says; returns the new run folder under `out` (never an existing one).

    SIGINT or SIGTERM ends training after the current step with a checkpoint; `resume` continues it.
    """
    with world_from_env(resolve_device(config.train.device)) as (world, device):
        trainer = build_trainer(config, None, out, name, quiet, world=world, device=device)
        _finish(trainer, trainer.fit())
        run_dir = trainer.run_dir
        del trainer  # its DDP wrappers hold the process group: they go first (see world_from_env)
    return run_dir


def resume(run_dir: str | Path, quiet: bool = False) -> Path:
    """Continue an unfinished run from its newest checkpoint; on CPU the result equals an uninterrupted run."""
    run_dir = Path(run_dir).expanduser()
    if not (run_dir / "config.yaml").is_file():
        raise RunError(f"{run_dir} is not a gankit run folder (no config.yaml)")
    if (run_dir / "checkpoints" / "final.json").is_file():
        raise RunError(
            f"run {run_dir} has already finished", "start a new run, e.g. gankit train --config its config.yaml"
        )
    config = load_config(config_file=run_dir / "config.yaml")
    with world_from_env(resolve_device(config.train.device)) as (world, device):
        if world.main:
            for torn in (run_dir / "checkpoints").glob(".*.tmp"):  # left by a write that a kill interrupted
                torn.unlink()
        record = latest_checkpoint(run_dir, final=False)  # every rank loads the same one (a shared file system)
        meta, tensors = load_checkpoint(record)
        trainer = build_trainer(config, run_dir, run_dir.parent, None, quiet, world=world, device=device)
        try:
            trainer.restore(meta, tensors)
        except (RuntimeError, KeyError, ValueError) as err:
            raise RunError(f"checkpoint {record} does not fit this run's config: {str(err).splitlines()[0]}") from None
        if world.main:
            print(
                f"gankit: resuming {run_dir} from step {trainer.step} ({record.name})",
                file=sys.stderr if not quiet else sys.stdout,
            )
        _finish(trainer, trainer.fit())
        del trainer  # its DDP wrappers hold the process group: they go first (see world_from_env)
    return run_dir


def _finish(trainer: Trainer, finished: bool) -> None:
    if not finished and trainer.world.main:
        print(
            f"gankit: stopped at step {trainer.step} with a checkpoint; continue with: gankit train --resume {trainer.run_dir}",
            file=sys.stderr,
        )
