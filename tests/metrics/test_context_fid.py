"""Context-FID on known cases: real against real is near 0, series with their steps reversed or shuffled, a
collapsed generator and noise are far; its contrastive objective rewards agreeing views and the encoder learns it."""

import pytest
import torch

from gankit import build_dataset
from gankit.metrics.context_fid import _contrast, _views, context_fid, hierarchical_loss, train_encoder
from gankit.metrics.distances import fid


@pytest.fixture(scope="module")
def sines():
    return build_dataset("sines", n=1000).x, build_dataset("sines", n=1000, split="test").x


def test_real_series_score_near_zero_and_broken_ones_far(sines):
    train, test = sines
    g = torch.Generator().manual_seed(1)
    encoder = train_encoder(train)  # the one context_fid(train, ...) trains, trained once for every case here

    def score(fake: torch.Tensor) -> float:
        return fid(encoder.embed(train), encoder.embed(fake))

    real = score(test)
    assert real == pytest.approx(context_fid(train, test), rel=1e-9)
    assert real < 0.2  # 0.06 here
    broken = {
        "reversed": test.flip(2),
        "shuffled steps": test[:, :, torch.randperm(test.shape[2], generator=g)],
        "collapsed": test[:1].expand_as(test),
        "noise": torch.rand(test.shape, generator=g) * 2 - 1,
    }
    for name, fake in broken.items():
        assert score(fake) > 10 * real, name  # reversed 2.8, shuffled 2.2: 35x real and more


def test_the_same_seed_gives_the_same_score(sines):
    train, test = sines
    assert context_fid(train, test, seed=3, steps=20) == context_fid(train, test, seed=3, steps=20)


def test_contrast_is_near_zero_for_agreeing_views_and_large_for_swapped_partners():
    items = 10 * torch.eye(6)[None]  # one row of 6 well-separated items of 6 dimensions
    assert _contrast(items, items).item() < 1e-6
    swapped = items[:, [1, 0, 3, 2, 5, 4]]
    assert _contrast(items, swapped).item() > 50
    distinct = 10 * torch.eye(16).view(4, 4, 16)  # 4 series of 4 steps, every (series, step) its own direction
    assert hierarchical_loss(distinct, distinct).item() < 1e-6
    assert hierarchical_loss(distinct, distinct.flip(1)).item() > 50


def test_views_overlap_where_the_crops_say():
    x = torch.arange(20.0)[None, :, None].repeat(3, 1, 1)  # [N, L, C]: each step holds its index
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        one, two, offset, overlap = _views(x, g)
        assert overlap >= 2 and torch.equal(one[:, offset : offset + overlap], two[:, :overlap])


def test_training_lowers_the_contrastive_loss(sines):
    train, _ = sines
    x = train[:64].transpose(1, 2)

    g = torch.Generator().manual_seed(5)
    crops = [_views(x, g) for _ in range(8)]

    def loss(encoder) -> float:
        with torch.no_grad():
            return sum(
                hierarchical_loss(encoder(one)[:, offset : offset + overlap], encoder(two)[:, :overlap]).item()
                for one, two, offset, overlap in crops
            ) / len(crops)

    before, after = loss(train_encoder(train, seed=0, steps=0)), loss(train_encoder(train, seed=0, steps=200))
    assert after < 0.85 * before, (before, after)
