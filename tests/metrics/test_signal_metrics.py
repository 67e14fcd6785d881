"""TimeGAN's scores and the spectral distances on known cases: real against real scores near 0 (and near the
real predictive score), real against noise near 0.5; the distances are exact where a formula says so."""

import pytest
import torch

from gankit import build_dataset
from gankit.data.signals import to_units
from gankit.metrics.signals import (
    autocorrelation_distance,
    classifier_accuracy,
    discriminative_score,
    marginal_distance,
    power_spectrum,
    predictive_score,
    spectrum_distance,
)


@pytest.fixture(scope="module")
def sines():
    return build_dataset("sines", n=2000), build_dataset("sines", n=2000, split="test")


def test_discriminative_score_separates_real_from_noise(sines):
    train, test = sines
    assert discriminative_score(train.x, test.x, steps=300) < 0.08
    noise = torch.rand_like(test.x) * 2 - 1
    assert discriminative_score(train.x, noise, steps=300) > 0.3  # 0.48 with the paper's 2,000 steps


def test_predictive_score_of_real_data_is_timegans_and_noise_is_worse(sines):
    train, test = sines
    span = float(train.units[1, -1] - train.units[0, -1])
    real = predictive_score(train.x, test.x, steps=800, span=span)
    assert 0.07 < real < 0.13  # the paper: 0.094 with 5,000 steps
    flat = torch.full_like(train.x, -1.0)  # a generator stuck at one value teaches the predictor nothing
    assert predictive_score(flat, test.x, steps=800, span=span) > real + 0.05


def test_distances_are_zero_for_the_same_set_and_large_for_noise(sines):
    train, test = sines
    noise = torch.rand_like(test.x) * 2 - 1
    assert spectrum_distance(train.x, train.x) == 0 and autocorrelation_distance(train.x, train.x) == 0
    assert spectrum_distance(train.x, test.x) < 0.02 < 0.3 < spectrum_distance(train.x, noise)
    assert autocorrelation_distance(train.x, test.x) < 0.01 < 0.2 < autocorrelation_distance(train.x, noise)


def test_marginal_distance_of_a_shift_is_the_shift(sines):
    train, _ = sines
    assert marginal_distance(train.x, train.x + 0.25) == pytest.approx(0.25, abs=1e-9)


def test_power_spectrum_finds_the_frequency():
    t = torch.arange(64, dtype=torch.float64)
    x = torch.sin(2 * torch.pi * 5 * t / 64)[None, None].repeat(3, 1, 1)
    assert int(power_spectrum(x)[0].argmax()) == 5


def test_the_series_classifier_learns_waves_and_not_shuffled_labels():
    train, test = build_dataset("waves", n=800), build_dataset("waves", n=400, split="test")
    assert classifier_accuracy(train.x, train.labels, test.x, test.labels, 4, steps=300) > 0.9
    shuffled = train.labels[torch.randperm(len(train), generator=torch.Generator().manual_seed(12345))]
    assert classifier_accuracy(train.x, shuffled, test.x, test.labels, 4, steps=300) < 0.4


def test_units_round_trip():
    data = build_dataset("sines", n=10)
    assert torch.allclose(to_units(data.x, data.units).min(), data.units[0].min(), atol=1e-6)
