"""User-facing errors. Each says what was wrong and what to do; the CLI prints it as one line."""

from __future__ import annotations


class GankitError(Exception):
    """An error caused by the user's input or environment, not by a bug in gankit."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(GankitError):
    """A config value, preset or override is invalid."""


class DataError(GankitError):
    """A data set is missing, malformed or unreadable."""


class RunError(GankitError):
    """A run folder or checkpoint is missing, damaged or does not match."""


class DivergenceError(RunError):
    """A loss became NaN or infinite during training."""
