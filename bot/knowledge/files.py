"""Finding and reading runbook files, laid out by people we do not control.

Anyone who can push to the wiki decides what lies under the runbook folder: a
symbolic link to a password file, a FIFO or a device named ``notes.md``, a file
of gigabytes, bytes that are not UTF-8. So only regular files whose real path
lies inside the folder are read, through a descriptor opened without blocking
and checked to be a regular file, and never more than `MAX_BYTES` of them.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.errors import GntbotError

MAX_BYTES = 2 * 1024 * 1024
RUNBOOK_SUFFIXES = (".md", ".mdwn", ".markdown")
_CHUNK = 256 * 1024
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


class UnreadableRunbook(GntbotError):
    """A file under the runbook directory that cannot be indexed."""


@dataclass(frozen=True)
class RunbookText:
    """What was read of one runbook file."""

    text: str
    sha256: str  # of the bytes on disk
    size: int
    mtime_ns: int
    warning: str = ""  # a problem the wiki's maintainers should fix; the text is still usable


def runbook_files(root: Path) -> Iterator[Path]:
    """Every Markdown file name under ``root``, in a stable order; hidden folders skipped.

    Symbolic links to folders are not followed; links to files are listed,
    and `locate` decides whether they may be read.
    """
    for _, entry in runbook_entries(root):
        yield Path(entry.path)


def runbook_entries(root: Path, prefix: str = "") -> Iterator[tuple[str, os.DirEntry[str]]]:
    """`runbook_files` as (name relative to ``root``, folder entry): the entry
    knows without a system call whether it is a link, and keeps its status once
    asked, which is what checking a folder of thousands of files for changes costs."""
    try:
        with os.scandir(root) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return  # gone or unreadable since it was listed
    folders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            folders.append(entry)
        elif entry.name.endswith(RUNBOOK_SUFFIXES) and not entry.is_dir():
            yield prefix + entry.name, entry
    for folder in folders:
        yield from runbook_entries(Path(folder.path), f"{prefix}{folder.name}/")


def locate(path: Path, root: Path) -> tuple[Path, os.stat_result]:
    """The real path of ``path`` and its status; `UnreadableRunbook` unless it is
    a regular file inside ``root`` (which must be resolved already)."""
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(root):
        raise UnreadableRunbook(f"{path}: a link to {real}, outside the runbook folder")
    try:
        info = real.stat()
    except OSError as error:
        raise UnreadableRunbook(f"{path}: {error.strerror or error}") from error
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableRunbook(f"{path}: not a regular file")
    return real, info


def read_runbook(path: Path) -> RunbookText:
    """The text of the regular file ``path`` (not followed if it is a link).

    Refused with `UnreadableRunbook`: anything but a regular file, more than
    `MAX_BYTES`, binary content. Invalid UTF-8 is replaced rather than refused
    (one bad byte should not hide a whole page), and said in ``warning``.
    """
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        raise UnreadableRunbook(f"{path}: {error.strerror or error}") from error
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableRunbook(f"{path}: not a regular file")
        data = _read_at_most(descriptor, MAX_BYTES + 1)
    except OSError as error:
        raise UnreadableRunbook(f"{path}: {error.strerror or error}") from error
    finally:
        os.close(descriptor)
    if len(data) > MAX_BYTES:
        raise UnreadableRunbook(f"{path}: over the {MAX_BYTES}-byte limit")
    text, warning = _decode(data, path)
    return RunbookText(text, hashlib.sha256(data).hexdigest(), len(data), info.st_mtime_ns, warning)


def _read_at_most(descriptor: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(descriptor, min(left, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """The text of ``data`` without a byte-order mark, and a warning if it is not UTF-8."""
    if b"\0" in data[:8192]:
        raise UnreadableRunbook(f"{path}: looks binary (contains NUL bytes)")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        warning = (f"{path}: line {line} is not valid UTF-8; the bad bytes show as \ufffd "
                   f"until the file is saved as UTF-8")
        return data.decode("utf-8", errors="replace"), warning
