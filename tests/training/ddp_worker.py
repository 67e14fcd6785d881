"""Run by tests under torchrun: `python -m torch.distributed.run ... ddp_worker.py MODE [ARGS...]`.

syncbn                 CPUSyncBatchNorm on each rank's slice == BatchNorm on the whole batch (exit 1 if not)
fail-at-start ARGS     `gankit train ARGS`, but on rank 1 the data set is missing
fail-in-training ARGS  `gankit train ARGS`, but rank 1 dies (exit 3) at its 5th step
"""

import os
import sys

import torch
import torch.distributed as dist
from torch import nn

from gankit.cli import main
from gankit.training.sync_batchnorm import CPUSyncBatchNorm
from gankit.training.trainer import Trainer


def syncbn() -> int:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(8, 3, 4, 4, generator=g) * 3 + 1, torch.randn(8, 3, 4, 4, generator=g)
    reference = nn.BatchNorm2d(3, momentum=0.3)
    nn.init.uniform_(reference.weight, 0.5, 1.5, generator=g)
    nn.init.uniform_(reference.bias, -1, 1, generator=g)
    sync = CPUSyncBatchNorm(3, momentum=0.3)
    sync.load_state_dict(reference.state_dict())

    x_ref = x.clone().requires_grad_(True)
    y_ref = reference(x_ref)
    (y_ref * w).sum().backward()
    mine = slice(rank * 8 // world, (rank + 1) * 8 // world)
    x_mine = x[mine].clone().requires_grad_(True)
    y_mine = sync(x_mine)
    (y_mine * w[mine]).sum().backward()
    for p in sync.parameters():  # parameter gradients are summed over ranks (DDP would average)
        dist.all_reduce(p.grad)

    checks = {
        "output": (y_mine, y_ref[mine]),
        "input gradient": (x_mine.grad, x_ref.grad[mine]),
        "weight gradient": (sync.weight.grad, reference.weight.grad),
        "bias gradient": (sync.bias.grad, reference.bias.grad),
        "running mean": (sync.running_mean, reference.running_mean),
        "running var": (sync.running_var, reference.running_var),
    }
    wrong = [name for name, (a, b) in checks.items() if not torch.allclose(a, b, rtol=1e-5, atol=1e-5)]
    dist.destroy_process_group()
    if wrong:
        print(f"rank {rank}: {', '.join(wrong)} differ from BatchNorm on the whole batch", file=sys.stderr)
        return 1
    return 0


def fail_in_training(args: list[str]) -> int:
    step = Trainer.train_step

    def dying_step(self, real, labels):
        if self.world.rank == 1 and self.step == 4:
            print("rank 1: simulated crash", file=sys.stderr, flush=True)
            os._exit(3)
        step(self, real, labels)

    Trainer.train_step = dying_step
    return main(["train", *args])


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    if mode == "syncbn":
        raise SystemExit(syncbn())
    if mode == "fail-at-start":
        missing = ["--set", "data.name=mnist", "--set", "data.root=/nonexistent/mnist"]
        raise SystemExit(main(["train", *rest, *(missing if os.environ["RANK"] == "1" else [])]))
    if mode == "fail-in-training":
        raise SystemExit(fail_in_training(rest))
    raise SystemExit(f"unknown mode {mode}")
