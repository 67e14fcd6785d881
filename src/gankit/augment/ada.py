"""ADA (Karras et al. 2020b, "Training Generative Adversarial Networks with Limited Data"), re-implemented from
the paper: the `bgc` pipeline of blits, geometric and color transforms, each applied to each image with
probability p, and p adapted to how sure D is about the reals.

Every `interval` D steps, r_t = E[sign(D(real))] over those steps; p moves by sign(r_t - target) *
batch * interval / `speed_images` (p can go from 0 to 1 in `speed_images` images), clamped to [0, 1].
p and the running sum live on the training device, so adapting costs no host synchronisation.

The geometric transforms are one affine map per image, resampled bilinearly with reflection at the borders
through gathers (so R1 can differentiate through them twice); the paper's wavelet-filtered resampling is left
out. Color transforms are one 4x4 matrix per image on RGB (grey images get its mean gain and offset).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gankit.augment.registry import AUGMENTS
from gankit.errors import ConfigError
from gankit.models.layers import is_channels_last

# Strengths of the bgc pipeline (the paper's appendix): lognormal stds in log2 units, ranges as fractions.
XINT_MAX, SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.125, 0.2, 1.0, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD = 0.2, 0.5, 1.0, 1.0


def _eye(n: int, size: int, device) -> torch.Tensor:
    return torch.eye(size, device=device).repeat(n, 1, 1)


def _matrix(rows: list[list[Any]], n: int, device) -> torch.Tensor:
    """A batch of matrices [n, r, c] from rows whose entries are scalars or [n] tensors."""
    entries = [torch.as_tensor(e, dtype=torch.float32, device=device).expand(n) for row in rows for e in row]
    return torch.stack(entries, 1).reshape(n, len(rows), len(rows[0]))


def _scale2d(sx, sy, n, d):
    return _matrix([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], n, d)


def _translate2d(tx, ty, n, d):
    return _matrix([[1, 0, tx], [0, 1, ty], [0, 0, 1]], n, d)


def _rotate2d(theta, n, d):
    return _matrix([[theta.cos(), -theta.sin(), 0], [theta.sin(), theta.cos(), 0], [0, 0, 1]], n, d)


def _gate(p: torch.Tensor, values: torch.Tensor, identity: float) -> torch.Tensor:
    """Each sample's value with probability p, else the op's identity value."""
    return torch.where(torch.rand_like(values) < p, values, torch.full_like(values, identity))


def geometric_matrix(n: int, p: torch.Tensor, size: tuple[int, int], device) -> torch.Tensor:
    """[n, 3, 3] maps from output to input coordinates in [-1, 1] (what grid sampling needs), composed of the
    bgc blits (x-flip, 90-degree rotations, integer translation) and general transforms; size is (H, W)."""
    h, w = size
    inv = _eye(n, 3, device)
    flip = _gate(p, torch.randint(0, 2, (n,), device=device).float(), 0)
    inv = inv @ _scale2d(1 - 2 * flip, 1, n, device)
    quarter = _gate(p, torch.randint(0, 4, (n,), device=device).float(), 0)
    inv = inv @ _rotate2d(-math.pi / 2 * quarter, n, device)
    shift = _gate(p, (torch.rand(n, 2, device=device) * 2 - 1) * XINT_MAX, 0)  # fractions of the size
    tx, ty = (shift[:, 0] * w).round() / w * 2, (shift[:, 1] * h).round() / h * 2  # whole pixels, in [-1, 1] units
    inv = inv @ _translate2d(tx, ty, n, device)
    scale = 2 ** _gate(p, torch.randn(n, device=device) * SCALE_STD, 0)
    inv = inv @ _scale2d(1 / scale, 1 / scale, n, device)
    p_rot = 1 - (1 - p).clamp(0, 1).sqrt()  # two rotations, each half as likely: P(any) = p
    inv = inv @ _rotate2d(-_gate(p_rot, (torch.rand(n, device=device) * 2 - 1) * math.pi * ROTATE_MAX, 0), n, device)
    aniso = 2 ** _gate(p, torch.randn(n, device=device) * ANISO_STD, 0)
    inv = inv @ _scale2d(1 / aniso, aniso, n, device)
    inv = inv @ _rotate2d(-_gate(p_rot, (torch.rand(n, device=device) * 2 - 1) * math.pi * ROTATE_MAX, 0), n, device)
    frac = _gate(p, torch.randn(n, 2, device=device) * XFRAC_STD, 0)
    return inv @ _translate2d(frac[:, 0] * 2, frac[:, 1] * 2, n, device)


def color_matrix(n: int, p: torch.Tensor, device) -> torch.Tensor:
    """[n, 4, 4] affine maps of RGB: brightness, contrast, luma flip, hue rotation, saturation."""
    C = _eye(n, 4, device)
    v = torch.tensor([1.0, 1.0, 1.0, 0.0], device=device) / math.sqrt(3)  # the luma axis
    vv = torch.outer(v, v)
    b = _gate(p, torch.randn(n, device=device) * BRIGHTNESS_STD, 0)
    C = _matrix([[1, 0, 0, b], [0, 1, 0, b], [0, 0, 1, b], [0, 0, 0, 1]], n, device) @ C
    c = 2 ** _gate(p, torch.randn(n, device=device) * CONTRAST_STD, 0)
    C = _matrix([[c, 0, 0, 0], [0, c, 0, 0], [0, 0, c, 0], [0, 0, 0, 1]], n, device) @ C
    flip = _gate(p, torch.randint(0, 2, (n,), device=device).float(), 0)
    C = (torch.eye(4, device=device) - 2 * vv * flip[:, None, None]) @ C
    theta = _gate(p, (torch.rand(n, device=device) * 2 - 1) * math.pi * HUE_MAX, 0)
    C = _rotate_about(v[:3], theta) @ C
    s = 2 ** _gate(p, torch.randn(n, device=device) * SATURATION_STD, 0)
    return (vv + (torch.eye(4, device=device) - vv) * s[:, None, None]) @ C


def _rotate_about(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """[n, 4, 4]: rotation by theta about a unit 3-D axis (Rodrigues), in homogeneous coordinates."""
    x, y, z = axis.tolist()
    K = torch.tensor([[0, -z, y], [z, 0, -x], [-y, x, 0]], device=theta.device)
    R = torch.eye(3, device=theta.device) + theta.sin()[:, None, None] * K + (1 - theta.cos())[:, None, None] * (K @ K)
    out = _eye(len(theta), 4, theta.device)
    out[:, :3, :3] = R
    return out


def _reflect(u: torch.Tensor, size: int) -> torch.Tensor:
    """Pixel coordinates reflected about the image's outer edges (-0.5 and size - 0.5), then clamped."""
    span = float(size)
    u = (u + 0.5).remainder(2 * span)
    u = torch.where(u > span, 2 * span - u, u) - 0.5
    return u.clamp(0, size - 1)


