"""Bulk writers: rows (tuples of plain Python values) into a freshly migrated database.

SQLite goes through the stdlib ``sqlite3`` driver with ``executemany`` (a few hundred thousand rows
a second; the ORM or even Core with dicts is several times slower), PostgreSQL through asyncpg's
``COPY`` (``copy_records_to_table``). Values are stored exactly as SQLAlchemy stores them, so the
app reads them back unchanged (``tests/bench`` checks that through the ORM).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Table

from crm.db import metadata

Row = tuple[Any, ...]


def _extra_defaults(table: Table, columns: Sequence[str]) -> tuple[tuple[str, ...], Row]:
    """Columns the world does not plan but the model fills with a constant default (other engineers
    may add such columns); the writer appends those constants to every row."""
    names: list[str] = []
    values: list[Any] = []
    for col in table.columns:
        if col.name in columns:
            continue
        default = col.default
        if default is not None and getattr(default, "is_scalar", False):
            names.append(col.name)
            values.append(default.arg)  # type: ignore[attr-defined]
    return tuple(names), tuple(values)


class Store(Protocol):
    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int: ...

    def finish(self) -> None: ...

    def close(self) -> None: ...


def _sqlite_datetime(value: dt.datetime) -> str:
    # SQLAlchemy's SQLite DATETIME format ("2025-03-04 16:05:00.000000"); DateTimeUTC stores UTC.
    # isoformat is several times cheaper than strftime, which matters at millions of rows.
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


class SqliteStore:
    """Writes with the stdlib driver; journal off while building (a failed build is rebuilt anyway).

    Secondary indexes are dropped first and rebuilt at the end: building an index from sorted rows
    is several times faster than maintaining it through millions of random inserts.
    """

    def __init__(self, path: Path) -> None:
        sqlite3.register_adapter(dt.date, dt.date.isoformat)
        sqlite3.register_adapter(dt.datetime, _sqlite_datetime)
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-400000")
        self.conn.execute("BEGIN")
        self.indexes = [sql for name, sql in self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
        for (name,) in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall():
            self.conn.execute(f'DROP INDEX "{name}"')

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        extra_names, extra = _extra_defaults(metadata.tables[table], columns)
        cols = (*columns, *extra_names)
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        if extra:
            rows = (r + extra for r in rows)
        cur = self.conn.executemany(sql, rows)
        return cur.rowcount

    def finish(self) -> None:
        for sql in self.indexes:
            self.conn.execute(sql)
        self.conn.execute("COMMIT")
        # The planner needs statistics for tables that went from empty to millions of rows.
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA journal_mode=WAL")

    def close(self) -> None:
        self.conn.close()


class PostgresStore:
    """COPY through asyncpg, one transaction; sequences moved past the explicit ids at the end."""

    def __init__(self, url: str) -> None:
        import asyncpg

        self.loop = asyncio.new_event_loop()
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        self.conn = self.loop.run_until_complete(asyncpg.connect(dsn))
        self.tx = self.conn.transaction()
        self.loop.run_until_complete(self.tx.start())
        self.tables: list[str] = []

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        extra_names, extra = _extra_defaults(metadata.tables[table], columns)
        records = [r + extra for r in rows] if extra else list(rows)
        self.loop.run_until_complete(
            self.conn.copy_records_to_table(table, records=records, columns=[*columns, *extra_names]))
        if "id" in columns and table not in self.tables:
            self.tables.append(table)
        return len(records)

    def finish(self) -> None:
        for table in self.tables:
            self.loop.run_until_complete(self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        self.loop.run_until_complete(self.tx.commit())
        self.loop.run_until_complete(self.conn.execute("ANALYZE"))

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()
