"""SPOC queue page and employer timeline latency (p50/p95/p99) against a real server.

Signed in through the real login form as three people of the data set, it loads ``/queue`` as each
of them: the SPOC with the largest open queue (a conservative "realistic queue"), the lead of the
region with the most open touches (a whole region's queue, unassigned queue included, cut at the
page size) and the admin (every region). Then, as that SPOC, the timeline of employers they own
through the API (``/api/employers/{id}/timeline``) and the employer page (``/employers/{id}``, which
renders the timeline panel).

Besides the client-side latencies it reports the server's own CPU time per request (user + system
time of the server's processes from ``/proc``, measured around each run): on a shared machine the
wall-clock figures carry everyone else's load, the CPU time much less so.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bench.common import LoadResult, http_request, run_load, serve
from bench.generate import BENCH_PASSWORD
from crm.db import make_engine
from crm.migrate import alembic_config
from crm.settings import Settings

P95_TARGET_MS = 50.0
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Subject:
    email: str
    queue_size: int
    employers: list[int]  # owned by the SPOC, most history first then a spread
    history_max: int
    lead_email: str
    lead_region: str
    lead_queue_size: int
    admin_email: str
    admin_queue_size: int


def _heads(settings: Settings) -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config(settings)).get_heads())


async def pick_subject(db_url: str, employers: int) -> Subject:
    settings = Settings(database_url=db_url)
    engine = make_engine(settings)
    open_touch = "t.status IN ('queued', 'scheduled')"
    try:
        async with engine.connect() as conn:
            # A data set built by an older checkout lacks the newer indexes: measuring it would
            # measure full scans. Upgrading writes to it, so that is left to the caller.
            at = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
            if at != _heads(settings):
                raise SystemExit(f"the data set is at revision {', '.join(sorted(at))}, the code at "
                                 f"{', '.join(sorted(_heads(settings)))}: run `CRM_DATABASE_URL=<its url> "
                                 "crm db upgrade` on it (a copy, never the pristine one) first")
            spoc_id, email, size = (await conn.execute(text(
                f"SELECT t.spoc_id, u.email, count(*) AS n FROM touch t JOIN user_account u ON u.id = t.spoc_id "
                f"WHERE {open_touch} GROUP BY t.spoc_id, u.email ORDER BY n DESC, t.spoc_id LIMIT 1"))).one()
            rows = (await conn.execute(text(
                "SELECT a.employer_id, count(t.id) AS n FROM spoc_assignment a "
                "LEFT JOIN touch t ON t.employer_id = a.employer_id "
                "WHERE a.spoc_id = :spoc AND a.ended_at IS NULL GROUP BY a.employer_id ORDER BY n DESC, a.employer_id"),
                {"spoc": spoc_id})).all()
            region, lead_size = (await conn.execute(text(
                f"SELECT r.code, count(*) AS n FROM touch t JOIN region r ON r.id = t.region_id WHERE {open_touch} "
                "GROUP BY r.code ORDER BY n DESC, r.code LIMIT 1"))).one()
            lead_email = (await conn.execute(text(
                "SELECT u.email FROM user_account u JOIN role_grant g ON g.user_id = u.id "
                "JOIN region r ON r.id = g.region_id WHERE g.role = 'lead' AND r.code = :code AND u.is_active "
                "ORDER BY u.id LIMIT 1"), {"code": region})).scalar_one()
            admin_email = (await conn.execute(text(
                "SELECT u.email FROM user_account u JOIN role_grant g ON g.user_id = u.id "
                "WHERE g.role = 'admin' AND u.is_active ORDER BY u.id LIMIT 1"))).scalar_one()
            admin_size = (await conn.execute(text(f"SELECT count(*) FROM touch t WHERE {open_touch}"))).scalar_one()
    finally:
        await engine.dispose()
    # A spread over the SPOC's employers, always including the ten with the longest timelines.
    step = max(1, len(rows) // employers)
    chosen = [r[0] for r in rows[:10]] + [r[0] for r in rows[10::step]]
    return Subject(email, int(size), chosen[:employers], int(rows[0][1]) if rows else 0,
                   lead_email, region, int(lead_size), admin_email, int(admin_size))


def sign_in(base_url: str, email: str) -> str:
    """Sign in through the login form; returns the Cookie header the browser would send."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        client.get("/login")
        csrf = client.cookies.get("csrftoken") or ""
        r = client.post("/login", data={"email": email, "password": BENCH_PASSWORD, "next": "/queue"},
                        headers={"x-csrftoken": csrf})
        if r.status_code != 303:
            raise RuntimeError(f"sign-in failed: {r.status_code} {r.text[:200]}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def server_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of the server and its workers (every process of its process group), or None."""
    total = 0
    found = False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After "pid (comm)": state ppid pgrp ... utime (14th field overall) stime (15th).
        if int(fields[2]) == pid:
            total += int(fields[11]) + int(fields[12])
            found = True
    return total / _TICK if found else None


@dataclass
class Measured:
    result: LoadResult
    cpu_ms: float | None  # server CPU per measured request

    def summary(self, name: str) -> str:
        cpu = f"  server CPU {self.cpu_ms:6.1f} ms/req" if self.cpu_ms is not None else ""
        return self.result.summary(name) + cpu


@dataclass
class PagesReport:
    subject: Subject
    results: dict[str, Measured]
    clients: int

    def lines(self) -> list[str]:
        s = self.subject
        out = [f"SPOC {s.email}: {s.queue_size} open touches in the queue; {len(s.employers)} of their employers "
               f"(longest timeline {s.history_max} touches)",
               f"lead {s.lead_email}: {s.lead_region}, {s.lead_queue_size} open touches in the region; "
               f"admin {s.admin_email}: {s.admin_queue_size} open touches; {self.clients} client connection(s)"]
        for name, measured in self.results.items():
            p95 = measured.result.pct_ms(95)
            out.append(f"{measured.summary(name)}  p95 target <= {P95_TARGET_MS:.0f} ms: "
                       f"{'met' if p95 <= P95_TARGET_MS else 'MISSED'}")
        return out


def run(db_url: str, *, requests: int = 200, clients: int = 1, workers: int = 1, employers: int = 100,
        server_log: Path | None = None, on_result: Callable[[str, Measured], None] | None = None) -> PagesReport:
    subject = asyncio.run(pick_subject(db_url, employers))
    with serve(db_url, workers=workers, log=server_log) as server:
        spoc = {"Cookie": sign_in(server.url, subject.email)}
        lead = {"Cookie": sign_in(server.url, subject.lead_email)}
        admin = {"Cookie": sign_in(server.url, subject.admin_email)}
        plans = {
            "GET /queue (SPOC)": [http_request("GET", "/queue", headers=spoc)] * requests,
            "GET /queue (lead)": [http_request("GET", "/queue", headers=lead)] * requests,
            "GET /queue (admin)": [http_request("GET", "/queue", headers=admin)] * requests,
            "GET /api/employers/{id}/timeline": [
                http_request("GET", f"/api/employers/{subject.employers[i % len(subject.employers)]}/timeline",
                             headers=spoc) for i in range(requests)],
            "GET /employers/{id}": [
                http_request("GET", f"/employers/{subject.employers[i % len(subject.employers)]}", headers=spoc)
                for i in range(requests)],
        }
        results = {}
        for name, payloads in plans.items():
            run_load(server.port, payloads[: max(5, requests // 10)], clients=clients)  # warm-up
            before = server_cpu_seconds(server.process.pid)
            result = run_load(server.port, payloads, clients=clients)
            after = server_cpu_seconds(server.process.pid)
            cpu = (after - before) * 1000 / result.count if before is not None and after is not None else None
            results[name] = Measured(result, cpu)
            if on_result is not None:
                on_result(name, results[name])
    return PagesReport(subject, results, clients)
