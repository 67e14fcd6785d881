"""Regularisers added to one network's loss. Each is registered with the network it regularises (`D` or `G`);
the training phases weigh it and schedule it (every N steps of its network: lazy regularisation).

A penalty is called with the objective (which holds G, D and the latent stream) and the step's batch, and
returns the unweighted value. One with running state (a moving average, say) also has
`state() -> (tensors, values)` and `load_state(tensors, meta)`, and is checkpointed with the run.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal, Protocol

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.registry import Registry

PENALTIES = Registry("penalty")


class Batch(Protocol):
    real: torch.Tensor  # [N, ...] in model range
    c_real: torch.Tensor | None  # [N] classes, or None
    fake: torch.Tensor  # [N, ...] G's output for this step (it carries G's graph only in G's phases)
    c_fake: torch.Tensor | None


class Penalty:
    """Base of the registered penalties: the network it regularises, and how it is called.

    `objective.critic(x, c)` is D as the adversarial loss sees it (through the augmentation, if any);
    `objective.generator` is the bare G (not a DDP or compiled wrapper), for penalties that need its parts.
    """

    network: ClassVar[Literal["D", "G"]]
    # A penalty on a gradient is backpropagated through that gradient: compiled graphs cannot do that.
    double_backward: ClassVar[bool] = True

    def __call__(self, objective: Any, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def check(self, G: nn.Module, D: nn.Module) -> None:
        """Raise ConfigError if the models cannot take this penalty (checked when the run is built)."""

    def auto_weight(self, shape: tuple[int, ...], batch_size: int) -> float:
        """The weight `weight: auto` stands for, where the penalty has a published heuristic."""
        raise ConfigError(f"penalty {type(self).__name__} has no automatic weight", "give a number")


def _grad(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """d(sum outputs)/d inputs per output [M, features], kept in the graph so the penalty itself can be
    backpropagated (double backward). M is N, or N / m for a D that judges packs of m samples (PacGAN): each
    decision's gradient is then over its whole pack, the space the Lipschitz constraint lives in."""
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True)
    return grad.reshape(len(outputs), -1)


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
        return gradient_penalty(objective.critic, batch.real, batch.fake, batch.c_real, batch.c_fake)


@PENALTIES.register("r1")
class R1Penalty(Penalty):
    """R1 on D (Mescheder et al. 2018): 1/2 ||grad D(x)||^2 on reals; lazily every 16 D steps in StyleGAN2."""

    network = "D"

    def __call__(self, objective: Any, batch: Batch) -> torch.Tensor:
        return r1_penalty(objective.critic, batch.real, batch.c_real)

    def auto_weight(self, shape: tuple[int, ...], batch_size: int) -> float:
        """StyleGAN2-ADA's heuristic (Karras et al. 2020b, appendix): gamma = 0.0002 * H * W / batch."""
        if len(shape) != 3:
            raise ConfigError("loss.penalties.r1.weight: auto needs images (its heuristic is per pixel)")
        return 0.0002 * shape[1] * shape[2] / batch_size


@PENALTIES.register("r2")
class R2Penalty(R1Penalty):
    """R2 on D (Mescheder et al. 2018): 1/2 ||grad D(x)||^2 on fakes; with R1, R3GAN's pair (Huang et al. 2024)."""

    def __call__(self, objective: Any, batch: Batch) -> torch.Tensor:
        return r1_penalty(objective.critic, batch.fake, batch.c_fake)


@PENALTIES.register("pl")
class PathLengthPenalty(Penalty):
    """Path length on G (Karras et al. 2020a): (|J_w^T y| - a)^2, a the running mean; weight 2 every 4 G steps.

    J_w is the Jacobian of the image with respect to the styles w and y Gaussian image noise divided by
    sqrt(H * W); its length is computed on batch / `batch_shrink` fresh latents and `a` follows it with
    `decay` per call. Needs a style-based generator (`G.styles`, `G.synthesis`).
    """

    network = "G"

    def __init__(self, decay: float = 0.01, batch_shrink: int = 2):
        if not 0 < decay <= 1 or batch_shrink < 1:
            raise ConfigError("loss.penalties.pl needs decay in (0, 1] and batch_shrink >= 1")
        self.decay, self.batch_shrink = decay, batch_shrink
        self.mean = torch.zeros(())

    def check(self, G: nn.Module, D: nn.Module) -> None:
        if not (hasattr(G, "styles") and hasattr(G, "synthesis")):
            raise ConfigError("loss.penalties.pl needs a style-based generator", "use model.name=stylegan2")

    def __call__(self, objective: Any, batch: Batch) -> torch.Tensor:
        G = objective.generator
        z, c = objective.latents(max(1, len(batch.real) // self.batch_shrink), batch.real.device)
        ws = G.styles(z, c)
        images = G.synthesis(ws)
        noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
        (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
        lengths = grad.float().square().sum(2).mean(1).sqrt()  # [n]
        self.mean = self.mean.to(lengths.device).lerp(lengths.mean().detach(), self.decay)
        return (lengths - self.mean).square().mean()

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {"penalty.pl.mean": self.mean}, {}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.mean = tensors["penalty.pl.mean"].clone()


@PENALTIES.register("ms")
class ModeSeekingPenalty(Penalty):
    """Mode seeking on G (MSGAN, Mao et al. 2019): 1 / (mean|G(z1, c) - G(z2, c)| / mean|z1 - z2| + eps).

    Two latents per class drawn for the same classes: a G that maps them to one image (the intra-class mode
    collapse of conditional GANs) pays for it. Computed on batch / `batch_shrink` fresh pairs; weight 1 in the
    paper. Works for unconditional generators too (c is then None).
    """

    network = "G"
    double_backward = False

    def __init__(self, batch_shrink: int = 2, eps: float = 1e-5):
        if batch_shrink < 1 or eps <= 0:
            raise ConfigError("loss.penalties.ms needs batch_shrink >= 1 and eps > 0")
        self.batch_shrink, self.eps = batch_shrink, eps

    def __call__(self, objective: Any, batch: Batch) -> torch.Tensor:
        n = max(1, len(batch.real) // self.batch_shrink // 2)
        z1, c = objective.latents(n, batch.real.device)
        z2, _ = objective.latents(n, batch.real.device)
        pair = objective.generator(torch.cat([z1, z2]), None if c is None else torch.cat([c, c]))
        x1, x2 = pair.float().chunk(2)
        spread = (x1 - x2).abs().mean() / (z1 - z2).abs().mean()
        return 1.0 / (spread + self.eps)
