"""Image grids and scatter plots of samples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gankit.runs.files import atomic_write


def grid_array(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """uint8 [N, C, H, W] -> one uint8 [H', W', C] mosaic, `nrow` images per row (default: square)."""
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    out = np.zeros((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), dtype=np.uint8)
    arr = images.permute(0, 2, 3, 1).cpu().numpy()
    for i in range(n):
        r, col = divmod(i, nrow)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = arr[i]
    return out


def to_pil(array: np.ndarray, scale: int = 1) -> Image.Image:
    """A uint8 [H, W, C] array as a PIL image, upscaled by `scale` with nearest neighbour."""
    img = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    return img


def save_image(array: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    """Write a uint8 [H, W, C] array as PNG (atomically), upscaled by `scale` with nearest neighbour."""
    img = to_pil(array, scale)
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def grid_image(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """uint8 [N, C, H, W] images as one grid image; small images are upscaled to stay visible."""
    return to_pil(grid_array(images, nrow), max(1, 64 // images.shape[-1]))


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """Save uint8 [N, C, H, W] images as one PNG grid; small images are upscaled to stay visible."""
    img = grid_image(images, nrow)
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def save_scatter(points: torch.Tensor, path: str | Path, reference: torch.Tensor | None = None) -> Path:
    """Scatter plot of 2-D points [N, 2] (generated, over the real ones in grey) as PNG."""
    from gankit.viz.curves import new_figure, save_figure

    fig = new_figure(figsize=(5, 5))
    ax = fig.subplots()
    if reference is not None:
        ax.scatter(*reference[:2000].T.cpu().numpy(), s=2, c="0.7", label="real")
    ax.scatter(*points.T.cpu().numpy(), s=2, c="C3", label="generated")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=4)
    fig.tight_layout()
    return save_figure(fig, path)
