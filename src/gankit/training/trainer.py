"""THE training loop, shared by every model, loss and data set.

Per batch: draw fakes; one D step; every `d_steps` batches one G step on the same fakes (through the
updated D). Losses stay on the device and are read every `log_every` steps. Per epoch: a sample grid
from fixed noise, a checkpoint, the loss curves.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from gankit.data import to_uint8
from gankit.data.sampler import BatchSampler
from gankit.errors import DivergenceError, RunError
from gankit.runs.checkpoint import latest_checkpoint, load_checkpoint, module_state, prune_checkpoints, save_checkpoint
from gankit.runs.files import atomic_write_text
from gankit.training.device import autocast
from gankit.training.distributed import World, rank_seed
from gankit.training.ema import EMA
from gankit.training.objective import GANObjective
from gankit.training.state import capture_rng, restore_optimizer, restore_rng, restore_scheduler, scheduler_state
from gankit.training.stats import Stats
from gankit.viz.curves import plot_losses, plot_metrics
from gankit.viz.grids import save_grid, save_scatter

# What a readout can hold: the losses, D's mean outputs on real and fake, and the penalty / auxiliary terms.
READOUT_KEYS = ("loss_d", "loss_g", "d_real", "d_fake", "gp", "r1", "d_aux", "g_aux")


@dataclass
class Network:
    """A network with its optimiser, scheduler and gradient clipping."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    grad_clip: float | None = None
    constraint: Callable[[nn.Module], None] | None = None  # applied to the weights after each step (clipping)

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip is not None:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.grad_clip, foreach=True)
        self.optimizer.step()
        self.scheduler.step()
        if self.constraint is not None:
            self.constraint(self.module)


