"""A small LeNet-style domain classifier: judges whether generated images look like their data set's classes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.data.base import DataSet, to_model_range


class LeNet(nn.Module):
    """Two conv blocks and two linear layers; ~0.1M parameters for 1x28x28 input. Input in [-1, 1]."""

    def __init__(self, channels: int = 1, resolution: int = 28, num_classes: int = 10, width: int = 32):
        super().__init__()
        side = resolution // 4
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * width * side * side, 128), nn.ReLU(inplace=True),
        )  # fmt: skip
        self.head = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # [N, num_classes] logits; features(x) is [N, 128]


class ChannelStack(nn.Module):
    """One grey-image classifier read on each channel in turn: the judge of StackedMNIST, whose channels are
    independent digits. Features are the channels' features side by side; the head's logits are the sums of the
    channels' log-probabilities over every combination, so their softmax is the product of the channels'
    probabilities (class 100 a + 10 b + c for digits a, b, c with three channels)."""

    def __init__(self, per_channel: LeNet, channels: int = 3):
        super().__init__()
        self.per_channel, self.channels = per_channel, channels

    def features(self, x: torch.Tensor) -> torch.Tensor:  # [N, C, H, W] -> [N, C x F]
        return torch.cat([self.per_channel.features(x[:, i : i + 1]) for i in range(self.channels)], dim=1)

    def head(self, h: torch.Tensor) -> torch.Tensor:  # [N, C x F] -> [N, K ** C]
        logp = [F.log_softmax(self.per_channel.head(part), 1) for part in h.chunk(self.channels, dim=1)]
        joint = logp[0]
        for lp in logp[1:]:
            joint = (joint[:, :, None] + lp[:, None, :]).flatten(1)  # the first channel is the most significant
        return joint


def train_classifier(data: DataSet, epochs: int = 8, batch_size: int = 128, seed: int = 0, lr: float = 2e-3) -> LeNet:
    """Fit a LeNet to a labelled image data set (small random shifts as augmentation); returns it in eval mode."""
    if data.labels is None or not data.is_image:
        raise ValueError("a classifier needs a labelled image data set")
    torch.manual_seed(seed)
    c, h, _ = data.shape
    model = LeNet(c, h, data.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * (len(data) // batch_size))
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=g)
        for i in range(len(data) // batch_size):
            idx = order[i * batch_size : (i + 1) * batch_size]
            x = to_model_range(data.x[idx])
            dx, dy = torch.randint(-2, 3, (2,), generator=g).tolist()
            x = torch.roll(x, (dx, dy), dims=(2, 3))  # a shift of up to 2 px, same for the batch
            fit_step(model, opt, sched, x, data.labels[idx])
    return model.eval()


def fit_step(model: nn.Module, opt: torch.optim.Optimizer, sched, x: torch.Tensor, labels: torch.Tensor) -> None:
    """One cross-entropy step of a classifier and its lr schedule."""
    loss = F.cross_entropy(model(x), labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Class probabilities [N, K] for images in [-1, 1] (float) or uint8."""
    x = to_model_range(x) if x.dtype == torch.uint8 else x.float()
    return torch.cat([F.softmax(model(part), 1) for part in x.split(batch_size)])