def resample(x: torch.Tensor, inv: torch.Tensor, int_shift: torch.Tensor | None = None) -> torch.Tensor:
    """x [N, C, H, W] warped by the output->input maps inv [N, 3, 3], bilinearly, reflecting at the borders.

    Written with gathers and constant weights: linear in x, so differentiable in x as often as needed."""
    n, c, h, w = x.shape
    ys, xs = torch.meshgrid(
        (torch.arange(h, device=x.device) + 0.5) / h * 2 - 1,
        (torch.arange(w, device=x.device) + 0.5) / w * 2 - 1,
        indexing="ij",
    )
    grid = torch.stack([xs, ys, torch.ones_like(xs)], -1).reshape(1, h * w, 3)
    src = grid @ inv.transpose(1, 2)  # [N, HW, 3]
    u = _reflect((src[..., 0] + 1) / 2 * w - 0.5, w)
    v = _reflect((src[..., 1] + 1) / 2 * h - 0.5, h)
    u0, v0 = u.floor(), v.floor()
    fu, fv = (u - u0).to(x.dtype), (v - v0).to(x.dtype)
    u0, v0 = u0.long(), v0.long()
    u1, v1 = (u0 + 1).clamp(max=w - 1), (v0 + 1).clamp(max=h - 1)
    flat = x.reshape(n, c, h * w)

    def take(vi, ui):
        return flat.gather(2, (vi * w + ui)[:, None, :].expand(n, c, h * w))

    top = take(v0, u0) * (1 - fu)[:, None] + take(v0, u1) * fu[:, None]
    bottom = take(v1, u0) * (1 - fu)[:, None] + take(v1, u1) * fu[:, None]
    return (top * (1 - fv)[:, None] + bottom * fv[:, None]).reshape(n, c, h, w)


