"""`invert()`: the latent from which a trained generator draws the closest image to a given one (GAN inversion).

Gradient descent on the latent, G's weights fixed: z for every family, or for a style-based G its w (one w for
all layers, StyleGAN2's projector) or w+ (one per layer: closer fits, further from what G draws on its own).
The loss is the pixel MSE plus `feature_weight` times the MSE of the packaged extractor's features (relative
to the image's own feature norm), so a fit that matches the strokes but not the shape still costs. Starts:
the best of `restarts` random latents (for w: their mapped w and w_avg). A conditional G given no class tries
every class at once and keeps the best fit, which also says which class the model reads the image as.

`invert_files()` adds what a user needs around it: the images read and resized to the run's, the latents
(.npy), each original beside its reconstruction (PNG), and inversion.json with the errors and, for scale,
each image's MSE to its nearest training item (a model that reconstructs held-out images closer than their
nearest training item generalises; one that cannot reach it lacks what they show).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from gankit.audit import nearest, pixels
from gankit.config_files import load_config
from gankit.data import build_data, to_model_range, to_uint8
from gankit.data.folder import EXTENSIONS, load_images
from gankit.data.transforms import convert_channels
from gankit.errors import ConfigError, DataError, RunError
from gankit.metrics.extractors import Extractor, load_extractor
from gankit.runs.files import atomic_write_text
from gankit.sample import LoadedRun, load_run
from gankit.seeds import Seeds
from gankit.viz.grids import grid_image

Space = Literal["z", "w", "w+"]


@dataclass
class Inversion:
    space: str
    latents: torch.Tensor  # z [N, z_dim], w [N, w_dim] or w+ [N, num_ws, w_dim]
    labels: torch.Tensor | None  # the class of each fit (conditional z space), else None
    images: torch.Tensor  # the reconstructions [N, C, H, W] in [-1, 1]
    mse: torch.Tensor  # [N] pixel MSE in [0, 1] units (0 = identical, 1 = black for white)
    feature_mse: torch.Tensor | None  # [N] relative feature MSE, when features were used


def _space(G: torch.nn.Module, space: str | None) -> Space:
    styled = hasattr(G, "mapping") and hasattr(G, "synthesis")
    space = space or ("w" if styled else "z")
    if space not in ("z", "w", "w+"):
        raise ConfigError(f"--space must be z, w or w+, got {space!r}")
    if space != "z" and not styled:
        raise ConfigError(f"--space {space} needs a style-based generator; this run's is {type(G).__name__}")
    return space  # type: ignore[return-value]


def _feature_extractor(name: str | None, shape: tuple[int, ...]) -> Extractor | None:
    """The extractor whose features the loss compares, if it takes this run's images; None: pixels only."""
    ext = load_extractor(name or "lenet-mnist")
    if ext.shape is not None and ext.shape[0] != shape[0]:
        if name:
            raise ConfigError(f"extractor {ext.name} takes {ext.shape[0]}-channel images; this run draws {shape[0]}")
        return None
    return ext


