"""The study's classifiers and its classic augmentation."""

import torch

from gankit.metrics.classifier import LeNet
from gankit.utility.classify import SmallResNet, accuracy, augment_classic, classifier_for, fit, shift


def test_the_classifier_follows_the_image_shape():
    assert isinstance(classifier_for((1, 28, 28), 10), LeNet)
    resnet = classifier_for((3, 32, 32), 10)
    assert isinstance(resnet, SmallResNet) and resnet(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_shifts_move_whole_images_by_at_most_two_pixels_and_fill_with_background():
    x = -torch.ones(200, 1, 9, 9)
    x[:, :, 4, 4] = 1.0
    y = shift(x, torch.Generator().manual_seed(0))
    pos = y[:, 0].flatten(1).argmax(1)
    assert (y == 1).sum() == 200 and set((pos // 9 - 4).tolist()) == {-2, -1, 0, 1, 2}
    assert set(y.unique().tolist()) == {-1.0, 1.0}
    colour = augment_classic(torch.randn(64, 3, 8, 8), torch.Generator().manual_seed(0))
    assert colour.shape == (64, 3, 8, 8)


def test_a_classifier_learns_a_separable_toy_problem():
    labels = torch.arange(200) % 2
    images = torch.zeros(200, 3, 32, 32, dtype=torch.uint8)
    images[labels == 1, 0] = 255  # class 1 is red
    model = fit(images, labels, 2, steps=30, seed=0)
    assert accuracy(model, images, labels) == 1.0
