"""Regularisers of the discriminator, as functions of D and a batch; the objective weighs and schedules them."""

from __future__ import annotations

import torch

from gankit.registry import Registry

PENALTIES = Registry("penalty")


def _grad(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """d(sum outputs)/d inputs, kept in the graph so the penalty itself can be backpropagated (double backward)."""
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return grad.flatten(1)  # [N, features]


@PENALTIES.register("gp")
def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, c_real=None, c_fake=None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake."""
    eps = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    norms = _grad(D(mixed, c_real), mixed).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


@PENALTIES.register("r1")
def r1_penalty(D, real: torch.Tensor, fake: torch.Tensor, c_real=None, c_fake=None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): 1/2 E[||grad D(x)||^2] on real data only."""
    real = real.detach().requires_grad_(True)
    return 0.5 * _grad(D(real, c_real), real).pow(2).sum(1).mean()
