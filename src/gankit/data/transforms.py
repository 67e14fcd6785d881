"""Resize, centre-crop and channel conversion, done once when a data set is loaded."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# ITU-R 601-2 luma, the weights PIL uses for RGB -> L.
_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def convert_channels(x: torch.Tensor, channels: int | None) -> torch.Tensor:
    """uint8 [N, C, H, W] -> [N, channels, H, W]; grey is repeated to RGB, RGB weighted to luma."""
    if channels is None or x.shape[1] == channels:
        return x
    if channels == 3 and x.shape[1] == 1:
        return x.expand(-1, 3, -1, -1).contiguous()
    if channels == 1 and x.shape[1] == 3:
        return (x.float() * _LUMA).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    raise ValueError(f"cannot convert {x.shape[1]} channels to {channels}")


def resize(x: torch.Tensor, resolution: int | None, chunk: int = 4096) -> torch.Tensor:
    """uint8 [N, C, H, W] -> [N, C, r, r]: centre-crop to a square, then antialiased bilinear resize."""
    if resolution is None:
        return x
    h, w = x.shape[-2:]
    side = min(h, w)
    if (h, w) != (side, side):
        top, left = (h - side) // 2, (w - side) // 2
        x = x[..., top : top + side, left : left + side]
    if side == resolution:
        return x.contiguous()
    out = [
        F.interpolate(part.float(), size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
        .round_()
        .clamp_(0, 255)
        .to(torch.uint8)
        for part in x.split(chunk)
    ]
    return torch.cat(out)


def pil_to_array(img: Image.Image, resolution: int | None, crop: int | None = None) -> np.ndarray:
    """A PIL image -> uint8 [H, W, C] (C 1 or 3), centre-cropped (to `crop` or to a square) and resized."""
    img = img.convert("L") if img.mode in ("1", "L", "I", "I;16", "F", "LA") else img.convert("RGB")
    w, h = img.size
    if crop is not None or resolution is not None:
        side = min(crop or min(w, h), w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
        if resolution is not None and side != resolution:
            img = img.resize((resolution, resolution), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr
