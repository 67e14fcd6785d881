"""Latent walks and class morphs of a trained generator: a strip of frames as a PNG grid, or an animated GIF.

A walk goes from the latent of one seed to another's: spherically in z (a Gaussian latent's mass lies near a
sphere, which a straight line would cut through), linearly in w for a style-based G (its w space is where
straight lines stay on the data, Karras et al. 2019). A conditional run walks once per class. A class morph
keeps one latent and goes from one class to another: in w for a style-based G, else through the mixed label
embeddings of the two classes.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.data import to_uint8
from gankit.errors import ConfigError, RunError
from gankit.runs.files import atomic_write
from gankit.sample import LoadedRun, check_truncation, load_run, sample_labels
from gankit.viz.grids import grid_image, save_grid

GIF_FRAME_MS = 80  # per frame; the animation runs there and back


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from rows a [N, D] to rows b at each t [T] -> [T, N, D]; linear where a and b are
    (nearly) parallel."""
    t = t[:, None, None].to(a.dtype)
    na, nb = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((na * nb).sum(1, keepdim=True).clamp(-1, 1))[None]  # [1, N, 1]
    so = torch.sin(omega)
    linear = (1 - t) * a + t * b
    spherical = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / so.clamp_min(1e-7)
    return torch.where(so > 1e-4, spherical, linear)


def _latent(seed: int, z_dim: int) -> torch.Tensor:
    return torch.randn(1, z_dim, generator=torch.Generator().manual_seed(seed))


def _styled(G: torch.nn.Module) -> bool:
    return hasattr(G, "mapping") and hasattr(G, "synthesis")


def _lerp_in_w(G: torch.nn.Module, a, b, t: torch.Tensor, options: dict) -> list[torch.Tensor]:
    """Frames of a style-based G along the straight line from the w of (z, c) `a` to that of `b`."""
    wa, wb = (G.mapping(z, c, **options, track=False) for z, c in (a, b))
    return [G.synthesis(torch.lerp(wa, wb, float(f))[:, None].expand(-1, G.num_ws, -1)) for f in t]


@torch.inference_mode()
def walk(run: LoadedRun, a: int, b: int, steps: int, label: int | None = None, truncation: float | None = None):
    """Images [rows, steps, C, H, W] from seed a's latent to seed b's: one row per class of a conditional run (or
    the one `label`), one row for an unconditional run."""
    G = run.generator
    options = check_truncation(G, truncation)
    rows = _rows(run, label)
    t = torch.linspace(0, 1, steps)
    za, zb = (_latent(s, G.z_dim).expand(len(rows) if rows is not None else 1, -1) for s in (a, b))
    if _styled(G):
        return torch.stack(_lerp_in_w(G, (za, rows), (zb, rows), t, options), 1).float()  # [rows, steps, C, H, W]
    return torch.stack([G(z, rows) for z in slerp(za, zb, t)], 1).float()


@torch.inference_mode()
def morph(run: LoadedRun, seed: int, a: int, b: int, steps: int, truncation: float | None = None):
    """Images [1, steps, C, H, W] of one latent (from `seed`) drawn as class a, then more and more as class b."""
    G = run.generator
    options = check_truncation(G, truncation)
    if not G.num_classes:
        raise ConfigError("--morph needs a class-conditional run")
    for k in (a, b):
        if not 0 <= k < G.num_classes:
            raise ConfigError(f"--morph classes must be in 0..{G.num_classes - 1}, got {k}")
    z = _latent(seed, G.z_dim)
    t = torch.linspace(0, 1, steps)
    if _styled(G):
        frames = _lerp_in_w(G, (z, torch.tensor([a])), (z, torch.tensor([b])), t, options)
    else:
        onehot = torch.eye(G.num_classes)
        frames = [G(z, torch.lerp(onehot[a], onehot[b], float(f))[None]) for f in t]
    return torch.stack(frames, 1).float()


def _rows(run: LoadedRun, label: int | None) -> torch.Tensor | None:
    """The class of each walk's row: every class of a conditional run, or the one asked for; None when
    unconditional (which refuses --class, as `gankit sample` does)."""
    if label is None and run.generator.num_classes:
        return torch.arange(run.generator.num_classes)
    return sample_labels(run, 1, label, torch.Generator())


def save_frames(images: torch.Tensor, out: Path) -> Path:
    """images [rows, steps, C, H, W] in [-1, 1]: FILE.png, one row per walk; FILE.gif, the steps as frames (each a
    column of the rows), forward then back."""
    rows, steps = images.shape[:2]
    pixels = to_uint8(images.flatten(0, 1)).view(rows, steps, *images.shape[2:])
    if out.suffix.lower() == ".png":
        return save_grid(pixels.flatten(0, 1), out, nrow=steps)
    frames = [grid_image(pixels[:, i], nrow=1) for i in [*range(steps), *range(steps - 2, 0, -1)]]
    return atomic_write(
        out,
        lambda tmp: frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=GIF_FRAME_MS, loop=0
        ),
    )


def interpolate(
    run_dir: str | Path,
    out: str | Path,
    steps: int = 8,
    seeds: tuple[int, int] | None = None,
    classes: tuple[int, int] | None = None,
    seed: int = 0,
    label: int | None = None,
    checkpoint: str | None = None,
    truncation: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a walk between two `seeds`' latents, or a morph between two `classes` of the latent of `seed`, to
    `out` (.png or .gif). Refuses to overwrite unless told."""
    out = Path(out).expanduser()
    if out.suffix.lower() not in (".png", ".gif"):
        raise ConfigError(f"--out {out} must end in .png (a strip per walk) or .gif (an animation)")
    if out.exists() and not overwrite:
        raise RunError(f"{out} already exists", "choose another --out or pass --overwrite")
    if steps < 2:
        raise ConfigError(f"--steps must be >= 2, got {steps}")
    if (seeds is None) == (classes is None):
        raise ConfigError("give --interpolate SEED_A SEED_B or --morph CLASS_A CLASS_B, one of them")
    run = load_run(run_dir, checkpoint)
    if len(run.shape) != 3:
        raise ConfigError("walks draw images; this run makes series or points")
    if seeds is not None:
        images = walk(run, *seeds, steps, label, truncation)
    else:
        if label is not None:
            raise ConfigError("--class does not apply to --morph, which names its two classes")
        images = morph(run, seed, *classes, steps, truncation)
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_frames(images, out)
