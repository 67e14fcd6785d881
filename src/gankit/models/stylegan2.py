"""`stylegan2`: the style-based generator and residual discriminator of StyleGAN2 (Karras et al. 2020a),
re-implemented from the paper, sized to train on a CPU.

G = synthesis(mapping(z, c)): an MLP maps the normalised latent (and a label embedding) to w, which styles
every modulated conv of the synthesis network; that starts from a learned constant, adds per-pixel noise in
every layer, and sums the RGB outputs of every resolution (skip architecture). D is residual, with a
minibatch-stddev feature before its head and, when conditional, a projection of a label embedding.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models.dcgan import stages_for
from gankit.models.layers import DiscriminatorHead, HeadDiscriminator, check_conditioning
from gankit.models.registry import MODELS
from gankit.models.styled import (
    SQRT2,
    EqualConv2d,
    EqualLinear,
    ModulatedConv2d,
    NoiseInput,
    minibatch_stddev,
    normalize_2nd_moment,
)


def channel_plan(resolution: int, channel_base: int, channel_max: int) -> dict[int, int]:
    """Feature maps per resolution, base .. resolution: channel_base / r (r rounded to a power of two), capped."""
    stages, base = stages_for(resolution)
    sizes = [base * 2**i for i in range(stages + 1)]
    return {r: max(1, min(channel_max, channel_base // 2 ** round(math.log2(r)))) for r in sizes}


class MappingNetwork(nn.Module):
    """z (and c) -> w: normalised z, concatenated with a normalised label embedding, through `layers` equalised
    fully connected layers at 1/100 of the learning rate. Tracks w_avg, the moving average of w, for truncation."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, num_classes: int | None, w_avg_beta: float = 0.995):
        super().__init__()
        self.embed = EqualLinear(num_classes, w_dim) if num_classes else None
        dims = [z_dim + (w_dim if num_classes else 0)] + [w_dim] * layers
        self.net = nn.Sequential(*(EqualLinear(a, b, lr_mul=0.01, act=True) for a, b in zip(dims[:-1], dims[1:])))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.num_classes, self.w_avg_beta = num_classes, w_avg_beta

    def forward(
        self, z: torch.Tensor, c: torch.Tensor | None, truncation: float = 1.0, track: bool = True
    ) -> torch.Tensor:
        """w [N, w_dim]; in training (and with `track`) w_avg moves toward this batch's mean w."""
        x = normalize_2nd_moment(z.float())
        if self.embed is not None:
            if c is None:
                raise ValueError("this generator is class-conditional: pass class labels c")
            onehot = c.to(x.dtype) if c.is_floating_point() else F.one_hot(c, self.num_classes).to(x.dtype)
            x = torch.cat([x, normalize_2nd_moment(self.embed(onehot).float())], 1)
        w = self.net(x)
        if self.training and track:
            self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        if truncation != 1.0:
            w = self.w_avg.to(w.dtype).lerp(w, truncation)  # psi = 0 gives w_avg, 1 leaves w as it is
        return w  # [N, w_dim]


class SynthesisBlock(nn.Module):
    """One resolution: (upsample and) two modulated 3x3 convs with noise, and its RGB output (a 1x1 modulated
    conv without demodulation); the first block starts from a learned constant and has one conv."""

    def __init__(self, cin: int, cout: int, resolution: int, w_dim: int, channels: int, first: bool, noise: bool):
        super().__init__()
        self.const = nn.Parameter(torch.randn(cout, resolution, resolution)) if first else None
        self.convs = nn.ModuleList(
            ([] if first else [ModulatedConv2d(cin, cout, 3, w_dim, up=True)]) + [ModulatedConv2d(cout, cout, 3, w_dim)]
        )
        self.noises = nn.ModuleList(NoiseInput(resolution) if noise else nn.Identity() for _ in self.convs)
        self.biases = nn.ParameterList(nn.Parameter(torch.zeros(cout)) for _ in self.convs)
        self.to_rgb = ModulatedConv2d(cout, channels, 1, w_dim, demodulate=False)
        self.rgb_bias = nn.Parameter(torch.zeros(channels))

    @property
    def num_ws(self) -> int:
        return len(self.convs)

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor):
        """ws [N, num_ws + 1, w_dim]: one per conv, the last for the RGB output (shared with the next block)."""
        if self.const is not None:
            x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        for i, (conv, noise, bias) in enumerate(zip(self.convs, self.noises, self.biases)):
            # lrelu(a) sqrt(2) = lrelu(sqrt(2) a): the activation's gain is folded into the conv's output scale,
            # the noise strength and the bias, which saves a pass over the maps forward and backward
            y = conv(x, ws[:, i], SQRT2)
            if isinstance(noise, NoiseInput):
                y = noise(y, SQRT2)
            x = F.leaky_relu(y + (bias * SQRT2)[None, :, None, None].to(x.dtype), 0.2)
        rgb = self.to_rgb(x, ws[:, -1]) + self.rgb_bias[None, :, None, None].to(x.dtype)
        if img is not None:
            rgb = rgb + F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
        return x, rgb


