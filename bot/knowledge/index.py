"""The whoosh index of runbook sections, kept in step with a runbook directory.

Each whoosh document is one section: its text and code as stored fields, and
its analysed terms per field (see `analysis.section_terms`), so loading the
ranker never re-analyses a runbook. The ranking itself runs in memory
(`search.Ranker`): whoosh's own query path measured 9–11 ms per question on
the shared corpus, over the whole search budget, and a posting list per
term made re-indexing one large page cost ~0.5 s. Files are whoosh ID
terms, which is what incremental deletes need.

Updating is incremental: a manifest beside the index records each file's size,
modification time and SHA-256; only files whose content really changed are
re-parsed and re-indexed (a ``git pull`` that touches mtimes but not content
costs a hash per file, nothing more). A different runbook directory, or an
index written by another schema version, is rebuilt from scratch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import ID, STORED, Schema

from bot.errors import GntbotError
from bot.knowledge.analysis import analyse_section
from bot.knowledge.markdown import RUNBOOK_SUFFIXES, UnreadableRunbook, parse_runbook, read_runbook
from bot.knowledge.sections import Section

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
_CODEC = W3Codec(compression=0)  # stored fields are small; zlib cost more than it saved
MAX_SEGMENTS = 8  # incremental updates add segments; compact past this many
MANIFEST = "gntbot-manifest.json"
_SEPARATOR = "\x1e"  # joins the trail and the code blocks in stored fields


class RunbookIndexError(GntbotError):
    """The index cannot be read or written."""


def _schema() -> Schema:
    return Schema(
        key=ID(unique=True, stored=True),
        file=ID(stored=True),
        heading=STORED,
        title=STORED,
        trail=STORED,
        text=STORED,
        code=STORED,
        anchor=STORED,
        level=STORED,
        position=STORED,
        terms=STORED,
        words=STORED,
    )


@dataclass(frozen=True)
class IndexedSection:
    """A section with what the ranker needs of it, as stored in the index."""

    section: Section
    terms: dict[str, dict[str, int]]  # field -> term -> frequency
    words: dict[str, int]  # surface words -> frequency, for spelling correction


@dataclass
class UpdateReport:
    """What an update did, for the CLI and the logs."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unreadable files, with the reason
    sections: int = 0
    rebuilt: bool = False

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.rebuilt)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.changed)} changed", f"{len(self.removed)} removed"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ("full rebuild: " if self.rebuilt else "") + ", ".join(parts) + f"; {self.sections} sections"


