"""Engine, sessions, SQLite pragmas and the declarative base."""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import aiosqlite
from advanced_alchemy.base import BigIntAuditBase, orm_registry
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import Connection, Engine, Select, event, make_url, select, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction

from crm.settings import Settings
from crm.sqlite_waiting import announce, lock_file, pause_while_writers_wait

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
        engine = create_async_engine(settings.database_url, echo=settings.db_echo,
                                     async_creator=_sqlite_connector(settings.database_url))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "checkin", _back_to_worker_thread)
        # And when taken out, in case one was dropped without going back (a session never closed).
        event.listen(engine.sync_engine, "checkout", _back_to_worker_thread_on_checkout)
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


class SqliteConnection(aiosqlite.Connection):
    """aiosqlite's connection, which runs each call in the connection's worker thread, except while
    ``inline`` is set: then calls run at once in the caller's (the event loop's) thread.

    A hand-off to the worker thread costs more than the short statements of a write transaction
    (a wake-up each way and, under load, a wait for the GIL), and a transaction makes a dozen of
    them while it holds the database's write lock. ``begin_write`` sets ``inline`` once
    ``BEGIN IMMEDIATE`` holds that lock, so nothing the transaction runs can wait on another
    writer; the connection returns to its worker thread when it goes back to the pool. Waiting for
    the lock, reads outside write transactions and long queries stay off the event loop.
    """

    inline = False

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.inline:
            return await super()._execute(fn, *args, **kwargs)
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def _sqlite_connector(database_url: str) -> Any:
    url = make_url(database_url)
    dialect_args, dialect_kwargs = url.get_dialect()().create_connect_args(url)
    args: list[Any] = list(dialect_args)
    # The sqlite3 connection is used from its worker thread and, inline, from the event loop's.
    kwargs: dict[str, Any] = {**dialect_kwargs, "check_same_thread": False}

    def connect() -> SqliteConnection:
        connection = SqliteConnection(lambda: sqlite3.connect(*args, **kwargs), 64)
        connection._thread.daemon = True  # as SQLAlchemy's aiosqlite dialect does for its own
        return connection

    return connect


def _back_to_worker_thread(dbapi_connection: Any, _record: Any) -> None:
    driver = getattr(dbapi_connection, "driver_connection", None)
    if isinstance(driver, SqliteConnection):
        driver.inline = False


def _back_to_worker_thread_on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    _back_to_worker_thread(dbapi_connection, record)


def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


# Set while a request that may write (not GET/HEAD/OPTIONS) runs its handler: see ``writing_request``.
_writing_request: ContextVar[bool] = ContextVar("crm_writing_request", default=False)


@contextmanager
def writing_request(writes: bool) -> Iterator[None]:
    """While the block runs, every SQLite transaction begun in this context starts as a writer.

    In WAL mode a transaction that read first cannot become a writer once another connection has
    committed since its read began: SQLite answers "database is locked" at once, whatever
    ``busy_timeout`` says. A handler that reads and then writes without ``begin_write`` (an
    employer's edit, a council's meeting) therefore failed with a 500 whenever another write landed
    in between. ``TransactionMiddleware`` wraps each unsafe request's handler in this, so its
    transactions begin with ``BEGIN IMMEDIATE`` (waiting in the busy handler, if need be, for the
    writer ahead) when they first touch the database. PostgreSQL: nothing changes.
    """
    token = _writing_request.set(writes)
    try:
        yield
    finally:
        _writing_request.reset(token)


