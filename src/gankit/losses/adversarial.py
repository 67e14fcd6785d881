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
    # d(real_logits [N], fake_logits [N], label_smoothing) -> scalar; g(fake_logits [N]) -> scalar, or for a
    # relativistic loss g(fake_logits [N], real_logits [N]) -> scalar
    d: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
    g: Callable[..., torch.Tensor]
    probabilities: bool = True  # D's output is a logit of "real" (sigmoid is meaningful) rather than a score
    smoothing: bool = True  # real targets can be softened (train.label_smoothing)
    relativistic: bool = False  # G's loss also needs D's logits of real data (G's phase runs D on the reals)


def bce_d_loss(real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """BCE with real target 1 - label_smoothing and fake target 0 (one-sided smoothing)."""
    if label_smoothing == 0:  # the common case, without the zero-weighted term's kernels
        return F.softplus(-real).mean() + F.softplus(fake).mean()
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


@LOSSES.register("lsgan")
def lsgan() -> AdversarialLoss:
    """Least squares (Mao et al. 2017): D regresses real to 1 and fake to 0; G pulls fakes to 1."""

    def d(real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        return 0.5 * ((real - (1.0 - label_smoothing)) ** 2).mean() + 0.5 * (fake**2).mean()

    return AdversarialLoss(d, lambda fake: 0.5 * ((fake - 1.0) ** 2).mean(), probabilities=False)


@LOSSES.register("hinge")
def hinge() -> AdversarialLoss:
    """Hinge (Lim & Ye 2017; SNGAN, BigGAN): D wants real > 1 and fake < -1; G raises D's score of fakes."""

    def d(real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    return AdversarialLoss(d, lambda fake: -fake.mean(), probabilities=False, smoothing=False)


@LOSSES.register("wasserstein")
def wasserstein() -> AdversarialLoss:
    """Wasserstein (Arjovsky et al. 2017): the critic maximises E[D(x)] - E[D(G(z))]; needs clipping or a penalty."""

    def d(real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        return fake.mean() - real.mean()

    return AdversarialLoss(d, lambda fake: -fake.mean(), probabilities=False, smoothing=False)


@LOSSES.register("rpgan")
def rpgan() -> AdversarialLoss:
    """Relativistic pairing (Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024): D judges each fake against a real,
    softplus(D(fake) - D(real)), and G the reverse. Each fake is paired with the real of the same batch position;
    a G that maps many latents to one image has no local optimum in this game, unlike in the BCE one."""

    def d(real: torch.Tensor, fake: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        return F.softplus(fake - real).mean()

    def g(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        return F.softplus(real - fake).mean()

    return AdversarialLoss(d, g, probabilities=False, smoothing=False, relativistic=True)
