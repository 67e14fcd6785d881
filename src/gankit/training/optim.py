"""Optimisers and learning-rate schedules, built from plain values."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from gankit.registry import Registry

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
