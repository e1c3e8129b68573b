"""Typed, validated access to one TOML table, with errors that name the key and file.

Every section of the configuration is read through a `Table`: it refuses
unknown keys (a typo must not silently fall back to a default), checks types
and ranges, resolves paths relative to the configuration file, and reads
secrets only from a file or an environment variable, never from the TOML.
No string and no secret may hold a control character (below U+0020, or DEL):
names, keys and passwords end up inside IRC lines and XMPP stanzas, where a
CR or LF would start a command of the attacker's choosing, and a NUL or an
escape is never what anyone meant.

Problems are collected rather than raised one by one: a getter that meets a bad
value records it in the file's `Problems` and carries on with the default, and
a check that raises is run through `Problems.attempt`, so one ``check-config``
names every mistake in the file. `Problems.check` raises them all together at
the end. Keys are named in messages as `shown` writes them: a name holding a
control character is escaped, so a message is always one line of plain text.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from bot.controls import CONTROL
from bot.errors import GntbotError

T = TypeVar("T")
_MISSING: Any = object()
CONTROL_PROBLEM = ("holds a line break or another control character (CR, LF, NUL, tab, escape...); "
                   "these are never valid here: remove it")


class ConfigError(GntbotError):
    """The configuration is invalid; the message names the file and the key (or all of them)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.where = where  # "section.key", for telling one problem from a consequence of it


class Problems:
    """Everything wrong with one configuration file, in the order found."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.errors: list[ConfigError] = []

    def add(self, error: ConfigError) -> None:
        """Record ``error``, unless it is about a key that already has a problem
        (a placeholder value failing a later check says nothing new)."""
        if not error.where or error.where not in {known.where for known in self.errors}:
            self.errors.append(error)

    def attempt(self, parse: Callable[..., T], *args: Any, fallback: T, **kwargs: Any) -> T:
        """``parse(*args, **kwargs)``; if it raises a `ConfigError`, that is recorded and
        ``fallback`` returned, so the parts read after it are still checked."""
        with self.collecting():
            return parse(*args, **kwargs)
        return fallback

    @contextlib.contextmanager
    def collecting(self) -> Iterator[None]:
        """Record a `ConfigError` raised inside, and go on with the next part of the file.

        Any other exception there is a consequence of a problem already recorded
        (a value left at a placeholder); without one, it is a bug and goes up."""
        try:
            yield
        except ConfigError as error:
            self.add(error)
        except Exception:
            if not self.errors:
                raise

    def check(self) -> None:
        """Raise every recorded problem as one `ConfigError`."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            lines = [str(error).removeprefix(f"{self.source}: ") for error in self.errors]
            raise ConfigError(f"{self.source}: {len(lines)} problems:\n" + "\n".join(f"  {line}" for line in lines))


