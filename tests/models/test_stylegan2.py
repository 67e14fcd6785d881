"""StyleGAN2's parts against their definitions (Karras et al. 2020a)."""

import pytest
import torch
import torch.nn.functional as F

from gankit import ConfigError, build_models
from gankit.models.styled import EqualConv2d, EqualLinear, ModulatedConv2d, minibatch_stddev
from gankit.models.stylegan2 import SynthesisBlock, channel_plan

SMALL = {"w_dim": 16, "mapping_layers": 2, "channel_base": 128, "channel_max": 16}


def test_modulated_conv_with_unit_styles_and_no_demodulation_is_a_plain_conv():
    conv = ModulatedConv2d(4, 6, 3, w_dim=5, demodulate=False)
    with torch.no_grad():
        conv.affine.weight.zero_()  # styles = the bias, which starts at 1
    x, w = torch.randn(2, 4, 8, 8), torch.randn(2, 5)
    expected = F.conv2d(x, conv.weight * conv.weight_gain, padding=1)
    assert torch.allclose(conv(x, w), expected, atol=1e-6)


def test_demodulated_output_has_unit_variance_for_unit_input():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 32, 3, w_dim=8)
    with torch.no_grad():
        conv.weight.mul_(torch.rand(32, 64, 1, 1) * 3)  # uneven weights and styles: demodulation must undo both
        conv.affine.bias.uniform_(0.2, 3.0)
    x = torch.randn(16, 64, 24, 24)
    y = conv(x, torch.randn(16, 8))[:, :, 1:-1, 1:-1]  # away from the zero padding
    per_channel = y.var(dim=(0, 2, 3))
    assert torch.allclose(per_channel, torch.ones(32), atol=0.08)
    no_demod = ModulatedConv2d(64, 32, 3, w_dim=8, demodulate=False)
    no_demod.load_state_dict(conv.state_dict())
    assert not torch.allclose(no_demod(x, torch.randn(16, 8)).var(dim=(0, 2, 3)), torch.ones(32), atol=0.3)


def papers_lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * 2**0.5


def test_activated_equalised_layers_are_the_papers_scaled_lrelu_of_the_plain_layer():
    """The sqrt(2) of the activation is folded into weight and bias; the function must stay lrelu(Wx + b) sqrt(2)."""
    torch.manual_seed(0)
    conv, linear = EqualConv2d(3, 5, 3, act=True), EqualLinear(7, 4, lr_mul=0.01, act=True)
    with torch.no_grad():
        conv.bias.normal_()
        linear.bias.normal_()
    x, v = torch.randn(2, 3, 6, 6), torch.randn(8, 7)
    plain = F.conv2d(x, conv.weight * conv.weight_gain, conv.bias, padding=1)
    assert torch.allclose(conv(x), papers_lrelu(plain), atol=1e-6)
    plain_v = F.linear(v, linear.weight * linear.weight_gain, linear.bias * linear.lr_mul)
    assert torch.allclose(linear(v), papers_lrelu(plain_v), atol=1e-6)


def test_a_synthesis_layer_is_lrelu_of_conv_plus_noise_plus_bias_scaled_by_sqrt2():
    """The block folds the activation's gain into the conv's output scale, the noise strength and the bias: it
    must compute the paper's layer, lrelu(modconv(x, w) + strength * noise + bias) sqrt(2), with or without noise."""
    torch.manual_seed(0)
    for noise in (True, False):
        block = SynthesisBlock(4, 6, 8, w_dim=5, channels=1, first=False, noise=noise).eval()
        with torch.no_grad():
            for b in block.biases:
                b.normal_()
            for n in block.noises if noise else []:
                n.strength.fill_(0.7)
        x, ws = torch.randn(3, 4, 4, 4), torch.randn(3, 3, 5)
        expected = x
        for i, conv in enumerate(block.convs):
            y = conv(expected, ws[:, i])
            if noise:
                y = y + block.noises[i].fixed * 0.7
            expected = papers_lrelu(y + block.biases[i][None, :, None, None])
        assert torch.allclose(block(x, None, ws)[0], expected, atol=1e-5)
    rgb = ModulatedConv2d(6, 1, 1, w_dim=5, demodulate=False)  # without demodulation the gain scales the weight
    h = torch.randn(3, 6, 8, 8)
    assert torch.allclose(rgb(h, ws[:, 0], 3.0), 3.0 * rgb(h, ws[:, 0]), atol=1e-5)


