"""Intake throughput and latency: ``POST /api/touch-requests`` against a real server, with the
server's ``GET /healthz`` measured in the same run by the same client as the ceiling.

The request mix (seeded, planned before the clock starts) follows what partners send:

* 45% a new request by ``employer_id`` for an employer of a region the partner's organization serves;
* 15% by ``employer_id`` for an employer with an open touch, inside that touch's window (bundles);
* 15% by name and website (or name, city and ZIP) of an existing employer (the resolver's path);
* 5% by name of an employer nobody has recorded yet (a provisional employer is created);
* 15% repeats of a request sent earlier in the run by the same partner (ReturnExisting, 200);
* 5% repeats of an open request already in the data set, by a partner of that organization.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec
from sqlalchemy import text

from bench.common import LoadResult, http_request, run_load, serve
from bench.generate import BENCH_PASSWORD
from crm import clock
from crm.db import make_engine
from crm.settings import Settings
from crm.touches.routing import Purpose

PURPOSES = tuple(p.value for p in Purpose)
P99_TARGET_MS = 50.0
CEILING_SHARE_TARGET = 0.15
MIX = (("by_id", 45), ("bundle", 15), ("by_name", 15), ("unknown", 5), ("repeat", 15), ("repeat_open", 5))


@dataclass
class Partner:
    user_id: int
    email: str
    org_id: int
    region_codes: list[str]
    token: str = ""


@dataclass
class Sample:
    """What the plan draws from: partners, employers per region, open touches, open requests."""

    partners: list[Partner]
    employers: dict[str, list[tuple[int, str, str | None, str | None, str | None]]]  # id, name, website, city, zip
    open_touches: dict[str, list[tuple[int, dt.date, dt.date]]]  # employer id, window
    open_requests: list[tuple[int, int, str]]  # org id, employer id, purpose


@dataclass
class Planned:
    partner: int  # index into Sample.partners
    kind: str
    body: dict[str, object]


@dataclass
class Tally:
    kinds: list[str]
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)

    def __call__(self, index: int, status: int, body: bytes) -> None:
        if status == 200:
            self.outcomes["existing request returned (200)"] += 1
        elif status == 201:
            out = msgspec.json.decode(body)
            decision = str(out.get("decision", ""))
            word = "bundled" if decision.startswith("Bundled") else str(out.get("status"))
            self.outcomes[f"{word} (201)"] += 1
        else:
            self.errors[f"{status} {self.kinds[index]}: {body[:160].decode(errors='replace')}"] += 1


async def load_sample(db_url: str, partners: int, today: dt.date, seed: int) -> Sample:
    """Read the partners and employers the plan draws from (a deterministic sample by id)."""
    engine = make_engine(Settings(database_url=db_url))
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(
                "SELECT u.id, u.email, u.organization_id, r.code FROM user_account u "
                "JOIN role_grant g ON g.user_id = u.id AND g.role = 'partner' "
                "JOIN organization_region o ON o.organization_id = u.organization_id "
                "JOIN region r ON r.id = o.region_id WHERE u.email LIKE 'partner-%' ORDER BY u.id, r.code"))).all()
            by_user: dict[int, Partner] = {}
            for uid, email, org_id, code in rows:
                by_user.setdefault(uid, Partner(uid, email, org_id, [])).region_codes.append(code)
            # One partner per organization first (different organizations is the realistic case).
            firsts = {p.org_id: p for p in reversed(list(by_user.values()))}
            chosen = sorted(firsts.values(), key=lambda p: p.user_id)
            random.Random(seed).shuffle(chosen)
            chosen = chosen[:partners]
            employers: dict[str, list[tuple[int, str, str | None, str | None, str | None]]] = {}
            for eid, name, website, city, zip_, code in await conn.execute(text(
                    "SELECT e.id, e.legal_name, e.website, e.city, e.zip, r.code FROM employer e "
                    "JOIN region r ON r.id = e.region_id WHERE e.status = 'active' AND e.do_not_contact = :f "
                    "AND e.id % 13 = 0"), {"f": False}):
                employers.setdefault(code, []).append((eid, name, website, city, zip_))
            open_touches: dict[str, list[tuple[int, dt.date, dt.date]]] = {}
            for eid, ws, we, code in await conn.execute(text(
                    "SELECT t.employer_id, t.window_start, t.window_end, r.code FROM touch t "
                    "JOIN region r ON r.id = t.region_id WHERE t.status IN ('queued', 'scheduled') "
                    "AND t.window_end >= :today ORDER BY t.id"), {"today": today}):
                open_touches.setdefault(code, []).append((eid, _date(ws), _date(we)))
            orgs = {p.org_id for p in chosen}
            open_requests = [(o, e, p) for o, e, p in await conn.execute(text(
                "SELECT requester_org_id, employer_id, purpose FROM touch_request "
                "WHERE status IN ('queued', 'held', 'scheduled') ORDER BY id")) if o in orgs]
    finally:
        await engine.dispose()
    return Sample(chosen, employers, open_touches, open_requests)


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def plan(sample: Sample, n: int, *, clients: int, today: dt.date, seed: int) -> list[Planned]:
    """``n`` request bodies in the mix above; repeats only point at requests sent long enough before
    (more than two rounds of ``clients``) that the first one has been answered."""
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    by_org = {p.org_id: i for i, p in enumerate(sample.partners)}
    out: list[Planned] = []
    for i in range(n):
        kind = rng.choices(kinds, weights)[0]
        if kind == "repeat" and i <= 2 * clients:
            kind = "by_id"
        if kind == "repeat_open" and not sample.open_requests:
            kind = "by_id"
        if kind == "repeat":
            earlier = out[rng.randrange(0, i - 2 * clients)]
            out.append(Planned(earlier.partner, kind, earlier.body))
            continue
        if kind == "repeat_open":
            org, employer_id, purpose = rng.choice(sample.open_requests)
            start = today + dt.timedelta(days=rng.randrange(0, 8))
            out.append(Planned(by_org[org], kind, {"employer_id": employer_id, "purpose": purpose,
                                                   "window_start": start.isoformat(),
                                                   "window_end": (start + dt.timedelta(days=30)).isoformat()}))
            continue
        pi = rng.randrange(len(sample.partners))
        region = rng.choice(sample.partners[pi].region_codes)
        if not sample.employers.get(region):  # only in tiny smoke data sets
            region = rng.choice(sorted(sample.employers))
        start = today + dt.timedelta(days=rng.randrange(0, 8))
        body: dict[str, object] = {"purpose": rng.choice(PURPOSES), "region": region,
                                   "summary": "Benchmark request", "window_start": start.isoformat(),
                                   "window_end": (start + dt.timedelta(days=30)).isoformat()}
        if kind == "bundle" and sample.open_touches.get(region):
            eid, ws, we = rng.choice(sample.open_touches[region])
            body.update(employer_id=eid, window_start=max(ws, today).isoformat(), window_end=we.isoformat())
        elif kind == "by_name" and sample.employers.get(region):
            _eid, name, website, city, zip_ = rng.choice(sample.employers[region])
            body["employer"] = {"name": name, "website": website} if website else {
                "name": name, "city": city, "zip": zip_}
        elif kind == "unknown":
            body["employer"] = {"name": f"Bench Newco {seed}-{i} Fabrication LLC", "city": "Fresno"}
        else:
            kind = "by_id"
            body["employer_id"] = rng.choice(sample.employers[region])[0]
        out.append(Planned(pi, kind, body))
    return out


async def issue_tokens(base_url: str, partners: list[Partner]) -> None:
    """Bearer tokens through ``POST /api/auth/token``, as API clients get them (one at a time: each
    sign-in is an argon2 verification, which would only compete with the server for the CPU)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for p in partners:
            r = await client.post("/api/auth/token", json={"email": p.email, "password": BENCH_PASSWORD,
                                                           "label": "bench"})
            r.raise_for_status()
            p.token = r.json()["token"]


