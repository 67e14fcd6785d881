"""Checkpoints: tensors in .safetensors, everything else in .json, both written atomically; never pickles.

A checkpoint NAME is the pair checkpoints/NAME.safetensors + checkpoints/NAME.json. The JSON records the
model family and its constructor kwargs, so the networks are rebuilt through the registry, and the
SHA-256 of the tensor file, checked on load.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from gankit.errors import RunError
from gankit.runs.files import atomic_write, atomic_write_text

FORMAT = "gankit-checkpoint/1"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """Put the optimiser's per-parameter tensors into `tensors`; return its param groups for the JSON."""
    state = opt.state_dict()
    for index, values in state["state"].items():
        for key, value in values.items():
            tensors[f"{prefix}.{index}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    return {"param_groups": state["param_groups"]}


def save_checkpoint(
    folder: Path,
    name: str,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    meta: dict[str, Any],
    extra: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write NAME.safetensors (modules, optimiser tensors, `extra`), then NAME.json (meta, hash) last."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in (extra or {}).items()}
    for prefix, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{prefix}.{key}"] = value.detach().cpu().contiguous()
    groups = {prefix: _flatten_optimizer(prefix, opt, tensors) for prefix, opt in optimizers.items()}
    weights = atomic_write(folder / f"{name}.safetensors", lambda tmp: save_file(tensors, str(tmp)))
    record = {"format": FORMAT, **meta, "optimizers": groups, "sha256": _sha256(weights)}
    atomic_write_text(folder / f"{name}.json", json.dumps(record, indent=1, default=list))
    return weights


def read_meta(json_path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(json_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise RunError(f"cannot read checkpoint record {json_path}: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RunError(f"{json_path} is not a gankit checkpoint record (format {FORMAT})")
    return meta


def load_checkpoint(json_path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(meta, tensors) of a checkpoint, after checking its tensor file against the recorded hash."""
    meta = read_meta(json_path)
    weights = json_path.with_suffix(".safetensors")
    if not weights.is_file():
        raise RunError(f"checkpoint {weights} is missing")
    if _sha256(weights) != meta.get("sha256"):
        raise RunError(f"checkpoint {weights} does not match its recorded hash: the file is damaged or was replaced")
    try:
        return meta, load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise RunError(f"cannot read checkpoint {weights}: {err}") from None


def module_state(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def latest_checkpoint(run_dir: Path, final: bool = True) -> Path:
    """The JSON record of `final` (unless final=False), else of the newest step checkpoint."""
    folder = Path(run_dir) / "checkpoints"
    if final and (folder / "final.json").is_file():
        return folder / "final.json"
    steps = sorted(folder.glob("step_*.json"))
    if not steps:
        raise RunError(f"no checkpoint in {folder}", "is this a gankit run folder, and did its first epoch finish?")
    return steps[-1]


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` step checkpoints (record first, so no record points at nothing)."""
    for record in sorted(folder.glob("step_*.json"))[:-keep]:
        record.unlink(missing_ok=True)
        record.with_suffix(".safetensors").unlink(missing_ok=True)
