"""Loss curves from metrics.jsonl records."""

from __future__ import annotations

from pathlib import Path

from gankit.runs.files import atomic_write


def plot_losses(records: list[dict], path: str | Path) -> Path:
    """Two panels over steps: G and D losses; mean D(x) and D(G(z))."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in records]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, dpi=100)
    for key, label in (("loss_d", "D loss"), ("loss_g", "G loss")):
        top.plot(steps, [r.get(key) for r in records], label=label)
    top.set_ylabel("loss")
    top.legend()
    for key, label in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
        bottom.plot(steps, [r.get(key) for r in records], label=label)
    bottom.set_ylabel("mean D output")
    bottom.set_xlabel("step")
    bottom.set_ylim(-0.02, 1.02)
    bottom.legend()
    fig.tight_layout()
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
