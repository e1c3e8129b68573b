"""The manifest beside the index: what each runbook file was when last looked at.

Indexed files are recorded with their size, modification time and SHA-256,
so an update re-reads only files whose size or time changed and re-indexes
only those whose content did. Skipped files are recorded with the reason and
the `fingerprint` of the entry in the folder, so a file that stays broken is
warned about once per change, not at every reload; a file skipped because
the index was full keeps its size ("full"), and is tried again once there
is room for it (pages removed). `is_current` tells from
the folder alone (names, sizes, times: nothing read) whether an update would
have anything to do.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge.files import UnreadableRunbook, locate, runbook_entries

SCHEMA_VERSION = 5  # 3: possessives and contractions as words; paragraphs and code order kept; 4: sizes;
# 5: contractions typed without their apostrophe are stop words
MANIFEST = "gntbot-manifest.json"


@dataclass
class Manifest:
    files: dict[str, dict] = field(default_factory=dict)  # name -> size, mtime_ns, sha256, sections, postings
    skipped: dict[str, dict] = field(default_factory=dict)  # name -> fingerprint, reason[, full: its size]


def fingerprint(path: Path | os.DirEntry[str]) -> list[int]:
    """What changes when the folder entry ``path`` is edited, replaced or re-linked."""
    info = path.stat(follow_symlinks=False) if isinstance(path, os.DirEntry) else os.lstat(path)
    return [info.st_mode, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]


def is_current(manifest: Manifest, root: Path) -> bool:
    """Does ``manifest`` still describe every file of ``root`` (resolved), as an update would leave it?

    The bot asks every few seconds, so it costs one status per file: only a
    link needs resolving (a plain file listed under ``root`` lies inside it).
    """
    names = set()
    for name, entry in runbook_entries(root):
        names.add(name)
        skipped, indexed = manifest.skipped.get(name), manifest.files.get(name)
        try:
            if skipped is not None:
                if skipped["fingerprint"] != fingerprint(entry):
                    return False
                continue
            info = locate(Path(entry.path), root)[1] if entry.is_symlink() else entry.stat(follow_symlinks=False)
        except (OSError, UnreadableRunbook):
            return False
        if indexed is None or not stat.S_ISREG(info.st_mode) \
                or (indexed["size"], indexed["mtime_ns"]) != (info.st_size, info.st_mtime_ns):
            return False
    return names == manifest.files.keys() | manifest.skipped.keys()


def folder_state(root: Path) -> int:
    """A number that changes when a runbook file of ``root`` is added, removed or edited."""
    marks = []
    for name, entry in runbook_entries(root):
        try:
            marks.append((name, *fingerprint(entry)))
        except OSError:
            marks.append((name,))
    return hash(tuple(marks))


def read_manifest(index_dir: Path, root: Path) -> Manifest | None:
    """The manifest of an index of ``root``; None if absent, damaged or for another folder."""
    try:
        saved = json.loads((index_dir / MANIFEST).read_text())
        if saved["version"] != SCHEMA_VERSION or saved["root"] != str(root):
            return None
        files, skipped = dict(saved["files"]), dict(saved.get("skipped", {}))
        if not all(map(_whole, files.values())) or not all(map(_whole_skip, skipped.values())):
            return None
        return Manifest(files, skipped)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _whole(entry: object) -> bool:
    """Does a manifest entry of an indexed file hold all an update and a poll read of it?"""
    return (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
            and all(isinstance(entry.get(key), int) for key in ("size", "mtime_ns", "sections", "postings")))


def _whole_skip(entry: object) -> bool:
    """The same for a skipped file: its fingerprint, its reason, and its size if it was left out as "full"."""
    if not (isinstance(entry, dict) and isinstance(entry.get("reason"), str)
            and isinstance(entry.get("fingerprint"), list)
            and all(isinstance(part, int) for part in entry["fingerprint"])):
        return False
    full = entry.get("full")
    return full is None or (isinstance(full, dict) and all(isinstance(full.get(key), int)
                                                            for key in ("sections", "postings")))


def write_manifest(index_dir: Path, root: Path, manifest: Manifest) -> None:
    path = index_dir / MANIFEST
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"version": SCHEMA_VERSION, "root": str(root),
                                     "files": manifest.files, "skipped": manifest.skipped}, indent=1))
    temporary.replace(path)


def forget(index_dir: Path) -> None:
    """Remove the manifest, so the next update rebuilds the index from scratch."""
    (index_dir / MANIFEST).unlink(missing_ok=True)
