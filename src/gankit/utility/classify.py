"""The downstream classifiers of the utility study, trained for a fixed number of steps from a seed.

28x28 grey images get the LeNet of gankit's metrics; other images (32x32 RGB, say) a small residual CNN;
signals the 1-D CNN of the TSTR score. "Classic augmentation" is what a practitioner without a GAN would use:
random shifts of up to 2 pixels (zero-padded), for colour images also horizontal flips, and for signals random
scaling (x N(1, 0.1) per channel) and jitter (N(0, 0.03) per step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.data.base import to_model_range
from gankit.data.transforms import convert_channels, resize
from gankit.errors import ConfigError
from gankit.metrics.classifier import LeNet, fit_step
from gankit.metrics.signals import SeriesClassifier


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = nn.Sequential() if stride == 1 and cin == cout else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.skip(x))


class SmallResNet(nn.Module):
    """Three stages of one residual block (32, 64, 128 maps), global average pooling, a linear head: ~0.3M
    parameters, the size a CPU trains on CIFAR-10 in minutes."""

    def __init__(self, channels: int = 3, num_classes: int = 10, width: int = 32):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.body = nn.Sequential(
            ResidualBlock(width, width, 1), ResidualBlock(width, 2 * width, 2), ResidualBlock(2 * width, 4 * width, 2)
        )
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)).mean((2, 3)))


def classifier_for(shape: tuple[int, ...], num_classes: int) -> nn.Module:
    if len(shape) == 2:  # signals [C, L]
        return SeriesClassifier(shape[0], num_classes)
    c, h, w = shape
    if (c, h, w) == (1, 28, 28):
        return LeNet(1, 28, num_classes)
    return SmallResNet(c, num_classes)


def shift(x: torch.Tensor, generator: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """Each image moved by up to `pixels` in each direction; what moves in is background (-1)."""
    n, _, h, w = x.shape
    padded = F.pad(x, [pixels] * 4, value=-1.0)
    dy, dx = torch.randint(0, 2 * pixels + 1, (2, n), generator=generator)
    rows = (torch.arange(h)[None] + dy[:, None])[:, :, None]  # [n, h, 1]
    cols = (torch.arange(w)[None] + dx[:, None])[:, None, :]  # [n, 1, w]
    return padded[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)  # indexing puts C last


def augment_classic(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    if x.dim() == 3:  # signals: scaling and jitter, the plain time-series augmentations (Um et al. 2017)
        scale = 1 + 0.1 * torch.randn(len(x), x.shape[1], 1, generator=generator)
        return x * scale + 0.03 * torch.randn(x.shape, generator=generator)
    x = shift(x, generator)
    if x.shape[1] == 3:  # colour: flips too (digits must not be flipped)
        flip = torch.rand(len(x), generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def fit(
    images: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    steps: int,
    seed: int,
    augment: bool = True,
    batch_size: int = 64,
    lr: float = 2e-3,
) -> nn.Module:
    """A classifier trained on uint8 images [N, C, H, W] with labels [N] for `steps` steps (one-cycle lr)."""
    torch.manual_seed(seed)
    model = classifier_for(tuple(images.shape[1:]), num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    batch = min(batch_size, len(images))
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(images), (batch,), generator=g)
        x = to_model_range(images[idx])
        if augment:
            x = augment_classic(x, g)
        fit_step(model, opt, sched, x, labels[idx])
    return model.eval()


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """The class the model gives each of uint8 images [N, C, H, W]."""
    return torch.cat([model(to_model_range(x)).argmax(1) for x in images.split(batch_size)])


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return (predict(model, images) == labels).double().mean().item()


def like(images: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Synthetic images in the real data's channels and size (a 32-px StyleGAN2 beside 28-px digits), resized
    as the loaders resize; the classifier takes one input shape."""
    if tuple(images.shape[1:]) == tuple(shape):
        return images
    if len(shape) == 2:
        raise ConfigError(f"synthetic series are {tuple(images.shape[1:])}, the real ones {tuple(shape)}")
    if len(shape) != 3 or shape[1] != shape[2] or images.shape[-1] != images.shape[-2]:
        raise ConfigError(
            f"synthetic items are {tuple(images.shape[1:])}, the real ones {tuple(shape)}: no resize fits"
        )
    return convert_channels(resize(images, shape[1]), shape[0])
