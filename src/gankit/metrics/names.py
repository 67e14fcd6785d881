"""Names of the numbers a run records: readout keys, and protocol-named metric keys like fid10k[lenet-mnist]
(the measure, the sample count, the extractor)."""

from __future__ import annotations

from collections.abc import Iterable

METRICS = ("fid", "kid", "kid_std", "precision", "recall", "density", "coverage", "cs", "classes", "modes", "class_kl")
# What a training readout holds: the losses, D's mean outputs on real and fake, the AC-GAN class terms, and
# each configured penalty under its own name.
READOUTS = ("loss_d", "loss_g", "d_real", "d_fake", "d_aux", "g_aux")


def readout_names(penalties: Iterable[str] = ()) -> list[str]:
    return [*READOUTS, *penalties]


def metric_names(n: int, extractor: str, conditional: bool = False) -> list[str]:
    """The keys a judge reports for n samples with `extractor` (plus cond_acc for conditional runs)."""
    tag = f"{n // 1000}k" if n % 1000 == 0 else str(n)
    names = [*METRICS, "cond_acc"] if conditional else list(METRICS)
    return [f"{m}{tag}[{extractor}]" for m in names]