class SynthesisNetwork(nn.Module):
    def __init__(self, shape: tuple[int, int, int], w_dim: int, plan: dict[int, int], noise: bool = True):
        super().__init__()
        channels = shape[0]
        sizes = list(plan)
        self.blocks = nn.ModuleList(
            SynthesisBlock(plan[sizes[max(i - 1, 0)]], plan[r], r, w_dim, channels, first=i == 0, noise=noise)
            for i, r in enumerate(sizes)
        )
        self.num_ws = sum(b.num_ws for b in self.blocks) + 1

    def forward(self, ws: torch.Tensor) -> torch.Tensor:
        x = img = None
        i = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, i : i + block.num_ws + 1])
            i += block.num_ws
        return img


class StyleGAN2Generator(nn.Module):
    """G(z, c=None, truncation=1.0) -> images [N, C, H, W]. In training it mixes styles: with probability
    `style_mixing` the w of a second latent replaces the first one's from a random layer on."""

    def __init__(self, z_dim, shape, w_dim, mapping_layers, plan, num_classes=None, style_mixing=0.9, noise=True):
        super().__init__()
        self.z_dim, self.shape, self.num_classes, self.style_mixing = z_dim, tuple(shape), num_classes, style_mixing
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, num_classes)
        self.synthesis = SynthesisNetwork(shape, w_dim, plan, noise)

    @property
    def num_ws(self) -> int:
        return self.synthesis.num_ws

    def styles(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation: float = 1.0) -> torch.Tensor:
        """The per-layer styles ws [N, num_ws, w_dim] of latents z (mixed with another latent's in training)."""
        ws = self.mapping(z, c, truncation)[:, None].expand(-1, self.num_ws, -1)
        if self.training and self.style_mixing > 0:
            cutoff = int(torch.randint(1, self.num_ws, ()))
            if float(torch.rand(())) >= self.style_mixing:
                cutoff = self.num_ws
            second = self.mapping(torch.randn_like(z), c, truncation, track=False)
            layer = torch.arange(self.num_ws, device=z.device)[None, :, None]
            ws = torch.where(layer < cutoff, ws, second[:, None])
        return ws

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation: float = 1.0) -> torch.Tensor:
        return self.synthesis(self.styles(z, c, truncation))


