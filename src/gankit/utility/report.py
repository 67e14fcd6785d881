"""Intervals over seeds and the utility plot."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

# Two-sided 95% quantiles of Student's t by degrees of freedom (seeds - 1); the normal's 1.96 beyond 30.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}
T95.update({15: 2.131, 20: 2.086, 30: 2.042})


def t95(dof: int) -> float:
    if dof in T95:
        return T95[dof]
    if dof > 30:
        return 1.96
    return T95[max(d for d in T95 if d <= dof)]  # the next smaller tabled dof: a slightly wider interval


def interval(values: list[float]) -> dict[str, float | None]:
    """mean, and the 95% t-interval of the mean (None for a single value)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": mean, "low": None, "high": None}
    half = t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return {"mean": mean, "low": mean - half, "high": mean + half}


def plot_utility(report: dict[str, Any], path: Path) -> Path:
    """Test accuracy against the real fraction (log scale), one line per training set, 95% intervals as bands."""
    from gankit.viz.curves import new_figure, save_figure

    fig = new_figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for name, by_fraction in report["accuracy"].items():
        fractions = sorted(by_fraction, key=float)
        xs = [float(f) for f in fractions]
        ax.plot(xs, [by_fraction[f]["mean"] for f in fractions], marker="o", label=name)
        if all(by_fraction[f]["low"] is not None for f in fractions):
            low, high = ([by_fraction[f][k] for f in fractions] for k in ("low", "high"))
            ax.fill_between(xs, low, high, alpha=0.15)
    ax.set_xscale("log")
    ax.set_xlabel("fraction of the real training set")
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)
