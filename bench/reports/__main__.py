"""python -m bench.reports --db sqlite|postgresql [--path var/bench.db | --url ...] [--runs 5]

Time of each report (`crm.reports.service`, the very functions `/api/reports/...` and `/reports`
call) on the generated California-scale data set, in this process, for the region with the most
touches (LA-BASIN) and the one with the fewest, over the default twelve months. Prints p50 and max
wall time per report and region; no target is set for reports (the page loads each on its own).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

import crm.models  # noqa: F401  (every mapper, for the queries' joins)
from bench.common import add_database_arguments, bench_database_url
from crm import clock
from crm.directory.models import Region
from crm.reports import measures, service
from crm.touches.models import Touch


async def run(url: str, runs: int) -> list[str]:
    engine = create_async_engine(url)
    today = clock.today()
    period = measures.default_period(today)
    lines = [f"period {period.start} .. {period.end}; {runs} runs each (after one warm-up)",
             f"{'region':<16} {'touches':>9}  {'report':<22} {'p50 ms':>8} {'max ms':>8}"]
    async with AsyncSession(engine) as db:
        sizes = (await db.execute(select(Region, func.count(Touch.id)).join(Touch, Touch.region_id == Region.id)
                                  .group_by(Region.id).order_by(func.count(Touch.id).desc()))).all()
        if not sizes:
            raise SystemExit("no touches in this database: run python -m bench.generate first")
        for region, touches in dict.fromkeys((sizes[0], sizes[-1])):
            reports: dict[str, Callable[[], Awaitable[Any]]] = {
                "touches-per-employer": lambda r=region: service.touches_per_employer(db, r, period),
                "bundling": lambda r=region: service.bundling(db, r, period),
                "response-times": lambda r=region: service.response_times(db, r, period),
                "queue-age": lambda r=region: service.queue_age(db, r, today),
                "employer-measures": lambda r=region: service.employer_measures(db, r, period),
            }
            for name, report in reports.items():
                await report()
                times = []
                for _ in range(runs):
                    start = time.perf_counter()
                    await report()
                    times.append((time.perf_counter() - start) * 1000)
                lines.append(f"{region.code:<16} {touches:>9,}  {name:<22} {statistics.median(times):>8.1f} "
                             f"{max(times):>8.1f}")
    await engine.dispose()
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__.split("\n\n")[0])
    add_database_arguments(parser)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    print("\n".join(asyncio.run(run(bench_database_url(args.db, args.path, args.url), args.runs))))


if __name__ == "__main__":
    main()
