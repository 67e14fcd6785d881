"""Multi-process training under `torchrun`: the process group, this process's place in it, and what ranks agree on.

torchrun (or `srun torchrun`, or any launcher that sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR /
MASTER_PORT) starts one process per device; without those variables everything here is a no-op for one process.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from gankit.errors import ConfigError


@dataclass(frozen=True)
class World:
    """This process's rank among `size` processes; `control` is a gloo group for host-side flags and strings.

    Host-side agreements go through gloo even when gradients go through NCCL, so asking "did any rank get
    a stop signal?" every step costs a small CPU message and never a GPU synchronisation.
    """

    rank: int = 0
    size: int = 1
    control: Any = None

    @property
    def main(self) -> bool:
        return self.rank == 0

    def any(self, flag: bool) -> bool:
        """True on every rank if it is True on any rank."""
        if self.size == 1:
            return flag
        value = torch.tensor([int(flag)])
        dist.all_reduce(value, op=dist.ReduceOp.MAX, group=self.control)
        return bool(value.item())

    def mean_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Average a tensor over the ranks, in place (on the tensor's device, through the training backend)."""
        if self.size > 1:
            nccl = dist.get_backend() == "nccl"
            dist.all_reduce(tensor, op=dist.ReduceOp.AVG if nccl else dist.ReduceOp.SUM)
            if not nccl:  # gloo has no AVG
                tensor /= self.size
        return tensor

    def broadcast_(self, tensors: list[torch.Tensor]) -> None:
        """Overwrite `tensors` with rank 0's values, in place."""
        if self.size > 1:
            for t in tensors:
                dist.broadcast(t, 0)

    def agree(self, tensors: list[torch.Tensor]) -> bool:
        """Whether every rank holds the same values (compared by per-tensor sums and squared sums, exactly)."""
        if self.size == 1:
            return True
        fingerprint = torch.stack([torch.stack([t.double().sum(), t.double().square().sum()]) for t in tensors])
        low, high = fingerprint.cpu(), fingerprint.cpu().clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN, group=self.control)
        dist.all_reduce(high, op=dist.ReduceOp.MAX, group=self.control)
        return torch.equal(low, high)

    def share_text(self, text: str | None) -> str:
        """Rank 0's `text` on every rank (e.g. the run folder it created), as UTF-8 bytes: nothing is pickled."""
        if self.size == 1:
            return text or ""
        data = torch.tensor(list((text or "").encode()), dtype=torch.uint8)
        length = torch.tensor([len(data)])
        dist.broadcast(length, 0, group=self.control)
        buffer = data if self.main else torch.empty(int(length.item()), dtype=torch.uint8)
        dist.broadcast(buffer, 0, group=self.control)
        return bytes(buffer.tolist()).decode()

    def barrier(self) -> None:
        if self.size > 1:
            dist.barrier(group=self.control)


# torch 2.13 renamed the switch (and its new name still syncs once at construction, which we want).
_NO_FORWARD_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
    else {"broadcast_buffers": False}
)


def wrap_ddp(module: nn.Module, device: torch.device) -> DistributedDataParallel:
    """`module` in DistributedDataParallel, without a buffer broadcast at every forward.

    D runs twice (real, fake) before one backward, and overwriting its BatchNorm running stats in between bumps
    tensors autograd saved (torch < 2.13 then refuses the backward). Each rank's running stats follow its own
    batches; the checkpointer broadcasts rank 0's before every checkpoint.
    """
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, **_NO_FORWARD_BUFFER_SYNC)


def check_batch_splits(batch_size: int, world: World) -> None:
    if batch_size % world.size:
        raise ConfigError(
            f"train.batch_size {batch_size} (the global batch) does not split evenly over {world.size} processes",
            f"use a multiple of {world.size}",
        )


def is_main_process() -> bool:
    """Whether this process is rank 0 (or alone), judged from the launcher's environment."""
    return os.environ.get("RANK", "0") == "0"


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"environment variable {name}={value!r} is not an integer", "launch with torchrun") from None


@contextlib.contextmanager
def world_from_env(device: torch.device) -> Iterator[tuple[World, torch.device]]:
    """Join the process group torchrun describes (nccl on CUDA, gloo otherwise) and yield (world, this rank's device).

    Without WORLD_SIZE > 1 it yields a one-process world and `device` unchanged. A group this call created is
    destroyed on the way out; one that already existed (a caller's) is used and left alone.
    """
    size = _env_int("WORLD_SIZE") or 1
    if size == 1:
        yield World(), device
        return
    local_rank = _env_int("LOCAL_RANK") or 0
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"LOCAL_RANK {local_rank} but this node has {torch.cuda.device_count()} CUDA devices",
                "start at most one process per GPU (torchrun --nproc_per_node)",
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise ConfigError(f"multi-process training runs on CUDA or CPU, not {device.type}", "set train.device=cpu")
    created = not dist.is_initialized()
    if created:
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)
    control = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else dist.group.WORLD
    try:
        yield World(dist.get_rank(), dist.get_world_size(), control), device
        dist.barrier(group=control)  # all ranks leave together: none tears down while a peer still saves
    finally:
        if created and dist.is_initialized():
            # Objects that still hold the group (DDP wrappers in reference cycles) must die now: left to the
            # interpreter's shutdown, gloo's worker threads are destroyed unjoined and the process aborts with
            # "terminate called without an active exception" (1 run in 6 here, after training had finished).
            gc.collect()
            dist.destroy_process_group()