def runbook_files(root: Path) -> Iterator[Path]:
    """Every Markdown file under ``root``, in a stable order; hidden folders skipped."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(RUNBOOK_SUFFIXES) and not name.startswith("."):
                yield Path(folder, name)


def section_to_fields(section: Section) -> dict[str, object]:
    field_terms, written = analyse_section(section)
    return {
        "key": section.key,
        "file": section.file,
        "heading": section.heading,
        "title": section.title,
        "trail": _SEPARATOR.join(section.trail),
        "text": section.text,
        "code": _SEPARATOR.join(section.code),
        "anchor": section.anchor,
        "level": section.level,
        "position": section.position,
        "terms": field_terms,
        "words": written,
    }


def fields_to_section(fields: dict[str, object]) -> Section:
    trail, code = str(fields["trail"]), str(fields["code"])
    return Section(
        file=str(fields["file"]),
        heading=str(fields["heading"]),
        title=str(fields["title"]),
        level=int(fields["level"]),  # type: ignore[arg-type]
        trail=tuple(trail.split(_SEPARATOR)) if trail else (),
        anchor=str(fields["anchor"]),
        text=str(fields["text"]),
        code=tuple(code.split(_SEPARATOR)) if code else (),
        position=int(fields["position"]),  # type: ignore[arg-type]
    )


class RunbookIndex:
    """A whoosh index in ``index_dir`` mirroring the Markdown files of ``root``."""

    def __init__(self, root: Path, index_dir: Path) -> None:
        self.root = root.resolve()
        self.index_dir = index_dir

    # -- writing -----------------------------------------------------------

    def update(self) -> UpdateReport:
        """Bring the index in step with the runbook directory; return what changed."""
        if not self.root.is_dir():
            raise RunbookIndexError(f"runbook directory {self.root} does not exist or is not a directory")
        manifest = self._read_manifest()
        report = UpdateReport(rebuilt=manifest is None)
        known: dict[str, dict] = {} if manifest is None else manifest["files"]
        if manifest is None:
            self._create()
        current, to_index = self._scan(known, report)
        removed = sorted(set(known) - set(current))
        report.removed = removed
        if to_index or removed or report.rebuilt:
            self._write(to_index, removed, report)
        self._write_manifest(current)
        report.sections = self.section_count()
        return report

    def _scan(self, known: dict[str, dict], report: UpdateReport) -> tuple[dict[str, dict], dict[str, list[Section]]]:
        current: dict[str, dict] = {}
        to_index: dict[str, list[Section]] = {}
        for path in runbook_files(self.root):
            name = path.relative_to(self.root).as_posix()
            old = known.get(name)
            try:
                stat = path.stat()
                if old and old["size"] == stat.st_size and old["mtime_ns"] == stat.st_mtime_ns:
                    current[name] = old
                    continue
                text = read_runbook(path)
            except (OSError, UnreadableRunbook) as error:
                log.warning("skipping runbook %s", error)
                report.skipped.append(str(error))
                continue
            digest = hashlib.sha256(text.encode()).hexdigest()
            current[name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
            if old and old["sha256"] == digest:
                continue
            (report.changed if old else report.added).append(name)
            to_index[name] = parse_runbook(text, name)
        return current, to_index

    def _write(self, to_index: dict[str, list[Section]], removed: list[str], report: UpdateReport) -> None:
        index = self._open()
        writer = index.writer(codec=_CODEC)
        try:
            for name in [*removed, *report.changed]:
                writer.delete_by_term("file", name)
            for sections in to_index.values():
                for section in sections:
                    writer.add_document(**section_to_fields(section))
        except BaseException:
            writer.cancel()
            raise
        # Merging segments on every small update would rewrite the whole index;
        # let them accumulate and compact once in a while instead.
        writer.commit(mergetype=writing.NO_MERGE)
        with index.reader() as reader:
            segments = len(reader.leaf_readers())
        if segments > MAX_SEGMENTS:
            index.optimize()

    def _create(self) -> None:
        if self.index_dir.exists():
            shutil.rmtree(self.index_dir / "whoosh", ignore_errors=True)
        (self.index_dir / "whoosh").mkdir(parents=True, exist_ok=True)
        whoosh_index.create_in(self.index_dir / "whoosh", _schema())

    # -- reading -----------------------------------------------------------

    def _open(self):  # -> whoosh.index.Index
        try:
            return whoosh_index.open_dir(self.index_dir / "whoosh")
        except (OSError, whoosh_index.EmptyIndexError) as error:
            raise RunbookIndexError(
                f"no usable index in {self.index_dir}: run `gntbot index` ({error})"
            ) from error

    def sections(self) -> list[IndexedSection]:
        """Every indexed section, in file and document order."""
        with self._open().reader() as reader:
            found = [
                IndexedSection(fields_to_section(fields), fields["terms"], fields["words"])
                for fields in reader.all_stored_fields()
            ]
        return sorted(found, key=lambda s: (s.section.file, s.section.position))

    def section_count(self) -> int:
        return self._open().doc_count()

    # -- manifest ----------------------------------------------------------

    def _read_manifest(self) -> dict | None:
        path = self.index_dir / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if manifest.get("version") != SCHEMA_VERSION or manifest.get("root") != str(self.root):
            return None
        if not whoosh_index.exists_in(self.index_dir / "whoosh"):
            return None
        return manifest

    def _write_manifest(self, files: dict[str, dict]) -> None:
        path = self.index_dir / MANIFEST
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"version": SCHEMA_VERSION, "root": str(self.root), "files": files}, indent=1))
        temporary.replace(path)
