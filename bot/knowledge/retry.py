"""When to try a failed index update again.

An update that fails (the indexer stopped at its time-out, a crash) would
fail the same way on the same folder: retried at every reload, it cost a
core for as long as the time-out, every few seconds, forever, and logged the
same error each time. So after a failure the same folder state is not tried
again until a growing delay has passed; any change to the folder (a page
fixed or removed) is tried at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

FIRST_DELAY = 300.0  # seconds before the same folder is tried again; doubled after each failure
MAX_DELAY = 6 * 3600.0


@dataclass(frozen=True)
class _Failure:
    state: int  # `manifest.folder_state` when it failed
    retry_at: float  # time.monotonic()
    delay: float
    error: str  # what went wrong, for whoever asks before the next try


class Retry:
    """Remembers the last failed update of one folder."""

    def __init__(self) -> None:
        self._failure: _Failure | None = None

    def deferred(self, state: int) -> tuple[float, str] | None:
        """Should an update of the folder in ``state`` wait (it failed so, lately)?
        If so, the seconds until it is tried again and the error it failed with."""
        failure = self._failure
        if failure is None or failure.state != state:
            return None
        wait = failure.retry_at - time.monotonic()
        return (wait, failure.error) if wait > 0 else None

    def failed(self, state: int, error: str) -> float:
        """Note a failed update of ``state``; the seconds until it is tried again."""
        earlier = self._failure
        delay = min(earlier.delay * 2, MAX_DELAY) if earlier and earlier.state == state else FIRST_DELAY
        self._failure = _Failure(state, time.monotonic() + delay, delay, error)
        return delay

    def succeeded(self) -> None:
        self._failure = None
