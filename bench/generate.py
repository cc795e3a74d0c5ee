"""python -m bench.generate --db sqlite|postgresql [--scale 1.0] [--path var/bench.db | --url ...]

Builds the California-scale benchmark data set from scratch: the schema through Alembic
(``crm.migrate.upgrade``), the reference data (``crm.seed.load_reference``), then organizations,
users, employers, SPOC assignments, three years of completed touches and the open work, all planned
by ``bench.datasets.world`` (seeded) and bulk-written by ``bench.datasets.store``. Every bench user's
password is ``BENCH_PASSWORD``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text

import crm.models  # noqa: F401  (complete metadata for the store's column defaults)
from bench.datasets import world as w
from bench.datasets.store import PostgresStore, SqliteStore, Store
from crm import clock, migrate
from crm.auth.passwords import hash_password
from crm.db import make_engine, make_sessionmaker
from crm.directory.models import County, Region
from crm.seed import load_reference
from crm.settings import Settings

BENCH_PASSWORD = "onedoor-bench"
DEFAULT_PATH = Path("var/bench.db")
DEFAULT_SEED = 20261122


@dataclass
class BuildReport:
    counts: dict[str, int]
    seconds: float
    database_url: str

    def lines(self) -> list[str]:
        out = [f"{name:<28} {count:>10,}" for name, count in self.counts.items()]
        out.append(f"built in {self.seconds:.1f} s -> {self.database_url}")
        return out


def database_url(db: str, path: Path | None, url: str | None) -> str:
    if db == "sqlite":
        return f"sqlite+aiosqlite:///{(path or DEFAULT_PATH).resolve()}"
    if not url:
        raise SystemExit("--db postgresql needs --url postgresql+asyncpg://user@host:port/dbname")
    return url


async def _reset_postgres(settings: Settings) -> None:
    engine = make_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _reference(settings: Settings) -> list[w.RegionRef]:
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            await load_reference(db)
            regions = list(await db.scalars(select(Region).order_by(Region.code)))
            counties = list(await db.execute(select(County.region_id, County.id, County.name).order_by(County.name)))
    finally:
        await engine.dispose()
    by_region: dict[int, list[tuple[int, str]]] = {}
    for region_id, county_id, name in counties:
        by_region.setdefault(region_id, []).append((county_id, name))
    return [w.RegionRef(r.id, r.code, r.name, tuple(by_region.get(r.id, []))) for r in regions]


def _chunks(rows: Iterable[w.Row], size: int = 50_000) -> Iterator[list[w.Row]]:
    batch: list[w.Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def build(url: str, *, scale: float = 1.0, seed: int = DEFAULT_SEED, today: dt.date | None = None,
          progress: Callable[[str], None] = lambda _: None) -> BuildReport:
    """Rebuild the database at ``url`` (an existing SQLite file is replaced, a PostgreSQL schema
    dropped) and fill it; returns the row counts and the build time."""
    started = time.perf_counter()
    settings = Settings(database_url=url, scheduler_enabled=False)
    path = settings.sqlite_path
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        asyncio.run(_reset_postgres(settings))
    migrate.upgrade(settings)
    regions = asyncio.run(_reference(settings))
    world = w.World(regions, w.Scale.of(scale, len(regions)), seed=seed, today=today or clock.today(),
                    password_hash=hash_password(BENCH_PASSWORD))
    store: Store = SqliteStore(path) if path is not None else PostgresStore(url)
    try:
        orgs, links = world.organizations()
        store.insert("organization", w.ORGANIZATION_COLUMNS, orgs)
        store.insert("organization_region", w.ORGANIZATION_REGION_COLUMNS, links)
        users, grants = world.users()
        store.insert("user_account", w.USER_COLUMNS, users)
        store.insert("role_grant", w.GRANT_COLUMNS, grants)
        progress(f"{len(orgs)} organizations, {len(users)} users")
        for batch in _chunks(world.employers()):
            store.insert("employer", w.EMPLOYER_COLUMNS, batch)
        progress(f"{world.counts['employers']:,} employers ({time.perf_counter() - started:.0f} s)")
        for batch in _chunks(world.assignments()):
            store.insert("spoc_assignment", w.ASSIGNMENT_COLUMNS, batch)
        for touches, requests in world.history(batch_employers=25_000):
            store.insert("touch", w.TOUCH_COLUMNS, touches)
            store.insert("touch_request", w.REQUEST_COLUMNS, requests)
            progress(f"{world.counts['touches (history)']:,} history touches ({time.perf_counter() - started:.0f} s)")
        touches, requests = world.open_work()
        store.insert("touch", w.TOUCH_COLUMNS, touches)
        store.insert("touch_request", w.REQUEST_COLUMNS, requests)
        progress("analyzing")
        store.finish()
    finally:
        store.close()
    return BuildReport(dict(world.counts), time.perf_counter() - started, url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[1])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = California scale; 0.001 for a smoke run")
    parser.add_argument("--path", type=Path, help=f"SQLite file (default {DEFAULT_PATH}); replaced")
    parser.add_argument("--url", help="postgresql+asyncpg://... (its public schema is dropped and rebuilt)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--force", action="store_true", help="allow a PostgreSQL database not named *bench*")
    args = parser.parse_args(argv)
    url = database_url(args.db, args.path, args.url)
    if args.db == "postgresql" and "bench" not in url.rsplit("/", 1)[-1] and not args.force:
        raise SystemExit("refusing to drop the schema of a database whose name lacks 'bench' (use --force)")
    report = build(url, scale=args.scale, seed=args.seed, progress=lambda m: print(f"  .. {m}", flush=True))
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
