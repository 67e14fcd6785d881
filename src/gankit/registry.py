"""One small registry for every kind of pluggable thing: data sets, models, losses, optimisers."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from gankit.errors import ConfigError


def unknown_name(kind: str, name: object, valid: list[str]) -> ConfigError:
    """The error for a name that is not among `valid`, with the closest one as a "did you mean"."""
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(f"unknown {kind} {name!r}", f"{hint}valid: {', '.join(valid)}")


class Registry:
    """Maps a name to a factory; `get` fails with the valid names and a "did you mean"."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(obj: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return decorate

    def get(self, name: str) -> Callable[..., Any]:
        if name not in self._items:
            raise unknown_name(self.kind, name, self.names())
        return self._items[name]

    def names(self) -> list[str]:
        return sorted(self._items)

    def describe(self) -> list[tuple[str, str]]:
        """(name, first line of the docstring) for each entry, for `gankit datasets` and friends."""
        return [(n, (inspect.getdoc(self._items[n]) or "").splitlines()[0]) for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._items
