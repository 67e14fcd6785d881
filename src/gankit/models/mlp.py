"""`vanilla`: the fully connected GAN of Goodfellow et al. (2014) as the MNIST tutorials teach it."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.layers import activation
from gankit.models.registry import MODELS


def _mlp(sizes: list[int], act: str) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), activation(act)]
    return [*layers, nn.Linear(sizes[-2], sizes[-1])]


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, shape: tuple[int, ...], hidden: list[int], act: str, output: str):
        super().__init__()
        self.z_dim, self.shape = z_dim, tuple(shape)
        self.net = nn.Sequential(*_mlp([z_dim, *hidden, math.prod(shape)], act))
        self.out = nn.Tanh() if output == "tanh" else nn.Identity()

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.net(z)).view(len(z), *self.shape)  # [N, *shape]


class MLPDiscriminator(nn.Module):
    def __init__(self, shape: tuple[int, ...], hidden: list[int], act: str):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), *_mlp([math.prod(shape), *hidden, 1], act))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).squeeze(1)  # [N] logits; the sigmoid lives in the loss


@MODELS.register("vanilla")
def vanilla(
    *,
    shape: tuple[int, ...],
    z_dim: int,
    g_hidden: list[int] = [128],  # noqa: B006  (read only; a list so YAML and --set can give several layers)
    d_hidden: list[int] = [128],  # noqa: B006
    activation: Literal["relu", "leaky_relu"] = "relu",
    output: Literal["tanh", "linear"] | None = None,
) -> tuple[nn.Module, nn.Module]:
    """Fully connected G and D (tutorial MNIST GAN: z -> 128 ReLU -> 784 tanh; 784 -> 128 ReLU -> 1 logit)."""
    if not g_hidden or not d_hidden or min(*g_hidden, *d_hidden) <= 0:
        raise ConfigError(
            f"model.g_hidden and model.d_hidden must be non-empty lists of sizes > 0, got {g_hidden}, {d_hidden}"
        )
    # Images live in [-1, 1], so tanh; toy points are unbounded, so a linear output.
    output = output or ("tanh" if len(shape) == 3 else "linear")
    return MLPGenerator(z_dim, shape, list(g_hidden), activation, output), MLPDiscriminator(
        shape, list(d_hidden), activation
    )
