"""The path length penalty against a case computed by hand."""

import math

import pytest
import torch

from gankit import ConfigError, build_models
from gankit.losses.penalties import PathLengthPenalty
from gankit.training.objective import StepBatch


class LinearStyles(torch.nn.Module):
    """G with L style layers whose image is k * (the first layer's w), laid out as a [N, 1, 1, D] image."""

    def __init__(self, k: float, layers: int = 3, w_dim: int = 4):
        super().__init__()
        self.k, self.layers, self.w_dim = k, layers, w_dim
        self.one = torch.nn.Parameter(torch.ones(()))  # so that w is in the graph, as a mapping network's is

    def styles(self, z, c=None):
        return (z * self.one)[:, None].expand(-1, self.layers, -1)

    def synthesis(self, ws):
        return (self.k * ws[:, 0])[:, None, None, :]


class Objective:
    def __init__(self, G, z):
        self.generator, self.z = G, z

    def latents(self, n, device):
        return self.z[:n], None


def test_path_length_of_a_linear_generator():
    # img = k w_0, y ~ N(0, I) / sqrt(H W): J^T y = k y on layer 0 and 0 on the others, so the length is
    # sqrt(mean over layers of |.|^2) = k |y| / sqrt(L). The running mean starts at 0 and moves by decay.
    k, layers, w_dim, n = 3.0, 3, 4, 4
    G, z = LinearStyles(k, layers, w_dim), torch.randn(8, w_dim)
    penalty = PathLengthPenalty(decay=0.5, batch_shrink=2)
    batch = StepBatch(torch.zeros(8, 1, 1, w_dim), None, torch.zeros(8, 1, 1, w_dim), None)
    torch.manual_seed(3)
    value = penalty(Objective(G, z), batch)
    torch.manual_seed(3)
    y = torch.randn(n, 1, 1, w_dim) / math.sqrt(1 * w_dim)  # the noise the penalty draws
    lengths = k * y.flatten(1).norm(dim=1) / math.sqrt(layers)
    mean = 0.5 * lengths.mean()  # lerp from 0 with decay 0.5
    assert penalty.mean.item() == pytest.approx(mean.item(), rel=1e-5)
    assert value.item() == pytest.approx((lengths - mean).square().mean().item(), rel=1e-5)


def test_path_length_state_round_trips_and_needs_a_style_generator():
    penalty = PathLengthPenalty()
    penalty.mean = torch.tensor(1.25)
    other = PathLengthPenalty()
    other.load_state(*penalty.state())
    assert other.mean.item() == 1.25
    G, D = build_models("dcgan", (1, 28, 28), 8)
    with pytest.raises(ConfigError, match="style-based generator"):
        penalty.check(G, D)


def test_path_length_reaches_the_synthesis_weights():
    G, _ = build_models("stylegan2", (1, 28, 28), 8, w_dim=16, mapping_layers=2, channel_base=128, channel_max=16)
    value = PathLengthPenalty()(Objective(G, torch.randn(8, 8)), StepBatch(torch.zeros(8, 1), None, None, None))
    value.backward()
    conv = G.synthesis.blocks[-1].convs[-1].weight
    assert value > 0 and conv.grad is not None and conv.grad.abs().sum() > 0
