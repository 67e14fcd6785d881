"""Blocks shared by the model families."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError

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


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether a 4-D tensor is laid out NHWC (a tensor with one channel or one pixel counts as NCHW)."""
    return x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


# Where a conv stack meets a vector, both directions of the pass must stay in the stack's memory format: the
# gradient of an NHWC map that came back NCHW (or the reverse) sends every elementwise backward on that map
# (BatchNorm, ReLU) down PyTorch's strided CPU path, measured 15-25x slower than the same op on matching layouts.


class _FlattenKeepingLayout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.shape, ctx.channels_last = x.shape, is_channels_last(x)
        return x.flatten(1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.reshape(ctx.shape)
        return grad.contiguous(memory_format=torch.channels_last) if ctx.channels_last else grad


class ToVector(nn.Module):
    """[N, C, H, W] -> [N, C*H*W] in NCHW order, whatever the layout; the gradient returns in the input's layout."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _FlattenKeepingLayout.apply(x)


class ToMaps(nn.Module):
    """[N, C*H*W] (NCHW order) -> [N, C, H, W] laid out in `memory_format`, the layout of the convs that follow
    (`use_memory_format` sets it with the weights')."""

    def __init__(self, channels: int, side: int):
        super().__init__()
        self.shape = (channels, side, side)
        self.memory_format = torch.contiguous_format

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(1, self.shape).contiguous(memory_format=self.memory_format)


def use_memory_format(module: nn.Module, memory_format: torch.memory_format) -> nn.Module:
    """Lay out the 4-D weights of `module`, and the maps its ToMaps layers make, in `memory_format`."""
    module.to(memory_format=memory_format)
    for layer in module.modules():
        if isinstance(layer, ToMaps):
            layer.memory_format = memory_format
    return module


class LatentWithLabel(nn.Module):
    """G's input: z, with a learned embedding of the class label appended when the generator is conditional.
    Labels c are class indices [N], or class weights [N, K] (float): their weighted mix of the embeddings, as
    class morphs use."""

    def __init__(self, z_dim: int, num_classes: int | None, label_dim: int):
        super().__init__()
        self.embed = nn.Embedding(num_classes, label_dim) if num_classes else None
        self.out_dim = z_dim + (label_dim if num_classes else 0)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        if self.embed is None:
            return z
        if c is None:
            raise ValueError("this generator is class-conditional: pass class labels c")
        label = c.to(self.embed.weight.dtype) @ self.embed.weight if c.is_floating_point() else self.embed(c)
        return torch.cat([z, label.to(z.dtype)], 1)  # [N, z_dim + label_dim]


class DiscriminatorHead(nn.Module):
    """Features [N, F] -> logits [N]; with `projection`, adds <embed(c), features> (Miyato & Koyama 2018).

    With `aux_classes`, a second linear layer predicts the class (AC-GAN, Odena et al. 2017).
    """

    def __init__(self, features: int, num_classes: int | None, projection: bool, aux_classes: bool):
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.project = nn.Embedding(num_classes, features) if projection else None
        self.aux = nn.Linear(features, num_classes) if aux_classes else None

    def forward(self, h: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        logits = self.linear(h).squeeze(1)
        if self.project is not None:
            if c is None:
                raise ValueError("this discriminator is class-conditional: pass class labels c")
            logits = logits + (self.project(c) * h).sum(1)
        return logits

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.aux(h)  # [N, K] class logits


_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)


class HeadDiscriminator(nn.Module):
    """A discriminator whose subclass maps (x, c) to features [N, F]; `self.head` (a DiscriminatorHead) scores them."""

    head: DiscriminatorHead

    @property
    def aux_classifier(self) -> bool:
        """Whether it also predicts the class (AC-GAN): the objective then adds the class loss."""
        return self.head.aux is not None

    def features(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def input_blocks(self) -> list[list[nn.Module]]:
        """The feature layers with weights, from the input on, each with the norm that follows it: what FreezeD
        (`optim.freeze_d: k`) freezes the first k of. By default the weighted members of `self.body`."""
        blocks: list[list[nn.Module]] = []
        for layer in getattr(self, "body", ()):
            if next(layer.parameters(), None) is None:
                continue
            if isinstance(layer, _NORMS) and blocks:
                blocks[-1].append(layer)
            else:
                blocks.append([layer])
        return blocks

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None, classify: bool = False):
        """[N] logits (the sigmoid lives in the loss); with `classify`, also [N, K] class logits (AC-GAN).

        One `forward` for both, not a second method, so that a DistributedDataParallel wrapper sees every call.
        """
        h = self.features(x, c)
        return (self.head(h, c), self.head.classify(h)) if classify else self.head(h, c)


def one_hot_maps(c: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """Labels [N] -> one-hot planes [N, K, H, W] matching `like` [N, C, H, W] (conditioning by concatenation)."""
    onehot = F.one_hot(c, num_classes).to(like.dtype)
    return onehot[:, :, None, None].expand(-1, -1, *like.shape[2:])


def with_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every conv and linear weight of `module`."""
    layers = [m for m in module.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    for layer in layers:
        nn.utils.parametrizations.spectral_norm(layer)
    return module


def check_pack(pack: int, conditional: bool) -> None:
    """PacGAN's packing needs m >= 1, and m = 1 for a conditional D (one label per decision, not per sample)."""
    if pack < 1 or (pack > 1 and conditional):
        raise ConfigError(f"model.pack must be >= 1, and 1 for a conditional model; got {pack}")


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """[N, C, ...] -> [N / m, m C, ...]: each run of m consecutive samples side by side along the feature axis, so
    that D makes one decision on all of them (PacGAN, Lin et al. 2018)."""
    if len(x) % pack:
        raise ValueError(f"D packs {pack} samples per decision; a batch of {len(x)} does not divide")
    return x if pack == 1 else x.reshape(len(x) // pack, pack * x.shape[1], *x.shape[2:])


def check_conditioning(num_classes: int | None, condition: str, aux_classifier: bool) -> bool:
    """Whether the pair is conditional; a conditional model needs the data set's classes."""
    conditional = condition != "none" or aux_classifier
    if conditional and not num_classes:
        raise ConfigError(
            f"model.condition={condition} / model.aux_classifier={aux_classifier} need a labelled data set",
            "use a data set with labels (mnist5k, mnist, cifar10, folder with class sub-folders, celeba with data.attribute)",
        )
    return conditional
