"""Typed, validated access to one TOML table, with errors that name the key and file.

Every section of the configuration is read through a `Table`: it refuses
unknown keys (a typo must not silently fall back to a default), checks types
and ranges, resolves paths relative to the configuration file, and reads
secrets only from a file or an environment variable, never from the TOML.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import GntbotError

T = TypeVar("T")
_MISSING: Any = object()


class ConfigError(GntbotError):
    """The configuration is invalid; the message names the file and the key."""


class Table:
    """One ``[table]`` of a configuration file."""

    def __init__(self, data: dict[str, Any], name: str, source: Path) -> None:
        self._data = data
        self.name = name
        self.source = source
        self._read: set[str] = set()

    def error(self, key: str, problem: str) -> ConfigError:
        where = f"{self.name}.{key}" if self.name else key
        return ConfigError(f"{self.source}: {where}: {problem}")

    def _get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self._read.add(key)
        if key not in self._data:
            if default is _MISSING:
                raise self.error(key, "missing (required)")
            return default
        value = self._data[key]
        if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else ()):
            raise self.error(key, f"expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise self.error(key, f"expected {_kind_name(kind)}, got {type(value).__name__} {value!r}")
        return value

    def string(self, key: str, default: Any = _MISSING, *, choices: tuple[str, ...] = ()) -> str:
        value = self._get(key, str, default)
        if choices and value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    def optional_string(self, key: str) -> str | None:
        return self._get(key, str, None)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        return self._get(key, bool, default)

    def integer(self, key: str, default: Any = _MISSING, *, low: int | None = None, high: int | None = None) -> int:
        value = self._get(key, int, default)
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.error(key, f"{value} is out of range [{low}, {high}]")
        return value

    def number(self, key: str, default: Any = _MISSING, *, low: float | None = None) -> float:
        value = float(self._get(key, (int, float), default))
        if low is not None and value < low:
            raise self.error(key, f"{value} must be at least {low}")
        return value

    def strings(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self._get(key, list, default)
        if not all(isinstance(item, str) for item in value):
            raise self.error(key, "expected a list of strings")
        return tuple(value)

    def path(self, key: str, default: Any = _MISSING) -> Path:
        """A path; relative ones are taken from the configuration file's folder."""
        value = Path(self._get(key, str, default)).expanduser()
        return value if value.is_absolute() else (self.source.parent / value)

    def optional_path(self, key: str) -> Path | None:
        return self.path(key) if key in self._data else self._mark(key)

    def optional_file(self, key: str) -> Path | None:
        """An optional path that must name an existing file (a CA, a certificate)."""
        path = self.optional_path(key)
        if path is not None and not path.is_file():
            raise self.error(key, f"{path} is not a readable file")
        return path

    def secret(self, key: str, *, required: bool = True) -> str | None:
        """A secret from ``KEY_file`` (a file holding it) or ``KEY_env`` (a variable).

        The value itself is never in the TOML, so the configuration file can be
        shown, committed or pasted without leaking anything.
        """
        if key in self._data:
            raise self.error(key, f"secrets are not read from the configuration: set {key}_file or {key}_env")
        file_key, env_key = f"{key}_file", f"{key}_env"
        if file_key in self._data:
            path = self.path(file_key)
            try:
                return path.read_text().strip()
            except OSError as error:
                raise self.error(file_key, f"cannot read {path}: {error.strerror}") from error
        if env_key in self._data:
            variable = self.string(env_key)
            if variable not in os.environ:
                raise self.error(env_key, f"environment variable {variable} is not set")
            return os.environ[variable]
        if required:
            raise self.error(key, f"missing: set {file_key} or {env_key}")
        return None

    def keys(self) -> list[str]:
        """Every key of the table, in file order (for tables whose keys are names)."""
        return list(self._data)

    def table(self, key: str) -> Table:
        value = self._get(key, dict, {})
        return Table(value, f"{self.name}.{key}" if self.name else key, self.source)

    def tables(self, key: str) -> Iterator[tuple[str, Table]]:
        """The sub-tables of ``[key.NAME]``, in file order."""
        prefix = f"{self.name}.{key}" if self.name else key
        for name, value in self._get(key, dict, {}).items():
            if not isinstance(value, dict):
                raise self.error(f"{key}.{name}", "expected a table")
            yield name, Table(value, f"{prefix}.{name}", self.source)

    def _mark(self, key: str) -> None:
        self._read.add(key)
        return None

    def done(self) -> None:
        """Refuse keys nobody read: they are typos or options that do not exist."""
        unknown = sorted(set(self._data) - self._read)
        if unknown:
            raise self.error(unknown[0], "unknown key (check the spelling against config.example.toml)")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)
