"""SQLite: writers that wait for the database's write lock say so, across processes, so that a writer
holding it batch after batch (the CSV import) can let them in between two batches.

SQLite's busy handler is no queue: a waiting ``BEGIN IMMEDIATE`` sleeps and tries again, every 100 ms
once it has waited a while. A writer that commits and at once begins again (the import: a batch
commits, the next begins within a millisecond or two) holds the lock all but a few milliseconds in
each second, so a writer of another process (or one of its own process that does not queue for the
write turn, ``crm.db.begin_write``) rarely tries inside that gap: it waited for the import's end or
failed with "database is locked" after ``busy_timeout``. Making every batch pause for 100 ms would cost
the import seconds when nobody waits, so waiters are made visible instead:

- while a writer waits (queued for its process's write turn, then in ``BEGIN IMMEDIATE``), its process
  holds a shared ``flock`` on ``<database>-waiting`` (``announce``);
- between batches the import asks for that file's exclusive lock without waiting (``waiting``): refused
  means someone waits, and it pauses until they have the lock (``pause_while_writers_wait``).

The same kind of lock makes the imports of every process take turns (``exclusive`` on
``<database>-import``), as PostgreSQL's advisory lock does there.

A lock of a process that dies goes with it. Where ``fcntl`` is missing (Windows) or the file cannot be
created nothing is announced and the import does not pause: the behaviour before this module.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("crm.db")

# How long one pause between batches may last: the waiters need ~100 ms (their busy handler's poll) plus
# their transactions; a stream of writers that never ends must not stop the import.
AT_MOST = 1.0
_POLL = 0.005


@lru_cache(maxsize=64)
def lock_file(database: str | None, suffix: str = "-waiting") -> str | None:
    """The file beside a database file that ``suffix`` names; None for an in-memory database or
    without ``fcntl``."""
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.realpath(database) + suffix


class _Announcer:
    """This process's shared lock on one ``-waiting`` file, held while any of its writers waits."""

    __slots__ = ("fd", "guard", "waiters")

    def __init__(self, fd: int) -> None:
        self.fd, self.waiters, self.guard = fd, 0, threading.Lock()


_announcers: dict[tuple[int, str], _Announcer | None] = {}
_announcers_guard = threading.Lock()


_unavailable: set[str] = set()


def _open(path: str) -> int | None:
    if path in _unavailable:
        return None
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:  # a read-only directory: say so once, then carry on without
        _unavailable.add(path)
        log.warning("sqlite_waiting_file_unavailable", extra={"path": path, "error": str(exc)})
        return None


def _announcer(path: str) -> _Announcer | None:
    key = (os.getpid(), path)  # a forked child opens its own: a descriptor it inherited shares the parent's lock
    with _announcers_guard:
        if key not in _announcers:
            fd = _open(path)
            _announcers[key] = _Announcer(fd) if fd is not None else None
        return _announcers[key]


@contextmanager
def announce(path: str | None) -> Iterator[None]:
    """While the block runs, a writer of this process waits for the write lock: ``waiting`` says so."""
    announcer = _announcer(path) if path is not None else None
    if announcer is None:
        yield
        return
    with announcer.guard:
        if announcer.waiters == 0:
            # May block, but only for the instant a ``waiting`` probe holds the exclusive lock.
            fcntl.flock(announcer.fd, fcntl.LOCK_SH)
        announcer.waiters += 1
    try:
        yield
    finally:
        with announcer.guard:
            announcer.waiters -= 1
            if announcer.waiters == 0:
                fcntl.flock(announcer.fd, fcntl.LOCK_UN)


def waiting(path: str | None) -> bool:
    """Whether a writer of any process (this one included) waits for the write lock now."""
    if path is None:
        return False
    fd = _open(path)
    if fd is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # lets go of the exclusive lock, if it was granted
    return False


async def pause_while_writers_wait(path: str | None, at_most: float = AT_MOST) -> float:
    """Pause (not holding the write lock) until no writer waits for it, ``at_most`` seconds; the
    seconds paused (0.0 when nobody waited)."""
    if not waiting(path):
        return 0.0
    started = time.perf_counter()
    while time.perf_counter() - started < at_most:
        await asyncio.sleep(_POLL)
        if not waiting(path):
            break
    return time.perf_counter() - started


@asynccontextmanager
async def exclusive(path: str | None, poll: float = 0.1) -> AsyncIterator[None]:
    """Hold the exclusive lock on ``path`` while the block runs, first waiting for it (polling, the event
    loop goes on): one holder at a time of every process. ``path`` None: no lock."""
    fd = _open(path) if path is not None else None
    if fd is None:
        yield
        return
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(poll)
        yield
    finally:
        os.close(fd)  # lets go of the lock
