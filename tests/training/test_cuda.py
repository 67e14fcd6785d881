"""The CUDA path: no host synchronisation inside a training step, the same step as on the CPU, checkpoints that
load anywhere. CI has no GPU, so these run only where CUDA is (they were run on an H100: docs/performance.md)."""

import pytest
import torch

from gankit import load_config
from gankit.sample import generate, load_run
from gankit.train import train
from gankit.training.builder import new_trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (CI has none)")

SMALL = ["data.max_items=256", "train.batch_size=32", "train.epochs=1", "log.every=4"]
SMALL_DCGAN = [*SMALL, "model.g_width=8", "model.d_width=8"]


def _trainer(tmp_path, preset: str, overrides: list[str], device: str = "cuda"):
    return new_trainer(load_config(preset, overrides=[*overrides, f"train.device={device}"]), tmp_path)


def _run_steps(trainer, steps: int) -> None:
    batches = trainer.sampler.endless()
    for _ in range(steps):
        trainer.train_step(*next(batches))
        trainer.step += 1


@pytest.mark.parametrize(
    "preset, overrides",
    [
        ("mnist-dcgan", SMALL_DCGAN),
        ("mnist-dcgan", [*SMALL_DCGAN, "train.precision=bf16"]),
        ("mnist-vanilla", [*SMALL, "optim.grad_clip=1.0", "optim.ema_decay=0.99"]),
        ("mnist-wgan-gp", SMALL_DCGAN),
        ("mnist-wgan", SMALL_DCGAN),  # weight clipping, RMSprop
        ("mnist-dcgan-cond", SMALL_DCGAN),
    ],
)
def test_a_training_step_never_waits_for_the_gpu(tmp_path, preset, overrides):
    trainer = _trainer(tmp_path, preset, overrides)
    batches = trainer.sampler.endless()
    warm = [next(batches) for _ in range(6)]  # the epoch's permutation is copied to the GPU before the check
    for batch in warm[:3]:  # cuDNN's algorithm search and lazy allocations happen here
        trainer.train_step(*batch)
        trainer.step += 1
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for batch in warm[3:]:
            trainer.train_step(*batch)
            trainer.step += 1
    finally:
        torch.cuda.set_sync_debug_mode("default")
    values = trainer.stats.flush()  # the readout: the one place that syncs
    assert values and all(torch.isfinite(torch.tensor(v)) for v in values.values())


def test_the_data_set_lives_on_the_gpu_and_cudnn_picks_its_kernels(tmp_path):
    trainer = _trainer(tmp_path, "mnist-dcgan", SMALL_DCGAN)
    assert trainer.precision == "fp32"  # auto on CUDA
    assert trainer.sampler.x.device.type == "cuda"  # the data set lives on the GPU
    assert torch.backends.cudnn.benchmark


def test_cuda_and_cpu_take_the_same_fp32_step(tmp_path, monkeypatch):
    # cuDNN convolves float32 in TF32 by default on Ampere and later (10 mantissa bits): off, to compare fp32 with fp32.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    overrides = [*SMALL_DCGAN, "train.precision=fp32", "train.channels_last=false"]
    start = _trainer(tmp_path / "0", "mnist-dcgan", overrides, "cpu")
    weights = {}
    for device in ("cpu", "cuda"):
        trainer = _trainer(tmp_path / device, "mnist-dcgan", overrides, device)
        # A CUDA generator draws other numbers than a CPU one from the same seed: both take the CPU's latents.
        cpu_latents = torch.Generator().manual_seed(5)
        z_dim = trainer.objective.z_dim
        trainer.objective.latents = lambda n, dev, g=cpu_latents, k=z_dim: (
            torch.randn(n, k, generator=g).to(dev),
            None,
        )
        _run_steps(trainer, 3)
        weights[device] = {k: v.detach().cpu() for k, v in trainer.networks["d"].module.state_dict().items()}
    initial = start.d.module.state_dict()
    keys = [k for k in initial if initial[k].is_floating_point() and "running" not in k]
    moved = {d: torch.cat([(w[k] - initial[k]).flatten() for k in keys]) for d, w in weights.items()}
    # Adam moves each weight by about lr per step whatever the gradient's size: the steps must point the same way.
    assert torch.nn.functional.cosine_similarity(moved["cpu"], moved["cuda"], dim=0) > 0.99
    assert all(
        torch.allclose(weights["cpu"][k], weights["cuda"][k], atol=1e-4) for k in weights["cpu"] if "running" in k
    )


def test_deterministic_cuda_runs_repeat_bit_for_bit(tmp_path):
    overrides = [*SMALL_DCGAN, "train.deterministic=true"]
    runs = []
    for name in ("a", "b"):
        trainer = _trainer(tmp_path / name, "mnist-dcgan", overrides)
        _run_steps(trainer, 4)
        runs.append({k: v.detach().cpu() for k, v in trainer.networks["d"].module.state_dict().items()})
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_a_run_trained_on_the_gpu_samples_on_the_cpu(tmp_path):
    run = train(load_config("mnist-dcgan", overrides=[*SMALL_DCGAN, "train.device=cuda"]), out=tmp_path, quiet=True)
    images = generate(load_run(run), 8)
    assert images.device.type == "cpu" and images.shape == (8, 1, 28, 28) and torch.isfinite(images).all()
