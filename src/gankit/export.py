"""`generate_dataset()`: a synthetic data set from a trained run, in the formats gankit's loaders read.

    DIR/            PNG files; a conditional run gets one sub-folder per class (the `folder` data set)
    FILE.npz        images (N, H, W) or (N, H, W, C) uint8, and labels (N,) for a conditional run (`array`)

Beside it, a manifest (DIR/manifest.json or FILE.npz.json): the run, the checkpoint and its SHA-256, the seed,
the count per class, the truncation and the gankit version. Samples are drawn in chunks of CHUNK latents from
one seeded generator, so memory does not grow with N, and the same (run, N, seed) gives the same bytes. (Not a
prefix of a longer export: torch draws a short tensor of normals by another algorithm than a long one, and conv
kernels may round differently at another batch size.)
The output appears only when complete (written under a temporary name, then renamed); an existing one is
never overwritten.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from gankit.data import to_uint8
from gankit.errors import ConfigError, RunError
from gankit.runs.checkpoint import sha256_of
from gankit.runs.files import atomic_write_text
from gankit.sample import LoadedRun, check_truncation, generate_from, load_run, sample_labels
from gankit.version import __version__
from gankit.viz.grids import save_image

CHUNK = 1000  # latents per chunk: part of what a seed means, so it never changes


def export_labels(run: LoadedRun, n: int, label: int | None, balanced: bool, seed: int) -> torch.Tensor | None:
    """The class of each of n samples: all `label`, round-robin over the classes (`balanced`), or uniform."""
    if balanced and label is None:
        if not run.generator.num_classes:
            raise ConfigError("this run's generator is not class-conditional: leave out --balanced")
        return torch.arange(n) % run.generator.num_classes
    return sample_labels(run, n, label, torch.Generator().manual_seed(seed + 1))


def _chunks(run: LoadedRun, labels: torch.Tensor | None, n: int, seed: int, truncation) -> Iterator[torch.Tensor]:
    """uint8 images [k, C, H, W], CHUNK at a time, from one seeded latent stream."""
    g = torch.Generator().manual_seed(seed)
    for start in range(0, n, CHUNK):
        k = min(CHUNK, n - start)
        z = torch.randn(k, run.generator.z_dim, generator=g)
        part = None if labels is None else labels[start : start + k]
        yield to_uint8(generate_from(run.generator, z, part, CHUNK, truncation))


def _write_npz(path: Path, chunks: Iterator[torch.Tensor], labels: torch.Tensor | None, n: int, shape) -> None:
    """An .npz written member by member as the chunks come: a zip of images.npy (and labels.npy)."""
    c, h, w = shape
    image_shape = (n, h, w) if c == 1 else (n, h, w, c)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        with archive.open("images.npy", "w", force_zip64=True) as f:
            header = {"descr": "|u1", "fortran_order": False, "shape": image_shape}
            np.lib.format.write_array_header_2_0(f, header)
            for images in chunks:
                pixels = images.permute(0, 2, 3, 1)  # [k, H, W, C]
                f.write((pixels[..., 0] if c == 1 else pixels).numpy().tobytes())
        if labels is not None:
            with archive.open("labels.npy", "w") as f:
                np.save(f, labels.numpy().astype(np.int64), allow_pickle=False)


def _class_folders(names: list[str]) -> list[str]:
    """Sub-folder names that the folder loader sorts back into class order (padded indices when names would not)."""
    safe = [n.replace("/", "_") or str(i) for i, n in enumerate(names)]
    if sorted(safe) == safe and len(set(safe)) == len(safe):
        return safe
    return [f"{i:0{len(str(len(names)))}d}-{n}" for i, n in enumerate(safe)]


def _write_pngs(folder: Path, chunks, labels: torch.Tensor | None, class_names: list[str] | None) -> None:
    folder.mkdir(parents=True)
    subdirs = None
    if labels is not None:
        subdirs = [folder / name for name in _class_folders(class_names)]
        for d in subdirs:
            d.mkdir()
    i = 0
    for images in chunks:
        for image in images:
            target = folder if subdirs is None else subdirs[int(labels[i])]
            save_image(image.permute(1, 2, 0).numpy(), target / f"{i:07d}.png")
            i += 1


def generate_dataset(
    run_dir: str | Path,
    n: int,
    out: str | Path,
    seed: int = 0,
    label: int | None = None,
    balanced: bool = False,
    truncation: float | None = None,
    fmt: Literal["png", "npz"] | None = None,
    checkpoint: str | None = None,
) -> Path:
    """Write n samples of a run (with labels if conditional) to `out` and a manifest beside them."""
    if n <= 0:
        raise ConfigError(f"--n must be > 0, got {n}")
    out = Path(out).expanduser()
    fmt = fmt or ("npz" if out.suffix.lower() == ".npz" else "png")
    if fmt == "npz" and out.suffix.lower() != ".npz":
        raise ConfigError(f"--format npz writes a file: give --out FILE.npz, not {out}")
    if fmt == "png" and out.suffix:
        raise ConfigError(f"--format png writes a folder of images: give --out DIR without a suffix, not {out}")
    manifest_path = out / "manifest.json" if fmt == "png" else out.with_name(out.name + ".json")
    if out.exists() or manifest_path.exists():
        raise RunError(f"{out} already exists", "choose another --out: gankit never overwrites an export")
    run = load_run(run_dir, checkpoint)
    if len(run.shape) != 3:
        raise ConfigError("this run makes points, not images: use `gankit sample --out FILE.npy`")
    check_truncation(run.generator, truncation)
    labels = export_labels(run, n, label, balanced, seed)
    class_names = run.meta.get("data", {}).get("class_names")
    manifest = _manifest(run, n, seed, labels, class_names, truncation, fmt, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()  # left by an interrupted export of ours
    chunks = _chunks(run, labels, n, seed, truncation)
    try:
        if fmt == "npz":
            _write_npz(tmp, chunks, labels, n, run.shape)
        else:
            _write_pngs(tmp, chunks, labels, class_names)
            atomic_write_text(tmp / "manifest.json", json.dumps(manifest, indent=1))
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        raise
    if fmt == "npz":
        atomic_write_text(manifest_path, json.dumps(manifest, indent=1))
    return out


def _manifest(run: LoadedRun, n, seed, labels, class_names, truncation, fmt, out) -> dict[str, Any]:
    counts = None
    if labels is not None:
        per_class = torch.bincount(labels, minlength=run.generator.num_classes).tolist()
        counts = {name: count for name, count in zip(class_names or map(str, range(len(per_class))), per_class)}
    return {
        "run": str(run.run_dir),
        "checkpoint": run.record.stem,
        "checkpoint_sha256": sha256_of(run.record.with_suffix(".safetensors")),
        "model": run.meta["model"]["name"],
        "samples": n,
        "seed": seed,
        "chunk": CHUNK,
        "truncation": truncation,
        "format": fmt,
        "shape": list(run.shape),
        "count_per_class": counts,
        "gankit_version": __version__,
        "read_with": f"--set data.name={'folder' if fmt == 'png' else 'array'} --set data.root={out}",
    }
