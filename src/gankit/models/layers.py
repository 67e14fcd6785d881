"""Blocks shared by the model families."""

from __future__ import annotations

from torch import nn

ACTIVATIONS = {"relu": lambda: nn.ReLU(inplace=True), "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True)}


def activation(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


def same_transpose_padding(kernel: int, stride: int) -> tuple[int, int]:
    """(padding, output_padding) making ConvTranspose2d multiply the size by `stride` (Keras padding='same').

    PyTorch: out = (in - 1) * stride - 2 * padding + kernel + output_padding; solve for out = in * stride.
    """
    excess = kernel - stride
    if excess < 0:
        raise ValueError(f"kernel {kernel} must be >= stride {stride}")
    return (excess + 1) // 2, excess % 2


def dcgan_init(module: nn.Module) -> None:
    """Weights N(0, 0.02), BatchNorm scale N(1, 0.02), biases 0 (Radford et al. 2016)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)
