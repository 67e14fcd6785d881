"""Numbered run folders (00000-name, 00001-name, ...), never reused."""

from __future__ import annotations

import re
from pathlib import Path

from gankit.errors import RunError


def create_run_dir(parent: str | Path, name: str) -> Path:
    """Make `parent/NNNNN-name` with the next free number; an existing run is never overwritten."""
    parent = Path(parent).expanduser()
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunError(f"cannot create output folder {parent}: {err.strerror}", "choose another --out") from None
    if not parent.is_dir():
        raise RunError(f"--out {parent} is a file, not a folder")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
    numbers = [int(m.group(1)) for p in parent.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
    number = max(numbers, default=-1) + 1
    while True:
        path = parent / f"{number:05d}-{safe}"
        try:
            path.mkdir()  # fails if another process took the number meanwhile
        except FileExistsError:
            number += 1
            continue
        except OSError as err:
            raise RunError(f"cannot create run folder in {parent}: {err.strerror}", "choose another --out") from None
        (path / "samples").mkdir()
        (path / "checkpoints").mkdir()
        return path
