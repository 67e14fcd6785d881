"""What the machine can do, and how much arithmetic a training step asks of it.

- `gemm_gflops`: a large square matrix multiply, the practical peak of dense arithmetic.
- `layer_ceiling`: every conv / transposed conv / linear layer call of a real step, timed alone with
  the input shape and the gradients that call needs (forward + backward): the rate the step would
  reach if it were nothing but these layers, each at its best. The gap between a preset's rate and this is overhead
  (elementwise ops, the optimiser, Python); the gap between this and the GEMM peak is the layers'
  shapes (small channel counts, small images).
- `step_flops`: matmul/conv FLOPs of real train steps, counted by torch.utils.flop_counter (forward
  and backward: D on real and fake, G forward and backward through D, penalties' double backward).
"""

from __future__ import annotations

import contextlib
import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from gankit.training.device import autocast


def sync() -> None:
    """Wait for queued GPU work, so that a host clock read after it counts it (a no-op without CUDA)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _timed(fn, min_seconds: float = 0.3) -> float:
    """Median seconds per call over at least `min_seconds` of calls, after warm-up."""
    for _ in range(3):
        fn()
    times, total = [], 0.0
    while total < min_seconds or len(times) < 5:
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
        total += times[-1]
    return statistics.median(times)


class _NoModuleTracking(contextlib.nullcontext):
    """FlopCounterMode's per-module tracking hooks every module's backward, which autograd.grad (the
    gradient penalty) refuses; we only need the total, which it files under "Global"."""

    parents = frozenset({"Global"})


def _count(fn) -> int:
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _NoModuleTracking()
    with counter:
        fn()
    return counter.get_total_flops()


def gemm_size(device: torch.device) -> int:
    """The side of a square matrix product big enough to fill the device."""
    return 8192 if device.type == "cuda" else 2048


def _gemm_rate(n: int, dtype: torch.dtype, device: torch.device, min_seconds: float = 0.3) -> float:
    a, b = torch.randn(n, n, dtype=dtype, device=device), torch.randn(n, n, dtype=dtype, device=device)
    return 2 * n**3 / _timed(lambda: a @ b, min_seconds) / 1e9


def fitting_side(n: int, probe_gflops: float, max_seconds: float = 2.0) -> int:
    """The largest side, n halved as often as needed, whose product takes at most `max_seconds` at the probe's
    rate (which a small product underestimates, so the guess errs short)."""
    while n > 256 and 2 * n**3 / (probe_gflops * 1e9) > max_seconds:
        n //= 2
    return n


def gemm_gflops(dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu", n: int | None = None) -> float:
    device = torch.device(device)
    n = n or gemm_size(device)
    # A dtype without a fast kernel here (bf16 on a CPU without AVX-512-BF16 or AMX) multiplies about 100x
    # slower: at the full side its 8 timed products took 8 minutes on such a host. A small probe first keeps
    # the measurement to seconds there (side 512), and costs milliseconds where the kernel is fast.
    if n > 256:
        n = fitting_side(n, _gemm_rate(256, dtype, device, min_seconds=0.0))
    return _gemm_rate(n, dtype, device)


def layer_calls(trainer) -> list[tuple[nn.Module, tuple[int, ...], bool, bool]]:
    """(layer, input shape, input needs a gradient, weights need gradients) of every conv, transposed conv and
    linear layer call in one D and G step."""
    seen: list[tuple[nn.Module, tuple[int, ...], bool, bool]] = []
    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)

    def record(module, inputs):
        x = inputs[0]
        seen.append((module, tuple(x.shape), x.requires_grad, module.weight.requires_grad))

    hooks = [
        m.register_forward_pre_hook(record)
        for net in (network.module for network in trainer.networks.values())
        for m in net.modules()
        if isinstance(m, kinds)
    ]
    real, labels = next(iter(trainer.sampler.epoch(1)))
    trainer.train_step(real, labels)
    for h in hooks:
        h.remove()
    return seen


def layer_ceiling(trainer, calls) -> float:
    """GFLOP/s of the step's layer calls run alone, forward + the backward the step needs, in its precision."""
    flops, seconds = 0, 0.0
    for module, shape, input_grad, weight_grad in calls:
        x = torch.randn(shape, device=trainer.device)
        if x.dim() == 4 and trainer.sampler.memory_format == torch.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x.requires_grad_(input_grad)
        params = list(module.parameters())

        def run(module=module, x=x):
            with autocast(trainer.device, trainer.precision):
                y = module(x)
            if y.requires_grad:
                y.float().sum().backward()

        for p in params:
            p.requires_grad_(weight_grad)
        flops += _count(run)
        seconds += _timed(run, min_seconds=0.05)
        for p in params:
            p.requires_grad_(True)
    return flops / seconds / 1e9


def step_flops(trainer) -> float:
    """FLOPs per train step, averaged over one cycle of the phases (d_steps consecutive steps, one G step)."""
    batches = iter(trainer.sampler.epoch(1))
    cycle = max(phase.every for phase in trainer.phases)

    def steps():
        for _ in range(cycle):
            trainer.train_step(*next(batches))
            trainer.step += 1

    return _count(steps) / cycle
