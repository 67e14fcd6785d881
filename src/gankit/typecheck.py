"""Checks a value parsed from YAML or the command line against a type hint, with one-line errors; and the two
checks every config section shares (a positive number, a factory's keyword options)."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Literal, Union

from gankit.errors import ConfigError


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if origin in (list, tuple):
        return f"a list of {_describe(typing.get_args(tp)[0])}"
    return getattr(tp, "__name__", str(tp))


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Return `value` as type `tp`, or raise ConfigError naming `where` and the expected type."""
    origin = typing.get_origin(tp)
    fail = ConfigError(f"{where} must be {_describe(tp)}, got {value!r}")
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return coerce(value, option, where)
            except ConfigError:
                continue
        raise fail
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise fail
    if tp is type(None):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        raise fail
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise fail
    if tp in (int, float):
        if isinstance(value, str):  # YAML reads "1e-4" as a string
            try:
                value = float(value) if tp is float else int(value)
            except ValueError:
                raise fail from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail
        if tp is int:
            if float(value) != int(value):
                raise fail
            return int(value)
        return float(value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise fail
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise fail
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where} must have {len(args)} items, got {value!r}")
            return tuple(coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        out = [coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict or tp is dict:
        if isinstance(value, dict):
            return value
        raise fail
    return value


def positive(where: str, value: float | None, allow_zero: bool = False) -> None:
    """None, where a field allows it, means "off" and passes."""
    if value is not None and (value < 0 or (value == 0 and not allow_zero)):
        raise ConfigError(f"{where} must be {'>= 0' if allow_zero else '> 0'}, got {value}")


def check_kwargs(registry, name: str, kwargs: dict[str, Any], where: str, skip: tuple[str, ...], common=()) -> dict:
    """Check kwargs against the keyword parameters of the factory registered as `name`; returns them typed."""
    factory = registry.get(name)
    params = {p.name for p in inspect.signature(factory).parameters.values() if p.name not in skip}
    hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory) if kwargs else {}
    out = {}
    for key, value in kwargs.items():
        if key not in params:
            valid = sorted(params) + [c for c in common if c not in params]
            raise ConfigError(f"unknown key {where}.{key} for {registry.kind} {name!r}", f"valid: {', '.join(valid)}")
        out[key] = coerce(value, hints.get(key, Any), f"{where}.{key}")
    return out
