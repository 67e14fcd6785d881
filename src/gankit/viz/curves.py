"""Curves from metrics.jsonl records: figures, and the PNG files a run keeps of them."""

from __future__ import annotations

from pathlib import Path

from gankit.runs.files import atomic_write


def new_figure(**kwargs):
    """A figure outside pyplot's global state: plotting inside gankit neither switches a notebook's backend
    nor leaves figures open."""
    from matplotlib.figure import Figure

    return Figure(dpi=100, **kwargs)


def is_readout(record: dict) -> bool:
    """A loss readout (every phase's loss is `loss_*`); the other records are evaluations."""
    return any(key.startswith("loss_") for key in record)


def readouts(records: list[dict]) -> list[dict]:
    """The loss readouts among a run's records (the rest are evaluations)."""
    return [r for r in records if is_readout(r)]


def evaluations(records: list[dict]) -> list[dict]:
    return [r for r in records if not is_readout(r)]


def metric_keys(records: list[dict]) -> list[str]:
    """Evaluation metrics in the order the newest evaluation lists them (spreads aside)."""
    evals = evaluations(records)
    return [k for k in evals[-1] if k not in ("step", "epoch") and "_std" not in k] if evals else []


LOSS_LABELS = {"loss_d": "D loss", "loss_g": "G loss"}


def losses_figure(records: list[dict]):
    """Panels over steps: G and D losses; mean D(x) and D(G(z)); with ADA, its p and r_t."""
    records = readouts(records)
    steps = [r["step"] for r in records]
    adaptive = any("ada_p" in r for r in records)
    fig = new_figure(figsize=(8, 8 if adaptive else 6))
    axes = fig.subplots(3 if adaptive else 2, 1, sharex=True)
    top, bottom = axes[0], axes[1]
    losses = [k for k in dict.fromkeys(k for r in records for k in r) if k.startswith("loss_")]
    for key in losses:  # loss_d and loss_g, or each phase's of a recipe in stages (TimeGAN)
        top.plot(steps, [r.get(key) for r in records], label=LOSS_LABELS.get(key, key))
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
    return fig


def metrics_figure(records: list[dict]):
    """One panel per evaluation metric (fid, kid, precision, ...) over steps."""
    evals, keys = evaluations(records), metric_keys(records)
    fig = new_figure(figsize=(8, 1.8 * len(keys)))
    axes = fig.subplots(len(keys), 1, sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        ax.plot([r["step"] for r in evals], [r.get(key) for r in evals], marker="o")
        ax.set_ylabel(key, fontsize=8)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    return fig


def comparison_figure(runs: dict[str, list[dict]], keys: list[str]):
    """One panel per key (two columns), one line per run (labelled by the dict's keys), over steps."""
    rows = (len(keys) + 1) // 2
    fig = new_figure(figsize=(10, 2.6 * rows))
    axes = fig.subplots(rows, 2, sharex=True, squeeze=False)
    for ax in axes.flat[len(keys) :]:
        ax.set_visible(False)
    for ax, key in zip(axes.flat, keys):
        for label, records in runs.items():
            points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
            if points:
                ax.plot(*zip(*points), label=label, marker="o" if len(points) < 20 else None)
        ax.set_title(key, fontsize=9)
        ax.legend(fontsize=8)
        ax.set_xlabel("step")
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | Path) -> Path:
    """Write `fig` as PNG, atomically."""
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


def plot_losses(records: list[dict], path: str | Path) -> Path:
    return save_figure(losses_figure(records), path)


def plot_metrics(records: list[dict], path: str | Path) -> Path:
    return save_figure(metrics_figure(records), path)
