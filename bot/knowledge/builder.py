"""Index updates in a child process, so that no runbook can stall the bot.

Parsing a large page makes millions of short-lived objects (markdown-it
tokens, words, terms). In the bot's own process the garbage collector then
runs full passes over them, and a collection holds the interpreter lock
whatever thread triggered it: a 2 MB page of headings stalled the event loop
(pings, every transport) for 0.1–0.3 s at a time, and a wiki of unique words
for seconds, however the work was spread over threads. So the bot hands the
whole update (read, parse, analyse, write the whoosh index) to a fresh
Python process and only reads the finished index; the child's memory goes
back to the system when it exits.

The child is the bot's to stop (`Indexer`): killed when the bot shuts down,
it never holds the exit for up to `TIMEOUT`. The child speaks JSON: its log
records as lines on stderr (the parent logs them again under the same logger
names, so the warnings look the same), and the `UpdateReport` or an error on
stdout.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import bot
from bot.errors import GntbotError
from bot.knowledge.index import RunbookIndex, RunbookIndexError, UpdateReport

log = logging.getLogger(__name__)

TIMEOUT = 1800.0  # seconds; each file is bounded by its `Budget`, this bounds a folder of thousands
_PACKAGE_HOME = Path(bot.__file__).resolve().parent.parent  # the child runs this very copy of the bot


class Indexer:
    """Runs `RunbookIndex.update` in a child process, one at a time, and can stop it.

    The child is the bot's to stop: on shutdown (`close`) and when whoever
    waited for it gave up (`stop`), it is killed and reaped, instead of being
    waited for until its time-out (the interpreter's exit waits for the
    thread that runs it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: subprocess.Popen[str] | None = None
        self._closed = False

    def update(self, index: RunbookIndex, timeout: float = TIMEOUT) -> UpdateReport:
        """`RunbookIndex.update` of ``index``, run in a child process; its warnings are logged here."""
        with self._lock:
            if self._closed:
                raise RunbookIndexError("the runbooks were not re-read: the bot is stopping, "
                                        "or a reload replaced this index")
            try:
                child = subprocess.Popen(_command(index), cwd=_PACKAGE_HOME, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True, errors="replace")
            except OSError as error:
                raise RunbookIndexError(f"cannot start the indexer ({error})") from error
            self._child = child
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise RunbookIndexError(f"indexing {index.root} took over {timeout:g} s and was stopped; "
                                    f"the previous index stays in use") from error
        finally:
            _kill(child)
            with self._lock:
                self._child = None
        return _answer(index, child.returncode, stdout, stderr)

    def stop(self) -> None:
        """Kill and reap the running child, if any (its update fails; the next may start)."""
        child = self._child
        if child is not None:
            _kill(child)

    def close(self) -> None:
        """`stop`, and start no more children."""
        with self._lock:
            self._closed = True
        self.stop()


def _command(index: RunbookIndex) -> list[str]:
    return [sys.executable, "-m", __name__, str(index.root), str(index.index_dir.absolute())]


def _kill(child: subprocess.Popen[str]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()


def _answer(index: RunbookIndex, status: int, stdout: str, stderr: str) -> UpdateReport:
    _relog(stderr)
    try:
        answer = json.loads(stdout)
    except ValueError:
        raise RunbookIndexError(f"the indexer of {index.root} stopped with status {status}; "
                                f"the log says why, and the previous index stays in use") from None
    if "error" in answer:
        raise RunbookIndexError(answer["error"])
    return UpdateReport(**answer["report"])


def _relog(stderr: str) -> None:
    for line in stderr.splitlines():
        try:
            record = json.loads(line)
            logging.getLogger(record["logger"]).log(int(record["level"]), "%s", record["message"])
        except (ValueError, KeyError, TypeError):
            if line.strip():
                log.error("indexer: %s", line)


class _JsonLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        line = {"logger": record.name, "level": record.levelno, "message": record.getMessage()}
        print(json.dumps(line), file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    """The child: update the index of folder ``argv[0]`` in ``argv[1]``, answer on stdout."""
    logging.basicConfig(level=logging.INFO, handlers=[_JsonLines()])
    root, index_dir = argv
    try:
        report = RunbookIndex(Path(root), Path(index_dir)).update()
    except GntbotError as error:
        print(json.dumps({"error": str(error)}))
        return 1
    print(json.dumps({"report": dataclasses.asdict(report)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
