"""Loss curves from metrics.jsonl records."""

from __future__ import annotations

from pathlib import Path

from gankit.runs.files import atomic_write


def plot_losses(records: list[dict], path: str | Path) -> Path:
    """Panels over steps: G and D losses; mean D(x) and D(G(z)); with ADA, its p and r_t."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [r for r in records if "loss_d" in r]  # readouts, not evaluations
    steps = [r["step"] for r in records]
    adaptive = any("ada_p" in r for r in records)
    fig, axes = plt.subplots(3 if adaptive else 2, 1, figsize=(8, 8 if adaptive else 6), sharex=True, dpi=100)
    top, bottom = axes[0], axes[1]
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss")):
        top.plot(steps, [r.get(key) for r in records], label=label)
    top.set_ylabel("loss")
    top.legend()
    for key, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
        bottom.plot(steps, [r.get(key) for r in records], label=label)
    bottom.set_ylabel("mean D output")
    bottom.set_ylim(-0.02, 1.02)
    bottom.legend()
    if adaptive:  # ADA: the augmentation probability and the overfitting heuristic it follows
        for key, label in (("ada_p", "p (augmentation probability)"), ("ada_rt", "r_t = E[sign D(real)]")):
            axes[2].plot(steps, [r.get(key) for r in records], label=label)
        axes[2].set_ylabel("ADA")
        axes[2].legend()
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)


def plot_metrics(records: list[dict], path: str | Path) -> Path:
    """One panel per evaluation metric (fid, kid, precision, ...) over steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evals = [r for r in records if "loss_d" not in r]
    keys = [k for k in evals[-1] if k not in ("step", "epoch") and "_std" not in k]
    fig, axes = plt.subplots(len(keys), 1, figsize=(8, 1.8 * len(keys)), sharex=True, dpi=100, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        ax.plot([r["step"] for r in evals], [r.get(key) for r in evals], marker="o")
        ax.set_ylabel(key, fontsize=8)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
