"""The layers at the boundary between vectors and conv maps keep one memory layout through both passes."""

import pytest
import torch

from gankit.models.layers import ToMaps, ToVector, is_channels_last, use_memory_format

CL = torch.channels_last


@pytest.mark.parametrize("layout", [torch.contiguous_format, CL])
def test_to_vector_flattens_in_nchw_order_and_returns_the_gradient_in_the_input_layout(layout):
    x = torch.randn(3, 4, 5, 5).contiguous(memory_format=layout).requires_grad_(True)
    out = ToVector()(x)
    assert torch.equal(out, x.detach().reshape(3, -1))  # NCHW order whatever the layout: weights mean one thing
    weights = torch.randn_like(out)
    (out * weights).sum().backward()
    assert torch.equal(x.grad, weights.view(3, 4, 5, 5))
    assert is_channels_last(x.grad) == (layout is CL)


def test_to_vector_has_a_second_derivative():
    # Gradient penalties differentiate D's input gradient again.
    x = torch.randn(2, 3, 2, 2, dtype=torch.float64).contiguous(memory_format=CL).requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda t: ToVector()(t) ** 2, (x,))


def test_to_maps_lays_out_the_maps_like_the_weights_of_its_model():
    model = torch.nn.Sequential(torch.nn.Linear(6, 4 * 3 * 3), ToMaps(4, 3), torch.nn.Conv2d(4, 2, 3))
    z = torch.randn(5, 6)
    nchw = model[1](model[0](z))
    assert nchw.is_contiguous() and not is_channels_last(nchw)
    use_memory_format(model, CL)
    assert is_channels_last(model[2].weight)
    maps = model[1](model[0](z))
    assert is_channels_last(maps)
    assert torch.equal(maps, nchw)  # same values, other layout
    use_memory_format(model, torch.contiguous_format)
    assert model[1](model[0](z)).is_contiguous()


def test_is_channels_last_calls_ambiguous_layouts_nchw():
    assert is_channels_last(torch.randn(2, 3, 4, 4).contiguous(memory_format=CL))
    assert not is_channels_last(torch.randn(2, 1, 4, 4).contiguous(memory_format=CL))  # one channel: both at once
    assert not is_channels_last(torch.randn(2, 3, 4, 4))
    assert not is_channels_last(torch.randn(2, 3))
