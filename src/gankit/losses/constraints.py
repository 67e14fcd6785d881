"""Constraints applied to a network's weights after its optimiser step."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def clip_weights(module: nn.Module, bound: float) -> None:
    """WGAN weight clipping (Arjovsky et al. 2017): every parameter into [-bound, bound]."""
    params = list(module.parameters())
    torch._foreach_clamp_min_(params, -bound)
    torch._foreach_clamp_max_(params, bound)
