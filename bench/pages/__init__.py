"""SPOC queue page and employer timeline latency (p50/p95/p99) against a real server.

Signed in through the real login form as the SPOC with the largest open queue of the data set
(a conservative "realistic queue"), it loads ``/queue`` repeatedly, then the timeline of employers
that SPOC owns through the API (``/api/employers/{id}/timeline``) and the employer page
(``/employers/{id}``, which renders the timeline panel).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.common import LoadResult, http_request, run_load, serve
from bench.generate import BENCH_PASSWORD
from crm.db import make_engine
from crm.settings import Settings

P95_TARGET_MS = 50.0


@dataclass
class Subject:
    email: str
    queue_size: int
    employers: list[int]  # owned by the SPOC, most history first then a spread
    history_max: int


async def pick_subject(db_url: str, employers: int) -> Subject:
    engine = make_engine(Settings(database_url=db_url))
    try:
        async with engine.connect() as conn:
            spoc_id, email, size = (await conn.execute(text(
                "SELECT t.spoc_id, u.email, count(*) AS n FROM touch t JOIN user_account u ON u.id = t.spoc_id "
                "WHERE t.status IN ('queued', 'scheduled') GROUP BY t.spoc_id, u.email "
                "ORDER BY n DESC, t.spoc_id LIMIT 1"))).one()
            rows = (await conn.execute(text(
                "SELECT a.employer_id, count(t.id) AS n FROM spoc_assignment a "
                "LEFT JOIN touch t ON t.employer_id = a.employer_id "
                "WHERE a.spoc_id = :spoc AND a.ended_at IS NULL GROUP BY a.employer_id ORDER BY n DESC, a.employer_id"),
                {"spoc": spoc_id})).all()
    finally:
        await engine.dispose()
    # A spread over the SPOC's employers, always including the ten with the longest timelines.
    step = max(1, len(rows) // employers)
    chosen = [r[0] for r in rows[:10]] + [r[0] for r in rows[10::step]]
    return Subject(email, int(size), chosen[:employers], int(rows[0][1]) if rows else 0)


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


@dataclass
class PagesReport:
    subject: Subject
    results: dict[str, LoadResult]
    clients: int

    def lines(self) -> list[str]:
        out = [f"signed in as {self.subject.email}: {self.subject.queue_size} open touches in the queue; "
               f"{len(self.subject.employers)} of their employers (longest timeline {self.subject.history_max} "
               f"touches); {self.clients} client connection(s)"]
        for name, result in self.results.items():
            p95 = result.pct_ms(95)
            out.append(f"{result.summary(name)}  p95 target <= {P95_TARGET_MS:.0f} ms: "
                       f"{'met' if p95 <= P95_TARGET_MS else 'MISSED'}")
        return out


def run(db_url: str, *, requests: int = 200, clients: int = 1, workers: int = 1, employers: int = 100,
        server_log: Path | None = None, on_result: Callable[[str, LoadResult], None] | None = None) -> PagesReport:
    subject = asyncio.run(pick_subject(db_url, employers))
    with serve(db_url, workers=workers, log=server_log) as server:
        headers = {"Cookie": sign_in(server.url, subject.email)}
        plans = {
            "GET /queue": [http_request("GET", "/queue", headers=headers)] * requests,
            "GET /api/employers/{id}/timeline": [
                http_request("GET", f"/api/employers/{subject.employers[i % len(subject.employers)]}/timeline",
                             headers=headers) for i in range(requests)],
            "GET /employers/{id}": [
                http_request("GET", f"/employers/{subject.employers[i % len(subject.employers)]}", headers=headers)
                for i in range(requests)],
        }
        results = {}
        for name, payloads in plans.items():
            run_load(server.port, payloads[: max(5, requests // 10)], clients=clients)  # warm-up
            results[name] = run_load(server.port, payloads, clients=clients)
            if on_result is not None:
                on_result(name, results[name])
    return PagesReport(subject, results, clients)
