import torch

from gankit.data.base import DataSet
from gankit.data.sampler import BatchSampler


def _data(n=50):
    return DataSet("t", torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).repeat(1, 1, 2, 2), torch.arange(n) % 5)


def test_epoch_visits_each_item_once_and_normalises():
    sampler = BatchSampler(_data(), 8, seed=3, device=torch.device("cpu"))
    batches = list(sampler.epoch(1))
    assert len(batches) == len(sampler) == 6  # 50 // 8, last partial batch dropped
    xs = torch.cat([x for x, _ in batches])
    values = ((xs[:, 0, 0, 0] + 1) * 127.5).round().long()
    assert len(set(values.tolist())) == 48
    assert xs.min() >= -1 and xs.max() <= 1
    labels = torch.cat([y for _, y in batches])
    assert (labels == values % 5).all()  # labels travel with their images


def test_order_depends_only_on_seed_and_epoch():
    a = BatchSampler(_data(), 8, seed=3, device=torch.device("cpu"))
    b = BatchSampler(_data(), 8, seed=3, device=torch.device("cpu"))
    assert torch.equal(a.epoch_order(2), b.epoch_order(2))
    assert not torch.equal(a.epoch_order(1), a.epoch_order(2))
    assert not torch.equal(a.epoch_order(1), BatchSampler(_data(), 8, 4, torch.device("cpu")).epoch_order(1))
    resumed = [x for x, _ in a.epoch(2, start=3)]
    full = [x for x, _ in a.epoch(2)]
    assert all(torch.equal(p, q) for p, q in zip(resumed, full[3:]))


def test_ranks_split_each_global_batch_without_overlap():
    cpu = torch.device("cpu")
    one = [x for x, _ in BatchSampler(_data(), 8, seed=3, device=cpu).epoch(2)]
    ranks = [[x for x, _ in BatchSampler(_data(), 8, 3, cpu, rank=r, world=2).epoch(2, start=1)] for r in (0, 1)]
    assert all(len(batches) == len(one) - 1 for batches in ranks)
    for i, whole in enumerate(one[1:]):
        assert len(ranks[0][i]) == len(ranks[1][i]) == 4
        assert torch.equal(torch.cat([ranks[0][i], ranks[1][i]]), whole)  # rank 0 first half, rank 1 second


def test_a_global_batch_must_split_evenly():
    import pytest

    with pytest.raises(ValueError, match="split evenly over 3"):
        BatchSampler(_data(), 8, 0, torch.device("cpu"), rank=0, world=3)


def test_endless_runs_the_epochs_back_to_back():
    sampler = BatchSampler(_data(), 8, seed=3, device=torch.device("cpu"))
    stream = sampler.endless()
    drawn = [next(stream)[0] for _ in range(2 * len(sampler) + 1)]
    expected = [x for e in (1, 2, 3) for x, _ in sampler.epoch(e)][: len(drawn)]
    assert all(torch.equal(a, b) for a, b in zip(drawn, expected, strict=True))
