"""The whoosh index of runbook sections, kept in step with a runbook directory.

Each whoosh document is one section: its text and code as stored fields, and
its analysed terms per field (see `analysis.section_terms`; the schema is in
`stored`), so loading the ranker never re-analyses a runbook. The ranking itself runs in memory
(`search.Ranker`): whoosh's own query path measured 9–11 ms per question on
the shared corpus, over the whole search budget, and a posting list per
term made re-indexing one large page cost ~0.5 s. Files are whoosh ID
terms, which is what incremental deletes need.

Updating is incremental (see `manifest`): only files whose content really
changed are re-parsed and re-indexed (a ``git pull`` that touches mtimes but
not content costs a hash per file, nothing more). A different runbook
directory, or an index written by another schema version, is rebuilt from
scratch; so is an index found damaged, with a warning in the log.

whoosh stores fields as pickles, so the index directory must be the bot's
alone (`prepare_directory`); what can be read of a runbook is decided in
`files`, and what parsing one may cost in `budget`.
"""

from __future__ import annotations

import errno
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.codec.whoosh3 import W3Codec

from bot.errors import GntbotError
from bot.knowledge.budget import Budget, Capacity, IndexFull
from bot.knowledge.files import UnreadableRunbook, locate, read_runbook, runbook_files
from bot.knowledge.manifest import (
    Manifest,
    fingerprint,
    forget,
    is_current,
    read_manifest,
    write_manifest,
)
from bot.knowledge.markdown import parse_runbook
from bot.knowledge.stored import (
    DamagedIndex,
    IndexedSection,
    RunbookIndexError,
    fields_to_section,
    schema,
    section_to_fields,
)
from bot.state.private import prepare_directory

__all__ = ["DamagedIndex", "IndexedSection", "RunbookIndex", "RunbookIndexError", "UpdateReport", "runbook_files"]

log = logging.getLogger(__name__)

_CODEC = W3Codec(compression=0)  # stored fields are small; zlib cost more than it saved
MAX_SEGMENTS = 8  # incremental updates add segments; compact past this many
_NOT_DAMAGE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO}


