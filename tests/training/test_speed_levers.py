"""The speed levers change how fast a step runs, never what it computes (within float tolerance)."""

import platform
import subprocess
import sys

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from gankit import load_config
from gankit.data import build_dataset
from gankit.data.sampler import BatchSampler
from gankit.models.layers import is_channels_last
from gankit.training import device as device_module
from gankit.training import optim
from gankit.training.builder import new_trainer
from gankit.training.device import resolve_precision

SMALL_DCGAN = [
    "data.max_items=128",
    "train.batch_size=32",
    "model.g_width=8",
    "model.d_width=8",
    "train.precision=fp32",
]


def _weights_after(tmp_path, overrides: list[str], steps: int = 4) -> dict[str, torch.Tensor]:
    trainer = new_trainer(load_config(overrides=[*SMALL_DCGAN, *overrides]), tmp_path)
    batches = trainer.sampler.endless()
    for _ in range(steps):
        trainer.train_step(*next(batches))
        trainer.step += 1
    modules = {"G": trainer.networks["g"].module, "D": trainer.networks["d"].module}
    return {f"{n}.{k}": v.detach().clone() for n, m in modules.items() for k, v in m.state_dict().items()}


def _max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def test_fused_adam_steps_like_the_multi_tensor_adam(tmp_path, monkeypatch):
    fused = _weights_after(tmp_path / "a", [])
    monkeypatch.setattr(optim, "FUSED_ADAM", False)
    plain = _weights_after(tmp_path / "b", [])
    assert _max_difference(fused, plain) < 1e-5


def test_the_optimiser_is_fused_where_torch_has_it():
    opt = optim.OPTIMIZERS.get("adam")(torch.nn.Linear(2, 2).parameters(), lr=1e-3, betas=(0.5, 0.999))
    assert opt.defaults["fused"] == optim.FUSED_ADAM


def test_channels_last_trains_like_the_default_layout(tmp_path):
    nhwc = _weights_after(tmp_path / "a", ["train.channels_last=true"])
    nchw = _weights_after(tmp_path / "b", [])
    assert _max_difference(nhwc, nchw) < 1e-5


def test_compiled_steps_agree_with_eager_steps(tmp_path):
    pytest.importorskip("torch._inductor")
    toy = ["data.name=toy2d", "data.n=256", "model.name=vanilla", "model.g_hidden=[16]", "model.d_hidden=[16]"]
    compiled = _weights_after(tmp_path / "a", [*toy, "train.compile=true"], steps=3)
    eager = _weights_after(tmp_path / "b", toy, steps=3)
    assert _max_difference(compiled, eager) < 1e-5


def test_bf16_autocast_keeps_fp32_weights_and_tracks_the_fp32_step(tmp_path):
    start = _weights_after(tmp_path / "0", [], steps=0)
    bf16 = _weights_after(tmp_path / "a", ["train.precision=bf16"], steps=1)
    fp32 = _weights_after(tmp_path / "b", [], steps=1)
    assert all(v.dtype in (torch.float32, torch.int64) for v in bf16.values())
    # Adam's first step is about lr * sign(gradient): bf16 rounding may flip the sign of near-zero gradients,
    # but the step as a whole must point where the fp32 step points.
    keys = [k for k in start if start[k].is_floating_point() and "running" not in k]
    step_bf16 = torch.cat([(bf16[k] - start[k]).flatten() for k in keys])
    step_fp32 = torch.cat([(fp32[k] - start[k]).flatten() for k in keys])
    assert torch.nn.functional.cosine_similarity(step_bf16, step_fp32, dim=0) > 0.9
    assert not torch.equal(step_bf16, step_fp32)  # with autocast off the two runs would be the same bits


def test_bf16_runs_the_convolutions_in_bf16(tmp_path):
    trainer = new_trainer(load_config(overrides=[*SMALL_DCGAN, "train.precision=bf16"]), tmp_path)
    dtypes = []
    for network in trainer.networks.values():
        for layer in network.module.modules():
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)):
                layer.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    trainer.train_step(*next(trainer.sampler.endless()))
    assert dtypes and set(dtypes) == {torch.bfloat16}


def test_auto_precision_is_bf16_only_where_the_cpu_has_it(monkeypatch):
    cpu = torch.device("cpu")
    for has_bf16, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(device_module, "native_bf16", lambda device, v=has_bf16: v)
        assert resolve_precision("auto", cpu) == expected
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    # On CUDA bf16 autocast measured slower than fp32 (TF32 convs) for every preset: auto stays fp32 there.
    monkeypatch.undo()
    assert resolve_precision("auto", torch.device("cuda")) == "fp32"
    assert resolve_precision("bf16", torch.device("cuda")) == "bf16"