def invert(
    run: LoadedRun,
    targets: torch.Tensor,
    space: str | None = None,
    label: int | None = None,
    steps: int = 300,
    lr: float = 0.05,
    feature_weight: float = 1.0,
    restarts: int = 16,
    seed: int = 0,
    extractor: str | None = None,
) -> Inversion:
    """Fit a latent to each of `targets` (float [N, C, H, W] in [-1, 1], the run's shape)."""
    G = run.generator.eval().requires_grad_(False)
    space = _space(G, space)
    if tuple(targets.shape[1:]) != tuple(run.shape):
        raise DataError(f"images of shape {tuple(targets.shape[1:])} do not match the run's {tuple(run.shape)}")
    if steps < 1 or restarts < 1 or lr <= 0 or feature_weight < 0:
        raise ConfigError("--steps and --restarts must be >= 1, --lr > 0 and --feature-weight >= 0")
    classes = [None]
    if G.num_classes and space == "z":  # w already holds the class: the mapping took it
        if label is not None and not 0 <= label < G.num_classes:
            raise ConfigError(f"--class must be in 0..{G.num_classes - 1}, got {label}")
        classes = list(range(G.num_classes)) if label is None else [label]
    elif label is not None:
        raise ConfigError("--class is for conditional runs inverted in z; leave it out here")
    ext = _feature_extractor(extractor, run.shape) if feature_weight > 0 else None
    if ext is not None:
        ext.model.eval().requires_grad_(False)  # gradients go to the latents only
    n, k = len(targets), len(classes)
    target = targets.repeat(k, 1, 1, 1)  # [k * n]: every image under every class tried
    c = None if classes == [None] else torch.tensor(classes).repeat_interleave(n)
    g = torch.Generator().manual_seed(seed)
    want = None if ext is None else ext.features(target).detach()

    def draw(latent: torch.Tensor) -> torch.Tensor:
        if space == "z":
            return G(latent, c).float()
        ws = latent if space == "w+" else latent[:, None].expand(-1, G.num_ws, -1)
        return G.synthesis(ws).float()

    def losses(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        pixel = (images - target).square().mean((1, 2, 3)) / 4  # [-1, 1] -> [0, 1] units
        if ext is None:
            return pixel, None
        got = ext.features(images)
        return pixel, (got - want).square().sum(1) / want.square().sum(1).clamp_min(1e-8)

    latent = _start(G, space, c, len(target), restarts, g, draw, lambda x: _total(losses(x), feature_weight))
    latent.requires_grad_(True)
    opt = torch.optim.Adam([latent], lr=lr)
    for _ in range(steps):
        loss = _total(losses(draw(latent)), feature_weight).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        images = draw(latent)
        pixel, feature = losses(images)
        best = _total((pixel, feature), feature_weight).view(k, n).argmin(0)  # the best class of each image
        pick = best * n + torch.arange(n)
    return Inversion(
        space,
        latent.detach()[pick],
        None if c is None else c[pick],
        images[pick],
        pixel[pick],
        None if feature is None else feature[pick],
    )


def _total(parts: tuple[torch.Tensor, torch.Tensor | None], feature_weight: float) -> torch.Tensor:
    pixel, feature = parts
    return pixel if feature is None else pixel + feature_weight * feature


@torch.no_grad()
def _start(G, space: Space, c, m: int, restarts: int, g: torch.Generator, draw, loss) -> torch.Tensor:
    """The best of `restarts` random latents for each of the m fits (in w: mapped z, and w_avg among them)."""
    best, best_loss = None, torch.full((m,), float("inf"))
    for r in range(restarts):
        z = torch.randn(m, G.z_dim, generator=g)
        if space == "z":
            latent = z
        else:
            classes = None if not G.num_classes else torch.randint(G.num_classes, (m,), generator=g)
            latent = G.mapping.w_avg.expand(m, -1).clone() if r == 0 else G.mapping(z, classes, track=False)
            if space == "w+":
                latent = latent[:, None].repeat(1, G.num_ws, 1)
        value = loss(draw(latent))
        better = value < best_loss
        best = latent.clone() if best is None else torch.where(better.view(-1, *[1] * (latent.dim() - 1)), latent, best)
        best_loss = torch.minimum(value, best_loss)
    return best.float().contiguous()


def image_files(paths: list[str]) -> list[Path]:
    """The image files named, folders expanded to the images in them (sorted)."""
    files: list[Path] = []
    for text in paths:
        path = Path(text).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)
        elif path.is_file():
            files.append(path)
        else:
            raise DataError(f"image {path} does not exist")
    if not files:
        raise DataError("no images to invert", f"give image files or folders of them ({', '.join(sorted(EXTENSIONS))})")
    if len({f.stem for f in files}) != len(files):
        raise DataError("two images share a file name; their outputs would collide", "invert them in separate calls")
    return files


def read_targets(files: list[Path], shape: tuple[int, ...]) -> torch.Tensor:
    """Image files as the run's images: resized (centre crop) and converted to its channels, in [-1, 1]."""
    if len(shape) != 3:
        raise ConfigError("gankit invert takes runs that draw images (this one draws signals or points)")
    return to_model_range(convert_channels(load_images(files, shape[1]), shape[0]))


def nearest_mse(images: torch.Tensor, train: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Each image's pixel MSE (in [0, 1] units) to its nearest item of `train` (uint8, same shape)."""
    return nearest(pixels(images), train, pixels, chunk=chunk)[0].square().float()


def invert_files(
    run_dir: str | Path,
    paths: list[str],
    out: str | Path,
    checkpoint: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Invert image files into a new folder `out`: latents.npy (+ labels.npy), NAME.png, inversion.json."""
    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out} already exists and is not empty", "choose a new folder for --out")
    loaded = load_run(run_dir, checkpoint)
    files = image_files(paths)
    targets = read_targets(files, loaded.shape)
    result = invert(loaded, targets, **options)
    try:
        config = load_config(config_file=Path(loaded.run_dir) / "config.yaml")
        train = build_data(config.data, Seeds(config.train.seed).subset).x  # the items the run drew
        nearest = nearest_mse(targets, convert_channels(train, loaded.shape[0])).tolist()
    except DataError:  # the training data moved or is gone: the inversion still stands
        nearest = [None] * len(files)
    rows = [
        {
            "file": str(path),
            "mse": float(result.mse[i]),
            **({"feature_mse": float(result.feature_mse[i])} if result.feature_mse is not None else {}),
            **({"class": int(result.labels[i])} if result.labels is not None else {}),
            "nearest_train_mse": nearest[i],
        }
        for i, path in enumerate(files)
    ]
    report = {
        "run": str(Path(loaded.run_dir).resolve()),
        "checkpoint": loaded.record.stem,
        "space": result.space,
        "options": {k: v for k, v in options.items() if v is not None},
        "mean_mse": float(result.mse.mean()),
        **({"mean_nearest_train_mse": float(np.mean(nearest))} if None not in nearest else {}),
        "images": rows,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:  # everything appears at once, under its name, or not at all
        np.save(staging / "latents.npy", result.latents.numpy())
        if result.labels is not None:
            np.save(staging / "labels.npy", result.labels.numpy())
        for i, path in enumerate(files):
            pair = to_uint8(torch.stack([targets[i], result.images[i]]))
            grid_image(pair, nrow=2).save(staging / f"{path.stem}.png", format="PNG")
        atomic_write_text(staging / "inversion.json", json.dumps(report, indent=1))
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return report
