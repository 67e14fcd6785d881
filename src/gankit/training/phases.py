"""Phases: what one training step does, as data. A phase steps one network on one loss, on its own interval,
with the regularisers of that network on theirs. The loop runs the phases that are due; a new objective or a
G-side lazy penalty is a different list of phases, not an edit of the loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gankit.runs.checkpoint import module_state
from gankit.training.objective import StepBatch
from gankit.training.optim import build_optimizer
from gankit.training.state import optimizer_state, restore_optimizer, restore_scheduler, scheduler_state
from gankit.training.stats import Stats

if TYPE_CHECKING:
    from gankit.training.config import OptimConfig


@dataclass
class Network:
    """A network with its optimiser, scheduler and gradient clipping; `name` (G, D) prefixes its saved state."""

    name: str
    module: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    grad_clip: float | None = None
    constraint: Callable[[nn.Module], None] | None = None  # applied to the weights after each step (clipping)
    saves_weights: bool = True  # False: `module` is part of another network, which saves its weights

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.grad_clip, foreach=True)
        self.optimizer.step()
        self.scheduler.step()
        if self.constraint is not None:
            self.constraint(self.module)

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def scale_lr(self, factor: float) -> None:
        """Multiply the learning rate, now and for the rest of the schedule."""
        self.scheduler.base_lrs = [lr * factor for lr in self.scheduler.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_last_lr()):
            group["lr"] = lr * factor

    def refresh_lr(self) -> None:
        """Set the rate the schedule gives at its current step (after a restore under another schedule)."""
        sched = self.scheduler
        for group, lr, factor in zip(self.optimizer.param_groups, sched.base_lrs, sched.lr_lambdas):
            group["lr"] = lr * factor(sched.last_epoch)

    @property
    def _key(self) -> str:
        return self.name.lower()

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {f"{self.name}.{k}": v for k, v in self.module.state_dict().items()} if self.saves_weights else {}
        opt_tensors, groups = optimizer_state(self.optimizer, f"opt_{self._key}")
        meta = {"optimizers": {f"opt_{self._key}": groups}, "schedulers": {self._key: scheduler_state(self.scheduler)}}
        return {**tensors, **opt_tensors}, meta

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        if self.saves_weights:
            self.module.load_state_dict(module_state(tensors, self.name))
        restore_optimizer(self.optimizer, f"opt_{self._key}", tensors, meta["optimizers"][f"opt_{self._key}"])
        restore_scheduler(self.scheduler, meta["schedulers"][self._key])


@dataclass
class Regularizer:
    """A penalty added to its phase's loss every `every` runs of that phase, weighted by weight * every
    (lazy regularisation, Karras et al. 2020): as strong on average, computed 1/every as often."""

    name: str  # its readout key
    penalty: Callable[[Any, StepBatch], torch.Tensor]  # (objective, batch) -> unweighted value
    weight: float
    every: int = 1

    def due(self, phase_step: int) -> bool:
        return phase_step % self.every == 0


@dataclass
class Phase:
    """One optimiser step of one network per `every` training steps: its loss on the step's batch, plus the
    regularisers that are due. `frozen` is the network that only passes gradients through (D in G's phase).
    A recipe in stages (TimeGAN's) gives a phase the steps [start, stop) it runs in."""

    name: str  # D, G
    network: Network
    loss: Callable[[StepBatch], tuple[torch.Tensor, dict[str, torch.Tensor]]]
    every: int = 1  # due at steps where (step + 1) % every == 0: a G phase with every=5 follows 5 D steps
    regularizers: tuple[Regularizer, ...] = ()
    frozen: nn.Module | None = None
    after: tuple[Callable[[], None], ...] = ()  # run after the optimiser step (the EMA of G)
    through_fakes: bool = False  # its loss backpropagates into G through the step's fakes
    uses_fakes: bool = True  # False: it draws what it needs itself, and the step's fakes are not made for it
    start: int = 0
    stop: int | None = None
    step_if: Callable[[torch.Tensor], bool] | None = None  # given the loss: whether to step (else skipped)

    def due(self, step: int) -> bool:
        inside = self.start <= step and (self.stop is None or step < self.stop)
        return inside and (step - self.start + 1) % self.every == 0

    @property
    def loss_key(self) -> str:
        return f"loss_{self.name.lower()}"

    def run(self, batch: StepBatch, step: int, objective: Any, stats: Stats, autocast: Callable) -> None:
        runs_before = (step - self.start) // self.every  # this phase's own step count
        with frozen(self.frozen):
            with autocast():
                loss, values = self.loss(batch)
                for reg in self.regularizers:
                    if reg.due(runs_before):
                        value = reg.penalty(objective, batch)
                        loss = loss + reg.weight * reg.every * value
                        values[reg.name] = value
            if self.step_if is None or self.step_if(loss):
                self.network.step(loss)
        for hook in self.after:
            hook()
        stats.add(self.loss_key, loss)
        for key, value in values.items():
            stats.add(key, value)


@contextlib.contextmanager
def frozen(module: nn.Module | None) -> Iterator[None]:
    """Gradients flow through `module` to its inputs only: its weight gradients are neither computed nor, under
    DDP, all-reduced (it is reduced in its own phase)."""
    if module is None:
        yield
        return
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    no_sync = getattr(module, "no_sync", contextlib.nullcontext)
    try:
        with no_sync():
            yield
    finally:
        for p in params:
            p.requires_grad_(True)


def build_networks(
    section: OptimConfig,
    G: nn.Module,
    D: nn.Module,
    total_steps: int,
    d_constraint: Callable[[nn.Module], None] | None = None,
) -> dict[str, Network]:
    """G and D with their optimisers and schedules: D steps every batch, G every `d_steps` batches, so each
    schedule spans its own number of steps over the run."""

    def network(name: str, module: nn.Module, lr: float, steps: int, constraint=None) -> Network:
        s = section
        opt, sched = build_optimizer(s.name, module.parameters(), lr, s.betas, s.lr_schedule, steps, s.lr_decay_from)
        return Network(name, module, opt, sched, s.grad_clip, constraint)

    return {
        "g": network("G", G, section.lr_g, total_steps // section.d_steps),
        "d": network("D", D, section.lr_d, total_steps, d_constraint),
    }