def test_device_resident_batches_equal_the_per_sample_tutorial_path():
    data = build_dataset("toy2d", None, "train", None, None, None, 0, n=64)
    images = torch.randint(0, 256, (64, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    data = type(data)("t", images, torch.arange(64) % 10)
    sampler = BatchSampler(data, 16, seed=7, device=torch.device("cpu"))
    order = sampler.epoch_order(3)
    for i, (x, labels) in enumerate(sampler.epoch(3)):
        idx = order[i * 16 : (i + 1) * 16]
        expected = torch.stack([(images[j].float() / 255.0 - 0.5) / 0.5 for j in idx])  # ToTensor + Normalize(0.5, 0.5)
        assert torch.allclose(x, expected, atol=1e-6)
        assert torch.equal(labels, torch.arange(64)[idx] % 10)


def test_compile_refuses_double_backward_penalties():
    from gankit import ConfigError

    with pytest.raises(ConfigError, match="no double backward"):
        load_config(overrides=["train.compile=true", "loss.penalties.gp.weight=10"])
    # A penalty on G's outputs alone (mode seeking) has one backward, which compiled graphs run.
    assert load_config(overrides=["train.compile=true", "loss.penalties.ms.weight=1"]).train.compile


@pytest.mark.parametrize("fused", [True, False])
def test_restored_adam_moments_take_the_layout_of_channels_last_weights(fused):
    from gankit.training.state import optimizer_state, restore_optimizer

    torch.manual_seed(0)
    weight = torch.randn(8, 4, 3, 3).contiguous(memory_format=torch.channels_last)
    grads = [torch.randn(8, 4, 3, 3).contiguous(memory_format=torch.channels_last) for _ in range(2)]

    def adam(p):
        return torch.optim.Adam([p], lr=0.1, fused=fused or None, foreach=None if fused else False)

    live = weight.clone().requires_grad_(True)
    opt = adam(live)
    live.grad = grads[0]
    opt.step()
    tensors, groups = optimizer_state(opt, "opt")
    tensors = {k: v.clone().contiguous() for k, v in tensors.items()}  # fresh contiguous copies, as from a file
    resumed = live.detach().clone().requires_grad_(True)
    opt2 = adam(resumed)
    restore_optimizer(opt2, "opt", tensors, groups)
    assert opt2.state[resumed]["exp_avg"].stride() == resumed.stride()
    for p, o in ((live, opt), (resumed, opt2)):
        p.grad = grads[1]
        o.step()
    assert torch.equal(live, resumed)


class _LayoutMixes(TorchDispatchMode):
    """Records the ops that get 4-D maps in both NCHW and NHWC layout (PyTorch's slow strided CPU path)."""

    def __init__(self):
        super().__init__()
        self.mixed: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        maps = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor) and t.dim() == 4]
        if len({is_channels_last(t) for t in maps if t.shape[1] > 1 and t.shape[2] * t.shape[3] > 1}) > 1:
            self.mixed.add(f"{func}{[tuple(t.shape) for t in maps]}")
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("model", [[], ["model.condition=concat"], ["model.condition=projection"]])
def test_a_channels_last_step_keeps_every_map_in_one_layout(tmp_path, model):
    # The vector-map boundaries (G's projection to 7x7 maps, D's flattening for its head) used to hand back
    # NCHW gradients into an NHWC network: each elementwise backward there ran about 20x slower.
    config = load_config(overrides=[*SMALL_DCGAN, "train.channels_last=true", "train.precision=bf16", *model])
    trainer = new_trainer(config, tmp_path)
    batches = trainer.sampler.endless()
    trainer.train_step(*next(batches))
    with _LayoutMixes() as watch:
        trainer.train_step(*next(batches))
    assert not [op for op in watch.mixed if "convolution" not in op]  # convolutions reorder their inputs themselves


def test_freed_host_memory_is_reused_without_page_faults():
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("a glibc malloc setting")
    # Against glibc's fixed default threshold (128 KiB; its adaptive raise makes the default run by run different).
    script = """
import ctypes, resource, sys, torch
from gankit.training.device import _M_MMAP_THRESHOLD, keep_freed_host_memory
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):  # a step's pattern: blocks of several sizes, some freed early
        blocks = [torch.ones(mib << 18) for mib in (1, 3, 2, 5, 4)]
        del blocks[1], blocks[3]
        blocks += [torch.ones(mib << 18) for mib in (6, 1, 2)]
        del blocks
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
if sys.argv[1] == "on":
    assert keep_freed_host_memory()
else:
    assert ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 128 << 10)
faults()
print(faults())
"""
    counts = {}
    for mode in ("off", "on"):
        done = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, check=True)
        counts[mode] = int(done.stdout)
    assert counts["off"] > 30_000 and counts["on"] < 100, counts  # 10 x 24 MiB is 61,440 pages
