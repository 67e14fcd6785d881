"""`r3gan`: the modern residual backbone of R3GAN (Huang et al. 2024, "The GAN is dead; long live the GAN!"),
re-implemented from the paper, sized in the config.

No normalisation anywhere and no StyleGAN tricks: each stage is a transition (G: 1x1 conv then bilinear 2x
up-sampling; D: [1, 3, 3, 1] low-pass 2x down-sampling then 1x1 conv) and residual blocks of
1x1 -> grouped 3x3 -> 1x1 convs (an inverted bottleneck, `expansion` x wider inside, groups of `group_width`
channels) with biased leaky ReLUs. Fix-up initialisation keeps the residual sum's variance flat: the last conv of
each block starts at zero and the others are scaled by L^(-1/4) for L blocks in the network. G starts from a
learned basis of the base resolution scaled per channel by a linear map of z; D ends in a depthwise conv over
its base resolution and a linear (or class-projection) head. Trained with `loss.name=rpgan` and R1 + R2.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models.dcgan import stages_for
from gankit.models.layers import DiscriminatorHead, HeadDiscriminator, LatentWithLabel, check_conditioning
from gankit.models.registry import MODELS

LRELU_GAIN = math.sqrt(2 / (1 + 0.2**2))  # keeps a leaky ReLU (slope 0.2) variance-preserving


def msr_init(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    """He initialisation with an explicit gain: weights N(0, gain^2 / fan_in), bias 0."""
    fan_in = layer.weight[0].numel()
    nn.init.normal_(layer.weight, 0.0, gain / math.sqrt(fan_in))
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def conv(c_in: int, c_out: int, kernel: int, gain: float = 1.0, groups: int = 1) -> nn.Conv2d:
    return msr_init(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups, bias=False), gain)


class BiasedLReLU(nn.Module):
    """A per-channel bias, then leaky ReLU 0.2: the convs carry no bias of their own."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.bias.to(x.dtype).view(1, -1, 1, 1), 0.2)


