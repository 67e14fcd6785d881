"""The checkpoint format: tensors in .safetensors, everything else in .json, both written atomically; never pickles.

A checkpoint NAME is the pair NAME.safetensors + NAME.json. The JSON holds the model spec (the registered
family and its constructor kwargs, so the networks are rebuilt through the registry), the JSON-able part of
the training state, and the SHA-256 of the tensor file, checked on load.
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


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_checkpoint(record: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write RECORD's .safetensors (the tensors, on the CPU), then RECORD (.json: meta and the hash) last."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    weights = atomic_write(record.with_suffix(".safetensors"), lambda tmp: save_file(tensors, str(tmp)))
    atomic_write_text(
        record, json.dumps({"format": FORMAT, **meta, "sha256": sha256_of(weights)}, indent=1, default=list)
    )
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
    if sha256_of(weights) != meta.get("sha256"):
        raise RunError(f"checkpoint {weights} does not match its recorded hash: the file is damaged or was replaced")
    try:
        return meta, load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise RunError(f"cannot read checkpoint {weights}: {err}") from None


def module_state(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
