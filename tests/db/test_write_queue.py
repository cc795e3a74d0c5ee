"""begin_write: on SQLite the writers of one process queue first come, first served for the write lock
and keep their turn until their transaction ends; on PostgreSQL it only begins the transaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import threading

import pytest
from sqlalchemy import func, select, text

from crm.db import begin_write, let_waiting_writers_in, make_engine, make_sessionmaker, reads_inline
from crm.notify.models import OutboxMessage
from crm.notify.service import enqueue
from tests.factories import recorded_statements

pytestmark = pytest.mark.usefixtures("world")


async def _write(sessionmaker, label: str, order: list[str], *, hold: float = 0.0, read_first: bool = False) -> None:
    async with sessionmaker() as db:
        if read_first:  # a page that read inline, then writes
            await reads_inline(db)
            await db.scalar(select(func.count(OutboxMessage.id)))
        await begin_write(db)
        order.append(f"{label} in")
        # Read-decide-write: what this writer read must still hold when it writes.
        before = await db.scalar(select(func.count(OutboxMessage.id)))
        await asyncio.sleep(hold)
        enqueue(db, f"{label}@example.org", f"#{before}", "", dt.datetime.now(dt.UTC))
        await db.commit()
        order.append(f"{label} out")


async def test_concurrent_writers_take_turns_in_arrival_order_and_none_fails(sessionmaker, is_pg, db):
    if is_pg:
        pytest.skip("PostgreSQL writers are serialized by row locks, not by the process's queue")
    order: list[str] = []
    writers = [asyncio.create_task(_write(sessionmaker, f"w{i}", order, hold=0.01)) for i in range(12)]
    await asyncio.gather(*writers)
    # One at a time, in the order they asked: each finished before the next began.
    assert order == [f"w{i} {step}" for i in range(12) for step in ("in", "out")]
    subjects = sorted(int(s[1:]) for s in await db.scalars(select(OutboxMessage.subject)))
    assert subjects == list(range(12))  # every writer saw every earlier writer's row


async def test_the_turn_is_held_until_commit_or_rollback_and_then_passed_on(sessionmaker, is_pg):
    if is_pg:
        pytest.skip("no in-process queue on PostgreSQL")
    order: list[str] = []
    async with sessionmaker() as first:
        await begin_write(first)
        waiting = asyncio.create_task(_write(sessionmaker, "second", order))
        await asyncio.sleep(0.05)
        assert order == []  # still queued behind the open transaction
        await first.rollback()
        await asyncio.wait_for(waiting, 5)
    assert order == ["second in", "second out"]


async def test_closing_the_session_or_dropping_it_gives_the_turn_back(sessionmaker, is_pg):
    if is_pg:
        pytest.skip("no in-process queue on PostgreSQL")
    order: list[str] = []
    session = sessionmaker()
    await begin_write(session)
    await session.close()
    await asyncio.wait_for(_write(sessionmaker, "after close", order), 5)

    async def leave_open() -> None:
        # Dropped without commit, rollback or close: a bug elsewhere must not stop every writer
        # of the process for good.
        dropped = sessionmaker()
        await begin_write(dropped)

    await asyncio.create_task(leave_open())
    gc.collect()
    await asyncio.wait_for(_write(sessionmaker, "after drop", order), 15)
    assert order == ["after close in", "after close out", "after drop in", "after drop out"]


async def test_a_second_session_of_the_same_task_is_refused_instead_of_waiting_for_itself(sessionmaker, is_pg):
    if is_pg:
        pytest.skip("no in-process queue on PostgreSQL")
    async with sessionmaker() as first, sessionmaker() as second:
        await begin_write(first)
        with pytest.raises(RuntimeError, match="already holds the SQLite write turn"):
            await begin_write(second)
        await first.commit()
        await begin_write(second)  # free again once the first committed
        await second.rollback()


async def test_begin_write_takes_the_database_write_lock_at_begin(sessionmaker, is_pg):
    async with sessionmaker() as db:
        await begin_write(db)
        assert db.in_transaction()
        if not is_pg:
            # BEGIN IMMEDIATE holds the RESERVED lock: another connection cannot start writing.
            async with sessionmaker() as other:
                conn = await other.connection()
                await conn.exec_driver_sql("PRAGMA busy_timeout=0")
                with pytest.raises(Exception, match="locked"):
                    await conn.execute(text("INSERT INTO outbox_message (to_email, subject, body, status, attempts, "
                                            "next_attempt_at, created_at, updated_at) VALUES ('x', 'y', 'z', "
                                            "'pending', 0, '2026-01-01', '2026-01-01', '2026-01-01')"))
        await db.rollback()


@pytest.fixture
def sqlite_only(is_pg):
    if is_pg:
        pytest.skip("the SQLite driver's threads")


async def _ran_in_loop_thread(db) -> bool:
    driver = (await (await db.connection()).get_raw_connection()).driver_connection
    driver._conn.create_function("thread_ident", 0, threading.get_ident)
    return await db.scalar(text("SELECT thread_ident()")) == threading.get_ident()


@pytest.mark.usefixtures("sqlite_only")
async def test_reads_inline_run_in_the_loop_thread_until_the_transaction_ends(sessionmaker):
    async with sessionmaker() as db:
        await reads_inline(db)
        assert await _ran_in_loop_thread(db)
        assert await db.scalar(select(func.count(OutboxMessage.id))) == 0
        await db.commit()
        assert not await _ran_in_loop_thread(db)  # the connection went back to its worker thread
        await db.rollback()


@pytest.mark.usefixtures("sqlite_only")
async def test_a_write_transaction_runs_in_the_event_loop_thread_and_other_statements_in_the_drivers(
        sessionmaker):
    async with sessionmaker() as db:
        assert not await _ran_in_loop_thread(db)  # a read outside a write transaction
        await db.commit()
        await begin_write(db)
        assert await _ran_in_loop_thread(db)
        enqueue(db, "inline@example.org", "inline", "", dt.datetime.now(dt.UTC))
        await db.commit()
        # Back in the pool, the connection went back to its worker thread.
        assert not await _ran_in_loop_thread(db)
        await db.rollback()
        await begin_write(db)
        await db.rollback()  # a rolled-back write as well
        assert not await _ran_in_loop_thread(db)
        await db.rollback()
        await begin_write(db, inline=False)  # the import's long batches keep the driver's thread
        assert not await _ran_in_loop_thread(db)
        await db.rollback()
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).where(OutboxMessage.subject == "inline")) == 1


@pytest.mark.usefixtures("sqlite_only")
@pytest.mark.parametrize("read_first", [False, True], ids=["write", "inline-reads-then-write"])
async def test_waiting_for_another_process_write_lock_does_not_stop_the_event_loop(sessionmaker, settings,
                                                                                      read_first):
    # A second engine on the same file stands for another process (the CLI import, a second server).
    other_engine = make_engine(settings)
    try:
        async with make_sessionmaker(other_engine)() as other:
            await begin_write(other)  # the other engine's own queue: SQLite's lock is all they share
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            try:
                order: list[str] = []
                writer = asyncio.create_task(_write(sessionmaker, "waiting", order, read_first=read_first))
                await asyncio.sleep(0.3)
                assert order == [] and ticks >= 10  # the writer waits for the lock, the loop goes on
                await other.commit()
                await asyncio.wait_for(writer, 5)
                assert order == ["waiting in", "waiting out"]
            finally:
                ticker.cancel()
    finally:
        await other_engine.dispose()


@pytest.mark.usefixtures("sqlite_only")
async def test_a_writer_that_takes_the_lock_again_and_again_lets_in_who_waits_meanwhile(sessionmaker, settings):
    """SQLite's busy handler polls: a writer of another process would rarely find the lock free between
    two transactions of one that begins again at once (the import's batches). It says it waits; the other
    pauses, before it begins again, until the waiter has the lock."""
    other_engine = make_engine(settings)  # another process, the CLI import
    other = make_sessionmaker(other_engine)
    order: list[str] = []
    try:
        async with other() as quiet:
            assert await let_waiting_writers_in(quiet) == 0.0  # nobody waits: no pause
        async with other() as batch:
            await begin_write(batch)
            writer = asyncio.create_task(_write(sessionmaker, "waiting", order, hold=0.2))
            await asyncio.sleep(0.3)  # in SQLite's busy handler by now
            await batch.commit()
            paused = await let_waiting_writers_in(batch)
            assert order == ["waiting in"] and 0 < paused < 1  # it has the lock, not yet committed
            await begin_write(batch)  # the next batch waits for it
            order.append("next batch in")
            await batch.commit()
        await asyncio.wait_for(writer, 5)
    finally:
        await other_engine.dispose()
    assert order == ["waiting in", "waiting out", "next batch in"]


async def test_a_request_that_may_write_begins_as_a_writer_and_a_read_stays_a_reader(client, world, is_pg):
    """SQLite: an unsafe request's transaction takes the write lock at BEGIN (a read that later writes
    cannot be refused "database is locked"); GETs keep beginning as readers, never holding up writers."""
    if is_pg:
        pytest.skip("PostgreSQL sends no BEGIN of its own")
    employer = await world.f.employer("Sunrise Family Dental")
    lead = await world.f.auth(world.users["lead"])
    await client.get(f"/api/employers/{employer.id}", headers=lead)  # the token's first use is bookkept
    with recorded_statements() as statements:
        assert (await client.get(f"/api/employers/{employer.id}", headers=lead)).status_code == 200
    assert "BEGIN" in statements and "BEGIN IMMEDIATE" not in statements
    with recorded_statements() as statements:
        r = await client.patch(f"/api/employers/{employer.id}", headers=lead, json={"dba": "Sunrise Dental"})
    assert r.status_code == 200, r.text
    assert statements[0] == "BEGIN IMMEDIATE" and "BEGIN" not in statements