def end_writing_request() -> None:
    """The request's transaction has ended: later sessions of this context (the session store's
    write, background tasks such as an import's long reads) begin as readers again."""
    _writing_request.set(False)


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so read-then-write decisions (bundling,
    # pacing, assignment) are serialized as FOR UPDATE serializes them on PostgreSQL.
    immediate = conn.get_execution_options().get("sqlite_immediate", False) or _writing_request.get()
    if not immediate:
        conn.exec_driver_sql("BEGIN")
        return
    # Waiting, maybe, in SQLite's busy handler: say so to a writer that would take the lock again at
    # once (crm.sqlite_waiting).
    with announce(lock_file(conn.engine.url.database)):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class _WriteQueue:
    """The writers of one engine in one event loop, served first come, first served."""

    __slots__ = ("holder", "lock", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.lock, self.loop = asyncio.Lock(), loop
        self.holder: _WriteTurn | None = None


class _WriteTurn:
    """One session's turn at the head of the queue; released once, however its transaction ends."""

    __slots__ = ("finalizer", "queue", "released", "task")

    def __init__(self, queue: _WriteQueue) -> None:
        self.queue, self.released, self.task = queue, False, asyncio.current_task()
        self.finalizer: weakref.finalize[Any, Any] | None = None

    def release(self) -> None:
        if not self.released:
            self.released = True
            if self.queue.holder is self:
                self.queue.holder = None
            self.queue.lock.release()
            if self.finalizer is not None:
                self.finalizer.detach()

    def release_from_gc(self) -> None:
        # A session dropped without close(): hand the turn on from the loop's own thread (the
        # garbage collector may run in aiosqlite's worker thread).
        if not self.released and not self.queue.loop.is_closed():
            self.queue.loop.call_soon_threadsafe(self.release)


_TURN = "crm_write_turn"
# One queue per (event loop, engine): asyncio locks belong to one loop, and two engines are two
# pools whose writers SQLite itself arbitrates (tests open a second engine on the app's file).
_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[Engine, _WriteQueue]]
_queues = weakref.WeakKeyDictionary()


def _write_queue(engine: Engine) -> _WriteQueue:
    loop = asyncio.get_running_loop()
    per_engine = _queues.setdefault(loop, weakref.WeakKeyDictionary())
    queue = per_engine.get(engine)
    if queue is None:
        queue = per_engine[engine] = _WriteQueue(loop)
    return queue


@event.listens_for(Session, "after_transaction_end")
def _end_write_turn(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: commit, rollback or close
        turn = session.info.pop(_TURN, None)
        if turn is not None:
            turn.release()


async def begin_write(session: AsyncSession, *, inline: bool = True) -> None:
    """Start the session's transaction holding the database write lock on SQLite.

    Call before the first statement of a read-decide-write transaction. On SQLite, writers of
    this process first queue for a per-process turn (an ``asyncio.Lock``, first come first
    served) that they hold until the transaction commits or rolls back, then take SQLite's write
    lock with ``BEGIN IMMEDIATE``: the database lock is then only contended between processes.
    Waiting in SQLite's busy handler instead (sleep and poll, not FIFO) let some writers starve
    past ``busy_timeout`` under concurrency. On PostgreSQL it only begins the transaction (use
    row locks there).

    ``inline`` (SQLite): once the lock is held, the transaction's statements run in the event
    loop's thread (see ``SqliteConnection``). Pass ``False`` for a long transaction that wants
    its statements to run beside other work in the driver's thread (the CSV import overlaps a
    batch's commit with planning the next one).
    """
    if session.in_transaction():
        await session.commit()
    engine = _engine(session)
    if engine.dialect.name != "sqlite":
        await session.connection()
        return
    queue = _write_queue(engine)
    holder = queue.holder
    if holder is not None and holder.task is not None and holder.task is asyncio.current_task():
        # Waiting would wait for ourselves forever.
        raise RuntimeError("this task already holds the SQLite write turn in another session; "
                           "commit or close that session before starting another write")
    # Queued for the turn, then for SQLite's lock: a waiting writer (crm.sqlite_waiting), whom the
    # import lets in between its batches.
    with announce(lock_file(engine.url.database)):
        await queue.lock.acquire()
        turn = _WriteTurn(queue)
        queue.holder = turn
        try:
            session.sync_session.info[_TURN] = turn
            turn.finalizer = weakref.finalize(session.sync_session, turn.release_from_gc)
            connection = await session.connection(execution_options={"sqlite_immediate": True})
            driver = (await connection.get_raw_connection()).driver_connection
        except BaseException:
            session.sync_session.info.pop(_TURN, None)
            turn.release()
            raise
    if inline and isinstance(driver, SqliteConnection):
        driver.inline = True


M = TypeVar("M")


async def lock_row(session: AsyncSession, model: type[M], row_id: int) -> M | None:
    """The row read again under its write lock, in a transaction begun with ``begin_write``: a save
    that compares what the user saw (``crm.seen``) with what is stored needs it to stay so until it
    commits. PostgreSQL: ``FOR UPDATE OF`` the model's own table only, so rows its relationships bring
    along by join are not locked (and PostgreSQL refuses to lock the nullable side of an outer join)."""
    await begin_write(session)
    table: Any = model  # every model of crm.db's Base has an integer ``id``
    rows = await locked(session, select(table.id).where(table.id == row_id))
    return rows[0] if rows else None


async def locked(session: AsyncSession, ids: Select[Any]) -> list[Any]:
    """The rows whose ids ``ids`` selects (one column: a model's ``id``), locked, then read whole. Two
    statements, not ``SELECT model … FOR UPDATE``: that one's joined eager loads are read once, and when the
    lock had to wait for a writer that changed a foreign key (a merge moving a hand-off to the surviving
    employer), PostgreSQL re-checks the locked row against the *old* joined row, so the relationship came
    back None (a 500 in the middle of a merge). Locked first, the row and its relationships are read after
    the writer committed. Order as ``ids`` orders (lock in one order everywhere)."""
    locked_ids = list(await session.scalars(ids.with_for_update()))
    if not locked_ids:
        return []
    model = ids.column_descriptions[0]["entity"]
    found = {row.id: row for row in await session.scalars(
        select(model).where(model.id.in_(locked_ids)).execution_options(populate_existing=True))}
    return [found[i] for i in locked_ids if i in found]


async def lock_keys(session: AsyncSession, *keys: str) -> None:
    """Hold ``keys`` (names of things that have no row to lock, such as an e-mail being signed in to)
    until the transaction, begun with ``begin_write``, ends. PostgreSQL: transaction-scoped advisory
    locks, taken in one global order (sorted) so two holders never wait for each other. SQLite:
    nothing more to do, ``begin_write`` already holds the database's one write lock."""
    await _advisory(session, "pg_advisory_xact_lock", keys)


async def _advisory(session: AsyncSession, function: str, keys: tuple[str, ...]) -> None:
    if not session.in_transaction():
        await begin_write(session)
    if _engine(session).dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        await session.execute(text(f"SELECT {function}(hashtextextended(:key, 0))"), {"key": key})


async def share_keys(session: AsyncSession, *keys: str) -> None:
    """Hold ``keys`` shared until the transaction ends: any number of holders at once, but none while
    ``lock_keys`` holds one of them (which waits for every shared holder to finish). PostgreSQL only, as
    ``lock_keys``; SQLite's write lock already serializes."""
    await _advisory(session, "pg_advisory_xact_lock_shared", keys)


async def let_waiting_writers_in(session: AsyncSession) -> float:
    """SQLite: before a writer that holds the write lock again and again (the import, batch after batch)
    takes it once more, let in the writers that wait for it meanwhile, in this process or another:
    SQLite's busy handler polls, so they would rarely find it free (``crm.sqlite_waiting``). Call with
    no transaction open. The seconds paused; PostgreSQL: nothing (row locks queue)."""
    engine = _engine(session)
    if engine.dialect.name != "sqlite":
        return 0.0
    return await pause_while_writers_wait(lock_file(engine.url.database))


def _engine(session: AsyncSession) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


async def reads_inline(session: AsyncSession) -> None:
    """SQLite: run this session's reads in the event loop's thread until its connection goes back
    to the pool (the end of the request's transaction). PostgreSQL: nothing.

    For pages whose reads are many short statements: a hand-off to aiosqlite's worker thread and
    back, with the two threads taking turns at the GIL, cost more than the statements themselves
    (the SPOC queue's held list: 1.2 ms in SQLite, 6.7 ms wall through the worker, 2.8 ms inline).
    In WAL mode a reader never waits for a writer, so only the query's own time is spent on the
    loop; keep long queries (reports, exports, imports) in the worker thread. A later
    ``begin_write`` first ends this transaction, so its ``BEGIN IMMEDIATE`` (which may wait for
    another process) runs in the worker thread again.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    if isinstance(driver, SqliteConnection):
        driver.inline = True


# advanced-alchemy's session listeners (its repository cache and file objects, neither used here)
# otherwise work out on every flush and commit whether they are enabled, building an engine
# with options each time: a tenth of a short write transaction's ORM time.
SESSION_INFO = {"enable_cache_listener": False, "enable_file_object_listener": False}


def make_alchemy_config(settings: Settings, engine: AsyncEngine) -> SQLAlchemyAsyncConfig:
    return SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False, info=dict(SESSION_INFO)),
        # Plain "autocommit" rolls back on 3xx: a form POST that redirects would lose its write.
        before_send_handler="autocommit_include_redirects",
        create_all=False,
        engine_config=EngineConfig(),
        session_dependency_key="db",
    )


def make_sessionmaker(bind: AsyncEngine | AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(bind, expire_on_commit=False, info=dict(SESSION_INFO))


@asynccontextmanager
async def transaction(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits together or not at all (jobs and CLI)."""
    async with sessionmaker() as session, session.begin():
        yield session
