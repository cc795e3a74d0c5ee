"""The benchmark tools themselves: the generated world is consistent, its rows load through the ORM,
and the load driver counts and ranks what it measures correctly (nothing here depends on timing)."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

import crm.models  # noqa: F401  (complete metadata for the store)
from bench.common import LoadResult, drive, http_request, percentile
from bench.datasets import world as w
from bench.datasets.store import SqliteStore
from bench.intake import Partner, Sample, plan
from crm.directory.models import County, Region
from crm.touches.models import Touch, TouchRequest

TODAY = dt.date(2026, 11, 22)
OPEN = {"queued", "scheduled", "held", "needs_match"}


def _regions(path: Path) -> list[w.RegionRef]:
    with sqlite3.connect(path) as conn:
        counties = defaultdict(list)
        for region_id, county_id, name in conn.execute("SELECT region_id, id, name FROM county ORDER BY name"):
            counties[region_id].append((county_id, name))
        return [w.RegionRef(rid, code, name, tuple(counties[rid]))
                for rid, code, name in conn.execute("SELECT id, code, name FROM region ORDER BY code")]


def _build(path: Path, seed: int = 1) -> tuple[w.World, dict[str, list[w.Row]]]:
    world = w.World(_regions(path), w.Scale(employers=140, touches=700, open_requests=30, organizations=28),
                    seed=seed, today=TODAY, password_hash="not-a-hash")
    orgs, links = world.organizations()
    users, grants = world.users()
    rows = {"organization": orgs, "organization_region": links, "user_account": users, "role_grant": grants,
            "employer": list(world.employers()), "spoc_assignment": list(world.assignments()),
            "touch": [], "touch_request": []}
    for touches, requests in world.history(batch_employers=100):
        rows["touch"] += touches
        rows["touch_request"] += requests
    touches, requests = world.open_work()
    rows["touch"] += touches
    rows["touch_request"] += requests
    return world, rows


@pytest.fixture
def bench_db(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "bench.db"
    shutil.copy(sqlite_template, path)
    return path


def test_generated_world_has_the_scaled_counts_and_is_deterministic(bench_db: Path) -> None:
    world, rows = _build(bench_db)
    assert len(rows["employer"]) == 140
    assert sum(1 for t in rows["touch"] if t[4] == "completed") == 700
    assert len(rows["touch_request"]) - world.counts["touch requests (history)"] == 30
    assert {k for _, _, k, *_ in rows["organization"]} >= {"workforce_board", "ajcc", "community_college"}
    assert len({r[15] for r in rows["employer"]}) == len(world.regions)  # every region has employers
    _, again = _build(bench_db)
    assert again == rows
    _, other = _build(bench_db, seed=2)
    assert other["touch"] != rows["touch"]


def test_generated_touches_respect_the_default_pacing_and_requests_their_touches(bench_db: Path) -> None:
    _, rows = _build(bench_db)
    by_employer: dict[int, list[dt.date]] = defaultdict(list)
    touches = {t[0]: t for t in rows["touch"]}
    for t in rows["touch"]:
        by_employer[t[1]].append(t[9])
        assert t[7] <= t[9] <= t[8]  # planned inside the window
    for dates in by_employer.values():
        dates.sort()
        assert all((b - a).days >= 7 for a, b in zip(dates, dates[1:], strict=False))
        assert all(sum(1 for d in dates if s <= d < s + dt.timedelta(days=30)) <= 2 for s in dates)
    open_keys = set()
    for r in rows["touch_request"]:
        if r[10] in OPEN:
            key = (r[2], r[3], r[5])
            assert key not in open_keys  # the open-request unique index would refuse it
            open_keys.add(key)
        if r[11] is not None:
            touch = touches[r[11]]
            assert (touch[1], touch[2]) == (r[3], r[4])
            assert r[8] <= touch[9] <= r[9]
        else:
            assert r[10] == "held" and r[12] is not None


async def test_generated_rows_load_through_the_orm(bench_db: Path) -> None:
    _, rows = _build(bench_db)
    store = SqliteStore(bench_db)
    for table, columns in (("organization", w.ORGANIZATION_COLUMNS), ("organization_region",
                           w.ORGANIZATION_REGION_COLUMNS), ("user_account", w.USER_COLUMNS),
                           ("role_grant", w.GRANT_COLUMNS), ("employer", w.EMPLOYER_COLUMNS),
                           ("spoc_assignment", w.ASSIGNMENT_COLUMNS), ("touch", w.TOUCH_COLUMNS),
                           ("touch_request", w.REQUEST_COLUMNS)):
        assert store.insert(table, columns, rows[table]) == len(rows[table])
    store.finish()
    store.close()
    with sqlite3.connect(bench_db) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    engine = create_async_engine(f"sqlite+aiosqlite:///{bench_db}")
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(Region)) == 14
            assert await conn.scalar(select(func.count()).select_from(County)) > 14
        from sqlalchemy.ext.asyncio import async_sessionmaker
        async with async_sessionmaker(engine)() as db:
            touch = await db.scalar(select(Touch).where(Touch.status == "completed").order_by(Touch.id).limit(1))
            assert touch is not None and touch.completed_at is not None
            assert touch.completed_at.tzinfo is not None and isinstance(touch.planned_on, dt.date)
            assert touch.completed_at == rows["touch"][0][11]
            queued = await db.scalar(select(TouchRequest).where(TouchRequest.status == "queued").limit(1))
            assert queued is not None and queued.touch is not None and queued.touch.status in {"queued", "scheduled"}
            # The same range query the app runs finds the generated dates.
            since = TODAY - dt.timedelta(days=60)
            recent = await db.scalar(select(func.count()).select_from(Touch).where(Touch.planned_on >= since))
            assert recent == sum(1 for t in rows["touch"] if t[9] >= since)
    finally:
        await engine.dispose()


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    result = LoadResult(latencies=[0.004, 0.001, 0.003, 0.002], elapsed=2.0)
    assert result.pct_ms(50) == pytest.approx(2.0)
    assert result.throughput == 2.0


async def test_load_driver_sends_every_request_and_reads_every_answer() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            path = head.split(b" ")[1]
            status = b"201 Created" if path.endswith(b"/new") else b"200 OK"
            body = b'{"path":"' + path + b'"}'
            writer.write(b"HTTP/1.1 " + status + b"\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    seen: dict[int, bytes] = {}
    requests = [http_request("GET", f"/r/{i}" + ("/new" if i % 3 == 0 else "")) for i in range(30)]
    async with server:
        result = await drive("127.0.0.1", port, requests, clients=4,
                             on_response=lambda i, status, body: seen.__setitem__(i, body))
    assert result.count == 30
    assert result.statuses == {201: 10, 200: 20}
    assert seen[7] == b'{"path":"/r/7"}'


def test_intake_plan_repeats_only_what_the_same_partner_sent_earlier() -> None:
    partners = [Partner(i, f"p{i}@x", org_id=100 + i, region_codes=["LA-BASIN"]) for i in range(4)]
    sample = Sample(partners, {"LA-BASIN": [(1, "Acme Corp", "https://acme.com", "Los Angeles", "90021"),
                                            (2, "Bravo Inc", None, "Pasadena", "91101")]},
                    {"LA-BASIN": [(1, TODAY, TODAY + dt.timedelta(days=20))]}, [(101, 2, "hiring")])
    planned = plan(sample, 400, clients=4, today=TODAY, seed=3)
    kinds = {p.kind for p in planned}
    assert kinds == {"by_id", "bundle", "by_name", "unknown", "repeat", "repeat_open"}
    for i, p in enumerate(planned):
        if p.kind == "repeat":
            assert any(q.partner == p.partner and q.body == p.body for q in planned[: i - 8])
        if p.kind == "repeat_open":
            assert partners[p.partner].org_id == 101 and p.body["employer_id"] == 2
    assert plan(sample, 400, clients=4, today=TODAY, seed=3) == planned
