"""Signals as pictures: a grid of small trace panels, and the figures `gankit eval` draws for a signal run."""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.viz.curves import new_figure, save_figure

PANELS = 16  # series drawn per grid: enough to see variety, few enough to read each one


def traces_figure(series: torch.Tensor, titles: list[str] | None = None, columns: int = 4):
    """Panels of series [N, C, L] (at most PANELS), each channel a line, on the [-1, 1] scale."""
    series = series[:PANELS].detach().float().cpu()
    rows = (len(series) + columns - 1) // columns
    fig = new_figure(figsize=(2.6 * columns, 1.6 * rows))
    axes = fig.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= len(series):
            ax.set_visible(False)
            continue
        for channel in series[i]:
            ax.plot(channel.numpy(), linewidth=0.9)
        ax.set_ylim(-1.1, 1.1)
        ax.tick_params(labelsize=6)
        if titles:
            ax.set_title(titles[i], fontsize=7)
    fig.tight_layout()
    return fig


def pick_panels(n: int, panels: int = PANELS) -> torch.Tensor:
    """Indices spread evenly over n items (so a class-ordered grid shows every class)."""
    return torch.linspace(0, n - 1, min(n, panels)).round().long()


def save_traces(series: torch.Tensor, path: str | Path, titles: list[str] | None = None) -> Path:
    return save_figure(traces_figure(series, titles), path)


def comparison_figure(real: torch.Tensor, fake: torch.Tensor, spectrum_real, spectrum_fake, pca_real, pca_fake):
    """What `gankit eval` shows of a signal run: real and generated traces of channel 0, the mean power spectra,
    and both sets in the plane of the real set's first two principal components."""
    fig = new_figure(figsize=(13, 3.6))
    ax_traces, ax_psd, ax_pca = fig.subplots(1, 3)
    for series, colour in ((real[:12, 0], "0.6"), (fake[:12, 0], "C3")):
        for line in series.float().cpu():
            ax_traces.plot(line.numpy(), color=colour, linewidth=0.8)
    ax_traces.set_title("channel 0: real (grey), generated (red)", fontsize=9)
    for spectrum, colour, label in ((spectrum_real, "0.4", "real"), (spectrum_fake, "C3", "generated")):
        bins = torch.arange(1, spectrum.shape[1])  # bin 0 is each series' mean, removed
        ax_psd.semilogy(bins.numpy(), spectrum.mean(0)[1:].clamp_min(1e-12).numpy(), color=colour, label=label)
    ax_psd.set_title("mean power spectrum (channels averaged)", fontsize=9)
    ax_psd.set_xlabel("frequency bin")
    ax_psd.legend(fontsize=8)
    ax_pca.scatter(*pca_real.T.numpy(), s=3, c="0.6", label="real")
    ax_pca.scatter(*pca_fake.T.numpy(), s=3, c="C3", label="generated")
    ax_pca.set_title("PCA of the real series", fontsize=9)
    ax_pca.legend(fontsize=8, markerscale=3)
    fig.tight_layout()
    return fig
