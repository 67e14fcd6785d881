"""Optimisers and learning-rate schedules, built from plain values."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import torch
from torch import nn

from gankit.registry import Registry
from gankit.training.phases import Network

if TYPE_CHECKING:
    from gankit.config import OptimConfig

OPTIMIZERS = Registry("optimizer")
FUSED_ADAM = tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4)  # fused Adam on CPU came in 2.4


@OPTIMIZERS.register("adam")
def adam(params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """Adam (Kingma & Ba 2015), fused into one kernel per parameter where torch has it (CPU from torch 2.4, CUDA);
    for the small GANs here the optimiser step is a third of a step's time with the multi-tensor path."""
    params = list(params)
    fused = FUSED_ADAM and all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, betas=tuple(betas), fused=fused or None, foreach=None if fused else True)


@OPTIMIZERS.register("rmsprop")
def rmsprop(params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    """RMSprop, as WGAN with weight clipping uses it (betas ignored)."""
    return torch.optim.RMSprop(params, lr=lr, foreach=True)


def lr_factor(kind: str, total_steps: int):
    """Multiplier of the base learning rate at a step: constant, or linear / cosine decay to 0 at total_steps."""
    if kind == "constant":
        return lambda step: 1.0
    if kind == "linear":
        return lambda step: max(0.0, 1.0 - step / total_steps)
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / total_steps))


def build_optimizer(name: str, params, lr: float, betas, schedule: str, total_steps: int):
    """(optimizer, LambdaLR scheduler stepped once per optimiser step)."""
    opt = OPTIMIZERS.get(name)(params, lr=lr, betas=betas)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_factor(schedule, max(total_steps, 1)))


def build_networks(
    section: OptimConfig,
    G: nn.Module,
    D: nn.Module,
    total_steps: int,
    d_constraint: Callable[[nn.Module], None] | None = None,
) -> dict[str, Network]:
    """G and D with their optimisers and schedules: D steps every batch, G every `d_steps` batches, so each
    schedule spans its own number of steps over the run."""

    def network(name: str, module: nn.Module, lr: float, steps: int, constraint=None) -> Network:
        s = section
        opt, sched = build_optimizer(s.name, module.parameters(), lr, s.betas, s.lr_schedule, steps)
        return Network(name, module, opt, sched, s.grad_clip, constraint)

    return {
        "g": network("G", G, section.lr_g, total_steps // section.d_steps),
        "d": network("D", D, section.lr_d, total_steps, d_constraint),
    }
