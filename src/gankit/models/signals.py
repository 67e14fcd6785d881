"""Models for 1-D signals [N, C, L]: `conv1d` (WaveGAN-style convolutions with phase shuffle) and `rnn`
(GRUs over time, for short multivariate series as in TimeGAN's benchmarks).

Both take every loss and penalty the image models take: D maps (x, c) to features and a shared head scores
them (a projection head when conditional), so WGAN-GP, hinge with spectral norm and R1 apply unchanged.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models.layers import (
    DiscriminatorHead,
    HeadDiscriminator,
    LatentWithLabel,
    check_conditioning,
    with_spectral_norm,
)
from gankit.models.registry import MODELS


def stages_for_length(length: int, base: int, most: int) -> int:
    """How many 2x stages take a base length of at least `base` steps up to `length` (at most `most`)."""
    return max(1, min(most, int(math.log2(max(length / base, 1.0)))))


class PhaseShuffle(nn.Module):
    """Shifts each item by a random whole step in [-n, n] with reflection at the ends (WaveGAN, Donahue et al.
    2019), so D cannot key on the exact phase of periodic artefacts. Identity in eval mode."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.n == 0:
            return x
        shifts = torch.randint(-self.n, self.n + 1, (len(x),), device=x.device)
        padded = F.pad(x, (self.n, self.n), mode="reflect")
        index = torch.arange(x.shape[-1], device=x.device) + self.n - shifts[:, None]  # [N, L]
        return padded.gather(2, index[:, None, :].expand(-1, x.shape[1], -1))