@dataclass
class Trainer:
    objective: GANObjective
    g: Network
    d: Network
    sampler: BatchSampler
    run_dir: Path
    device: torch.device
    epochs: int
    d_steps: int = 1
    precision: str = "fp32"
    log_every: int = 50
    sample_every: int = 1
    checkpoint_every: int = 1  # epochs
    checkpoint_steps: int | None = None  # also every this many steps
    keep_checkpoints: int = 2
    ema: EMA | None = None  # generator weight average; used for samples and saved as G_ema
    fixed_noise: torch.Tensor | None = None  # [grid, z_dim]: the same latents for every sample grid
    fixed_labels: torch.Tensor | None = None  # [grid] classes for a conditional G: one row per class
    reference_points: torch.Tensor | None = None  # toy data: real points drawn under the scatter plots
    checkpoint_meta: dict[str, Any] = field(default_factory=dict)  # model spec etc., saved with every checkpoint
    quiet: bool = False
    records: list[dict] = field(default_factory=list)
    step: int = 0
    stats: Stats = field(default_factory=Stats)
    judge: Callable[[nn.Module], dict[str, float]] | None = None  # evaluation metrics of a generator
    eval_every: int | None = None  # epochs between evaluations
    best_metric: str | None = None  # a readout or evaluation key; improving on it writes checkpoints/best
    best_mode: str = "min"
    best_value: float | None = None
    on_divergence: str = "stop"  # or "rollback": reload the newest checkpoint with lower learning rates
    rollback_lr_scale: float = 0.5
    max_rollbacks: int = 3
    rollbacks: int = 0
    stop_requested: bool = False
    saved_step: int | None = None  # step of the newest checkpoint
    world: World = field(default_factory=World)  # under torchrun: this rank; only rank 0 writes files
    seed: int = 0  # the run's seed; under torchrun each rank's own random stream is derived from it

    @property
    def total_steps(self) -> int:
        return self.epochs * len(self.sampler)

    def fit(self) -> bool:
        """Train to the last epoch (True), or until SIGINT/SIGTERM, after which it checkpoints and returns False.

        On divergence it stops with a DivergenceError, or with on_divergence="rollback" reloads the newest
        checkpoint, scales both learning rates by rollback_lr_scale and goes on (at most max_rollbacks times).
        """
        while True:
            try:
                return self._fit()
            except DivergenceError as err:
                if self.on_divergence != "rollback" or self.saved_step is None or self.rollbacks >= self.max_rollbacks:
                    raise
                self.rollback(err)

    def rollback(self, err: DivergenceError) -> None:
        self.rollbacks += 1
        self.world.barrier()  # rank 0's newest checkpoint is on disk before any rank reads it
        record = latest_checkpoint(self.run_dir, final=False)
        self.restore(*load_checkpoint(record))
        for network in (self.g, self.d):
            network.scheduler.base_lrs = [lr * self.rollback_lr_scale for lr in network.scheduler.base_lrs]
            for group, lr in zip(network.optimizer.param_groups, network.scheduler.get_last_lr()):
                group["lr"] = lr * self.rollback_lr_scale
        if not self.world.main:
            return
        print(
            f"gankit: {err.message}; rolled back to step {self.step} with learning rates x{self.rollback_lr_scale}",
            file=sys.stderr,
        )

    def _fit(self) -> bool:
        per_epoch, total = len(self.sampler), self.total_steps
        started, seen = time.perf_counter(), 0
        quiet = self.quiet or not self.world.main
        bar = tqdm(total=total, initial=self.step, disable=quiet, unit="step", dynamic_ncols=True, leave=False)
        with bar, self._stop_on_signals():
            for epoch in range(self.step // per_epoch + 1, self.epochs + 1):
                for real, labels in self.sampler.epoch(epoch, start=self.step % per_epoch):
                    self.train_step(real, labels)
                    self.step += 1
                    seen += len(real)
                    bar.update()
                    if self.step % self.log_every == 0 or self.step == total:
                        record = self.readout(epoch, seen / (time.perf_counter() - started))
                        shown = {k: f"{record[k]:.3f}" for k in ("loss_d", "loss_g") if k in record}
                        bar.set_postfix(shown, refresh=False)
                    if self.world.any(self.stop_requested):  # every rank stops at the same step
                        self.save(epoch)
                        return False
                    if self.checkpoint_steps and self.step % self.checkpoint_steps == 0:
                        self.save(epoch)
                self.end_epoch(epoch)
        self.save(self.epochs, name="final")
        return True

    @contextlib.contextmanager
    def _stop_on_signals(self):
        """SIGINT / SIGTERM finish the current step, then the loop checkpoints and stops; a second one aborts."""

        def request_stop(signum, frame):
            if self.stop_requested:
                raise KeyboardInterrupt
            self.stop_requested = True

        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def train_step(self, real: torch.Tensor, labels: torch.Tensor | None) -> None:
        obj, n, stats = self.objective, len(real), self.stats
        g_turn = self.step % self.d_steps == self.d_steps - 1
        obj.set_progress(self.step / self.total_steps)
        with autocast(self.device, self.precision):
            # Fakes keep their graph only when G steps on them too, so D-only steps cost no G backward.
            with torch.set_grad_enabled(g_turn):
                fake, c_fake = obj.generate(n, self.device)
            loss_d, d_stats = obj.d_loss(real, labels, fake.detach(), c_fake, d_step=self.step)
        self.d.step(loss_d)
        stats.add("loss_d", loss_d)
        for key, value in d_stats.items():
            stats.add(key, value)
        if g_turn:
            with self._d_frozen():
                with autocast(self.device, self.precision):
                    loss_g, g_stats = obj.g_loss(fake, c_fake)
                self.g.step(loss_g)
            if self.ema is not None:
                self.ema.update(self.g.module)
            stats.add("loss_g", loss_g)
            for key, value in g_stats.items():
                stats.add(key, value)

    @contextlib.contextmanager
    def _d_frozen(self):
        """G's step back-propagates through D to its inputs only: D's weight gradients are neither computed nor,
        under DDP, all-reduced (D is reduced in its own step)."""
        params = [p for p in self.d.module.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        no_sync = getattr(self.objective.D, "no_sync", contextlib.nullcontext)
        try:
            with no_sync():
                yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def readout(self, epoch: int, images_per_s: float) -> dict:
        """Average the stats since the last readout over steps and ranks (one host sync), check them, log them."""
        values = self.stats.flush(self.world.mean_)
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise DivergenceError(
                f"training diverged at step {self.step}: {bad[0]} is {values[bad[0]]}",
                f"lower train.lr_d / train.lr_g or set train.grad_clip; last good checkpoint in {self.run_dir / 'checkpoints'}",
            )
        record = {"step": self.step, "epoch": epoch, **values, "lr_g": self.g.scheduler.get_last_lr()[0]}
        record["lr_d"] = self.d.scheduler.get_last_lr()[0]
        record["images_per_s"] = round(images_per_s * self.world.size, 1)
        self.append_record(record, epoch)
        return record

    def append_record(self, record: dict, epoch: int) -> None:
        """Add a record to metrics.jsonl; if it improves on the best metric, write checkpoints/best."""
        self.records.append(record)
        if not self.world.main:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        value = record.get(self.best_metric) if self.best_metric else None
        if value is not None and (self.best_value is None or (value < self.best_value) == (self.best_mode == "min")):
            self.best_value = value
            self.save(epoch, name="best")

    @property
    def sampling_generator(self) -> nn.Module:
        """The generator that grids and evaluations use: the EMA copy when there is one."""
        return self.g.module if self.ema is None else self.ema.module

    @torch.inference_mode()
    def save_samples(self, path: Path) -> None:
        G = self.sampling_generator
        was_training = G.training
        G.eval()
        fake = G(self.fixed_noise, self.fixed_labels)
        G.train(was_training)
        if fake.dim() == 4:
            rows = self.objective.num_classes
            save_grid(to_uint8(fake), path, nrow=len(fake) // rows if rows else None)
        else:
            save_scatter(fake.float(), path, self.reference_points)

    def end_epoch(self, epoch: int) -> None:
        if self.world.main:  # samples, evaluation and plots: rank 0 only (the others wait at the next collective)
            if epoch % self.sample_every == 0 or epoch == self.epochs:
                self.save_samples(self.run_dir / "samples" / f"epoch_{epoch:03d}.png")
            if self.judge is not None and epoch % self.eval_every == 0:
                self.append_record({"step": self.step, "epoch": epoch, **self.judge(self.sampling_generator)}, epoch)
                plot_metrics(self.records, self.run_dir / "metrics.png")
            if self.records:
                plot_losses(self.records, self.run_dir / "losses.png")
        if epoch % self.checkpoint_every == 0 and epoch < self.epochs and self.saved_step != self.step:
            self.save(epoch)

    def _modules(self) -> dict[str, nn.Module]:
        modules = {"G": self.g.module, "D": self.d.module}
        if self.ema is not None:
            modules["G_ema"] = self.ema.module
        return modules

    def save(self, epoch: int, name: str | None = None) -> None:
        """Checkpoint everything an exact resume needs: weights, optimisers, schedulers, RNGs, running stats.

        Every rank calls this at the same steps and only rank 0 writes; `best` involves no collective, since
        evaluation runs on rank 0 alone.
        """
        self._check_savable(name == "best")
        modules = self._modules()
        if not self.world.main:
            if name is None:
                self.saved_step = self.step
            return
        optimizers = {"opt_g": self.g.optimizer, "opt_d": self.d.optimizer}
        rng_tensors, rng_values = capture_rng()
        stats_tensors, stats_counts = self.stats.state()
        meta = {
            **self.checkpoint_meta,
            "epoch": epoch,
            "step": self.step,
            "modules": sorted(modules),
            "schedulers": {"g": scheduler_state(self.g.scheduler), "d": scheduler_state(self.d.scheduler)},
            "ema_updates": None if self.ema is None else self.ema.updates,
            "stats_counts": stats_counts,
            "best_value": self.best_value,
            "rng": rng_values,
        }
        extra = {"fixed_noise": self.fixed_noise, **rng_tensors, **stats_tensors}
        extra["rng.latent"] = self.objective.latent_rng.get_state()
        if self.fixed_labels is not None:
            extra["fixed_labels"] = self.fixed_labels
        folder = self.run_dir / "checkpoints"
        save_checkpoint(folder, name or f"step_{self.step:08d}", modules, optimizers, meta, extra)
        if name is None:
            prune_checkpoints(folder, self.keep_checkpoints)
            self.saved_step = self.step

    def _check_savable(self, local: bool) -> None:
        """Never save a state whose running losses are NaN/Inf on any rank (a rollback must find good weights),
        nor one in which the ranks' copies of the networks differ."""
        bad = self.stats.non_finite()
        if bad is not None if local else self.world.any(bad is not None):
            raise DivergenceError(
                f"training diverged by step {self.step}: {bad or 'a loss on another rank'} is not finite"
            )
        if local:
            return
        # Without SyncBatchNorm each rank's BatchNorm running statistics follow its own batches (DDP does not
        # broadcast them per forward, see train.py): take rank 0's now, so every rank holds, and rank 0 saves, one state.
        self.world.broadcast_([b for m in self._modules().values() for b in m.buffers()])
        if not self.world.agree([t for m in self._modules().values() for t in m.state_dict().values()]):
            raise RunError(
                f"the processes' copies of the networks differ at step {self.step}: the ranks drifted apart",
                "report this with the run's config.yaml; the last checkpoint before it is intact",
            )

    def restore(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        """Load a checkpoint written by `save`, so that `fit` continues exactly where that run was."""
        for prefix, module in self._modules().items():
            module.load_state_dict(module_state(tensors, prefix))
        restore_optimizer(self.g.optimizer, "opt_g", tensors, meta["optimizers"]["opt_g"])
        restore_optimizer(self.d.optimizer, "opt_d", tensors, meta["optimizers"]["opt_d"])
        restore_scheduler(self.g.scheduler, meta["schedulers"]["g"])
        restore_scheduler(self.d.scheduler, meta["schedulers"]["d"])
        if self.ema is not None:
            self.ema.updates = meta["ema_updates"]
        self.stats.load(tensors, meta["stats_counts"], self.device)
        self.fixed_noise = tensors["fixed_noise"].to(self.device)
        self.step = self.saved_step = meta["step"]
        self.best_value = meta.get("best_value")
        restore_rng(tensors, meta["rng"])
        self.objective.latent_rng.set_state(tensors["rng.latent"])
        if self.world.size > 1:  # the checkpoint holds rank 0's stream; every rank draws its own from here on
            torch.manual_seed(rank_seed(self.seed, self.world.rank, self.step))
        self.records = self._records_up_to(self.step) if self.world.main else []

    def _records_up_to(self, step: int) -> list[dict]:
        """metrics.jsonl as of a checkpoint: later records are dropped and the file rewritten atomically."""
        path = self.run_dir / "metrics.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
        kept = [r for r in records if r["step"] <= step]
        atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in kept))
        return kept