@dataclass
class UpdateReport:
    """What an update did, for the CLI and the logs."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files not indexed, with the reason
    warnings: list[str] = field(default_factory=list)  # indexed, but with a problem to fix
    sections: int = 0
    rebuilt: bool = False
    retry_in: float | None = None  # set when nothing was read: the last update failed (`retry`)
    last_error: str = ""  # why it failed, with `retry_in`

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.rebuilt)

    @property
    def deferred(self) -> bool:
        """Was the folder left alone, the previous update having failed lately?"""
        return self.retry_in is not None

    def summary(self) -> str:
        if self.retry_in is not None:
            return (f"not re-read: the last update failed ({self.last_error}); it is tried again in "
                    f"{self.retry_in:.0f} s or when the runbooks change; the previous index "
                    f"({self.sections} sections) stays in use")
        parts = [f"{len(self.added)} added", f"{len(self.changed)} changed", f"{len(self.removed)} removed"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ("full rebuild: " if self.rebuilt else "") + ", ".join(parts) + f"; {self.sections} sections"


class RunbookIndex:
    """A whoosh index in ``index_dir`` mirroring the Markdown files of ``root``."""

    def __init__(self, root: Path, index_dir: Path) -> None:
        self._root = root
        self.index_dir = index_dir

    @property
    def root(self) -> Path:
        """The runbook folder, resolved now: a deployment may swap a link to it
        (``current -> release-B``) and delete the folder it pointed to before."""
        return self._root.resolve()

    @property
    def _whoosh_dir(self) -> Path:
        return self.index_dir / "whoosh"

    # -- writing -----------------------------------------------------------

    def update(self) -> UpdateReport:
        """Bring the index in step with the runbook directory; return what changed.

        A damaged index is rebuilt from scratch, and the log says so.
        """
        if not self.root.is_dir():
            raise RunbookIndexError(f"runbook directory {self.root} does not exist or is not a directory")
        try:
            return self._update()
        except DamagedIndex as damage:
            self._forget(damage)
            return self._update()

    def exists(self) -> bool:
        """Is there an index of this folder (however out of date)?"""
        root = self.root
        with self._decoding():
            return (root.is_dir() and read_manifest(self.index_dir, root) is not None
                    and whoosh_index.exists_in(self._whoosh_dir))

    def unchanged(self) -> UpdateReport | None:
        """What `update` would report if it would change nothing; None if it has work to do."""
        root = self.root
        manifest = read_manifest(self.index_dir, root) if root.is_dir() else None
        with self._decoding():
            if manifest is None or not whoosh_index.exists_in(self._whoosh_dir):
                return None
        if not is_current(manifest, root):
            return None
        # The count the manifest keeps: the bot asks every few seconds. Damage to
        # the index is found when it is loaded, or updated (`!reindex` forces that).
        sections = sum(entry["sections"] for entry in manifest.files.values())
        return UpdateReport(skipped=[entry["reason"] for entry in manifest.skipped.values()], sections=sections)

    def _forget(self, damage: DamagedIndex) -> None:
        """Make the next update a rebuild from scratch, and say so."""
        log.warning("%s; rebuilding it from the runbooks", damage)
        forget(self.index_dir)

    def _update(self) -> UpdateReport:
        self._prepare()
        manifest = read_manifest(self.index_dir, self.root)
        with self._decoding():
            if manifest is not None and not whoosh_index.exists_in(self._whoosh_dir):
                manifest = None
        report = UpdateReport(rebuilt=manifest is None)
        if manifest is None:
            manifest = Manifest()
            self._create()
        current, to_index = self._scan(manifest, report)
        report.removed = sorted(set(manifest.files) - set(current.files))
        if to_index or report.removed or report.rebuilt:
            self._write(to_index, report)
        write_manifest(self.index_dir, self.root, current)
        report.sections = self.section_count()
        return report

    def _scan(self, known: Manifest, report: UpdateReport) -> tuple[Manifest, dict[str, list[dict]]]:
        """The manifest of the folder as it is now, and the fields of the files to (re-)index."""
        current = Manifest()
        to_index: dict[str, list[dict]] = {}
        capacity, full = Capacity(), []
        root = self.root
        for path in runbook_files(root):
            name = path.relative_to(root).as_posix()
            try:
                mark = fingerprint(path)
            except OSError:
                continue  # gone since the folder was listed
            earlier = known.skipped.get(name)
            if earlier and earlier["fingerprint"] == mark and not self._room_for(earlier, capacity):
                current.skipped[name] = earlier  # unchanged since it was warned about
                report.skipped.append(earlier["reason"])
                continue
            try:
                entry, fields = self._look_at(path, root, name, known.files.get(name), report)
                capacity.admit(name, entry)
            except UnreadableRunbook as error:
                current.skipped[name] = {"fingerprint": mark, "reason": str(error)}
                if isinstance(error, IndexFull):
                    full.append(name)  # one warning for them all, below
                    current.skipped[name]["full"] = {"sections": entry["sections"], "postings": entry["postings"]}
                else:
                    log.warning("skipping runbook %s", error)
                report.skipped.append(str(error))
                continue
            current.files[name] = entry
            if fields is not None:
                (report.changed if name in known.files else report.added).append(name)
                to_index[name] = fields
        if full:
            log.warning("skipping runbook %s and %d more file(s): the index is full; remove or merge pages",
                        full[0], len(full) - 1)
        return current, to_index

    @staticmethod
    def _room_for(skipped: dict, capacity: Capacity) -> bool:
        """Is a file skipped because the index was full (its size kept as "full") worth
        parsing again, now that ``capacity`` has room for it (pages were removed)?"""
        size = skipped.get("full")
        return isinstance(size, dict) and capacity.fits(size)

    def _look_at(self, path: Path, root: Path, name: str, old: dict | None,
                 report: UpdateReport) -> tuple[dict, list[dict] | None]:
        """The manifest entry of one file of ``root``, and its index fields if its content is new."""
        real, info = locate(path, root)
        if old and old["size"] == info.st_size and old["mtime_ns"] == info.st_mtime_ns:
            return old, None
        read = read_runbook(real)
        entry = {"size": read.size, "mtime_ns": read.mtime_ns, "sha256": read.sha256}
        if old and old["sha256"] == read.sha256:
            return old | entry, None
        budget = Budget(name)
        fields = []
        for section in parse_runbook(read.text, name, budget):
            budget.check()
            fields.append(section_to_fields(section))
        entry |= budget.measure(fields)
        if read.warning:
            log.warning("runbook %s", read.warning)
            report.warnings.append(read.warning)
        return entry, fields

    def _write(self, to_index: dict[str, list[dict]], report: UpdateReport) -> None:
        with self._decoding():
            index = self._open()
            writer = index.writer(codec=_CODEC)
            try:
                for name in [*report.removed, *report.changed]:
                    writer.delete_by_term("file", name)
                for fields in to_index.values():
                    for document in fields:
                        writer.add_document(**document)
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
        shutil.rmtree(self._whoosh_dir, ignore_errors=True)
        self._prepare()
        whoosh_index.create_in(self._whoosh_dir, schema())

    def _prepare(self) -> None:
        """Create the index folders private, or refuse them if others can write there."""
        prepare_directory(self.index_dir, "the search index directory")
        prepare_directory(self._whoosh_dir, "the search index directory")

    # -- reading -----------------------------------------------------------

    def _open(self) -> whoosh_index.Index:
        self._prepare()
        with self._decoding():
            return whoosh_index.open_dir(self._whoosh_dir)

    @contextmanager
    def _decoding(self) -> Iterator[None]:
        """Turn whoosh's failures to decode its own files into `DamagedIndex`.

        A truncated or overwritten segment surfaces as whatever whoosh's
        decoders raise (EOFError, zlib.error, struct.error, pickle errors, a
        missing file, a seek to a bogus offset...), hence the broad net; our
        own errors pass through, and so do the I/O errors a rebuild would not
        repair (no permission, a full or read-only disk, a failing one).
        """
        try:
            yield
        except GntbotError:
            raise
        except OSError as error:
            if isinstance(error, PermissionError) or error.errno in _NOT_DAMAGE:
                raise RunbookIndexError(f"cannot use the index in {self.index_dir}: {error}") from error
            raise DamagedIndex(f"the search index in {self.index_dir} is damaged ({error})") from error
        except Exception as error:
            raise DamagedIndex(f"the search index in {self.index_dir} is damaged "
                               f"({type(error).__name__}: {error})") from error

    def sections(self) -> list[IndexedSection]:
        """Every indexed section, in file and document order.

        `DamagedIndex` if the index cannot be decoded: the next update is then
        a rebuild (which the caller runs where parsing cannot stall it).
        """
        try:
            index = self._open()
            with self._decoding(), index.reader() as reader:
                found = [
                    IndexedSection(fields_to_section(fields), fields["terms"], fields["words"])
                    for fields in reader.all_stored_fields()
                ]
        except DamagedIndex as damage:
            self._forget(damage)
            raise
        return sorted(found, key=lambda s: (s.section.file, s.section.position))

    def section_count(self) -> int:
        index = self._open()
        with self._decoding():
            return index.doc_count()
