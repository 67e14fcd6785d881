"""Load a trained run and generate from it: a grid PNG, a folder of PNGs, or a .npy array."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data import to_uint8
from gankit.data.signal_files import write_wav
from gankit.data.signals import to_units
from gankit.errors import ConfigError, RunError
from gankit.models import ModelSpec
from gankit.runs.checkpoint import load_checkpoint, module_state
from gankit.runs.files import atomic_write
from gankit.runs.run_dir import RunDir
from gankit.viz.grids import save_grid, save_image
from gankit.viz.traces import pick_panels, save_traces


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save would append .npy to a temporary name
        np.save(f, array, allow_pickle=False)


@dataclass
class LoadedRun:
    """A trained generator (in eval mode, on CPU) and its checkpoint record."""

    run_dir: Path
    generator: torch.nn.Module
    meta: dict[str, Any]
    record: Path  # the checkpoint's NAME.json

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec.from_dict(self.meta["model"])

    @property
    def shape(self) -> tuple[int, ...]:
        return self.spec.shape


def load_run(run_dir: str | Path, checkpoint: str | None = None) -> LoadedRun:
    """Rebuild a run's generator through the model registry and load its weights (hash-checked, no pickle)."""
    run = RunDir.open(run_dir)
    record = run.checkpoint(checkpoint) if checkpoint else run.latest_checkpoint()
    if not record.is_file():
        raise RunError(f"checkpoint {record} does not exist")
    meta, tensors = load_checkpoint(record)
    spec = ModelSpec.from_dict(meta["model"])
    G, _ = spec.build()
    try:
        # The weight average samples better than the live generator, when the run kept one.
        G.load_state_dict(module_state(tensors, "G_ema" if "G_ema" in meta.get("modules", []) else "G"))
    except RuntimeError as err:
        first = str(err).splitlines()[1].strip() if "\n" in str(err) else str(err)
        raise RunError(f"checkpoint {record.name} does not fit model {spec.name!r}: {first}") from None
    return LoadedRun(run.path, G.eval(), meta, record)


def sample_labels(run: LoadedRun, n: int, label: int | None, generator: torch.Generator) -> torch.Tensor | None:
    """Classes for n samples of a conditional run: all `label`, or uniformly drawn; None when unconditional."""
    classes = run.generator.num_classes
    if not classes:
        if label is not None:
            raise ConfigError("this run's generator is not class-conditional: leave out --class")
        return None
    if label is None:
        return torch.randint(classes, (n,), generator=generator)
    if not 0 <= label < classes:
        raise ConfigError(f"--class must be in 0..{classes - 1}, got {label}")
    return torch.full((n,), label)


@torch.inference_mode()
def generate(
    run: LoadedRun,
    n: int,
    seed: int = 0,
    labels: torch.Tensor | None = None,
    batch_size: int = 500,
    truncation: float | None = None,
) -> torch.Tensor:
    """n samples [n, *shape] in the model's range ([-1, 1] for images), reproducible for a seed.

    A conditional run draws classes uniformly unless `labels` [n] gives them. `truncation` psi pulls a
    style-based generator's w toward its average (psi < 1: more typical samples, less variety).
    """
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, run.generator.z_dim, generator=g)
    if labels is None:
        labels = sample_labels(run, n, None, g)
    return generate_from(run.generator, z, labels, batch_size, truncation)


def check_truncation(G: torch.nn.Module, truncation: float | None) -> dict[str, float]:
    """The keyword G takes for truncation psi, or a ConfigError for a generator without a w space."""
    if truncation is None:
        return {}
    if "truncation" not in inspect.signature(G.forward).parameters:
        raise ConfigError(f"--truncation needs a style-based generator; this run's is {type(G).__name__}")
    if not 0 <= truncation <= 1:
        raise ConfigError(f"--truncation must be in [0, 1], got {truncation}")
    return {"truncation": truncation}