def augment(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The bgc pipeline at strength p on images in [-1, 1]."""
    n, channels, h, w = x.shape
    layout = torch.channels_last if is_channels_last(x) else torch.contiguous_format
    inv = geometric_matrix(n, p, (h, w), x.device)
    x = resample(x.float(), inv).to(x.dtype)
    C = color_matrix(n, p, x.device)
    flat = x.reshape(n, channels, h * w)
    if channels == 3:
        flat = C[:, :3, :3].to(x.dtype) @ flat + C[:, :3, 3:].to(x.dtype)
    else:  # grey: the mean gain of the three channels, and the mean offset
        gain = C[:, :3, :3].sum(2).mean(1)[:, None, None].to(x.dtype)
        flat = flat * gain + C[:, :3, 3].mean(1)[:, None, None].to(x.dtype)
    return flat.reshape(n, channels, h, w).contiguous(memory_format=layout)


@AUGMENTS.register("ada")
class ADA:
    """ADA (Karras et al. 2020b): the bgc pipeline with probability p, adapted toward E[sign(D(real))] = target."""

    FACTS = ("batch_size", "world", "shape")

    def __init__(
        self,
        target: float = 0.6,
        interval: int = 4,
        speed_images: int = 500_000,
        p: float = 0.0,
        batch_size: int = 64,
        world: Any = None,
        shape: tuple[int, ...] = (3, 32, 32),
    ):
        if len(shape) != 3:
            raise ConfigError(
                "augment: ada's pipeline is geometric on images", "for signals use augment.name=diffaugment"
            )
        if not 0 < target < 1 or interval < 1 or speed_images < 1 or not 0 <= p <= 1:
            raise ConfigError("augment: ada needs target in (0, 1), interval >= 1, speed_images >= 1 and p in [0, 1]")
        self.target, self.interval, self.world = target, interval, world
        self.step_size = batch_size * interval / speed_images
        self.p = torch.tensor(float(p))
        self.signs = torch.zeros(())  # sum of sign(D(real)) since the last adjustment
        self.count = 0  # how many logits that sum holds
        self.steps = 0  # D steps since the last adjustment

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.p = self.p.to(x.device)
        return augment(x, self.p)

    def observe(self, real_logits: torch.Tensor) -> dict[str, torch.Tensor]:
        signs = real_logits.detach().float().sign()
        self.signs = self.signs.to(signs.device) + signs.sum()
        self.count += signs.numel()
        return {"ada_p": self.p, "ada_rt": signs.mean()}

    def update(self) -> None:
        """After each D step: every `interval` steps, move p toward the target r_t (on the device, no sync)."""
        self.steps += 1
        if self.steps < self.interval or not self.count:
            return
        rt = self.signs / self.count
        if self.world is not None:
            rt = self.world.mean_(rt.reshape(1))[0]
        self.p = (self.p.to(rt.device) + (rt - self.target).sign() * self.step_size).clamp(0, 1)
        self.signs, self.count, self.steps = torch.zeros_like(self.signs), 0, 0

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        return {"augment.p": self.p, "augment.signs": self.signs}, {
            "augment": {"count": self.count, "steps": self.steps}
        }

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.p, self.signs = tensors["augment.p"].clone(), tensors["augment.signs"].clone()
        self.count, self.steps = meta["augment"]["count"], meta["augment"]["steps"]
