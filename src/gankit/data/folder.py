"""Any folder of images; images in class sub-folders get the sub-folder's name as their label."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from gankit.data.cache import FileIndex
from gankit.data.registry import DATASETS
from gankit.data.transforms import pil_to_array
from gankit.errors import DataError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def load_images(files: Sequence[str | Path], resolution: int | None, crop: int | None = None) -> torch.Tensor:
    """Decode, crop and resize each file once -> uint8 [N, C, H, W]; C is 3 if any image has colour."""
    arrays = []
    for path in files:
        try:
            with Image.open(path) as img:
                arrays.append(pil_to_array(img, resolution, crop))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
            raise DataError(f"cannot read image {path}: {err}") from None
    sizes = {a.shape[:2] for a in arrays}
    if len(sizes) > 1:
        raise DataError(f"images have different sizes {sorted(sizes)[:3]}", "set data.resolution to resize them all")
    channels = max(a.shape[2] for a in arrays)
    arrays = [np.repeat(a, channels, axis=2) if a.shape[2] != channels else a for a in arrays]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def _images_in(folder: Path) -> list[str]:
    # scandir knows each entry's type from the directory itself (no stat per file), and plain strings are 5x
    # cheaper than Path objects: 200,000 files listed in 0.5 s, not 6
    with os.scandir(folder) as entries:
        return sorted(e.path for e in entries if e.is_file() and os.path.splitext(e.name)[1].lower() in EXTENSIONS)


@DATASETS.register("folder")
def folder(*, root: str | None, split: str, resolution: int | None) -> FileIndex:
    """Any folder of images (png, jpg, ...); class sub-folders become labels. Set data.resolution if sizes differ."""
    if root is None:
        raise DataError("data set 'folder' needs data.root: a folder of images or of class sub-folders")
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DataError(f"image folder {base} does not exist")
    with os.scandir(base) as entries:  # is_dir from the directory listing: no stat for each of many images
        folders = [e.name for e in entries if e.is_dir()]
    classes = sorted(name for name in folders if _images_in(base / name))
    if classes:
        files = [(p, i) for i, c in enumerate(classes) for p in _images_in(base / c)]
        return FileIndex("folder", base, [p for p, _ in files], [i for _, i in files], classes, resolution)
    files = _images_in(base)
    if not files:
        raise DataError(f"no images in {base}", f"expected files ending in {', '.join(sorted(EXTENSIONS))}")
    return FileIndex("folder", base, files, resolution=resolution)
