"""``python -m bench.directory [--employers 250000] [--db sqlite|postgresql] [--queries 400]``

Times the employer directory's search (``GET /api/employers?q=``, the directory page, and the queue's
employer filter: ``crm.employers.service.search_employers``, i.e. the count of matches plus their first
page of 25) at California scale, in-process, on the typeahead benchmark's database (built or reused by
``bench.typeahead.build``: N generated employers with the product's search keys). Queries (seed
20261127) are made from random existing employers' names, four kinds of what people type into a search
box: ``start`` (the name's first word), ``typed`` (the first 4+ characters), ``later`` (a later word of
the name, whole), ``words`` (two of its words, the last one first: "Hill Robinson" for "Hill and Robinson
Veterinary Hospital"). Prints p50/p95/p99 ms and how often the employer the query was made from is among
the matches (``found``) and on the first page (``page 1``), per kind.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

import crm.models  # noqa: F401  (complete metadata)
from bench.typeahead.__main__ import _pct, _url, build
from crm.db import make_engine, make_sessionmaker
from crm.employers.models import Employer
from crm.employers.service import search_employers, search_query
from crm.settings import Settings

SEED = 20261127
STOP = {"and", "of", "the", "&", "inc", "inc.", "llc", "co", "co.", "corp", "corp.", "company", "corporation"}


@dataclass(frozen=True)
class Case:
    kind: str
    q: str
    target: int


def _cases(rows: list[tuple[int, str]], rng: random.Random) -> list[Case]:
    cases = []
    for employer_id, name in rows:
        words = [w for w in name.replace(",", " ").split() if w.lower() not in STOP and w.isalpha()]
        if not words:
            continue
        kind = rng.choice(("start", "typed", "later", "words"))
        if kind == "start":
            q = words[0]
        elif kind == "typed":
            q = name[:rng.randrange(4, max(5, len(name)))]
        elif len(words) < 2:
            kind, q = "start", words[0]
        elif kind == "later":
            q = rng.choice(words[1:])
        else:
            q = f"{words[-1]} {words[0]}"
        cases.append(Case(kind, q, employer_id))
    return cases


async def run(settings: Settings, count: int) -> None:
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with sessionmaker() as db:
            top = await db.scalar(select(func.max(Employer.id))) or 0
            rng = random.Random(SEED)
            ids = sorted(rng.sample(range(1, top + 1), min(count, top)))
            rows = [(i, n) for i, n in await db.execute(select(Employer.id, Employer.legal_name)
                                                        .where(Employer.id.in_(ids)))]
        cases = _cases(rows, rng)
        times: dict[str, list[float]] = defaultdict(list)
        found: dict[str, int] = defaultdict(int)
        first: dict[str, int] = defaultdict(int)
        async with sessionmaker() as db:
            for case in cases[:20]:  # warm caches
                await search_employers(db, case.q)
            for case in cases:
                t0 = time.perf_counter()
                page, _total = await search_employers(db, case.q)
                times[case.kind].append((time.perf_counter() - t0) * 1000)
                first[case.kind] += any(e.id == case.target for e in page)
                found[case.kind] += bool(await db.scalar(
                    search_query(case.q).where(Employer.id == case.target).with_only_columns(Employer.id)))
                db.expunge_all()
    finally:
        await engine.dispose()
    print(f"{'kind':8} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'found':>7} {'page 1':>7}")
    every = [t for kind in times for t in times[kind]]
    for kind in ("start", "typed", "later", "words"):
        t = times[kind]
        if t:
            print(f"{kind:8} {len(t):5d} {_pct(t, 50):8.1f} {_pct(t, 95):8.1f} {_pct(t, 99):8.1f} "
                  f"{found[kind] / len(t):7.1%} {first[kind] / len(t):7.1%}")
    print(f"{'all':8} {len(every):5d} {_pct(every, 50):8.1f} {_pct(every, 95):8.1f} {_pct(every, 99):8.1f} "
          f"{sum(found.values()) / len(every):7.1%} {sum(first.values()) / len(every):7.1%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.directory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--employers", type=int, default=250_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--url", help="database URL (default: the typeahead benchmark's)")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database even if it exists")
    args = parser.parse_args(argv)
    settings = Settings(database_url=_url(args), scheduler_enabled=False)
    print(f"database: {settings.database_url.split('@')[-1]}  employers: {args.employers:,}")
    asyncio.run(build(settings, args.employers, args.rebuild))
    asyncio.run(run(settings, args.queries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
