"""Judging a generator: its samples' features against real ones, with every metric named by its protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gankit.errors import ConfigError
from gankit.metrics.classes import class_coverage, classifier_score, conditional_accuracy
from gankit.metrics.distances import density_coverage, fid, kid, precision_recall
from gankit.metrics.extractors import load_extractor
from gankit.metrics.names import metric_names
from gankit.sample import generate_from

if TYPE_CHECKING:
    from gankit.data import DataSet
    from gankit.metrics.config import EvalConfig


class Judge:
    """Scores a generator against real images with a feature extractor; real features are computed once."""

    def __init__(self, extractor: str, real_images: torch.Tensor, n: int, seed: int = 0, device=None):
        self.ext = load_extractor(extractor)
        self.ext.model.to(device or "cpu")  # features are computed where the generator runs
        self.real_feats, _ = self.ext.run(real_images)
        self.n, self.seed = n, seed

    @torch.no_grad()
    def __call__(self, G: torch.nn.Module, truncation: float | None = None) -> dict[str, float]:
        """The metrics of n samples from fixed latents (at truncation psi, for a style-based G); uses its own RNG,
        so training is not perturbed."""
        g = torch.Generator().manual_seed(self.seed)
        z = torch.randn(self.n, G.z_dim, generator=g)
        labels = torch.randint(G.num_classes, (self.n,), generator=g) if G.num_classes else None
        was_training = G.training
        G.eval()
        try:
            fake_feats, probs = self.ext.run(generate_from(G, z, labels, truncation=truncation))
        finally:
            G.train(was_training)
        kid_mean, kid_std = kid(self.real_feats, fake_feats)
        precision, recall = precision_recall(self.real_feats, fake_feats)
        density, coverage = density_coverage(self.real_feats, fake_feats)
        classes = class_coverage(probs)
        values = [fid(self.real_feats, fake_feats), kid_mean, kid_std, precision, recall, density, coverage]
        values += [classifier_score(probs), classes["classes"], classes["modes"], classes["class_kl"]]
        if labels is not None:
            values.append(conditional_accuracy(probs, labels))
        return dict(zip(metric_names(self.n, self.ext.name, labels is not None), values))


def build_judge(section: EvalConfig, data: DataSet, seed: int, device: torch.device) -> Judge | None:
    """The judge of evaluations during training (None when eval.every is off): against up to eval.n real
    training items, a fixed seeded subset."""
    if not section.every:
        return None
    if not data.is_image:
        raise ConfigError(
            "eval.every needs image data: 2-D points and signals are judged after training by `gankit eval`"
        )
    keep = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[: section.n]
    return Judge(section.extractor, data.x[keep], section.n, seed, device)
