"""`export_onnx()`: a run's generator (its EMA, when it kept one) as an ONNX graph that runs without Python.

The graph takes `z` float32 [N, z_dim] (and `c` int64 [N], the classes, for a conditional run), N free, and
returns `images` float32 [N, *shape] in [-1, 1] (signals: [N, C, L] in [-1, 1], the run's units in the JSON).
It is made by torch.export's exporter (the one PyTorch maintains) at opset OPSET, with truncation psi baked in
when asked, and checked before it is kept: onnxruntime and PyTorch run the same latents and their largest
difference goes into the JSON beside it (FILE.onnx.json); above TOLERANCE the export is refused.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.errors import ConfigError, RunError
from gankit.runs.files import atomic_write, atomic_write_text
from gankit.sample import check_truncation, load_run
from gankit.version import __version__

OPSET = 18
TOLERANCE = 1e-3  # images in [-1, 1]: a thousandth is far below a grey level (1 / 127.5)
CHECK_BATCH = 7  # latents of the check: another batch size than the export's, so a baked-in batch shows


class _Exported(nn.Module):
    """G with psi fixed and the class input only where G has classes: the graph's signature."""

    def __init__(self, G: nn.Module, options: dict[str, float]):
        super().__init__()
        self.G, self.options = G, options

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(z, c, **self.options).float()


def _libraries() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
        import onnxscript  # noqa: F401  torch.export's ONNX exporter writes through it
    except ImportError as err:
        raise ConfigError(
            f"ONNX export needs onnx, onnxruntime and onnxscript ({err.name} is missing)",
            "pip install 'gankit[onnx]'",
        ) from None
    return onnx, onnxruntime


def _latents(G: nn.Module, n: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    inputs = {"z": torch.randn(n, G.z_dim, generator=g)}
    if G.num_classes:
        inputs["c"] = torch.randint(G.num_classes, (n,), generator=g)
    return inputs


def export_onnx(
    run_dir: str | Path,
    out: str | Path,
    checkpoint: str | None = None,
    truncation: float | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the generator of `run_dir` to `out` (.onnx) and its check to `out`.json; returns that record."""
    onnx, onnxruntime = _libraries()
    out = Path(out).expanduser()
    if out.suffix != ".onnx":
        raise ConfigError(f"--onnx must name a .onnx file, got {out}")
    if out.exists() and not overwrite:
        raise RunError(f"{out} already exists", "choose another name or pass --overwrite")
    loaded = load_run(run_dir, checkpoint)
    G = loaded.generator.eval()
    model = _Exported(G, check_truncation(G, truncation)).eval()
    example = _latents(G, 3, seed=1)
    batch = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _quiet_exporter():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model,
            tuple(example.values()),
            input_names=list(example),
            output_names=["images"],
            dynamic_shapes=tuple({0: batch} for _ in example),
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    check = _latents(G, CHECK_BATCH, seed=2)
    with torch.no_grad():
        want = model(*check.values())
    found: dict[str, float] = {}

    def save_checked(tmp: Path) -> None:  # the graph is renamed into place only once it has passed
        program.save(str(tmp))
        onnx.checker.check_model(str(tmp))
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        got = torch.from_numpy(session.run(["images"], {k: v.numpy() for k, v in check.items()})[0])
        found["difference"] = difference = float((got - want).abs().max()) if got.shape == want.shape else math.inf
        if not difference <= TOLERANCE:
            raise RunError(
                f"the ONNX graph's images differ from PyTorch's by {difference:.2g} (shape {tuple(got.shape)})",
                "report this with the run's config.yaml",
            )

    atomic_write(out, save_checked)
    difference = found["difference"]
    record = {
        "run": str(Path(loaded.run_dir).resolve()),
        "checkpoint": loaded.record.stem,
        "sha256": loaded.meta.get("sha256"),
        "opset": OPSET,
        "inputs": {
            k: {"dtype": str(v.dtype).removeprefix("torch."), "shape": ["N", *v.shape[1:]]} for k, v in check.items()
        },
        "output": {"name": "images", "shape": ["N", *loaded.shape], "range": [-1, 1]},
        "truncation": truncation,
        "check": {
            "latents": CHECK_BATCH,
            "max_abs_difference": difference,
            "runtime": f"onnxruntime {onnxruntime.__version__}",
        },
        "gankit": __version__,
        **({"units": loaded.meta["data"]["units"]} if "units" in loaded.meta.get("data", {}) else {}),
    }
    atomic_write_text(out.with_name(out.name + ".json"), json.dumps(record, indent=1))
    return record


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter logs a line per optional operator library it does not find (torchvision's): not ours to show."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
