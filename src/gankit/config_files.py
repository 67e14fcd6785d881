"""Where a run's values come from, in layers: typed defaults <- a packaged preset or a YAML file <- `--set`
overrides. A preset or a config file may start from another preset (`base: NAME`) and say only what differs.
"""

from __future__ import annotations

import typing
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gankit.config import DEFAULT_PRESET, SECTIONS, RunConfig, config_from_dict
from gankit.errors import ConfigError
from gankit.legacy_config import is_legacy, migrate
from gankit.registry import unknown_name


def list_presets() -> list[tuple[str, str]]:
    """(name, description) of each packaged preset."""
    out = []
    for path in sorted(resources.files("gankit.presets").iterdir(), key=lambda p: p.name):
        if path.name.endswith(".yaml"):
            out.append((path.name[: -len(".yaml")], yaml.safe_load(path.read_text()).get("description", "")))
    return out


def _read_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} is not valid YAML: {str(err).splitlines()[0]}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source} must hold a mapping of sections ({', '.join(SECTIONS)})")
    return migrate(values) if is_legacy(values) else values


def _resolve(values: dict[str, Any], source: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """`values` merged onto its `base` preset, itself resolved first; a description is not inherited."""
    base = values.pop("base", None)
    if base is None:
        return _merge({}, values, source)
    if not isinstance(base, str):
        raise ConfigError(f"{source}: base must name a preset, got {base!r}", "see `gankit presets`")
    if base in seen:
        raise ConfigError(f"{source}: presets name each other as base ({' -> '.join((*seen, base))})")
    inherited = _resolve(_preset_file(base), f"preset {base}", (*seen, base))
    inherited.pop("description", None)
    return _merge(inherited, values, source)


def _preset_file(name: str) -> dict[str, Any]:
    names = [n for n, _ in list_presets()]
    if name not in names:
        raise unknown_name("preset", name, names)
    return _read_yaml((resources.files("gankit.presets") / f"{name}.yaml").read_text(), f"preset {name}")


def preset_values(name: str) -> dict[str, Any]:
    """A packaged preset's sections, its base's included."""
    return _resolve(_preset_file(name), f"preset {name}", (name,))


def _deep_update(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value


def _merge(base: dict[str, Any], update: dict[str, Any], source: str) -> dict[str, Any]:
    out = _copy(base)
    for key, value in update.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: section {key!r} must be a mapping, got {value!r}")
            section = out.setdefault(key, {})
            if (
                key in ("data", "model", "augment")
                and "name" in value
                and value["name"] != section.get("name", value["name"])
            ):
                section.clear()  # a different data set or model: the old one's options do not apply
            _deep_update(section, _copy(value))
        elif key == "description":
            out[key] = value
        else:
            raise ConfigError(f"{source}: unknown section {key!r}", f"valid: base, description, {', '.join(SECTIONS)}")
    return out


def _copy(values: Any) -> Any:
    return {k: _copy(v) for k, v in values.items()} if isinstance(values, dict) else values


def parse_override(text: str) -> dict[str, Any]:
    """`train.epochs=5` -> {"train": {"epochs": 5}}; `loss.penalties.r1.weight=1` nests deeper. The value is
    read as YAML (numbers, lists, mappings, null)."""
    key, sep, raw = text.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) < 2 or not all(parts):
        raise ConfigError(f"override {text!r} must look like SECTION.KEY=VALUE, e.g. train.epochs=5")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    for part in reversed(parts):
        value = {part: value}
    return value


def load_config(
    preset: str | None = None, config_file: str | Path | None = None, overrides: typing.Sequence[str] = ()
) -> RunConfig:
    """Resolve a RunConfig: typed defaults <- preset (or config file) <- overrides, then validate."""
    if preset and config_file:
        raise ConfigError("give either a preset or a config file, not both")
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        values = _resolve(_read_yaml(path.read_text(), str(path)), str(path))
    else:
        values = preset_values(preset or DEFAULT_PRESET)
    for text in overrides:
        values = _merge(values, parse_override(text), f"--set {text}")
    return config_from_dict(values)