class Table:
    """One ``[table]`` of a configuration file."""

    def __init__(self, data: dict[str, Any], name: str, source: Path, problems: Problems | None = None) -> None:
        self._data = data
        self.name = name
        self.source = source
        self.problems = problems or Problems(source)
        self._read: set[str] = set()

    def error(self, key: str, problem: str) -> ConfigError:
        key = shown(key)
        where = f"{self.name}.{key}" if self.name else key
        return ConfigError(f"{self.source}: {where}: {problem}", where)

    def report(self, key: str, problem: str) -> None:
        """Record a problem with ``key`` and carry on."""
        self.problems.add(self.error(key, problem))

    def _get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self._read.add(key)
        if key not in self._data:
            if default is _MISSING:
                self.report(key, "missing (required)")
                return _placeholder(kind)
            return default
        value = self._data[key]
        problem = None
        if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else ()):
            problem = f"expected {_kind_name(kind)}, got a boolean"
        elif not isinstance(value, kind):
            problem = f"expected {_kind_name(kind)}, got {type(value).__name__} {value!r}"
        elif _holds_control(value):
            problem = CONTROL_PROBLEM  # the value is not shown: it may be a secret's neighbour
        if problem is None:
            return value
        self.report(key, problem)
        return _placeholder(kind) if default is _MISSING else default

    def string(self, key: str, default: Any = _MISSING, *, choices: tuple[str, ...] = ()) -> str:
        value = self._get(key, str, default)
        if choices and value not in choices:
            self.report(key, f"must be one of {', '.join(choices)}, not {value!r}")
            return choices[0] if default is _MISSING else default
        return value

    def optional_string(self, key: str) -> str | None:
        return self._get(key, str, None)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        return self._get(key, bool, default)

    def integer(self, key: str, default: Any = _MISSING, *, low: int | None = None, high: int | None = None) -> int:
        value = self._get(key, int, default)
        if (low is not None and value < low) or (high is not None and value > high):
            self.report(key, f"{value} is out of range [{low}, {high}]")
            return (low or 0) if default is _MISSING else default
        return value

    def number(self, key: str, default: Any = _MISSING, *, low: float | None = None) -> float:
        value = float(self._get(key, (int, float), default))
        if low is not None and value < low:
            self.report(key, f"{value} must be at least {low}")
            return low if default is _MISSING else float(default)
        return value

    def strings(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self._get(key, list, default)
        if not all(isinstance(item, str) for item in value):
            self.report(key, "expected a list of strings")
            return () if default is _MISSING else tuple(default)
        return tuple(value)

    def string_lists(self, key: str, default: Any = _MISSING) -> tuple[tuple[str, ...], ...]:
        """A list of lists of strings (``[["a", "b"], ["c", "d"]]``)."""
        value = self._get(key, list, default)
        if not all(isinstance(item, list) and all(isinstance(s, str) for s in item) for item in value):
            raise self.error(key, "expected a list of lists of strings")
        return tuple(tuple(item) for item in value)

    def path(self, key: str, default: Any = _MISSING) -> Path:
        """A path; relative ones are taken from the configuration file's folder."""
        value = Path(self._get(key, str, default)).expanduser()
        return value if value.is_absolute() else (self.source.parent / value)

    def optional_path(self, key: str) -> Path | None:
        if key in self._data:
            return self.path(key)
        self._mark(key)
        return None

    def optional_file(self, key: str) -> Path | None:
        """An optional path that must name an existing file (a CA, a certificate)."""
        path = self.optional_path(key)
        if path is not None and not path.is_file():
            self.report(key, f"{path} is not a readable file")
        return path

    def secret(self, key: str, *, required: bool = True) -> str | None:
        """A secret from ``KEY_file`` (a file holding it) or ``KEY_env`` (a variable).

        The value itself is never in the TOML, so the configuration file can be
        shown, committed or pasted without leaking anything.
        """
        if key in self._data:
            raise self.error(key, f"secrets are not read from the configuration: set {key}_file or {key}_env")
        file_key, env_key = f"{key}_file", f"{key}_env"
        if file_key in self._data and env_key in self._data:
            self._read.update((file_key, env_key))
            raise self.error(file_key, f"set only one of {file_key} and {env_key}")
        if file_key in self._data:
            return self._secret_file(file_key)
        if env_key in self._data:
            variable = self.string(env_key)
            if variable not in os.environ:
                raise self.error(env_key, f"environment variable {variable} is not set")
            secret = os.environ[variable]
            if not secret.strip():
                raise self.error(env_key, f"environment variable {variable} is empty")
            if _holds_control(secret):
                raise self.error(env_key, f"environment variable {variable} {CONTROL_PROBLEM}")
            return secret
        if required:
            raise self.error(key, f"missing: set {file_key} or {env_key}")
        return None

    def _secret_file(self, key: str) -> str:
        path = self.path(key)
        try:
            secret = path.read_bytes().decode("utf-8").strip()
        except OSError as error:
            raise self.error(key, f"cannot read {path}: {error.strerror}") from error
        except UnicodeDecodeError as error:
            raise self.error(key, f"{path} is not UTF-8 text ({error.reason} at byte {error.start})") from None
        if not secret:
            raise self.error(key, f"{path} is empty: put the secret in it")
        if _holds_control(secret):
            raise self.error(key, f"{path} {CONTROL_PROBLEM} (a newline at the end of the file is fine)")
        return secret

    def names(self) -> list[str]:
        """Every key of the table, in file order (for tables whose keys are names); a name
        holding a control character is reported and left out."""
        names = list(self._data)
        for name in names:
            if _holds_control(name):
                self._refuse(name)
        return [name for name in names if not _holds_control(name)]

    def _refuse(self, name: str) -> None:
        """Report a name holding a control character, once: not again as an unknown key."""
        self.report(name, f"this name {CONTROL_PROBLEM}")
        self._read.add(name)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def table(self, key: str) -> Table:
        value = self._get(key, dict, {})
        return Table(value, f"{self.name}.{key}" if self.name else key, self.source, self.problems)

    def tables(self, key: str) -> Iterator[tuple[str, Table]]:
        """The sub-tables of ``[key.NAME]``, in file order."""
        prefix = f"{self.name}.{key}" if self.name else key
        for name, value in self._get(key, dict, {}).items():
            if _holds_control(name):
                self.report(f"{key}.{shown(name)}", f"this name {CONTROL_PROBLEM}")
                continue
            if not isinstance(value, dict):
                self.report(f"{key}.{name}", "expected a table")
                continue
            yield name, Table(value, f"{prefix}.{name}", self.source, self.problems)

    def _mark(self, key: str) -> None:
        self._read.add(key)

    def done(self) -> None:
        """Refuse keys nobody read: they are typos or options that do not exist."""
        for unknown in sorted(set(self._data) - self._read):
            self.report(unknown, "unknown key (check the spelling against config.example.toml)")


def shown(key: str) -> str:
    """``key`` as messages name it: as written, or quoted and escaped (``'a\\r\\nb'``)
    when it holds anything that is not plain printable text."""
    return key if key.isprintable() else repr(key)


def _holds_control(value: object) -> bool:
    """Whether ``value`` (a string, or a list of them, nested) holds a control character."""
    if isinstance(value, str):
        return CONTROL.search(value) is not None
    if isinstance(value, list):
        return any(_holds_control(item) for item in value)
    return False


def _placeholder(kind: type | tuple[type, ...]) -> Any:
    """A value of the right type for a required key that is missing or wrong (already reported)."""
    first = kind[0] if isinstance(kind, tuple) else kind
    return first()


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             list: "a list", dict: "a table"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)
