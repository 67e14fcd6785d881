import pytest
import torch
import torch.nn.functional as F

from gankit import ConfigError, build_models
from gankit.models.r3gan import Downsample, ResidualBlock


def test_downsampling_is_the_bilinear_low_pass_filter_and_twice_differentiable():
    x = torch.randn(2, 3, 12, 12, dtype=torch.double, requires_grad=True)
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0], dtype=torch.double)
    kernel = (torch.outer(taps, taps) / 64)[None, None]
    expected = F.conv2d(x.reshape(6, 1, 12, 12), kernel, stride=2, padding=1).reshape(2, 3, 6, 6)
    assert torch.allclose(Downsample()(x), expected)
    assert torch.autograd.gradgradcheck(Downsample(), (x[:1, :1, :6, :6].detach().clone().requires_grad_(True),))


def test_residual_branches_start_at_zero_so_every_block_is_the_identity():
    block = ResidualBlock(32, expansion=2, group_width=16, total_blocks=6)
    x = torch.randn(2, 32, 7, 7)
    assert torch.equal(block(x), x)
    assert block.body[2].groups == 4  # 64 inner channels in groups of 16
    G, D = build_models("r3gan", (1, 28, 28), z_dim=8, widths=[32, 32, 16], blocks=2)
    assert (
        sum(isinstance(m, ResidualBlock) for m in G.modules())
        == 6
        == sum(isinstance(m, ResidualBlock) for m in D.modules())
    )
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)) for m in [*G.modules(), *D.modules()])


def test_r1_and_r2_pass_through_its_discriminator():
    _, D = build_models("r3gan", (3, 32, 32), z_dim=8, width=16, blocks=1)
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    grad.square().sum().backward()  # the double backward R1 needs
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(m.weight.grad is not None for m in convs)  # (inside a branch: zero until it opens)
    assert D.body[0].weight.grad.abs().sum() > 0


def test_r3gan_sizes_are_checked():
    with pytest.raises(ConfigError, match="model.widths must give 3 positive widths for 28 px"):
        build_models("r3gan", (1, 28, 28), z_dim=8, widths=[32, 32])
    with pytest.raises(ConfigError, match="not a multiple of model.group_width"):
        build_models("r3gan", (1, 28, 28), z_dim=8, width=12, group_width=16)
    with pytest.raises(ConfigError, match="square images"):
        build_models("r3gan", (1, 28, 20), z_dim=8)