class Conv1dGenerator(nn.Module):
    def __init__(self, z_dim, shape, width, kernel, stages, num_classes=None, label_dim=8, upsample="nearest"):
        super().__init__()
        self.z_dim, self.shape, self.num_classes = z_dim, tuple(shape), num_classes
        channels, length = shape
        self.base = math.ceil(length / 2**stages)
        widths = [min(512, width * 2 ** (stages - i)) for i in range(stages + 1)]
        self.input = LatentWithLabel(z_dim, num_classes, label_dim)
        self.project = nn.Linear(self.input.out_dim, widths[0] * self.base)
        self.widths = widths
        layers: list[nn.Module] = [nn.BatchNorm1d(widths[0]), nn.ReLU()]
        for c_in, c_out in zip(widths, widths[1:]):
            # Upsample + conv rather than a transposed conv: no checkerboard artefacts in the spectrum.
            layers += [nn.Upsample(scale_factor=2, mode=upsample), nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)]
            layers += [nn.BatchNorm1d(c_out), nn.ReLU()]
        layers += [nn.Conv1d(widths[-1], channels, kernel, padding=kernel // 2), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(self.input(z, c)).unflatten(1, (self.widths[0], self.base))
        return self.body(h)[:, :, : self.shape[1]]  # [N, C, L] in [-1, 1]


class Conv1dDiscriminator(HeadDiscriminator):
    def __init__(self, shape, width, kernel, stages, phase_shuffle, num_classes=None, condition="none", aux=False):
        super().__init__()
        channels, length = shape
        widths = [min(512, width * 2**i) for i in range(stages)]
        layers: list[nn.Module] = []
        for c_in, c_out in zip([channels, *widths], widths):
            layers += [nn.Conv1d(c_in, c_out, kernel, 2, kernel // 2), nn.LeakyReLU(0.2)]
            layers.append(PhaseShuffle(phase_shuffle))
        self.body = nn.Sequential(*layers[:-1], nn.Flatten())  # no shuffle after the last conv
        features = widths[-1] * self._length_after(length, stages, kernel)
        self.head = DiscriminatorHead(features, num_classes, condition == "projection", aux)

    @staticmethod
    def _length_after(length: int, stages: int, kernel: int) -> int:
        for _ in range(stages):
            length = (length + 2 * (kernel // 2) - kernel) // 2 + 1
        return length

    def features(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        return self.body(x)


def _check(shape, condition, num_classes, aux_classifier, **sizes) -> int | None:
    if len(shape) != 2:
        raise ConfigError(f"this model makes 1-D signals [C, L]; the data set's items have shape {tuple(shape)}")
    for name, value in sizes.items():
        if value < 1:
            raise ConfigError(f"model.{name} must be >= 1, got {value}")
    if condition == "concat":
        raise ConfigError("signal models condition D by projection: model.condition=projection")
    return num_classes if check_conditioning(num_classes, condition, aux_classifier) else None


@MODELS.register("conv1d")
def conv1d(
    *,
    shape: tuple[int, ...],
    z_dim: int,
    num_classes: int | None = None,
    g_width: int = 32,
    d_width: int = 32,
    kernel: int = 5,
    stages: int | None = None,
    phase_shuffle: int = 2,
    condition: Literal["none", "projection"] = "none",
    aux_classifier: bool = False,
    label_dim: int = 8,
    spectral_norm: bool = False,
    upsample: Literal["nearest", "linear"] = "nearest",
) -> tuple[nn.Module, nn.Module]:
    """1-D conv G (upsample + conv, BatchNorm) and strided-conv D with phase shuffle (WaveGAN-style), any length.

    `stages` 2x up/down stages (default: as many as keep 3+ steps at the base, at most 10); widths double
    per stage toward the latent, up to 512. `phase_shuffle` n shifts D's activations by up to n steps.
    `upsample` is how G doubles the length before each conv: nearest (steps of two equal values) or linear
    (interpolated, for smooth series).
    """
    classes = _check(shape, condition, num_classes, aux_classifier, g_width=g_width, d_width=d_width, kernel=kernel)
    if phase_shuffle < 0:
        raise ConfigError(f"model.phase_shuffle must be >= 0, got {phase_shuffle}")
    stages = stages or stages_for_length(shape[1], 3, 10)
    g = Conv1dGenerator(z_dim, shape, g_width, kernel, stages, classes, label_dim, upsample)
    d = Conv1dDiscriminator(shape, d_width, kernel, stages, phase_shuffle, classes, condition, aux_classifier)
    return g, with_spectral_norm(d) if spectral_norm else d


class RecurrentGenerator(nn.Module):
    """z (and the label) at every step beside a learned position code, through a GRU, to C values per step."""

    def __init__(self, z_dim, shape, hidden, layers, num_classes=None, label_dim=8):
        super().__init__()
        self.z_dim, self.shape, self.num_classes = z_dim, tuple(shape), num_classes
        channels, length = shape
        self.input = LatentWithLabel(z_dim, num_classes, label_dim)
        self.position = nn.Parameter(torch.randn(length, hidden) * 0.1)
        self.inject = nn.Linear(self.input.out_dim, hidden)
        self.rnn = nn.GRU(hidden, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, channels)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        steps = self.inject(self.input(z, c))[:, None, :] + self.position[None]  # [N, L, H]
        h, _ = self.rnn(steps)
        return torch.tanh(self.out(h)).transpose(1, 2)  # [N, C, L]


class RecurrentDiscriminator(HeadDiscriminator):
    """A GRU over the series; its mean hidden state over time is scored by the shared head."""

    def __init__(self, shape, hidden, layers, num_classes=None, condition="none", aux=False):
        super().__init__()
        self.rnn = nn.GRU(shape[0], hidden, layers, batch_first=True)
        self.head = DiscriminatorHead(hidden, num_classes, condition == "projection", aux)

    def input_blocks(self) -> list[list[nn.Module]]:
        return [[self.rnn]]  # its layers are one module: all or none

    def features(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        h, _ = self.rnn(x.transpose(1, 2))
        return h.mean(1)


@MODELS.register("rnn")
def rnn(
    *,
    shape: tuple[int, ...],
    z_dim: int,
    num_classes: int | None = None,
    g_hidden: int = 64,
    d_hidden: int = 64,
    layers: int = 2,
    condition: Literal["none", "projection"] = "none",
    aux_classifier: bool = False,
    label_dim: int = 8,
) -> tuple[nn.Module, nn.Module]:
    """GRU generator and discriminator for short multivariate series (tens of steps, as in TimeGAN's sines).

    Double backward through a GRU is not implemented in PyTorch on every device: use it with penalties that
    need no second derivative of D (none, or WGAN weight clipping), or with the conv1d D.
    """
    classes = _check(shape, condition, num_classes, aux_classifier, g_hidden=g_hidden, d_hidden=d_hidden, layers=layers)
    g = RecurrentGenerator(z_dim, shape, g_hidden, layers, classes, label_dim)
    return g, RecurrentDiscriminator(shape, d_hidden, layers, classes, condition, aux_classifier)