def test_truncation_zero_gives_the_average_w_and_one_leaves_w():
    G, _ = build_models("stylegan2", (1, 28, 28), 8, **SMALL)
    G.train()
    G(torch.randn(64, 8))  # moves w_avg
    G.eval()
    z = torch.randn(5, 8)
    assert torch.allclose(G.mapping(z, None, truncation=0.0), G.mapping.w_avg.expand(5, -1))
    assert torch.equal(G.mapping(z, None, truncation=1.0), G.mapping(z, None))
    assert G.mapping.w_avg.abs().sum() > 0  # tracked in training, saved with the weights
    assert "mapping.w_avg" in G.state_dict()


def test_style_mixing_crosses_over_at_the_sampled_layer(monkeypatch):
    G, _ = build_models("stylegan2", (1, 28, 28), 8, style_mixing=1.0, **SMALL)
    G.train()
    z = torch.randn(3, 8)
    torch.manual_seed(5)
    cutoff = int(torch.randint(1, G.num_ws, ()))  # what styles() draws first under this seed
    torch.manual_seed(5)
    ws = G.styles(z)
    own = G.mapping(z, None)
    first = [torch.allclose(ws[:, i], own) for i in range(G.num_ws)]
    assert first == [i < cutoff for i in range(G.num_ws)]
    assert torch.allclose(ws[:, cutoff], ws[:, -1])  # one other latent's w from the cut-off on
    G.eval()
    assert torch.equal(G.styles(z), G.mapping(z, None)[:, None].expand(-1, G.num_ws, -1))  # no mixing in eval


def test_noise_is_fresh_in_training_and_fixed_in_eval():
    G, _ = build_models("stylegan2", (1, 28, 28), 8, style_mixing=0.0, **SMALL)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith("strength"):
                p.fill_(0.5)
    z = torch.randn(2, 8)
    G.eval()
    assert torch.equal(G(z), G(z))
    G.train()
    assert not torch.equal(G(z), G(z))


def test_without_noise_inputs_the_latent_is_the_only_source_of_variety():
    G, _ = build_models("stylegan2", (1, 28, 28), 8, style_mixing=0.0, noise=False, **SMALL)
    assert not [name for name, _ in G.named_parameters() if "noise" in name]
    G.train()
    z = torch.randn(2, 8)
    assert torch.equal(G(z), G(z))  # nothing random in training either


def test_channels_and_depth_follow_the_resolution():
    assert channel_plan(28, 1024, 64) == {7: 64, 14: 64, 28: 32}
    assert channel_plan(32, 2048, 128) == {4: 128, 8: 128, 16: 128, 32: 64}
    assert list(channel_plan(128, 2048, 128)) == [4, 8, 16, 32, 64, 128]
    G, D = build_models("stylegan2", (3, 48, 48), 8, **SMALL)  # a folder's size: 6 * 2^3
    assert G(torch.randn(2, 8)).shape == (2, 3, 48, 48) and D(torch.randn(2, 3, 48, 48)).shape == (2,)
    with pytest.raises(ConfigError, match="cannot make"):
        build_models("stylegan2", (3, 30, 30), 8)


def test_conditional_generator_and_projection_discriminator():
    G, D = build_models("stylegan2", (1, 28, 28), 8, num_classes=10, condition="projection", **SMALL)
    c = torch.tensor([1, 7])
    x = G(torch.randn(2, 8), c)
    assert D(x, c).shape == (2,) and G.num_classes == 10
    with pytest.raises(ValueError, match="class-conditional"):
        G(torch.randn(2, 8))


def test_minibatch_stddev_appends_the_groups_spread():
    x = torch.zeros(4, 2, 3, 3)
    x[1] = 2.0  # group of 4: values 0, 2, 0, 0 -> std sqrt(mean((v - 0.5)^2)) = sqrt(0.75)
    out = minibatch_stddev(x, group=4)
    assert out.shape == (4, 3, 3, 3) and torch.allclose(out[:, 2], torch.full((4, 3, 3), 0.75**0.5), atol=1e-4)
    assert minibatch_stddev(torch.randn(6, 2, 3, 3), group=4).shape == (6, 3, 3, 3)  # 6 = 3 groups of 2
