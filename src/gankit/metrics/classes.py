"""Metrics that read a domain classifier's class probabilities of generated samples."""

from __future__ import annotations

import math

import torch


def class_coverage(probs: torch.Tensor, min_share: float | None = None) -> dict[str, float]:
    """probs [N, K]: how many classes hold >= min_share of the predicted labels (default a tenth of a fair share,
    0.1 / K: 1% of 10 digits, 0.01% of StackedMNIST's 1,000 modes), how many hold any (the modes
    covered of StackedMNIST's protocol), and the KL divergence of the predicted-class histogram from uniform
    (0 = perfectly balanced, log K = a single class)."""
    k = probs.shape[1]
    share = label_shares(probs.argmax(1), k)
    classes = int((share >= (0.1 / k if min_share is None else min_share)).sum())
    return {"classes": classes, "modes": int((share > 0).sum()), "num_classes": k, "class_kl": kl_from_uniform(share)}


def label_shares(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """The share of each class among integer labels [N]: float64 [num_classes], summing to 1."""
    return torch.bincount(labels, minlength=num_classes).double() / len(labels)


def kl_from_uniform(share: torch.Tensor) -> float:
    """KL(share || uniform) of a class histogram [K]; empty classes contribute 0 (0 = balanced, log K = one class)."""
    nonzero = share[share > 0]
    return float((nonzero * (nonzero * len(share)).log()).sum())


def classifier_score(probs: torch.Tensor) -> float:
    """The Inception Score recipe on the domain classifier: exp E_x[KL(p(y|x) || p(y))]; 1 (worst) .. K (best)."""
    p = probs.double().clamp_min(1e-12)
    marginal = p.mean(0, keepdim=True)
    return math.exp(float((p * (p.log() - marginal.log())).sum(1).mean()))


def conditional_accuracy(probs: torch.Tensor, requested: torch.Tensor) -> float:
    """The share of samples classified as the class they were generated for."""
    return (probs.argmax(1) == requested).float().mean().item()
