"""Runs repeat bit for bit: MKL's strict reproducibility is on once gankit is imported, matrix products do not
depend on where their buffers start, and one config trained in fresh processes ends the same every time."""

from __future__ import annotations

import subprocess
import sys

import pytest
from benchmarks.repeat import runs

# Asks torch's MKL which reproducibility mode it runs in (mkl_cbwr_get(MKL_CBWR_ALL)): 1 is MKL's default,
# 2 AUTO, 3 COMPATIBLE, and STRICT adds 0x10000. Prints "none" where torch has no MKL (ARM, macOS).
ASK_MKL = """
import ctypes, os, torch
try:
    lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
    print(lib.mkl_serv_cbwr_get(-1))
except (OSError, AttributeError):
    print("none")
"""


def _mkl_mode(code: str, **env: str) -> str:
    import os

    environment = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"} | env
    return subprocess.run(
        [sys.executable, "-c", code + ASK_MKL], capture_output=True, text=True, check=True, env=environment
    ).stdout.split()[-1]


def test_importing_gankit_turns_on_mkls_strict_mode_unless_the_user_chose_one():
    without = _mkl_mode("")
    if without == "none":
        pytest.skip("this torch is built without MKL")
    assert without == "1"  # MKL's own default: no conditional numerical reproducibility
    assert _mkl_mode("import gankit") == str(0x10000 | 2)  # AUTO,STRICT
    assert _mkl_mode("import torch; import gankit") == str(0x10000 | 2)  # torch first: MKL is not yet in use
    assert _mkl_mode("import gankit", MKL_CBWR="COMPATIBLE") == "3"  # the user's own setting wins


# Every buffer of a forward and backward GEMM at 16 starting offsets (0-60 bytes past a 64-byte boundary):
# with MKL's default mode, kernels may split sums by alignment; here every offset must give the same bits.
ALIGNMENTS = """
import torch
import gankit

def at(t, offset):
    store = torch.empty(t.numel() + 16)
    view = store[offset : offset + t.numel()].view_as(t)
    view.copy_(t)
    return view

torch.manual_seed(0)
for m, k, n in [(64, 100, 256), (64, 256, 512), (64, 512, 784), (128, 784, 512), (37, 129, 255)]:
    x, w, b, g = torch.randn(m, k), torch.randn(n, k) / k**0.5, torch.randn(n), torch.randn(m, n)
    results = []
    for offset in range(16):
        xs, ws = at(x, offset).requires_grad_(), at(w, (offset * 7) % 16).requires_grad_()
        y = torch.nn.functional.linear(xs, ws, b)
        y.backward(at(g, (offset * 3) % 16))
        results.append((y.detach(), xs.grad, ws.grad))
    for y, gx, gw in results[1:]:
        assert torch.equal(y, results[0][0]) and torch.equal(gx, results[0][1]) and torch.equal(gw, results[0][2]), (m, k, n)
print("same")
"""


def test_matrix_products_do_not_depend_on_buffer_alignment():
    done = subprocess.run([sys.executable, "-c", ALIGNMENTS], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.split()[-1] == "same", done.stderr[-2000:]


@pytest.mark.slow
def test_one_config_in_fresh_processes_ends_the_same_every_time(capsys):
    """Fourteen fresh processes (each with its own address layout, so its own buffer alignments) of the MLP
    preset, whose GEMMs MKL runs: one distinct final state. A fault that struck one run in five would pass all
    fourteen by chance with probability 0.8^13 = 5.5%. Short, since a process's start is what varies; the
    alignment test above asks the same question 16 times a shape."""
    overrides = ["data.max_items=512", "train.epochs=2"]
    assert runs("mnist-vanilla", 14, overrides, None) == 1, capsys.readouterr().out
