"""`dcgan`: transposed-conv generator and strided-conv discriminator (Radford et al. 2016).

The number of 2x up/down stages follows the resolution: 28 = 7 * 2^2, 32 = 4 * 2^3, 64 = 4 * 2^4.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.layers import (
    DiscriminatorHead,
    HeadDiscriminator,
    LatentWithLabel,
    ToMaps,
    ToVector,
    activation,
    check_conditioning,
    check_pack,
    dcgan_init,
    one_hot_maps,
    pack_samples,
    same_transpose_padding,
    with_spectral_norm,
)
from gankit.models.registry import MODELS


def stages_for(resolution: int) -> tuple[int, int]:
    """(number of 2x stages, base side) with base in 4..7, e.g. 28 -> (2, 7), 32 -> (3, 4), 64 -> (4, 4)."""
    stages, base = 0, resolution
    while base % 2 == 0 and base // 2 >= 4:
        stages, base = stages + 1, base // 2
    if stages < 2 or base > 7:
        raise ConfigError(
            f"dcgan cannot make {resolution}x{resolution} images",
            "use a resolution of 4..7 times a power of two >= 4, e.g. 28, 32, 48, 64, 128",
        )
    return stages, base


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim, shape, width, kernel, act, bn_momentum, num_classes=None, label_dim=10):
        super().__init__()
        self.z_dim, self.shape, self.num_classes = z_dim, tuple(shape), num_classes
        self.input = LatentWithLabel(z_dim, num_classes, label_dim)
        channels, resolution, _ = shape
        stages, base = stages_for(resolution)
        widths = [width * 2 ** (stages - 1 - i) for i in range(stages)]  # e.g. [4w, 2w, w] for 3 stages
        padding, output_padding = same_transpose_padding(kernel, 2)
        self.project = nn.Sequential(
            nn.Linear(self.input.out_dim, widths[0] * base * base, bias=False),
            ToMaps(widths[0], base),
            nn.BatchNorm2d(widths[0], momentum=bn_momentum),
            activation(act),
        )
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [
                nn.ConvTranspose2d(c_in, c_out, kernel, 2, padding, output_padding, bias=False),
                nn.BatchNorm2d(c_out, momentum=bn_momentum),
                activation(act),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], channels, kernel, 2, padding, output_padding), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(self.project(self.input(z, c)))  # [N, C, H, W] in [-1, 1]


class DCGANDiscriminator(HeadDiscriminator):
    def __init__(
        self,
        shape,
        width,
        dropout,
        batchnorm,
        bn_momentum,
        num_classes=None,
        condition="none",
        aux=False,
        hidden=0,
        pack=1,
    ):
        super().__init__()
        channels, resolution, _ = shape
        self.pack = pack
        channels *= pack
        # Conditioning by concatenation feeds one-hot label planes beside the image channels.
        self.concat_classes = num_classes if condition == "concat" else None
        channels += self.concat_classes or 0
        stages, base = stages_for(resolution)
        widths = [width * 2**i for i in range(stages)]  # e.g. [w, 2w, 4w]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip([channels, *widths], widths)):
            use_bn = batchnorm and i > 0  # no BN on the input layer (DCGAN paper)
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=not use_bn))
            if use_bn:
                layers.append(nn.BatchNorm2d(c_out, momentum=bn_momentum))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        features = widths[-1] * base * base
        layers.append(ToVector())
        if hidden:  # a dense layer over the whole map, where the digit's global shape is judged (InfoGAN's D)
            layers += [nn.Linear(features, hidden), nn.LeakyReLU(0.2, inplace=True)]
            features = hidden
        self.body = nn.Sequential(*layers)
        self.head = DiscriminatorHead(features, num_classes, condition == "projection", aux)

    def features(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        if self.concat_classes:
            x = torch.cat([x, one_hot_maps(c, self.concat_classes, x)], 1)
        return self.body(pack_samples(x, self.pack))  # [N / pack, F]


@MODELS.register("dcgan")
def dcgan(
    *,
    shape: tuple[int, ...],
    z_dim: int,
    num_classes: int | None = None,
    g_width: int = 64,
    d_width: int = 64,
    kernel: int = 4,
    g_activation: Literal["relu", "leaky_relu"] = "relu",
    d_dropout: float = 0.0,
    d_batchnorm: bool = True,
    d_hidden: int = 0,
    bn_momentum: float = 0.1,
    init: Literal["dcgan", "pytorch"] = "dcgan",
    condition: Literal["none", "concat", "projection"] = "none",
    aux_classifier: bool = False,
    label_dim: int = 10,
    spectral_norm: bool = False,
    pack: int = 1,
) -> tuple[nn.Module, nn.Module]:
    """Transposed-conv G with BatchNorm, strided-conv D with LeakyReLU (and Dropout); 28, 32, 64 px, 1 or 3 channels.

    Widths are the channels of G's last and D's first hidden layer, doubling per stage toward the
    latent. `bn_momentum` is PyTorch's (weight of the new batch): Keras momentum=0.8 is 0.2 here.
    `d_hidden` > 0 puts a dense layer of that many units between D's last conv and its head, so that D judges
    the whole digit's shape, not only a linear sum of local features (its convs see about 10 pixels).
    `condition` makes both class-conditional (G: label embedding beside z; D: one-hot planes beside the
    image, or a projection head); `aux_classifier` adds an AC-GAN class head; `spectral_norm` wraps D's layers.
    `pack` m > 1 makes D judge m consecutive samples at once, their channels side by side (PacGAN, Lin et al.
    2018): G is then penalised for drawing some modes more often than the data does, not only for leaving one out.
    Unconditional only; the batch size must be a multiple of m.
    """
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(f"dcgan needs square images, got items of shape {tuple(shape)}")
    for name, value in (("g_width", g_width), ("d_width", d_width), ("kernel", kernel)):
        if value < 2:
            raise ConfigError(f"model.{name} must be >= 2, got {value}")
    if d_hidden < 0:
        raise ConfigError(f"model.d_hidden must be >= 0 (0: no dense layer), got {d_hidden}")
    if not 0 <= d_dropout < 1 or not 0 < bn_momentum <= 1:
        raise ConfigError("model.d_dropout must be in [0, 1) and model.bn_momentum in (0, 1]")
    conditional = check_conditioning(num_classes, condition, aux_classifier)
    check_pack(pack, conditional)
    classes = num_classes if conditional else None
    shape3 = (shape[0], shape[1], shape[2])
    g = DCGANGenerator(z_dim, shape3, g_width, kernel, g_activation, bn_momentum, classes, label_dim)
    d = DCGANDiscriminator(
        shape3, d_width, d_dropout, d_batchnorm, bn_momentum, classes, condition, aux_classifier, d_hidden, pack
    )
    if init == "dcgan":
        g.apply(dcgan_init)
        d.apply(dcgan_init)
    return g, with_spectral_norm(d) if spectral_norm else d
