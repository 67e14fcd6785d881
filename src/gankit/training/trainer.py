"""THE training loop, shared by every model, loss and data set.

Per batch: draw fakes once; run the phases that are due (by default a D step every batch and a G step every
`optim.d_steps` batches, on the same fakes through the updated D). Losses stay on the device and are read
every `log.every` steps. Per epoch: a sample grid from fixed noise, an evaluation, the curves (paced), a checkpoint.
What a step does is the list of phases; what is saved, the checkpointer's parts; neither is written here.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from gankit.data.sampler import BatchSampler
from gankit.errors import DivergenceError
from gankit.runs.run_dir import BEST, FINAL, RunDir
from gankit.runs.run_log import RunLog
from gankit.runs.tensorboard import TensorBoard, open_tensorboard
from gankit.training.checkpointer import Checkpointer
from gankit.training.device import autocast
from gankit.training.distributed import World
from gankit.training.ema import EMA
from gankit.training.interrupts import stop_on_signals
from gankit.training.objective import GANObjective, StepBatch
from gankit.training.phases import Network, Phase
from gankit.training.stats import Stats
from gankit.viz.curves import plot_losses, plot_metrics
from gankit.viz.snapshots import SampleGrids

# Redrawing the loss curves takes 0.2-0.4 s of matplotlib on a CPU, 5-7% of an epoch of the default run: they
# are redrawn once training has run this many times as long as the last drawing took, so they cost about 2%.
CURVES_PACE = 50


@dataclass(frozen=True)
class Schedule:
    """When the loop does what."""

    epochs: int
    log_every: int  # steps between readouts
    sample_every: int  # epochs between sample grids
    checkpoint_every: int  # epochs between checkpoints
    checkpoint_steps: int | None  # also every this many steps
    eval_every: int | None  # epochs between evaluations (with a judge)


@dataclass
class Trainer:
    phases: list[Phase]  # run in order at each step where they are due
    objective: GANObjective
    networks: dict[str, Network]  # g, d: their learning rates are read out and scaled on rollback
    sampler: BatchSampler
    schedule: Schedule
    run: RunDir
    log: RunLog
    checkpointer: Checkpointer
    grids: SampleGrids
    stats: Stats
    device: torch.device
    precision: str
    world: World
    ema: EMA | None  # generator weight average; used for samples and evaluation
    judge: Callable[[nn.Module], dict[str, float]] | None  # evaluation metrics of a generator
    on_divergence: str  # stop, or rollback: reload the newest checkpoint with lower learning rates
    rollback_lr_scale: float
    quiet: bool
    tensorboard: bool = False  # also write records and grids as TensorBoard events
    max_rollbacks: int = 3
    step: int = 0
    rollbacks: int = 0
    stop_requested: bool = False
    ended_epoch: int = 0  # the newest epoch whose end (grid, evaluation, plots) has run
    board: TensorBoard | None = None  # the open TensorBoard writer while fitting
    curves_due_at: float = -math.inf  # perf_counter time from which the loss curves are redrawn

    @property
    def run_dir(self) -> Path:
        return self.run.path

    @property
    def total_steps(self) -> int:
        return self.schedule.epochs * len(self.sampler)

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator that grids and evaluations use: the EMA copy when there is one."""
        return self.networks["g"].module if self.ema is None else self.ema.module

    def fit(self) -> bool:
        """Train to the last epoch (True), or until SIGINT/SIGTERM, after which it checkpoints and returns False.

        On divergence it stops with a DivergenceError, or with on_divergence="rollback" reloads the newest
        checkpoint, scales both learning rates by rollback_lr_scale and goes on (at most max_rollbacks times).
        """
        self.board = open_tensorboard(self.run.tensorboard, self.tensorboard, self.world.main, self.step)
        try:
            while True:
                try:
                    return self._fit()
                except DivergenceError as err:
                    if self.on_divergence != "rollback" or self.checkpointer.saved_step is None:
                        raise
                    if self.rollbacks >= self.max_rollbacks:
                        raise
                    self.rollback(err)
        finally:
            if self.board is not None:
                self.board.close()

    def rollback(self, err: DivergenceError) -> None:
        self.rollbacks += 1
        self.world.barrier()  # rank 0's newest checkpoint is on disk before any rank reads it
        self.restore(self.run.latest_checkpoint(final=False))
        for network in self.networks.values():
            network.scale_lr(self.rollback_lr_scale)
        if self.world.main:
            print(
                f"gankit: {err.message}; rolled back to step {self.step} with learning rates x{self.rollback_lr_scale}",
                file=sys.stderr,
            )

    def restore(self, record: Path) -> None:
        """Load a checkpoint, so that `fit` continues exactly where that run was."""
        meta = self.checkpointer.restore(record)
        self.step = meta["step"]
        # Checkpoints before this key was kept were taken at an epoch's end after it ran, or mid-epoch.
        self.ended_epoch = meta.get("ended_epoch", self.step // len(self.sampler))

    def _request_stop(self) -> bool:
        already, self.stop_requested = self.stop_requested, True
        return already

    def _fit(self) -> bool:
        per_epoch, total, schedule = len(self.sampler), self.total_steps, self.schedule
        started, seen = time.perf_counter(), 0
        quiet = self.quiet or not self.world.main
        bar = tqdm(total=total, initial=self.step, disable=quiet, unit="step", dynamic_ncols=True, leave=False)
        with bar, stop_on_signals(self._request_stop):
            if self.ended_epoch < self.step // per_epoch:  # stopped or killed at an epoch's last step, before its end
                self.end_epoch(self.step // per_epoch)
            for epoch in range(self.step // per_epoch + 1, schedule.epochs + 1):
                for real, labels in self.sampler.epoch(epoch, start=self.step % per_epoch):
                    self.train_step(real, labels)
                    self.step += 1
                    seen += len(real)
                    bar.update()
                    if self.step % schedule.log_every == 0 or self.step == total:
                        record = self.readout(epoch, seen / (time.perf_counter() - started))
                        shown = {k: f"{record[k]:.3f}" for k in ("loss_d", "loss_g") if k in record}
                        bar.set_postfix(shown, refresh=False)
                    if self.world.any(self.stop_requested):  # every rank stops at the same step
                        if self.world.main:
                            self.draw_curves()  # up to the stop: the paced ones may be an epoch or two behind
                        self.save(epoch)
                        return False
                    if schedule.checkpoint_steps and self.step % schedule.checkpoint_steps == 0:
                        self.save(epoch)
                self.end_epoch(epoch)
        self.save(schedule.epochs, name=FINAL)
        return True

    def autocast(self):
        return autocast(self.device, self.precision)

    def train_step(self, real: torch.Tensor, labels: torch.Tensor | None) -> None:
        """One step: the fakes for this batch if a due phase uses them (with G's graph only if one backpropagates
        into G), then each due phase in order."""
        due = [phase for phase in self.phases if phase.due(self.step)]
        self.objective.set_progress(self.step / self.total_steps)
        fake = c_fake = None
        if any(phase.uses_fakes for phase in due):
            with self.autocast(), torch.set_grad_enabled(any(phase.through_fakes for phase in due)):
                fake, c_fake = self.objective.generate(len(real), self.device)
        batch = StepBatch(real, labels, fake, c_fake)
        for phase in due:
            phase.run(batch, self.step, self.objective, self.stats, self.autocast)

    def readout(self, epoch: int, images_per_s: float) -> dict:
        """Average the stats since the last readout over steps and ranks (one host sync), check them, log them."""
        values = self.stats.flush(self.world.mean_)
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise DivergenceError(
                f"training diverged at step {self.step}: {bad[0]} is {values[bad[0]]}",
                f"lower optim.lr_d / optim.lr_g or set optim.grad_clip; last good checkpoint in {self.run.checkpoints}",
            )
        record = {"step": self.step, "epoch": epoch, **values}
        record.update({f"lr_{name}": network.lr for name, network in self.networks.items()})
        record["images_per_s"] = round(images_per_s * self.world.size, 1)
        self.append_record(record, epoch)
        return record

    def append_record(self, record: dict, epoch: int) -> None:
        """Add a record to metrics.jsonl; if it improves on the best metric, write checkpoints/best."""
        if self.log.append(record):
            self.save(epoch, name=BEST)
        if self.board is not None:
            self.board.record(record)

    def end_epoch(self, epoch: int) -> None:
        schedule = self.schedule
        self.ended_epoch = epoch  # before the checkpoint below, which holds it
        if self.world.main:  # samples, evaluation and plots: rank 0 only (the others wait at the next collective)
            drawing = epoch % schedule.sample_every == 0 or epoch == schedule.epochs
            if drawing:
                self.grids.save(self.sampling_generator, self.run.grid(epoch))
                if self.board is not None:
                    self.board.grid(self.run.grid(epoch), self.step)
            if self.judge is not None and epoch % schedule.eval_every == 0:
                self.append_record({"step": self.step, "epoch": epoch, **self.judge(self.sampling_generator)}, epoch)
                plot_metrics(self.log.records, self.run.metrics_plot)
            # With the grids (tiny data sets have epochs of one step), paced, and always at the last epoch.
            if drawing and (epoch == schedule.epochs or time.perf_counter() >= self.curves_due_at):
                self.draw_curves()
        if (
            epoch % schedule.checkpoint_every == 0
            and epoch < schedule.epochs
            and self.checkpointer.saved_step != self.step
        ):
            self.save(epoch)

    def draw_curves(self) -> None:
        if self.log.records:
            started = time.perf_counter()
            plot_losses(self.log.records, self.run.losses_plot)
            ended = time.perf_counter()
            self.curves_due_at = ended + CURVES_PACE * (ended - started)

    def save(self, epoch: int, name: str | None = None) -> None:
        self.checkpointer.save(self.step, epoch, name, {"ended_epoch": self.ended_epoch})
