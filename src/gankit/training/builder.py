"""From a RunConfig to a Trainer, in two steps: `build_parts` makes everything the config names and refuses what
does not fit before any file is written; `build_trainer` adds what lives in the run folder."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gankit.augment import build_augment
from gankit.config import RunConfig
from gankit.data import DataSet, build_data
from gankit.data.sampler import BatchSampler
from gankit.errors import ConfigError
from gankit.losses import build_loss, clip_weights
from gankit.metrics.judge import build_judge
from gankit.models import ModelSpec, build_spec
from gankit.models.layers import use_memory_format
from gankit.runs.run_dir import RunDir
from gankit.runs.run_log import RunLog
from gankit.seeds import Seeds
from gankit.training.anneal import Anneal
from gankit.training.checkpointer import Checkpointer
from gankit.training.device import keep_freed_host_memory, resolve_device, resolve_precision, set_deterministic
from gankit.training.distributed import World, check_batch_splits, wrap_ddp
from gankit.training.ema import EMA
from gankit.training.init_from import freeze_d, init_networks
from gankit.training.objective import GANObjective
from gankit.training.phases import Network, Phase, Regularizer, build_networks
from gankit.training.recipes import RECIPES
from gankit.training.state import GlobalRNG
from gankit.training.stats import Stats
from gankit.training.sync_batchnorm import convert_sync_batchnorm
from gankit.training.trainer import Schedule, Trainer
from gankit.viz.snapshots import SampleGrids


@dataclass
class Parts:
    """Everything a config names, built and checked; G and D are the bare modules, `objective` holds their
    training wrappers (DDP, compiled)."""

    config: RunConfig
    world: World
    device: torch.device
    precision: str
    seeds: Seeds
    rng: GlobalRNG
    data: DataSet
    spec: ModelSpec
    G: nn.Module
    D: nn.Module
    ema: EMA | None
    sampler: BatchSampler
    objective: GANObjective
    networks: dict[str, Network]
    phases: list[Phase]
    stateful: list  # penalties and augmentations with running state (checkpointed)
    init: dict | None = None  # the checkpoint train.init_from loaded, when it did

    @property
    def default_name(self) -> str:
        return f"{self.config.data.name}-{self.config.model.name}"


def build_parts(
    config: RunConfig,
    world: World | None = None,
    device: torch.device | None = None,
    data: DataSet | None = None,
    initialise: bool = True,
) -> Parts:
    """Data, networks on their device and in their layout, objective, optimisers and phases.

    `data` replaces the configured data set (benchmarks feed synthetic data of the same shape). `initialise`
    False skips train.init_from (a resumed run's checkpoint replaces those weights anyway). Under torchrun
    `world` is this process's rank: G and D train in DistributedDataParallel and train.batch_size is the global
    batch, split evenly over the processes.
    """
    t = config.train
    world, device, seeds = world or World(), device or resolve_device(t.device), Seeds(t.seed)
    check_batch_splits(t.batch_size, world)
    rng = GlobalRNG(seeds, world.rank, world.size)
    GlobalRNG(seeds).seed()  # one stream on every rank while the weights are drawn: the ranks start equal
    if data is None:  # under torchrun rank 0 goes first: a data set decoded into its cache is prepared once
        if not world.main:
            world.barrier()
        data = build_data(config.data, seeds.subset)
        if world.main and world.size > 1:
            world.barrier()
    if t.batch_size > len(data):
        raise ConfigError(f"train.batch_size {t.batch_size} is larger than the data set ({len(data)} items)")
    spec = build_spec(config.model, data)
    memory_format = torch.channels_last if t.channels_last else torch.contiguous_format
    G, D = (use_memory_format(net.to(device), memory_format) for net in spec.build())
    if device.type == "cuda":
        set_deterministic(t.deterministic)
    elif device.type == "cpu":
        keep_freed_host_memory()
    if t.sync_batchnorm and world.size > 1:
        G, D = convert_sync_batchnorm(G, device), convert_sync_batchnorm(D, device)
    o = config.optim
    ema = None
    if o.ema_decay is not None or o.ema_half_life is not None:
        ema = EMA(G, o.ema_decay, o.ema_half_life, o.ema_rampup, images_per_update=t.batch_size * o.d_steps)
    init = None
    if t.init_from is not None and initialise:  # before DDP: its wrapper broadcasts rank 0's weights as they are
        init = init_networks(t.init_from, spec.name, G, D, None if ema is None else ema.module)
    freeze_d(D, o.freeze_d)
    G_train, D_train = G, D
    if world.size > 1:
        rng.seed()  # from here on each rank draws its own dropout and penalty noise
        G_train, D_train = wrap_ddp(G, device), wrap_ddp(D, device)
    if t.compile:
        G_train, D_train = torch.compile(G_train), torch.compile(D_train)
    sampler = BatchSampler(data, t.batch_size, t.seed, device, world.rank, world.size, memory_format)
    loss, penalties = build_loss(config.loss)
    for penalty in penalties.values():
        penalty.check(G, D)
    augment = build_augment(config.augment, batch_size=t.batch_size, world=world, shape=data.shape)
    objective = GANObjective(
        G_train,
        D_train,
        loss,
        config.loss.label_smoothing,
        num_classes=G.num_classes,
        instance_noise=config.loss.instance_noise,
        aux_weight=config.loss.aux_weight if getattr(D, "aux_classifier", False) else 0.0,
        z_dim=G.z_dim,
        latent_seed=seeds.latents,
        shard=(world.rank, world.size),
        device=device,
        augment=augment,
        generator_module=G,
    )
    anneal = None
    if config.model.name in RECIPES:  # a family with its own training (TimeGAN's stages)
        recipe = RECIPES.get(config.model.name)
        networks, phases = recipe(config, G, D, objective, t.epochs * len(sampler), ema, world)
    else:
        clip = (
            None
            if config.loss.clip_weights is None
            else functools.partial(clip_weights, bound=config.loss.clip_weights)
        )
        networks = build_networks(config.optim, G, D, t.epochs * len(sampler), d_constraint=clip)
        regularizers = _regularizers(config, penalties, data.shape)
        if config.anneal.active:
            anneal = Anneal(config, networks, [*regularizers["D"], *regularizers["G"]], ema)
        d_after = tuple(part.update for part in (augment, anneal) if hasattr(part, "update"))
        phases = [
            Phase("D", networks["d"], lambda b: objective.d_loss(b.real, b.c_real, b.fake.detach(), b.c_fake),
                  regularizers=regularizers["D"], after=d_after),
            Phase("G", networks["g"], lambda b: objective.g_loss(b.fake, b.c_fake, b.real, b.c_real),
                  every=config.optim.d_steps, regularizers=regularizers["G"], frozen=D_train, through_fakes=True,
                  after=() if ema is None else (lambda: ema.update(G),)),
        ]  # fmt: skip
    precision = resolve_precision(t.precision, device)
    stateful = [part for part in (*penalties.values(), augment, anneal) if hasattr(part, "state")]
    return Parts(
        config, world, device, precision, seeds, rng, data, spec, G, D, ema, sampler, objective, networks, phases,
        stateful, init,
    )  # fmt: skip


def _regularizers(config: RunConfig, penalties: dict, shape: tuple[int, ...]) -> dict[str, tuple[Regularizer, ...]]:
    """The configured penalties by the network they regularise, with `weight: auto` resolved."""
    out: dict[str, list[Regularizer]] = {"D": [], "G": []}
    for name, penalty in penalties.items():
        section = config.loss.penalties[name]
        weight = penalty.auto_weight(shape, config.train.batch_size) if section.weight == "auto" else section.weight
        out[penalty.network].append(Regularizer(name, penalty, weight, section.every))
    return {side: tuple(regs) for side, regs in out.items()}


def _units(data: DataSet) -> dict:
    """Signals: each channel's (low, high) in the data's units, so samples can be written back in them."""
    return {} if data.units is None else {"units": data.units.tolist(), "sample_rate": data.sample_rate}


def build_trainer(parts: Parts, run: RunDir, quiet: bool = False) -> Trainer:
    """The loop over `parts`, with the run log, sample grids, evaluation and checkpoints of run folder `run`."""
    c, world, device = parts.config, parts.world, parts.device
    stats = Stats(device)
    log = RunLog(run.metrics, world.main, c.log.best_metric, c.log.best_mode)
    reference = parts.data.x[:2000] if parts.data.x.dim() == 2 else None  # toy points: drawn under the samples
    grids = SampleGrids(
        c.log.grid_size, parts.spec.z_dim, parts.G.num_classes, parts.seeds.fixed_noise, device, reference
    )
    modules = {"G": parts.G, "D": parts.D, **({} if parts.ema is None else {"G_ema": parts.ema.module})}
    meta = {
        "model": parts.spec.to_dict(),
        "data": {"name": c.data.name, "class_names": parts.data.class_names, **_units(parts.data)},
        **({"init_from": parts.init} if parts.init else {}),
    }
    state = [*parts.networks.values(), *([] if parts.ema is None else [parts.ema])]
    state += [stats, grids, log, parts.objective, *parts.stateful, parts.rng]
    checkpointer = Checkpointer(run, world, c.log.keep_checkpoints, meta, state, modules, stats)
    schedule = Schedule(
        c.train.epochs, c.log.every, c.log.sample_every, c.log.checkpoint_every, c.log.checkpoint_steps, c.eval.every
    )
    judge = build_judge(c.eval, parts.data, parts.seeds.subset, device) if world.main else None
    return Trainer(
        parts.phases, parts.objective, parts.networks, parts.sampler, schedule, run, log, checkpointer, grids, stats,
        device, parts.precision, world, parts.ema, judge, c.train.on_divergence, c.train.rollback_lr_scale, quiet,
        c.log.tensorboard,
    )  # fmt: skip


def new_trainer(
    config: RunConfig,
    out: str | Path,
    data: DataSet | None = None,
    world: World | None = None,
    device: torch.device | None = None,
    name: str = "run",
) -> Trainer:
    """A quiet trainer in a new run folder under `out`, for benchmarks and tests that drive its steps by hand."""
    return build_trainer(build_parts(config, world, device, data), RunDir.create(out, name), quiet=True)


def _count(module: nn.Module) -> str:
    n = sum(p.numel() for p in module.parameters())
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def describe(parts: Parts, run: RunDir) -> str:
    """The run's one-line header: what trains on what, sizes, batch, where, and the run folder."""
    c, world, sampler = parts.config, parts.world, parts.sampler
    shape = "x".join(map(str, parts.data.shape))
    batch = f"{c.train.batch_size}"
    if world.size > 1:
        batch += f" = {world.size} processes x {sampler.local_batch}"
    where = f"{parts.device}" if world.size == 1 else f"{world.size} x {parts.device.type} (DDP)"
    start = f"from {parts.init['run']}:{parts.init['checkpoint']} | " if parts.init else ""
    if c.optim.freeze_d:
        start += f"D's first {c.optim.freeze_d} blocks frozen | "
    return (
        f"gankit: {c.model.name} on {c.data.name} ({len(parts.data)} items of {shape}) | {start}"
        f"G {_count(parts.G)} D {_count(parts.D)} params | "
        f"batch {batch}, {len(sampler)} steps/epoch x {c.train.epochs} epochs | {where} {parts.precision} | -> {run}"
    )