def encode(planned: list[Planned], partners: list[Partner]) -> list[bytes]:
    return [http_request("POST", "/api/touch-requests", headers={
        "Authorization": f"Bearer {partners[p.partner].token}", "Content-Type": "application/json"},
        body=msgspec.json.encode(p.body)) for p in planned]


@dataclass
class Level:
    """One client count of a run: intake and ceiling measured back to back by the same client."""

    clients: int
    intake: LoadResult
    ceiling: LoadResult
    tally: Tally
    intake_cpu: float  # server CPU seconds spent during the intake measurement
    ceiling_cpu: float

    @property
    def ratio(self) -> float:
        return self.intake.throughput / self.ceiling.throughput

    def cpu_ms(self, kind: str) -> float:
        result, cpu = (self.intake, self.intake_cpu) if kind == "intake" else (self.ceiling, self.ceiling_cpu)
        return 1000 * cpu / max(result.count, 1)


@dataclass
class IntakeReport:
    levels: list[Level]
    workers: int
    http: str

    def lines(self) -> list[str]:
        out = [f"client: one asyncio process, raw HTTP/1.1 keep-alive; server: crm serve, {self.workers} "
               f"worker(s), http/loop {self.http}"]
        for level in self.levels:
            p99 = level.intake.pct_ms(99)
            out += [f"-- {level.clients} connections",
                    level.intake.summary("POST /api/touch-requests"),
                    level.ceiling.summary("GET /healthz (ceiling)"),
                    f"server CPU per request: intake {level.cpu_ms('intake'):.2f} ms, "
                    f"healthz {level.cpu_ms('ceiling'):.3f} ms",
                    f"intake / ceiling throughput: {level.ratio:.1%} (target >= {CEILING_SHARE_TARGET:.0%}: "
                    f"{'met' if level.ratio >= CEILING_SHARE_TARGET else 'MISSED'})",
                    f"intake p99: {p99:.1f} ms (target <= {P99_TARGET_MS:.0f} ms: "
                    f"{'met' if p99 <= P99_TARGET_MS else 'MISSED'})",
                    "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(level.tally.outcomes.items()))]
            out += [f"error x{n}: {msg}" for msg, n in level.tally.errors.most_common(5)]
        out += ["", "| clients | intake req/s | p50 / p95 / p99 ms | server CPU ms/intake | ceiling req/s "
                    "| CPU ms/healthz | ratio | errors |",
                "|---|---|---|---|---|---|---|---|"]
        for level in self.levels:
            i = level.intake
            errors = sum(level.tally.errors.values())
            out.append(f"| {level.clients} | {i.throughput:.1f} | {i.pct_ms(50):.1f} / {i.pct_ms(95):.1f} / "
                       f"{i.pct_ms(99):.1f} | {level.cpu_ms('intake'):.2f} | {level.ceiling.throughput:.0f} | "
                       f"{level.cpu_ms('ceiling'):.3f} | {level.ratio:.1%} | {errors} |")
        return out


def run(db_url: str, *, requests: int = 5000, clients: Sequence[int] = (32,), workers: int = 1,
        partners: int = 64, warmup: int = 200, seed: int = 7, server_log: Path | None = None,
        http: str = "auto", loop: str = "auto") -> IntakeReport:
    """Warm up, then for each client count: ``requests`` intakes, then ``GET /healthz`` (the ceiling)."""
    today = clock.today()
    sample = asyncio.run(load_sample(db_url, partners, today, seed))
    planned = plan(sample, warmup + requests * len(clients), clients=max(clients), today=today, seed=seed)
    levels = []
    with serve(db_url, workers=workers, log=server_log, http=http, loop=loop) as server:
        asyncio.run(issue_tokens(server.url, sample.partners))
        payloads = encode(planned, sample.partners)
        run_load(server.port, payloads[:warmup], clients=max(clients), on_response=Tally(
            [p.kind for p in planned[:warmup]]))
        health = http_request("GET", "/healthz")
        for n, count in enumerate(clients):
            chunk = slice(warmup + n * requests, warmup + (n + 1) * requests)
            tally = Tally([p.kind for p in planned[chunk]])
            cpu0 = server.cpu_seconds()
            intake = run_load(server.port, payloads[chunk], clients=count, on_response=tally)
            cpu1 = server.cpu_seconds()
            run_load(server.port, [health] * min(warmup, 1000), clients=count)
            cpu2 = server.cpu_seconds()
            ceiling = run_load(server.port, [health] * max(requests, 5000), clients=count)
            levels.append(Level(count, intake, ceiling, tally, cpu1 - cpu0, server.cpu_seconds() - cpu2))
    return IntakeReport(levels, workers, f"{http}/{loop}")
