"""Device choice and the autocast context for the chosen precision."""

from __future__ import annotations

import contextlib

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


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively (CUDA from Ampere on; CPUs with AVX-512-BF16 or AMX), so
    autocast pays instead of emulating it."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = torch.cpu
        return any(
            getattr(cpu, probe, lambda: False)() for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        )
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """auto: bf16 where the device has native bf16 arithmetic, else fp32."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def autocast(device: torch.device, precision: str):
    """bf16 autocast for matmuls and convs (weights and optimiser stay fp32), or nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)