class ResidualBlock(nn.Module):
    """x + 1x1(act(grouped 3x3(act(1x1(x))))); `total_blocks` of the network sets the fix-up scale."""

    def __init__(self, channels: int, expansion: int, group_width: int, total_blocks: int):
        super().__init__()
        inner = channels * expansion
        if inner % group_width:
            raise ConfigError(
                f"r3gan: {inner} inner channels ({channels} x expansion {expansion}) are not a multiple of "
                f"model.group_width {group_width}",
                "choose widths and a group width that divide",
            )
        gain = LRELU_GAIN * total_blocks ** (-1 / 4)  # Fixup: L^(-1/(2m-2)) for m = 3 layers per branch
        self.body = nn.Sequential(
            conv(channels, inner, 1, gain),
            BiasedLReLU(inner),
            conv(inner, inner, 3, gain, groups=inner // group_width),
            BiasedLReLU(inner),
            conv(inner, channels, 1, gain=0.0),  # the branch starts as the identity's zero
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def lowpass_half(x: torch.Tensor, dim: int) -> torch.Tensor:
    """2x down-sampling along `dim` by the [1, 3, 3, 1] / 8 filter (bilinear's), zero-padded by one: four strided
    slices summed. Plain slicing and adds, because R1 and R2 take a double backward through D: torch runs a depthwise
    conv's double backward as one conv per channel, and one 1-channel conv over N x C images took 4-5x as long as
    this on the CPU (docs/r3gan.md)."""
    n = x.shape[dim]
    x = F.pad(x, (1, 1) if dim == 3 else (0, 0, 1, 1))
    index = [slice(None)] * x.dim()
    taps = []
    for i in range(4):  # output j reads padded inputs 2j .. 2j + 3
        index[dim] = slice(i, i + n - 1, 2)
        taps.append(x[tuple(index)])
    return (taps[0] + taps[3]).mul(0.125).add_(taps[1] + taps[2], alpha=0.375)


class Downsample(nn.Module):
    """2x down-sampling of feature maps by the [1, 3, 3, 1] low-pass filter in both directions."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lowpass_half(lowpass_half(x, 3), 2)


def stage_widths(resolution: int, width: int, widths: list[int] | None) -> list[int]:
    """Channels per stage, from the base resolution up."""
    stages, _ = stages_for(resolution)
    if widths is None:
        return [width] * (stages + 1)
    if len(widths) != stages + 1 or min(widths) < 1:
        raise ConfigError(
            f"model.widths must give {stages + 1} positive widths for {resolution} px (one per resolution from "
            f"the base up), got {widths}"
        )
    return list(widths)


class R3Generator(nn.Module):
    def __init__(self, z_dim, shape, widths, blocks, expansion, group_width, num_classes=None):
        super().__init__()
        self.z_dim, self.shape, self.num_classes = z_dim, tuple(shape), num_classes
        channels, resolution, _ = shape
        _, self.base = stages_for(resolution)
        self.input = LatentWithLabel(z_dim, num_classes, z_dim)
        total = blocks * len(widths)
        self.basis = nn.Parameter(torch.randn(widths[0], self.base, self.base))
        self.scale = msr_init(nn.Linear(self.input.out_dim, widths[0], bias=False))
        layers: list[nn.Module] = []
        for i, c in enumerate(widths):
            if i > 0:
                if widths[i - 1] != c:
                    layers.append(conv(widths[i - 1], c, 1))
                layers.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            layers += [ResidualBlock(c, expansion, group_width, total) for _ in range(blocks)]
        self.body = nn.Sequential(*layers)
        self.to_image = conv(widths[-1], channels, 1)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        s = self.scale(self.input(z, c))  # [N, C0]
        x = self.basis.to(s.dtype) * s[:, :, None, None]  # [N, C0, base, base]
        return self.to_image(self.body(x))  # [N, C, H, W], unbounded (about [-1, 1] once trained)


class R3Discriminator(HeadDiscriminator):
    def __init__(self, shape, widths, blocks, expansion, group_width, num_classes=None, condition="none", aux=False):
        super().__init__()
        channels, resolution, _ = shape
        _, base = stages_for(resolution)
        total = blocks * len(widths)
        top_down = widths[::-1]
        layers: list[nn.Module] = [conv(channels, top_down[0], 1)]
        for i, c in enumerate(top_down):
            layers += [ResidualBlock(c, expansion, group_width, total) for _ in range(blocks)]
            if i + 1 < len(top_down):
                layers.append(Downsample())
                if top_down[i + 1] != c:
                    layers.append(conv(c, top_down[i + 1], 1))
        # The basis: one depthwise filter over the whole base map per channel, so position is not averaged away.
        layers += [msr_init(nn.Conv2d(widths[0], widths[0], base, groups=widths[0], bias=False)), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.head = DiscriminatorHead(widths[0], num_classes, condition == "projection", aux)
        msr_init(self.head.linear)
        if self.head.project is not None:
            nn.init.normal_(self.head.project.weight, 0.0, 1 / math.sqrt(widths[0]))

    def features(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        return self.body(x)  # [N, widths[0]]


@MODELS.register("r3gan")
def r3gan(
    *,
    shape: tuple[int, ...],
    z_dim: int,
    num_classes: int | None = None,
    width: int = 64,
    widths: list[int] | None = None,
    blocks: int = 2,
    expansion: int = 2,
    group_width: int = 16,
    condition: Literal["none", "projection"] = "none",
    aux_classifier: bool = False,
) -> tuple[nn.Module, nn.Module]:
    """R3GAN's residual backbone (Huang et al. 2024): no normalisation, grouped-conv bottlenecks, fix-up init.

    `widths` gives the channels per resolution from the base up (e.g. [128, 128, 64] at 7, 14, 28 px), or
    `width` all of them; `blocks` residual blocks per resolution in each network; `expansion` and `group_width`
    shape the bottleneck (R3GAN's CIFAR-10 config: 768 channels, 2 blocks, expansion 2, groups of 16).
    `condition=projection` makes both class-conditional: a label embedding beside z, and a projection head on D.
    """
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(f"r3gan needs square images, got items of shape {tuple(shape)}")
    for name, value in (("width", width), ("blocks", blocks), ("expansion", expansion), ("group_width", group_width)):
        if value < 1:
            raise ConfigError(f"model.{name} must be >= 1, got {value}")
    plan = stage_widths(shape[1], width, widths)
    classes = num_classes if check_conditioning(num_classes, condition, aux_classifier) else None
    shape3 = (shape[0], shape[1], shape[2])
    g = R3Generator(z_dim, shape3, plan, blocks, expansion, group_width, classes)
    d = R3Discriminator(shape3, plan, blocks, expansion, group_width, classes, condition, aux_classifier)
    return g, d
