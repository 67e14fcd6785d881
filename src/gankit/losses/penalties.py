"""Regularisers added to one network's loss. Each is registered with the network it regularises (`D` or `G`);
the training phases weigh it and schedule it (every N steps of its network: lazy regularisation).

A penalty is called with the objective (which holds G, D and the latent stream) and the step's batch, and
returns the unweighted value. One with running state (a moving average, say) also has
`state() -> (tensors, values)` and `load_state(tensors, meta)`, and is checkpointed with the run.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Protocol

import torch

from gankit.registry import Registry

PENALTIES = Registry("penalty")


class Batch(Protocol):
    real: torch.Tensor  # [N, ...] in model range
    c_real: torch.Tensor | None  # [N] classes, or None
    fake: torch.Tensor  # [N, ...] G's output for this step (it carries G's graph only in G's phases)
    c_fake: torch.Tensor | None


class Penalty:
    """Base of the registered penalties: the network it regularises, and how it is called."""

    network: ClassVar[Literal["D", "G"]]

    def __call__(self, objective: Any, batch: Batch) -> torch.Tensor:
        raise NotImplementedError


def _grad(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """d(sum outputs)/d inputs, kept in the graph so the penalty itself can be backpropagated (double backward)."""
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return grad.flatten(1)  # [N, features]


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, c_real=None, c_fake=None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake."""
    eps = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    norms = _grad(D(mixed, c_real), mixed).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


def r1_penalty(D, real: torch.Tensor, c_real=None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): 1/2 E[||grad D(x)||^2] on real data only."""
    real = real.detach().requires_grad_(True)
    return 0.5 * _grad(D(real, c_real), real).pow(2).sum(1).mean()


@PENALTIES.register("gp")
class GradientPenalty(Penalty):
    """WGAN-GP on D (Gulrajani et al. 2017): (||grad D|| - 1)^2 on real-fake interpolates; weight 10 in the paper."""

    network = "D"

    def __call__(self, objective: Any, batch: Batch) -> torch.Tensor:
        return gradient_penalty(objective.D, batch.real, batch.fake, batch.c_real, batch.c_fake)


@PENALTIES.register("r1")
class R1Penalty(Penalty):
    """R1 on D (Mescheder et al. 2018): 1/2 ||grad D(x)||^2 on reals; lazily every 16 D steps in StyleGAN2."""

    network = "D"

    def __call__(self, objective: Any, batch: Batch) -> torch.Tensor:
        return r1_penalty(objective.D, batch.real, batch.c_real)
