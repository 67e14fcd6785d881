"""`vanilla`: the fully connected GAN of Goodfellow et al. (2014) as the MNIST tutorials teach it,
and its conditional form (Mirza & Osindero 2014)."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.layers import (
    DiscriminatorHead,
    HeadDiscriminator,
    LatentWithLabel,
    activation,
    check_conditioning,
    check_pack,
    pack_samples,
    with_spectral_norm,
)
from gankit.models.registry import MODELS


def _mlp(sizes: list[int], act: str) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), activation(act)]
    return layers


class MLPGenerator(nn.Module):
    def __init__(self, z_dim, shape, hidden, act, output, num_classes=None, label_dim=10):
        super().__init__()
        self.z_dim, self.shape, self.num_classes = z_dim, tuple(shape), num_classes
        self.input = LatentWithLabel(z_dim, num_classes, label_dim)
        self.net = nn.Sequential(*_mlp([self.input.out_dim, *hidden], act), nn.Linear(hidden[-1], math.prod(shape)))
        self.out = nn.Tanh() if output == "tanh" else nn.Identity()

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.net(self.input(z, c))).unflatten(1, self.shape)  # [N, *shape]


class MLPDiscriminator(HeadDiscriminator):
    def __init__(
        self, shape, hidden, act, num_classes=None, condition="none", aux_classifier=False, label_dim=10, pack=1
    ):
        super().__init__()
        self.concat = nn.Embedding(num_classes, label_dim) if condition == "concat" else None
        self.pack = pack
        inputs = math.prod(shape) * pack + (label_dim if self.concat is not None else 0)
        self.body = nn.Sequential(*_mlp([inputs, *hidden], act))
        self.head = DiscriminatorHead(hidden[-1], num_classes, condition == "projection", aux_classifier)

    def features(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        x = pack_samples(x.flatten(1), self.pack)
        if self.concat is not None:
            x = torch.cat([x, self.concat(c).to(x.dtype)], 1)
        return self.body(x)


@MODELS.register("vanilla")
def vanilla(
    *,
    shape: tuple[int, ...],
    z_dim: int,
    num_classes: int | None = None,
    g_hidden: list[int] = [128],  # noqa: B006  (read only; a list so YAML and --set can give several layers)
    d_hidden: list[int] = [128],  # noqa: B006
    activation: Literal["relu", "leaky_relu"] = "relu",
    output: Literal["tanh", "linear"] | None = None,
    condition: Literal["none", "concat", "projection"] = "none",
    aux_classifier: bool = False,
    label_dim: int = 10,
    spectral_norm: bool = False,
    pack: int = 1,
) -> tuple[nn.Module, nn.Module]:
    """Fully connected G and D (tutorial MNIST GAN: z -> 128 ReLU -> 784 tanh; 784 -> 128 ReLU -> 1 logit).

    `condition` makes both class-conditional: G concatenates a label embedding to z; D concatenates
    one to its input (concat) or projects it onto its features (projection). `pack` m > 1 makes D judge m
    samples at once (PacGAN, Lin et al. 2018): a batch of N gives N / m decisions, all real or all fake, so
    a G that repeats itself is seen doing so. Unconditional only; the batch size must be a multiple of m.
    """
    if not g_hidden or not d_hidden or min(*g_hidden, *d_hidden) <= 0:
        raise ConfigError(f"model.g_hidden and model.d_hidden must be lists of sizes > 0, got {g_hidden}, {d_hidden}")
    conditional = check_conditioning(num_classes, condition, aux_classifier)
    check_pack(pack, conditional)
    classes = num_classes if conditional else None
    # Images live in [-1, 1], so tanh; toy points are unbounded, so a linear output.
    output = output or ("tanh" if len(shape) == 3 else "linear")
    G = MLPGenerator(z_dim, shape, list(g_hidden), activation, output, classes, label_dim)
    D = MLPDiscriminator(shape, list(d_hidden), activation, classes, condition, aux_classifier, label_dim, pack)
    return G, with_spectral_norm(D) if spectral_norm else D
