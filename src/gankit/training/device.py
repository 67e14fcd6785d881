"""Device choice, the autocast context for the chosen precision, and the host allocator setting CPU training wants."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os

import torch

from gankit.errors import ConfigError


def resolve_device(name: str = "auto") -> torch.device:
    """auto picks cuda, then mps, then cpu; an explicit device that is not there is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        raise ConfigError(
            f"train.device={name} but this machine has no such CUDA device", "use train.device=auto or cpu"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.device=mps but MPS is not available here", "use train.device=auto or cpu")
    return device


def set_deterministic(on: bool) -> None:
    """CUDA kernels: deterministic ones (same bits every run, so resumes are exact) or the fastest cuDNN finds.

    cuDNN's benchmark mode times candidate algorithms for our fixed shapes and may pick a different one in a
    resumed process; atomics in some backward kernels add in a varying order. cuBLAS needs its workspace
    setting before its first call to be deterministic.
    """
    if on:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = not on  # the same shapes every step: let cuDNN time and pick its kernels


def native_bf16(device: torch.device) -> bool:
    """Whether `device` is a CPU that computes bf16 natively (AVX-512-BF16 or AMX), where autocast pays instead
    of emulating it. GPUs are not asked: see resolve_precision."""
    if device.type == "cpu":
        cpu = torch.cpu
        return any(
            getattr(cpu, probe, lambda: False)() for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        )
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """auto: bf16 on CPUs with native bf16 arithmetic, else fp32.

    Not on CUDA: there cuDNN already runs fp32 convs on the tensor cores as TF32 (PyTorch's default), and on an
    H100 bf16 autocast measured 0.73-0.99x of fp32 for every preset (its casts are extra launches in a loop
    bound by launches; docs/performance.md). `precision: bf16` still asks for it.
    """
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def autocast(device: torch.device, precision: str):
    """bf16 autocast for matmuls and convs (weights and optimiser stay fp32), or nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h


@functools.cache  # process-wide: once is enough
def keep_freed_host_memory() -> bool:
    """Have glibc's malloc keep freed blocks of up to 32 MiB for reuse instead of handing them back to the OS.

    By default glibc maps blocks over 128 KiB (adaptively more) fresh and unmaps them on free, so a CPU training
    step, which frees and reallocates the same activations every step, page-faults them in again: 480-1,600
    faults and 2-8 ms of kernel time per step of the DCGAN presets here, 2-23 faults with this setting
    (docs/performance.md). Peak memory is unchanged; memory freed after the peak stays with the process.
    Returns whether the setting took (False off glibc).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 256 << 20))
