import pytest
import torch

from gankit.metrics.classes import class_coverage, classifier_score, conditional_accuracy
from gankit.metrics.distances import density_coverage, fid, kid, precision_recall


def test_fid_matches_the_closed_form_for_gaussians():
    # Same covariance I: FID = ||mu1 - mu2||^2 + tr(2I - 2I) = ||mu1 - mu2||^2 = 8 * 0.5^2 = 2.
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 8, generator=g, dtype=torch.float64)
    b = torch.randn(20000, 8, generator=g, dtype=torch.float64) + 0.5
    assert fid(a, b) == pytest.approx(2.0, abs=0.05)
    # Scaled covariance s^2 I: tr(I + s^2 I - 2 s I) = 8 (1 - s)^2 = 8 * 0.25 = 2 for s = 1.5.
    c = torch.randn(20000, 8, generator=g, dtype=torch.float64) * 1.5
    assert fid(a, c) == pytest.approx(2.0, abs=0.1)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(2000, 16, generator=g), torch.randn(2000, 16, generator=g)
    same, _ = kid(a, b, subset_size=500, subsets=20)
    shifted, _ = kid(a, b + 1, subset_size=500, subsets=20)
    assert abs(same) < 0.01 and shifted > 0.1


def test_precision_recall_of_a_set_against_itself_and_a_far_set():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(1500, 4, generator=g), torch.randn(1500, 4, generator=g)
    p, r = precision_recall(a, b)
    assert p > 0.9 and r > 0.9
    p, r = precision_recall(a, b + 100)
    assert p == 0.0 and r == 0.0
    # A collapsed generator: every fake near one real point -> high precision, recall near 0.
    p, r = precision_recall(a, a[:1] + 0.001 * torch.randn(1500, 4, generator=g))
    assert p == 1.0 and r < 0.05


def test_density_and_coverage():
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(1500, 4, generator=g), torch.randn(1500, 4, generator=g)
    density, coverage = density_coverage(a, b)
    assert 0.8 < density < 1.2 and coverage > 0.9
    assert density_coverage(a, b + 100) == (0.0, 0.0)


def test_class_metrics():
    perfect = torch.eye(10).repeat(50, 1)  # 500 samples, 50 of each class, fully confident
    assert class_coverage(perfect) == {"classes": 10, "modes": 10, "num_classes": 10, "class_kl": pytest.approx(0.0)}
    assert classifier_score(perfect) == pytest.approx(10.0, rel=1e-6)
    one_class = torch.zeros(500, 10)
    one_class[:, 3] = 1
    cov = class_coverage(one_class)
    assert cov["classes"] == 1 and cov["class_kl"] == pytest.approx(torch.log(torch.tensor(10.0)).item())
    assert classifier_score(one_class) == pytest.approx(1.0)
    requested = torch.arange(10).repeat(50)
    assert conditional_accuracy(perfect, requested) == 1.0
    random = torch.softmax(torch.randn(500, 10, generator=torch.Generator().manual_seed(4)), 1)
    assert 0.03 < conditional_accuracy(random, requested) < 0.2
