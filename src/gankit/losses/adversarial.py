"""Adversarial losses as tiny pure functions of D's logits.

BCE on logits is written with softplus: -log sigmoid(t) = softplus(-t), -log(1 - sigmoid(t)) = softplus(t).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F

from gankit.registry import Registry

LOSSES = Registry("loss")


class AdversarialLoss(NamedTuple):
    # d(real_logits [N], fake_logits [N], label_smoothing) -> scalar; g(fake_logits [N]) -> scalar
    d: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
    g: Callable[[torch.Tensor], torch.Tensor]


def bce_d_loss(real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """BCE with real target 1 - label_smoothing and fake target 0 (one-sided smoothing)."""
    target = 1.0 - label_smoothing
    real_term = target * F.softplus(-real) + (1 - target) * F.softplus(real)
    return real_term.mean() + F.softplus(fake).mean()


@LOSSES.register("nonsaturating")
def nonsaturating() -> AdversarialLoss:
    """BCE; G maximises log D(G(z)) (the non-saturating form of Goodfellow et al. 2014)."""
    return AdversarialLoss(bce_d_loss, lambda fake: F.softplus(-fake).mean())


@LOSSES.register("minimax")
def minimax() -> AdversarialLoss:
    """BCE; G minimises log(1 - D(G(z))), the original minimax game (its gradient vanishes early on)."""
    return AdversarialLoss(bce_d_loss, lambda fake: -F.softplus(fake).mean())
