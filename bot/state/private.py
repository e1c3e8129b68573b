"""Directories only the bot may write to.

The state directory holds who confirmed what, and the search index holds pickles
(whoosh's format): a directory that others can write to would let them forge the
one or run code through the other. So such a directory is created private, and an
existing one that anyone but its owner can write to is refused.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bot.errors import GntbotError


class UnsafeDirectory(GntbotError):
    """A directory the bot must trust can be written by someone else."""


def prepare_directory(path: Path, what: str) -> Path:
    """``path``, created with mode 0700 if absent; refused if others can write to it.

    ``what`` names the directory in the error ("the state directory").
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as error:
        raise UnsafeDirectory(f"cannot create {what} {path}: {error.strerror}") from error
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectory(f"{what} {path} is not a directory")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UnsafeDirectory(f"{what} {path} can be written by others (mode {stat.filemode(info.st_mode)}): "
                              f"run chmod go-w {path}")
    if info.st_uid not in (os.geteuid(), 0):
        raise UnsafeDirectory(f"{what} {path} belongs to another user (uid {info.st_uid}): "
                              f"give it to the bot's user, or choose another directory")
    return path
