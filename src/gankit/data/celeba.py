"""CelebA aligned faces (img_align_celeba/*.jpg), optionally labelled by one attribute."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gankit.data.cache import FileIndex
from gankit.data.registry import DATASETS
from gankit.errors import DataError

SOURCE = "get img_align_celeba.zip (and list_attr_celeba.txt) from mmlab.ie.cuhk.edu.hk/projects/CelebA.html"


def read_attributes(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """list_attr_celeba.txt: a count line, a line of attribute names, then `file v1 .. vK` with -1/1."""
    lines = path.read_text().splitlines()
    if len(lines) < 2:
        raise DataError(f"{path} is too short to be list_attr_celeba.txt")
    names = lines[1].split()
    table = {}
    for number, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1 or not all(p in ("-1", "1") for p in parts[1:]):
            raise DataError(f"{path} line {number}: expected a file name and {len(names)} values of -1 or 1")
        table[parts[0]] = np.array(parts[1:], dtype=np.int64) > 0
    return names, table


@DATASETS.register("celeba")
def celeba(
    *, root: str | None, split: str, resolution: int | None, attribute: str | None = None, crop: int | None = 140
) -> FileIndex:
    """CelebA faces, 178x218 centre-cropped to `crop` then resized (64x64 by default); `attribute` gives labels."""
    if root is None:
        raise DataError("data set 'celeba' needs data.root: the folder holding img_align_celeba/", SOURCE)
    base = Path(root).expanduser()
    folder = base / "img_align_celeba" if (base / "img_align_celeba").is_dir() else base
    files = sorted(p for p in folder.glob("*.jpg"))
    if not files:
        raise DataError(f"no .jpg images in {folder} (looked for img_align_celeba/*.jpg under {base})", SOURCE)
    labels, class_names = None, None
    if attribute is not None:
        attr_path = next(
            (p for p in (base / "list_attr_celeba.txt", folder / "list_attr_celeba.txt") if p.is_file()), None
        )
        if attr_path is None:
            raise DataError(f"data.attribute={attribute} needs list_attr_celeba.txt in {base}", SOURCE)
        names, table = read_attributes(attr_path)
        if attribute not in names:
            raise DataError(f"unknown CelebA attribute {attribute!r}", f"valid: {', '.join(names)}")
        missing = [p.name for p in files if p.name not in table]
        if missing:
            raise DataError(f"{attr_path} has no row for {missing[0]} ({len(missing)} images unlisted)")
        column = names.index(attribute)
        labels = [int(table[p.name][column]) for p in files]
        class_names = [f"not {attribute}", attribute]
    return FileIndex("celeba", base, files, labels, class_names, resolution or 64, crop)
