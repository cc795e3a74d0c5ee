"""Engine, sessions, SQLite pragmas and the declarative base."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.base import BigIntAuditBase, orm_registry
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from crm.settings import Settings

Base = BigIntAuditBase
metadata = orm_registry.metadata

# One naming convention so constraint names are identical on SQLite and PostgreSQL,
# which keeps batch migrations and the drift check honest.
metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # advanced-alchemy sets no pragmas: without foreign_keys SQLite silently ignores FKs,
    # and without WAL + busy_timeout concurrent writers fail with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for the configured database."""
    if settings.is_sqlite:
        path = settings.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(settings.database_url, echo=settings.db_echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that
        # "BEGIN IMMEDIATE" locking (see lock_for_write) works.
        event.listen(engine.sync_engine, "connect", _disable_pysqlite_begin)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        settings.database_url,
        echo=settings.db_echo,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        # JIT compilation never pays off for short OLTP statements like ours: PostgreSQL starts it once
        # a plan's estimated cost crosses jit_above_cost, and the queue query then spent ~50 ms compiling.
        connect_args={"server_settings": {"jit": "off"}},
    )


def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so read-then-write decisions (bundling,
    # pacing, assignment) are serialized as FOR UPDATE serializes them on PostgreSQL.
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def begin_write(session: AsyncSession) -> None:
    """Start the session's transaction holding the database write lock on SQLite.

    Call before the first statement of a read-decide-write transaction; on PostgreSQL it is
    a no-op (use row locks there), on SQLite it makes concurrent writers queue instead of
    failing with "database is locked" when they upgrade from read to write.
    """
    if session.in_transaction():
        await session.commit()
    await session.connection(execution_options={"sqlite_immediate": True})


def make_alchemy_config(settings: Settings, engine: AsyncEngine) -> SQLAlchemyAsyncConfig:
    return SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        # Plain "autocommit" rolls back on 3xx: a form POST that redirects would lose its write.
        before_send_handler="autocommit_include_redirects",
        create_all=False,
        engine_config=EngineConfig(),
        session_dependency_key="db",
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits together or not at all (jobs and CLI)."""
    async with sessionmaker() as session, session.begin():
        yield session
