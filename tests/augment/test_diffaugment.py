"""DiffAugment's ops keep shapes and their ranges, and gradients pass through them (twice, for R1)."""

import pytest
import torch

from gankit import ConfigError
from gankit.augment import AUGMENTS
from gankit.augment.diffaugment import brightness, contrast, cutout, saturation, translation


def _dot(n: int, size: int) -> torch.Tensor:
    """n images with one lit pixel in the middle."""
    x = torch.zeros(n, 1, size, size)
    x[:, :, size // 2, size // 2] = 1.0
    return x


def test_translation_moves_whole_pixels_by_at_most_an_eighth():
    torch.manual_seed(0)
    x = _dot(500, 32)
    y = translation(x)
    assert y.shape == x.shape and torch.equal(y.sum((1, 2, 3)), torch.ones(500))  # the dot never leaves
    pos = y[:, 0].flatten(1).argmax(1)
    dy, dx = pos // 32 - 16, pos % 32 - 16
    assert dy.abs().max() == 4 and dx.abs().max() == 4  # 32 / 8, and reached
    assert set(dy.tolist()) == set(range(-4, 5))


def test_translation_fills_with_zeros():
    torch.manual_seed(1)
    y = translation(torch.ones(200, 1, 16, 16))
    moved = y.flatten(1).min(1).values == 0
    assert moved.any() and set(y.unique().tolist()) <= {0.0, 1.0}


def test_cutout_zeroes_a_half_size_square():
    torch.manual_seed(0)
    y = cutout(torch.ones(400, 3, 28, 28))
    zeros = (y[:, 0] == 0).sum((1, 2))
    assert zeros.max() == 14 * 14 and zeros.min() > 0  # 14 x 14 when inside, clipped at a border
    assert torch.equal(y[:, 0] == 0, y[:, 2] == 0)  # all channels


def test_color_ops_are_in_their_ranges():
    torch.manual_seed(0)
    x = torch.rand(1000, 3, 4, 4) * 2 - 1
    shift = (brightness(x) - x).mean((1, 2, 3))
    assert -0.5 <= shift.min() < -0.45 and 0.45 < shift.max() <= 0.5
    mean = x.mean((1, 2, 3), keepdim=True)
    gain = ((contrast(x) - mean) / (x - mean)).flatten(1)[:, 0]
    assert 0.5 <= gain.min() < 0.55 and 1.45 < gain.max() <= 1.5
    channel_mean = x.mean(1, keepdim=True)
    sat = ((saturation(x) - channel_mean) / (x - channel_mean)).flatten(1)[:, 0]
    assert 0 <= sat.min() < 0.05 and 1.95 < sat.max() <= 2.0


def test_the_pipeline_keeps_shape_and_layout_and_passes_gradients_twice():
    aug = AUGMENTS.get("diffaugment")()
    x = torch.randn(4, 3, 16, 16).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    y = aug(x)
    assert y.shape == x.shape and y.is_contiguous(memory_format=torch.channels_last)
    (grad,) = torch.autograd.grad(y.square().sum(), x, create_graph=True)
    assert grad.abs().sum() > 0
    grad.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_unknown_policy_is_refused():
    with pytest.raises(ConfigError, match="unknown DiffAugment policy"):
        AUGMENTS.get("diffaugment")("color,flip")
