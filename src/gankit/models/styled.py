"""Layers of the style-based networks (Karras et al. 2019, 2020a), written from the papers' definitions.

Every weight is stored N(0, 1) and scaled at run time by 1/sqrt(fan_in) ("equalised learning rate"), so
Adam's per-parameter step is the same relative change for every layer; the mapping network additionally
multiplies its learning rate by `lr_mul` (0.01 in the paper) through the same scaling.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


class EqualLinear(nn.Module):
    def __init__(self, cin: int, cout: int, bias_init: float = 0.0, lr_mul: float = 1.0, act: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init) / lr_mul))
        self.weight_gain, self.lr_mul, self.act = lr_mul / math.sqrt(cin), lr_mul, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # lrelu(a) sqrt(2) = lrelu(sqrt(2) a): the activation's gain rides on the weight and bias
        gain = SQRT2 if self.act else 1.0
        x = F.linear(x, self.weight * (self.weight_gain * gain), self.bias * (self.lr_mul * gain))
        return F.leaky_relu(x, 0.2) if self.act else x


class EqualConv2d(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True, act: bool = False, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.weight_gain = gain / math.sqrt(cin * kernel * kernel)
        self.act, self.padding = act, kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gain = SQRT2 if self.act else 1.0  # as EqualLinear: one pass over the maps fewer, forward and backward
        bias = None if self.bias is None else self.bias * gain
        x = F.conv2d(x, self.weight * (self.weight_gain * gain), bias, padding=self.padding)
        return F.leaky_relu(x, 0.2) if self.act else x


class ModulatedConv2d(nn.Module):
    """A conv whose input channels are scaled per sample by a style s = A(w), and whose output channels are then
    divided by their expected standard deviation (demodulation, Karras et al. 2020a, eq. 1-3):

        y[n, o] = sum_i w[o, i] * s[n, i] * x[n, i]  /  sqrt(sum_{i, k} (w[o, i, k] s[n, i])^2 + eps)

    Written as scale-input, shared conv, scale-output (the paper's "non-fused" form): the same result as a
    per-sample weight, and a plain batched conv for the CPU's and GPU's conv kernels. With `up`, the input is
    first upsampled 2x bilinearly (a low-pass interpolation standing in for the paper's [1, 3, 3, 1] FIR filter).
    """

    def __init__(self, cin: int, cout: int, kernel: int, w_dim: int, demodulate: bool = True, up: bool = False):
        super().__init__()
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)  # styles start at 1: the conv starts as a plain conv
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.weight_gain = 1 / math.sqrt(cin * kernel * kernel)
        self.demodulate, self.up, self.padding = demodulate, up, kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """`gain` multiplies the output, folded into the demodulation (a following activation's gain, say)."""
        styles = self.affine(w)  # [N, cin]
        weight = self.weight * (self.weight_gain if self.demodulate else self.weight_gain * gain)
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.conv2d(x * styles[:, :, None, None].to(x.dtype), weight, padding=self.padding)
        if self.demodulate:
            # sum over i, k of (w[o, i, k] s[n, i])^2 = s^2 [N, cin] @ (sum_k w^2) [cin, cout]
            norms = styles.float().square() @ weight.float().square().sum((2, 3)).t()
            x = x * ((norms + 1e-8).rsqrt() * gain)[:, :, None, None].to(x.dtype)
        return x


class NoiseInput(nn.Module):
    """Per-pixel Gaussian noise with a learned per-layer strength (starts at 0). Training draws fresh noise;
    eval mode uses a fixed buffer, so sampling is a function of the latents alone."""

    def __init__(self, resolution: int):
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("fixed", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """x + noise x strength (x `gain`, a following activation's gain folded in)."""
        if self.training:
            noise = torch.randn(len(x), 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        else:
            noise = self.fixed.to(x.dtype)
        return x + noise * (self.strength * gain).to(x.dtype)


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append one feature map: the standard deviation of each feature over groups of `group` samples,
    averaged over features and pixels (Karras et al. 2018), so D can see a batch's lack of variety."""
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g:  # a last partial batch: the largest group size that divides it
        g -= 1
    y = x.float().reshape(g, n // g, c, h, w)
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt()  # [n/g, c, h, w]
    y = y.mean((1, 2, 3)).reshape(1, n // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], 1)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(1, keepdim=True) + eps).rsqrt()
