"""CSV import of employers: what a run sets in its process and connection to go fast, and the stage
timings that show where its time goes (bench/README.md, "import").

The run (``import_service``) holds ``run_settings`` for its whole length, calls ``settle`` after
each batch and writes its batches through ``batch_sessions``.
"""

from __future__ import annotations

import gc
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm.db import make_sessionmaker


@dataclass
class Stages:
    """Wall and CPU seconds per stage of a run (CPU of the whole process, so the database
    driver's thread counts too): the benchmark prints them, the job's report keeps them."""

    wall: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        w, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] += time.perf_counter() - w
            self.cpu[name] += time.process_time() - c

    def summary(self) -> dict[str, tuple[float, float]]:
        return {name: (round(self.wall[name], 2), round(self.cpu[name], 2)) for name in self.wall}


_paused = 0  # runs in this process that hold the process-wide settings below
_collector_was_enabled = True
_heap_was_frozen = False
_switch_interval = 0.005
# How long a thread may hold the GIL while another waits for it (CPython's default: 5 ms). The
# SQLite driver's thread needs the GIL for a moment after each statement (to hand the result
# back) while the main thread prepares the next batch; at 5 ms per statement the commit window
# of every batch waited on that hand-over more than on SQLite (bench: 31.7 s -> 27.5-28.0 s).
_RUN_SWITCH_INTERVAL = 0.0005


@contextmanager
def run_settings() -> Iterator[None]:
    """Process-wide settings for a run, restored when the last overlapping run in the process ends.

    The cyclic garbage collector is held off: automatic collection is off, and after each batch
    the run moves what survived into the collector's permanent generation (``gc.freeze()``, see
    ``settle``) instead of scanning it. An import keeps a large, long-lived working set (the key
    index of every employer, the validated rows, the matcher's caches) and allocates hundreds of
    thousands of objects per batch, so the automatic collector ran thousands of times and
    re-scanned that working set: a quarter to a third of the import's CPU time. Reference
    counting still frees everything as usual; only garbage cycles (measured: too few to change
    the peak memory of a 100,000-row run) wait until the run ends, when the frozen objects go
    back to the collector (``gc.unfreeze()``).

    The GIL switch interval is shortened (``_RUN_SWITCH_INTERVAL``).
    """
    global _paused, _collector_was_enabled, _switch_interval, _heap_was_frozen
    if _paused == 0:
        _collector_was_enabled = gc.isenabled()
        # `crm serve` freezes its startup heap (crm.app.create_app_from_env); an upload import
        # in a server process must leave it frozen when the run ends.
        _heap_was_frozen = gc.get_freeze_count() > 0
        gc.disable()
        _switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(_RUN_SWITCH_INTERVAL)
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1
        if _paused == 0:
            sys.setswitchinterval(_switch_interval)
            gc.unfreeze()
            if _heap_was_frozen:
                gc.collect()  # the run's garbage cycles, once
                gc.freeze()
            if _collector_was_enabled:
                gc.enable()


def settle() -> None:
    """After a batch: what survived it is long-lived (index entries, cached parses), so the
    collector need not look at it again during the run (see ``run_settings``)."""
    gc.freeze()


# Settings of the connection a real run writes its batches through (SQLite; restored after the run,
# the connection goes back to the pool). A batch touches thousands of index pages (nine indexes on
# employer, the search keys' two): a 64 MiB page cache keeps them between batches instead of
# re-reading them, and checkpointing the WAL every ~20,000 pages rather than every 1,000 copies a
# page that several batches changed into the database file once.
_SQLITE_RUN_PRAGMAS = {"cache_size": -65536, "wal_autocheckpoint": 20000}


@asynccontextmanager
async def batch_sessions(sessionmaker: async_sessionmaker[AsyncSession],
                         dry_run: bool) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions for the batches of a real run: all on one connection of the engine's pool, tuned by
    ``_SQLITE_RUN_PRAGMAS`` on SQLite. A dry run (reads only) uses ``sessionmaker`` as it is."""
    engine = sessionmaker.kw.get("bind")
    if dry_run or not isinstance(engine, AsyncEngine):
        yield sessionmaker
        return
    async with engine.connect() as conn:
        before: dict[str, Any] = {}
        if conn.dialect.name == "sqlite":
            for pragma, value in _SQLITE_RUN_PRAGMAS.items():
                before[pragma] = (await conn.exec_driver_sql(f"PRAGMA {pragma}")).scalar()
                await conn.exec_driver_sql(f"PRAGMA {pragma} = {int(value)}")
            await conn.commit()
        try:
            yield make_sessionmaker(conn)
        finally:
            if conn.in_transaction():
                await conn.rollback()
            for pragma, value in before.items():
                await conn.exec_driver_sql(f"PRAGMA {pragma} = {int(value)}")
            await conn.commit()