class DiscriminatorBlock(nn.Module):
    """Residual: two 3x3 convs then 2x average-pool, beside a pooled 1x1 skip; summed and scaled by 1/sqrt(2)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv0, self.conv1 = EqualConv2d(cin, cin, 3, act=True), EqualConv2d(cin, cout, 3, act=True)
        self.skip = EqualConv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(self.conv1(self.conv0(x)), 2)
        return (self.skip(F.avg_pool2d(x, 2)) + y) * (1 / math.sqrt(2))


class EqualizedHead(DiscriminatorHead):
    """The projection head with equalised learning rate: logits = fc(h) + <embed(c), h> / sqrt(F) (the
    normalisation of StyleGAN2-ADA's conditional D); the auxiliary classifier, if any, equalised too."""

    def __init__(self, features: int, num_classes: int | None, projection: bool, aux_classes: bool):
        nn.Module.__init__(self)
        self.linear = EqualLinear(features, 1)
        self.project = nn.Embedding(num_classes, features) if projection else None  # N(0, 1), scaled below
        self.aux = EqualLinear(features, num_classes) if aux_classes else None
        self.scale = 1 / math.sqrt(features)

    def forward(self, h: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        logits = self.linear(h).squeeze(1)
        if self.project is not None:
            if c is None:
                raise ValueError("this discriminator is class-conditional: pass class labels c")
            logits = logits + (self.project(c) * h).sum(1) * self.scale
        return logits


class StyleGAN2Discriminator(HeadDiscriminator):
    def __init__(self, shape, plan: dict[int, int], num_classes=None, condition="none", aux=False, mbstd_group=4):
        super().__init__()
        sizes = list(plan)[::-1]  # resolution .. base
        self.from_rgb = EqualConv2d(shape[0], plan[sizes[0]], 1, act=True)
        self.blocks = nn.Sequential(*(DiscriminatorBlock(plan[a], plan[b]) for a, b in zip(sizes[:-1], sizes[1:])))
        base, ch = sizes[-1], plan[sizes[-1]]
        self.mbstd_group = mbstd_group
        self.conv = EqualConv2d(ch + 1, ch, 3, act=True)
        self.fc = EqualLinear(ch * base * base, ch, act=True)
        self.head = EqualizedHead(ch, num_classes, condition == "projection", aux)

    def input_blocks(self) -> list[list[nn.Module]]:
        """Its resolution blocks from the top (from_rgb in the first, as in StyleGAN2-ADA's freezing), then the
        base conv and fc."""
        groups: list[list[nn.Module]] = [[b] for b in self.blocks] or [[]]
        groups[0].insert(0, self.from_rgb)
        return [*groups, [self.conv], [self.fc]]

    def features(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        x = self.blocks(self.from_rgb(x))
        x = self.conv(minibatch_stddev(x, self.mbstd_group))
        return self.fc(x.flatten(1))  # [N, ch]


@MODELS.register("stylegan2")
def stylegan2(
    *,
    shape: tuple[int, ...],
    z_dim: int,
    num_classes: int | None = None,
    w_dim: int = 256,
    mapping_layers: int = 8,
    channel_base: int = 2048,
    channel_max: int = 128,
    style_mixing: float = 0.9,
    mbstd_group: int = 4,
    condition: Literal["none", "projection"] = "none",
    aux_classifier: bool = False,
    noise: bool = True,
) -> tuple[nn.Module, nn.Module]:
    """StyleGAN2 (Karras et al. 2020a): mapping network, modulated convs, noise, skip G; residual D with mbstd.

    Feature maps at resolution r are min(channel_max, channel_base / r) (r rounded to a power of two) in both
    networks: 2048 / 128 give 64 maps at 32x32 and 128 below, a model a 2-core CPU trains at a useful rate
    (the paper's are 32768 / 512). `condition: projection` adds a label embedding to the mapping network's
    input and a projection head to D; `style_mixing` is the probability of mixing regularisation (0.9 in the paper);
    `noise: false` drops the per-pixel noise inputs (R3GAN's minimal baseline has none).
    """
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(f"stylegan2 needs square images, got items of shape {tuple(shape)}")
    for name, value in (("w_dim", w_dim), ("mapping_layers", mapping_layers), ("channel_base", channel_base)):
        if value < 1:
            raise ConfigError(f"model.{name} must be >= 1, got {value}")
    if channel_max < 1 or mbstd_group < 1 or not 0 <= style_mixing <= 1:
        raise ConfigError("model.channel_max and model.mbstd_group must be >= 1, model.style_mixing in [0, 1]")
    classes = num_classes if check_conditioning(num_classes, condition, aux_classifier) else None
    plan = channel_plan(shape[1], channel_base, channel_max)
    shape3 = (shape[0], shape[1], shape[2])
    G = StyleGAN2Generator(z_dim, shape3, w_dim, mapping_layers, plan, classes, style_mixing, noise)
    D = StyleGAN2Discriminator(shape3, plan, classes, condition, aux_classifier, mbstd_group)
    return G, D
