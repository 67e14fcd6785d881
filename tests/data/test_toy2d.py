import pytest
import torch

from gankit import DataError, build_dataset
from gankit.data.toy2d import mixture_modes


@pytest.mark.parametrize(("mixture", "k", "sigma"), [("ring8", 8, 0.01), ("grid25", 25, 0.05)])
def test_points_lie_near_their_mode(mixture, k, sigma):
    data = build_dataset("toy2d", mixture=mixture, n=4000)
    assert data.x.shape == (4000, 2) and not data.is_image and data.num_classes == k
    distance = (data.x - mixture_modes(mixture)[data.labels]).norm(dim=1)
    assert distance.max() < 6 * sigma
    assert set(data.labels.tolist()) == set(range(k))


def test_ring_is_on_unit_circle_and_grid_spacing():
    assert torch.allclose(mixture_modes("ring8").norm(dim=1), torch.ones(8))
    assert sorted(set(mixture_modes("grid25")[:, 0].tolist())) == [-4, -2, 0, 2, 4]


def test_swissroll_is_unlabelled():
    data = build_dataset("toy2d", mixture="swissroll", n=100)
    assert data.labels is None and data.x.abs().max() < 4


def test_points_refuse_image_options():
    with pytest.raises(DataError, match="points"):
        build_dataset("toy2d", resolution=32)
