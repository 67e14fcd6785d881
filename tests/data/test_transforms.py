import torch

from gankit.data.base import to_model_range, to_uint8
from gankit.data.transforms import convert_channels, resize


def test_range_round_trip():
    x = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    y = to_model_range(x)
    assert y.min() == -1 and y.max() == 1
    assert torch.equal(to_uint8(y), x)


def test_channels():
    grey = torch.full((2, 1, 4, 4), 100, dtype=torch.uint8)
    rgb = convert_channels(grey, 3)
    assert rgb.shape == (2, 3, 4, 4) and (rgb == 100).all()
    assert (convert_channels(rgb, 1) == 100).all()
    red = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    red[:, 0] = 255
    assert convert_channels(red, 1).unique().tolist() == [76]  # 0.299 * 255


def test_resize_centre_crops_to_square():
    x = torch.zeros(1, 1, 6, 10, dtype=torch.uint8)
    x[..., :, 2:8] = 200  # the central 6x6 square
    out = resize(x, 6)
    assert out.shape == (1, 1, 6, 6) and (out == 200).all()
    assert resize(x, 3).shape == (1, 1, 3, 3)