@torch.inference_mode()
def generate_from(
    G: torch.nn.Module,
    z: torch.Tensor,
    labels: torch.Tensor | None,
    batch_size: int = 500,
    truncation: float | None = None,
) -> torch.Tensor:
    """G's samples for latents z [n, z_dim] (and labels [n]) in batches, on G's device, returned on the CPU."""
    device = next(G.parameters()).device
    options = check_truncation(G, truncation)
    parts = [
        G(zp.to(device), None if labels is None else labels[i : i + batch_size].to(device), **options).float().cpu()
        for i, zp in zip(range(0, len(z), batch_size), z.split(batch_size))
    ]
    return torch.cat(parts)


def sample(
    run_dir: str | Path,
    n: int,
    out: str | Path,
    seed: int = 0,
    overwrite: bool = False,
    label: int | None = None,
    class_grid: bool = False,
    checkpoint: str | None = None,
    truncation: float | None = None,
) -> Path:
    """Write n samples of a run to `out`: FILE.png (a grid), FILE.npy ((N, C, H, W) in [-1, 1]) or a folder of PNGs.

    Signals: FILE.npy holds (N, C, L) in the data's own units, FILE.png panels of traces, and a folder one WAV
    file per sample when the run was trained on WAV clips.

    For a conditional run, `label` asks for one class; `class_grid` makes one row of n per class.
    `checkpoint` names one (e.g. "best"); by default the final one, else the newest. `truncation` psi in [0, 1]
    for style-based generators.
    """
    if n <= 0:
        raise ConfigError(f"--n must be > 0, got {n}")
    out = Path(out).expanduser()
    run = load_run(run_dir, checkpoint)
    kind = out.suffix.lower()
    if kind not in (".png", ".npy", ""):
        raise ConfigError(f"--out {out} must end in .png (a grid) or .npy (an array), or name a folder")
    if kind and out.exists() and not overwrite:
        raise RunError(f"{out} already exists", "choose another --out or pass --overwrite")
    if not kind and out.is_dir() and any(out.iterdir()) and not overwrite:
        raise RunError(f"folder {out} is not empty", "choose another --out or pass --overwrite")
    g = torch.Generator().manual_seed(seed + 1)
    if class_grid:
        if not run.generator.num_classes:
            raise ConfigError("--class-grid needs a class-conditional run")
        labels = torch.arange(run.generator.num_classes).repeat_interleave(n)
    else:
        labels = sample_labels(run, n, label, g)
    images = generate(run, len(labels) if labels is not None else n, seed, labels, truncation=truncation)
    if images.dim() == 3:
        return _write_signals(run, images, labels, out, kind)
    if kind == ".png" and class_grid:
        out.parent.mkdir(parents=True, exist_ok=True)
        return save_grid(to_uint8(images), out, nrow=n)
    if kind == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda tmp: _save_npy(tmp, images.numpy()))
        return out
    if images.dim() != 4:
        raise ConfigError("this run makes points, not images: write them with --out FILE.npy")
    if kind == ".png":
        out.parent.mkdir(parents=True, exist_ok=True)
        return save_grid(to_uint8(images), out)
    out.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(to_uint8(images)):
        save_image(image.permute(1, 2, 0).numpy(), out / f"{i:06d}.png")
    return out


def _write_signals(run: LoadedRun, series: torch.Tensor, labels: torch.Tensor | None, out: Path, kind: str) -> Path:
    data = run.meta.get("data", {})
    values = to_units(series, data["units"]) if data.get("units") else series.double()
    if kind == ".npy":
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda tmp: _save_npy(tmp, values.numpy()))
        return out
    if kind == ".png":
        out.parent.mkdir(parents=True, exist_ok=True)
        keep = pick_panels(len(series))
        names = data.get("class_names")
        titles = None if labels is None else [names[int(c)] if names else str(int(c)) for c in labels[keep]]
        return save_traces(series[keep], out, titles)
    if not data.get("sample_rate"):
        raise ConfigError("this run makes signals that were not read from WAV files: use --out FILE.npy or FILE.png")
    out.mkdir(parents=True, exist_ok=True)
    for i, clip in enumerate(values.numpy()):
        atomic_write(out / f"{i:06d}.wav", lambda tmp, clip=clip: write_wav(tmp, clip, data["sample_rate"]))
    return out
