"""CSV import of employers, the shell: load what planning needs, write each batch in one transaction.

``run_import`` is the one code path behind ``crm import employers``, the upload page (as a
background task in the server process) and ``bench/import_bench``. Per batch it validates the
rows, loads the candidate employers the key index names and the planner would compare (one
query), asks the pure planner (``import_matching.plan_batch``) and writes employers, aliases, contacts,
audit events, search keys, row keys, the batch row and the job's progress in one transaction -
so a killed process leaves only whole batches behind, and a rerun recognizes those rows by their
row keys. All-or-nothing per batch: a batch with any invalid row imports nothing.

Where the time goes and why it is arranged so (bench/README.md, "import"): the key index of every
employer is read once; writes skip Core's per-row parameter handling; and while SQLite commits a
batch in its driver thread (which needs no GIL), the main thread validates the next batch and
finds its candidates - the two cores work at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

import msgspec
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm.audit.models import AuditEvent
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.db import begin_write, make_sessionmaker
from crm.directory.models import County, Region
from crm.employers import import_file, import_matching, import_rows
from crm.employers.candidates import employer_search_key, record_keys, refresh_keys
from crm.employers.import_file import ImportFileError
from crm.employers.import_matching import KeyIndex, RowPlan
from crm.employers.import_models import ImportBatch, ImportJob, ImportRowKey, ImportStatus
from crm.employers.import_rows import Reference, RowError, ValidRow
from crm.employers.matching import EmployerRecord, name_key
from crm.employers.matching.pairwise import features
from crm.employers.models import Employer, EmployerAlias, EmployerContact, EmployerStatus
from crm.settings import Settings

log = logging.getLogger("crm.import")

# Rows per all-or-nothing batch (one transaction). 2,000 rather than 1,000 halves the per-batch
# flush and commit overhead (bench.import_bench, 100,000 rows: 29.5 s -> 24.2 s) while a bad row
# still holds back at most 2,000 others -- and the dry run lists every bad row before anything runs.
DEFAULT_BATCH_SIZE = 2000

Progress = Callable[[int, int], None]
SAMPLE = 200  # rows of each kind kept in a job's report for the preview page
STALE_AFTER = dt.timedelta(minutes=10)  # a running job without heartbeat this long was interrupted
_EMPLOYER_COLUMNS = ("legal_name", "name_key", "dba", "website", "domain", "fein", "phone", "naics_code",
                     "sector_code", "size_band", "address_line", "city", "zip", "county_id", "region_id")
_AUDITED = ("legal_name", "dba", "website", "domain", "fein", "phone", "naics_code", "size_band", "address_line",
            "city", "zip", "county_id", "region_id")
_FETCH = ("dba", "website", "domain", "fein", "phone", "naics_code", "sector_code", "size_band", "address_line",
          "city", "zip", "county_id", "region_id")


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


@dataclass
class Stages:
    """Wall and CPU seconds per stage of a run (CPU of the whole process, so the database
    driver's thread counts too): the benchmark prints them, the job's report keeps them."""

    wall: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cpu: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        w, c = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] += time.perf_counter() - w
            self.cpu[name] += time.process_time() - c

    def summary(self) -> dict[str, tuple[float, float]]:
        return {name: (round(self.wall[name], 2), round(self.cpu[name], 2)) for name in self.wall}


@dataclass
class ImportResult:
    """What a run did (or, dry, would do); the CLI prints it and the job stores its summary."""

    total_rows: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[RowError] = field(default_factory=list)
    committed_batches: list[int] = field(default_factory=list)
    rejected_batches: list[tuple[int, int, int]] = field(default_factory=list)  # (batch, first row, last row)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unknown_ignored: list[str] = field(default_factory=list)
    job_id: int | None = None
    seconds: float = 0.0
    dry_run: bool = False
    stages: Stages = field(default_factory=Stages)

    def sample(self, plan: RowPlan) -> None:
        rows = self.samples.setdefault(plan.action, [])
        if len(rows) < SAMPLE:
            rows.append({
                "row": plan.number,
                "name": plan.row.values["legal_name"] if plan.row else "",
                "target": plan.target if isinstance(plan.target, int) else None,
                "duplicate_of": plan.duplicate_of,
                "explanation": plan.explanation,
                "candidates": [list(c) for c in plan.candidates],
            })

    def summary(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in self.errors[:1000]],
            "error_count": len(self.errors),
            "rejected_batches": [list(b) for b in self.rejected_batches],
            "committed_batches": len(self.committed_batches),
            "samples": self.samples,
            "seconds": round(self.seconds, 2),
            "stages": self.stages.summary(),
        }


# --- loading ---------------------------------------------------------------------------------

async def load_reference(db: AsyncSession, region: str | None = None,
                         actor: Principal | None = None) -> Reference:
    """Counties and regions for validation; ``region`` limits the import to that region."""
    counties: dict[str, tuple[int, int]] = {}
    county_names: dict[int, str] = {}
    for cid, cname, rid in await db.execute(select(County.id, County.name, County.region_id)):
        counties[cname.lower()] = (cid, rid)
        county_names[cid] = cname
    regions = {code: rid for rid, code in await db.execute(select(Region.id, Region.code))}
    default = None
    if region:
        default = regions.get(region.strip().upper())
        if default is None:
            raise ImportFileError(f"Unknown region code {region!r}")
    allowed = None
    if actor is not None and not actor.is_admin:
        allowed = actor.regions_for(Role.lead)
    return Reference(counties, county_names, regions, {v: k for k, v in regions.items()}, default, allowed)


async def load_index(db: AsyncSession) -> KeyIndex:
    """Every live employer's exact keys, read once (the employer table's own indexed columns)."""
    index = KeyIndex()
    by_fein, by_domain, by_name, by_zip = index.by_fein, index.by_domain, index.by_name, index.by_zip_prefix
    brief = index.brief
    e = _table(Employer).c
    result = await db.stream(select(e.id, e.name_key, e.zip, e.domain, e.fein, e.dba, e.legal_name, e.phone)
                             .where(e.status != EmployerStatus.merged.value))
    # import_matching.put_id inlined: this loop runs 250,000 times at California scale.
    async for part in result.partitions(50_000):
        for emp_id, key, zip_code, domain, fein, dba, legal_name, phone in part:
            if key:
                if (found := by_name.get(key)) is None:
                    by_name[key] = emp_id
                elif found.__class__ is list:
                    found.append(emp_id)  # type: ignore[union-attr]
                else:
                    by_name[key] = [found, emp_id]  # type: ignore[list-item]
                if zip_code:
                    zip_key = f"{zip_code}:{key.replace(' ', '')[:4]}"
                    if (found := by_zip.get(zip_key)) is None:
                        by_zip[zip_key] = emp_id
                    elif found.__class__ is list:
                        found.append(emp_id)  # type: ignore[union-attr]
                    else:
                        by_zip[zip_key] = [found, emp_id]  # type: ignore[list-item]
            if fein:
                if (found := by_fein.get(fein)) is None:
                    by_fein[fein] = emp_id
                elif found.__class__ is list:
                    found.append(emp_id)  # type: ignore[union-attr]
                else:
                    by_fein[fein] = [found, emp_id]  # type: ignore[list-item]
            if domain:
                if (found := by_domain.get(domain)) is None:
                    by_domain[domain] = emp_id
                elif found.__class__ is list:
                    found.append(emp_id)  # type: ignore[union-attr]
                else:
                    by_domain[domain] = [found, emp_id]  # type: ignore[list-item]
            if dba:
                if dba_key := name_key(dba):
                    import_matching.put_id(by_name, dba_key, emp_id)
            else:
                brief[emp_id] = (legal_name, phone)
    a = _table(EmployerAlias).c
    alias_rows = await db.stream(select(a.employer_id, a.name_key))
    async for aliases in alias_rows.partitions(50_000):
        for emp_id, key in aliases:
            brief.pop(emp_id, None)
            if key:
                import_matching.put_id(by_name, key, emp_id)
    return index


# --- jobs ------------------------------------------------------------------------------------

async def mark_stale_jobs(db: AsyncSession, now: dt.datetime) -> None:
    """Jobs whose process stopped (killed, restarted) are shown as interrupted, not running forever."""
    await db.execute(update(ImportJob).where(
        ImportJob.status.in_([ImportStatus.running.value, ImportStatus.previewing.value]),
        ImportJob.heartbeat_at < now - STALE_AFTER,
    ).values(status=ImportStatus.interrupted.value))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the run ---------------------------------------------------------------------------------

_paused = 0  # runs in this process that hold the process-wide settings below
_collector_was_enabled = True
_heap_was_frozen = False
_switch_interval = 0.005
# How long a thread may hold the GIL while another waits for it (CPython's default: 5 ms). The
# SQLite driver's thread needs the GIL for a moment after each statement (to hand the result
# back) while the main thread prepares the next batch; at 5 ms per statement the commit window
# of every batch waited on that hand-over more than on SQLite (bench: 31.7 s -> 27.5-28.0 s).
_RUN_SWITCH_INTERVAL = 0.0005


@contextmanager
def _run_settings() -> Iterator[None]:
    """Process-wide settings for a run, restored when the last overlapping run in the process ends.

    The cyclic garbage collector is held off: automatic collection is off, and after each batch
    the run moves what survived into the collector's permanent generation (``gc.freeze()``, see
    ``_settle``) instead of scanning it. An import keeps a large, long-lived working set (the key
    index of every employer, the validated rows, the matcher's caches) and allocates hundreds of
    thousands of objects per batch, so the automatic collector ran thousands of times and
    re-scanned that working set: a quarter to a third of the import's CPU time. Reference
    counting still frees everything as usual; only garbage cycles (measured: too few to change
    the peak memory of a 100,000-row run) wait until the run ends, when the frozen objects go
    back to the collector (``gc.unfreeze()``).

    The GIL switch interval is shortened (``_RUN_SWITCH_INTERVAL``).
    """
    global _paused, _collector_was_enabled, _switch_interval, _heap_was_frozen
    if _paused == 0:
        _collector_was_enabled = gc.isenabled()
        # `crm serve` freezes its startup heap (crm.app.create_app_from_env); an upload import
        # in a server process must leave it frozen when the run ends.
        _heap_was_frozen = gc.get_freeze_count() > 0
        gc.disable()
        _switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(_RUN_SWITCH_INTERVAL)
    _paused += 1
    try:
        yield
    finally:
        _paused -= 1
        if _paused == 0:
            sys.setswitchinterval(_switch_interval)
            gc.unfreeze()
            if _heap_was_frozen:
                gc.collect()  # the run's garbage cycles, once
                gc.freeze()
            if _collector_was_enabled:
                gc.enable()


def _settle() -> None:
    """After a batch: what survived it is long-lived (index entries, cached parses), so the
    collector need not look at it again during the run (see ``_run_settings``)."""
    gc.freeze()


async def run_import(
    sessionmaker: async_sessionmaker[AsyncSession],
    data: bytes,
    *,
    filename: str = "employers.csv",
    mapping: dict[str, str] | None = None,
    region: str | None = None,
    actor: Principal | None = None,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    job_id: int | None = None,
    on_progress: Progress | None = None,
) -> ImportResult:
    """Import (or with ``dry_run`` only plan) a CSV of employers; see the module docstring.

    ImportFileError for problems of the whole file (nothing is written). ``mapping`` overrides
    the guessed header → column mapping. With ``job_id`` the run reports progress on that job
    (the upload page); otherwise a real run creates a job of its own and a dry run writes nothing.
    """
    with _run_settings():
        return await _run_import(sessionmaker, data, filename=filename, mapping=mapping, region=region, actor=actor,
                                 dry_run=dry_run, batch_size=batch_size, job_id=job_id, on_progress=on_progress)


async def _run_import(sessionmaker: async_sessionmaker[AsyncSession], data: bytes, *, filename: str,
                      mapping: dict[str, str] | None, region: str | None, actor: Principal | None, dry_run: bool,
                      batch_size: int, job_id: int | None, on_progress: Progress | None) -> ImportResult:
    started = time.perf_counter()
    if batch_size < 1:
        raise ImportFileError("batch size must be at least 1")
    stages = Stages()
    with stages("read"):
        table = import_file.read_csv(data)
        wanted = {**import_file.guess_mapping(table.headers), **(mapping or {})}
        columns = import_file.check_mapping(table.headers, wanted, mapping)
    result = ImportResult(dry_run=dry_run, total_rows=len(table.rows), stages=stages)
    result.unknown_ignored = [h for h in table.headers if wanted.get(h) == import_file.IGNORE]

    async with sessionmaker() as db:
        ref = await load_reference(db, region, actor)
    # Rows are validated batch by batch (each batch's all-or-nothing verdict needs only its own
    # rows), the next batch while this one commits.
    raw = list(import_file.raw_rows(table, columns))

    now = _now()
    if job_id is None and not dry_run:
        async with sessionmaker() as db, db.begin():
            await mark_stale_jobs(db, now)
            job = ImportJob(created_by_id=actor.id if actor else None, source="cli", filename=filename[:255],
                            file_sha256=import_file.file_sha256(data), file_size=len(data), headers=table.headers,
                            mapping={h: columns.get(i, import_file.IGNORE) for i, h in enumerate(table.headers)},
                            region_id=ref.default_region_id, status=ImportStatus.running.value,
                            batch_size=batch_size, total_rows=len(table.rows), heartbeat_at=now)
            db.add(job)
        job_id = job.id
    result.job_id = job_id
    if job_id is not None:
        await _update_job(sessionmaker, job_id, total_rows=len(table.rows), processed_rows=0, heartbeat_at=now,
                          status=ImportStatus.previewing.value if dry_run else ImportStatus.running.value)

    with stages("index"):
        async with sessionmaker() as db:
            index = await load_index(db)
    async with _batch_sessions(sessionmaker, dry_run) as batch_sessionmaker:
        processed = await _run_batches(sessionmaker, batch_sessionmaker, raw, batch_size, index, result, actor,
                                       ref, job_id, dry_run, on_progress)

    result.seconds = time.perf_counter() - started
    if job_id is not None:
        await _update_job(sessionmaker, job_id, processed_rows=processed, counts=dict(result.counts),
                          report=result.summary(), finished_at=_now(), heartbeat_at=_now(),
                          status=ImportStatus.previewed.value if dry_run else ImportStatus.done.value,
                          **({} if dry_run else {"content": None}))
    log.info("employer_import", extra={"job_id": job_id, "rows": len(raw), "dry_run": dry_run,
                                       "counts": dict(result.counts), "seconds": round(result.seconds, 2)})
    return result


async def _run_batches(sessionmaker: async_sessionmaker[AsyncSession],
                       batch_sessionmaker: async_sessionmaker[AsyncSession],
                       raw: list[tuple[int, dict[str, str]]], batch_size: int, index: KeyIndex,
                       result: ImportResult, actor: Principal | None, ref: Reference, job_id: int | None,
                       dry_run: bool, on_progress: Progress | None) -> int:
    """Validate, plan and write every batch; returns the number of rows processed."""
    stages = result.stages
    rows_of_file: dict[int | str, int] = {}
    file_records: dict[int | str, EmployerRecord] = {}
    processed = 0
    chunks = [raw[start:start + batch_size] for start in range(0, len(raw), batch_size)]
    ahead: Prepared | None = None  # the next batch, validated (and its candidates found) while this one commits
    for number, raw_chunk in enumerate(chunks, start=1):
        if ahead is None:
            with stages("validate"):
                ahead = Prepared(_validate(raw_chunk, ref, result))
        chunk, prepared, ahead = ahead.rows, ahead.candidate_ids, None
        first, last = chunk[0][0], chunk[-1][0]
        bad = [item for item in chunk if not isinstance(item[1], ValidRow)]
        committed = False
        if bad:
            result.rejected_batches.append((number, first, last))
            result.counts["rejected"] += len(chunk)
            for row_number, outcome in chunk:
                if isinstance(outcome, ValidRow):
                    result.sample(RowPlan(row_number, "skipped", outcome,
                                          explanation=f"batch {number} has invalid rows: nothing of it is imported"))
            if not dry_run and job_id is not None:
                async with sessionmaker() as db, db.begin():
                    db.add(ImportBatch(job_id=job_id, number=number, first_row=first, last_row=last,
                                       status="rejected", counts={"invalid": len(bad), "rows": len(chunk)}))
        else:
            rows = [cast(ValidRow, item[1]) for item in chunk]
            committed, ahead = await _batch(
                batch_sessionmaker, rows, number, index, rows_of_file, file_records, result, actor, ref, job_id,
                dry_run, processed + len(chunk), prepared, chunks[number] if number < len(chunks) else None)
        processed += len(chunk)
        if job_id is not None and not committed:  # a committed batch wrote its progress itself
            with stages("progress"):
                await _update_job(sessionmaker, job_id, processed_rows=processed, heartbeat_at=_now(),
                                  counts=dict(result.counts))
        if on_progress is not None:
            on_progress(processed, len(raw))
        if not committed:  # a committed batch settled while it committed
            _settle()
    return processed


# Settings of the connection a real run writes its batches through (SQLite; restored after the run,
# the connection goes back to the pool). A batch touches thousands of index pages (nine indexes on
# employer, the search keys' two): a 64 MiB page cache keeps them between batches instead of
# re-reading them, and checkpointing the WAL every ~20,000 pages rather than every 1,000 copies a
# page that several batches changed into the database file once.
_SQLITE_RUN_PRAGMAS = {"cache_size": -65536, "wal_autocheckpoint": 20000}


@asynccontextmanager
async def _batch_sessions(sessionmaker: async_sessionmaker[AsyncSession],
                          dry_run: bool) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions for the batches of a real run: all on one connection of the engine's pool, tuned by
    ``_SQLITE_RUN_PRAGMAS`` on SQLite. A dry run (reads only) uses ``sessionmaker`` as it is."""
    engine = sessionmaker.kw.get("bind")
    if dry_run or not isinstance(engine, AsyncEngine):
        yield sessionmaker
        return
    async with engine.connect() as conn:
        before: dict[str, Any] = {}
        if conn.dialect.name == "sqlite":
            for pragma, value in _SQLITE_RUN_PRAGMAS.items():
                before[pragma] = (await conn.exec_driver_sql(f"PRAGMA {pragma}")).scalar()
                await conn.exec_driver_sql(f"PRAGMA {pragma} = {int(value)}")
            await conn.commit()
        try:
            yield make_sessionmaker(conn)
        finally:
            if conn.in_transaction():
                await conn.rollback()
            for pragma, value in before.items():
                await conn.exec_driver_sql(f"PRAGMA {pragma} = {int(value)}")
            await conn.commit()


@dataclass
class Prepared:
    """A batch's rows, validated, and (when all are valid and it was found early) its candidates."""

    rows: list[tuple[int, ValidRow | list[RowError]]]
    candidate_ids: list[int] | None = None


def _validate(raw: Sequence[tuple[int, dict[str, str]]], ref: Reference,
              result: ImportResult) -> list[tuple[int, ValidRow | list[RowError]]]:
    out: list[tuple[int, ValidRow | list[RowError]]] = []
    for number, cells in raw:
        outcome = import_rows.validate_row(number, cells, ref)
        if not isinstance(outcome, ValidRow):
            result.errors.extend(outcome)
            result.counts["invalid"] += 1
        out.append((number, outcome))
    return out


async def _update_job(sessionmaker: async_sessionmaker[AsyncSession], job_id: int, **values: Any) -> None:
    async with sessionmaker() as db, db.begin():
        await db.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


async def _batch(sessionmaker: async_sessionmaker[AsyncSession], rows: list[ValidRow], number: int,
                 index: KeyIndex, rows_of_file: dict[int | str, int], file_records: dict[int | str, EmployerRecord],
                 result: ImportResult, actor: Principal | None, ref: Reference, job_id: int | None,
                 dry_run: bool, processed: int, prepared: list[int] | None,
                 following: Sequence[tuple[int, dict[str, str]]] | None) -> tuple[bool, Prepared | None]:
    """Plan one batch and (unless dry) write it in one transaction, the job's progress included.

    ``prepared``: this batch's candidate ids if the previous batch found them already. While
    this batch commits, the ``following`` rows are validated and their candidates found.
    Returns whether the batch was written (with the job's progress), and the following batch if
    prepared.
    """
    stages = result.stages
    async with sessionmaker() as db:
        with stages("retrieve"):
            if not dry_run:
                # The write lock first: what we read to decide is what we write against (SQLite;
                # a no-op on PostgreSQL, where row keys' unique index catches a concurrent rerun).
                await begin_write(db, inline=False)  # its commit overlaps the next batch's planning
            ids = prepared if prepared is not None else _candidate_ids(rows, index)
            records: dict[int | str, EmployerRecord] = dict(file_records)
            records.update(await load_records(db, ids))
            known = await _known_row_keys(db, [row.row_key for row in rows])
        with stages("plan"):
            plans = import_matching.plan_batch(rows, index, records, known, rows_of_file)
            for plan in plans:
                result.counts[plan.action] += 1
                result.sample(plan)
        if dry_run:
            file_records.update({k: v for k, v in records.items() if isinstance(k, str)})
            return False, None
        ahead: Prepared | None = None
        try:
            with stages("write"):
                later = await _write(db, plans, index, rows_of_file, actor, ref, job_id, number, known, stages)
                if job_id is not None:
                    # Progress commits with the batch: one transaction per batch, and the bar
                    # never shows rows that a kill would lose.
                    await db.execute(update(ImportJob).where(ImportJob.id == job_id).values(
                        processed_rows=processed, heartbeat_at=_now(), counts=dict(result.counts)))
            with stages("commit"):
                # The inserts nothing reads back, then COMMIT (and its WAL checkpoint): on SQLite
                # each is one statement that runs in the driver's thread without the GIL, so
                # meanwhile this thread does the next batch's database-free work (_prepare
                # yields to the event loop between rows so the statements follow each other).
                # The index it reads is final once this batch is written (rows added, ids
                # renamed, changed employers forgotten).
                committing = asyncio.ensure_future(_finish(db, later))
                await asyncio.sleep(0)  # the first statement is on its way to the driver's thread
                try:
                    if following is not None:
                        with stages("commit: next batch prepared meanwhile"):
                            ahead = await _prepare(following, ref, result, index)
                    _settle()
                finally:
                    await committing
        except BaseException:
            await db.rollback()
            raise
        result.committed_batches.append(number)
        return True, ahead


def _candidate_ids(rows: Sequence[ValidRow], index: KeyIndex) -> list[int]:
    """Existing employers the index names for these rows and the planner would compare: the ones
    to load."""
    wanted: set[int] = set()
    for row in rows:
        query = row.query
        names = import_matching.query_names(query)
        wanted.update(i for i in index.candidates(row)
                      if i.__class__ is int and index.worth_loading(query, names, cast(int, i)))
    return sorted(wanted)


async def _finish(db: AsyncSession, later: list[_Bulk]) -> None:
    # Only driver calls here: this runs while the main thread is busy elsewhere (see _batch).
    for bulk in later:
        await bulk.run(db)
    await db.commit()


_YIELD_EVERY = 50  # rows of _prepare between two turns of the event loop


async def _prepare(raw: Sequence[tuple[int, dict[str, str]]], ref: Reference, result: ImportResult,
                   index: KeyIndex) -> Prepared:
    """A batch's work that needs no database: validation, then (all rows valid) its candidate ids
    and the matcher's parse of the rows that will surely need it (cached for the planner and the
    search keys): those whose name key no employer or earlier row has, so not an exact copy."""
    validated: list[tuple[int, ValidRow | list[RowError]]] = []
    with result.stages("validate"):
        for start in range(0, len(raw), _YIELD_EVERY):
            validated += _validate(raw[start:start + _YIELD_EVERY], ref, result)
            await asyncio.sleep(0)
    rows = [r for _, r in validated if isinstance(r, ValidRow)]
    if len(rows) < len(validated):
        return Prepared(validated)
    by_name = index.by_name
    wanted: set[int] = set()
    for start in range(0, len(rows), _YIELD_EVERY):
        part = rows[start:start + _YIELD_EVERY]
        for row in part:
            if row.values["name_key"] not in by_name:
                features(row.query)
        wanted.update(_candidate_ids(part, index))
        await asyncio.sleep(0)
    return Prepared(validated, sorted(wanted))


# --- reading ---------------------------------------------------------------------------------

_ID_CHUNK = 2000  # ids per IN (...) list: well under both databases' bound-parameter limits
_E = _table(Employer).c
_A = _table(EmployerAlias).c
_RECORDS = (select(_E.id, _E.legal_name, _E.dba, _E.domain, _E.fein, _E.phone, _E.address_line, _E.city, _E.zip)
            .where(_E.id.in_(bindparam("ids", expanding=True)), _E.status != EmployerStatus.merged.value))
_ALIASES = (select(_A.employer_id, _A.name).where(_A.employer_id.in_(bindparam("ids", expanding=True)))
            .order_by(_A.employer_id, _A.name))
_K = _table(ImportRowKey).c
_ROW_KEYS = select(_K.row_key, _K.employer_id).where(_K.row_key.in_(bindparam("keys", expanding=True)))
# What _link reads of the employers matched rows link to.
_C = _table(EmployerContact).c
_CURRENT = select(_E.id, _E.name_key, *(_E[col] for col in _FETCH)).where(_E.id.in_(bindparam("ids", expanding=True)))
_ALIAS_KEYS = select(_A.employer_id, _A.name_key).where(_A.employer_id.in_(bindparam("ids", expanding=True)))
_CONTACTS = select(_C.employer_id, _C.name, _C.email).where(_C.employer_id.in_(bindparam("ids", expanding=True)))


async def load_records(db: AsyncSession, ids: Sequence[int]) -> dict[int | str, EmployerRecord]:
    """The matcher's records of these employers (merged ones left out), built as
    ``candidates.load_candidates`` builds them (DBA first, then aliases by name), without the
    columns only a typeahead list shows."""
    out: dict[int | str, EmployerRecord] = {}
    if not ids:
        return out
    conn = await db.connection()  # Core rows: no ORM identity map or objects needed here
    rows: list[Any] = []
    aliases: dict[int, list[str]] = {}
    for chunk in _chunks(ids, _ID_CHUNK):
        params = {"ids": list(chunk)}
        rows += (await conn.execute(_RECORDS, params)).all()
        for emp_id, name in await conn.execute(_ALIASES, params):
            aliases.setdefault(emp_id, []).append(name)
    for emp_id, legal_name, dba, domain, fein, phone, address, city, zip_ in rows:
        names = aliases.get(emp_id, ())
        out[emp_id] = EmployerRecord(id=emp_id, name=legal_name, aliases=(dba, *names) if dba else tuple(names),
                                     domain=domain, fein=fein, phone=phone, address=address, city=city, zip=zip_)
    return out


async def _known_row_keys(db: AsyncSession, keys: Sequence[str]) -> dict[str, int]:
    """Row keys that earlier imports (or earlier batches) wrote → their employer."""
    known: dict[str, int] = {}
    for chunk in _chunks(keys, _ID_CHUNK):
        for key, emp_id in await db.execute(_ROW_KEYS, {"keys": list(chunk)}):
            known[key] = emp_id
    return known


# --- writing ---------------------------------------------------------------------------------



@lru_cache(maxsize=64)
def _plain_insert(table: Table, columns: tuple[str, ...], same: tuple[str, ...], dialect: Dialect,
                  from_json: bool) -> tuple[str, tuple[Any, ...]]:
    """SQL of a plain INSERT of ``columns`` + ``same`` with qmark parameters (SQLite's) - or,
    ``from_json``, of the rows of one JSON array parameter, ``same`` bound once - and each
    column's bind processor (None when the driver takes the value as it is)."""
    quote = dialect.identifier_preparer
    into = f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(c) for c in columns + same)}) "
    if from_json:
        values = [f"json_extract(value, '$[{i}]')" for i in range(len(columns))] + ["?" for _ in same]
        sql = into + f"SELECT {', '.join(values)} FROM json_each(?)"
    else:
        sql = into + f"VALUES ({', '.join('?' for _ in columns + same)})"
    return sql, tuple(table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns + same)


@dataclass(frozen=True)
class _Bulk:
    """An INSERT of many rows with its parameters ready: only the driver call is left."""

    table: Table
    sql: str | None  # the driver SQL (SQLite); None: Core's insert (PostgreSQL)
    params: Any

    async def run(self, db: AsyncSession) -> None:
        conn = await db.connection()
        if self.sql is None:
            await conn.execute(insert(self.table), self.params)
        else:
            await conn.exec_driver_sql(self.sql, self.params)


def _bulk(dialect: Dialect, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]],
          same: dict[str, Any] | None = None, one_statement: bool = False) -> _Bulk:
    """An INSERT of rows given as tuples in ``columns`` order, with the ``same`` column values in all.

    On SQLite each value is run through its column type's own bind processor (so what is stored is
    what Core would store), skipping Core's per-row parameter compilation - the largest cost of
    writing ~10,000 rows per batch. The statement is one driver ``executemany``, or with
    ``one_statement`` a single ``INSERT ... SELECT ... FROM json_each(?)`` of the rows as a JSON
    array: SQLite runs that in one step without taking the GIL back per row, so it proceeds while
    Python works in the other thread. PostgreSQL takes Core's ``insertmanyvalues`` path, already
    one multi-row statement per page of rows.
    """
    same = same or {}
    if dialect.name != "sqlite":
        return _Bulk(table, None, [dict(zip(columns, row, strict=True)) | same for row in rows])
    sql, processors = _plain_insert(table, columns, tuple(same), dialect, one_statement)
    constants = tuple(process(value) if process else value
                      for process, value in zip(processors[len(columns):], same.values(), strict=True))
    for i, process in enumerate(processors[:len(columns)]):
        if process is not None:  # None values too: JSON stores None as 'null'
            rows = [(*row[:i], process(row[i]), *row[i + 1:]) for row in rows]
    if one_statement:
        # msgspec writes the array (UTF-8, no escapes needed) several times faster than json.dumps.
        return _Bulk(table, sql, (*constants, msgspec.json.encode(rows).decode()))
    return _Bulk(table, sql, [(*row, *constants) for row in rows] if constants else rows)


async def _insert_many(db: AsyncSession, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]],
                       same: dict[str, Any] | None = None) -> None:
    """``_bulk`` run now."""
    if rows:
        await _bulk((await db.connection()).dialect, table, columns, rows, same).run(db)


_ALIAS_INSERT = ("employer_id", "name", "name_key")
_CONTACT_INSERT = ("employer_id", "name", "title", "email", "phone")
_AUDIT_INSERT = ("entity_id", "employer_id", "before", "after", "note")
_ROW_KEY_INSERT = ("row_key", "employer_id")
_KEY_INSERT = ("key", "employer_id")


def _stamped(now: dt.datetime, **same: Any) -> dict[str, Any]:
    """Column values every row of an insert shares, with BigIntAuditBase's timestamps (Core inserts
    do not run the ORM's defaults)."""
    return {**same, "created_at": now, "updated_at": now}
# What the matcher (and so the search keys) reads of an employer: a change to these refreshes keys.
_KEYED = frozenset(("dba", "website", "domain", "fein", "phone", "address_line", "city", "zip", "aliases_added"))


Insert = tuple[Table, tuple[str, ...], list[tuple[Any, ...]], dict[str, Any]]  # table, columns, rows, same


async def _write(db: AsyncSession, plans: list[RowPlan], index: KeyIndex, rows_of_file: dict[int | str, int],
                 actor: Principal | None, ref: Reference, job_id: int | None, number: int,
                 known: dict[str, int], stages: Stages) -> list[_Bulk]:
    """Write what the plans say; returns the inserts nothing in this batch reads back (audit
    events, search keys, row keys), ready for the caller to send with the commit."""
    later: list[Insert] = []
    note = f"CSV import job #{job_id}" if job_id else "CSV import"
    actor_id = actor.id if actor else None
    now = _now()
    new = [p for p in plans if p.action == "new" and p.row is not None]
    new_ids: dict[str, int] = {}
    if new:
        with stages("write: new employers"):
            new_ids = await _new_employers(db, new, index, rows_of_file, actor_id, note, now, later)

    linked = [p for p in plans if p.action in ("matched", "duplicate") and p.row is not None]
    with stages("write: matched rows"):
        changed = await _link(db, linked, new_ids, actor_id, ref, note, now, index, later) if linked else set()
    with stages("write: search keys"):
        if changed:
            await refresh_keys(db, changed)
        if new:
            # Employers refreshed just now (a later row of this batch added a name) have theirs.
            later.append((employer_search_key, _KEY_INSERT, _search_keys(new, new_ids, changed), {}))

    seen: set[str] = set(known)
    keys = []
    for plan in plans:
        if plan.row is None or plan.action not in ("new", "matched", "duplicate") or plan.row.row_key in seen:
            continue
        seen.add(plan.row.row_key)
        target = new_ids.get(plan.target, plan.target) if isinstance(plan.target, str) else plan.target
        keys.append((plan.row.row_key, target))
    later.append((_table(ImportRowKey), _ROW_KEY_INSERT, keys, _stamped(now, job_id=job_id)))
    if job_id is not None:
        counts = Counter(p.action for p in plans)
        db.add(ImportBatch(job_id=job_id, number=number, first_row=plans[0].number, last_row=plans[-1].number,
                           status="committed", counts=dict(counts)))
        await db.flush()
    dialect = (await db.connection()).dialect
    return [_bulk(dialect, *insert_, one_statement=True) for insert_ in later if insert_[2]]


async def _new_employers(db: AsyncSession, new: list[RowPlan], index: KeyIndex, rows_of_file: dict[int | str, int],
                         actor_id: int | None, note: str, now: dt.datetime, later: list[Insert]) -> dict[str, int]:
    """Insert the new rows' employers with their aliases and contacts (their audit events go to
    ``later``); returns ``row:N`` → employer id (the index reads the new ids from now on)."""
    new_ids = await _insert_employers(db, new, now)
    aliases: list[tuple[Any, ...]] = []
    contacts: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for plan in new:
        ident, row = cast(str, plan.target), cast(ValidRow, plan.row)
        emp_id = new_ids[ident]
        index.rename(ident, emp_id)
        rows_of_file[emp_id] = plan.number
        aliases += [(emp_id, a, k) for a, k in row.aliases]
        if c := row.contact:
            contacts.append((emp_id, c["name"], c["title"], c["email"], c["phone"]))
        after = {k: row.values.get(k) for k in _AUDITED}
        after["status"] = EmployerStatus.active.value
        events.append((emp_id, emp_id, None, after, f"{note}, row {plan.number}"))
    await _insert_many(db, _table(EmployerAlias), _ALIAS_INSERT, aliases, _stamped(now))
    await _insert_many(db, _table(EmployerContact), _CONTACT_INSERT, contacts, _stamped(now))
    later.append((_table(AuditEvent), _AUDIT_INSERT, events,
                  _stamped(now, actor_id=actor_id, action="employer.create", entity_type="employer")))
    return new_ids


def _search_keys(new: list[RowPlan], new_ids: dict[str, int], skip: set[int]) -> list[tuple[Any, ...]]:
    """Typeahead/intake search keys of the new employers: what ``candidates.refresh_keys`` writes
    (``candidates.record_keys`` of the employer's record), computed from the records the planner compared
    instead of reading the employers back; sorted by key, so the index is written page by page."""
    rows = []
    for plan in new:
        emp_id = new_ids[cast(str, plan.target)]
        if emp_id in skip:
            continue
        record = plan.record or cast(ValidRow, plan.row).record(cast(str, plan.target))
        rows += [(key, emp_id) for key in record_keys(record)]
    rows.sort()
    return rows


async def _insert_employers(db: AsyncSession, new: list[RowPlan], now: dt.datetime) -> dict[str, int]:
    """Insert the new rows' employers; returns ``row:N`` → employer id."""
    table = _table(Employer)
    columns = itemgetter(*_EMPLOYER_COLUMNS)  # validate_row sets every one of them
    rows = [columns(cast(ValidRow, p.row).values) for p in new]
    same = _stamped(now, status=EmployerStatus.active.value, merged_into_id=None, do_not_contact=False,
                    preferred_channel=None, notes=None)
    conn = await db.connection()
    if conn.dialect.name == "sqlite":
        # This transaction holds SQLite's write lock (begin_write), so nobody else can insert:
        # the ids are the ones SQLite would pick itself (max + 1, ...), with no RETURNING (which
        # makes SQLite insert row by row).
        first = (await db.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
        await _insert_many(db, table, ("id", *_EMPLOYER_COLUMNS), [(i, *row) for i, row in zip(ids, rows, strict=True)],
                           same)
    else:
        result = await conn.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True),
                                    [dict(zip(_EMPLOYER_COLUMNS, row, strict=True)) | same for row in rows])
        ids = list(result.scalars())
    return {cast(str, plan.target): emp_id for plan, emp_id in zip(new, ids, strict=True)}


async def _link(db: AsyncSession, linked: list[RowPlan], new_ids: dict[str, int], actor_id: int | None,
                ref: Reference, note: str, now: dt.datetime, index: KeyIndex, later: list[Insert]) -> set[int]:
    """Matched and duplicate rows: fill the employer's empty fields, add aliases and contacts.
    Returns the employers whose search keys may have changed."""
    targets = sorted({new_ids.get(p.target, 0) if isinstance(p.target, str) else cast(int, p.target)
                      for p in linked} - {0})
    e = _table(Employer).c
    current: dict[int, dict[str, Any]] = {}
    names: dict[int, set[str]] = {}
    contacts: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(targets, _ID_CHUNK):
        params = {"ids": list(chunk)}
        for found in await db.execute(_CURRENT, params):
            current[found[0]] = dict(zip(_FETCH, found[2:], strict=True))
            names[found[0]] = {found[1]}
        for emp_id, key in await db.execute(_ALIAS_KEYS, params):
            names[emp_id].add(key)
        for emp_id, cname, email in await db.execute(_CONTACTS, params):
            contacts.setdefault(emp_id, []).append({"name": cname, "email": email})

    before: dict[int, dict[str, Any]] = {}
    after: dict[int, dict[str, Any]] = {}
    new_aliases: list[tuple[Any, ...]] = []
    new_contacts: list[tuple[Any, ...]] = []
    rows_by_target: dict[int, list[int]] = {}
    for plan in linked:
        row = cast(ValidRow, plan.row)
        target = new_ids[plan.target] if isinstance(plan.target, str) else cast(int, plan.target)
        values = current.get(target)
        if values is None:
            continue
        rows_by_target.setdefault(target, []).append(plan.number)
        # Employers outside the importer's regions are linked, never edited.
        editable = ref.allowed_region_ids is None or values.get("region_id") in ref.allowed_region_ids
        if not editable:
            continue
        changes = import_matching.fill_empty(values, row.values)
        if changes:
            before.setdefault(target, {}).update({k: values.get(k) for k in changes})
            after.setdefault(target, {}).update(changes)
            values.update(changes)
        for alias, key in [(row.values["legal_name"], row.values["name_key"]), *row.aliases]:
            if key and key not in names[target]:
                names[target].add(key)
                new_aliases.append((target, alias, key))
                after.setdefault(target, {}).setdefault("aliases_added", []).append(alias)
        if row.contact and import_matching.contact_is_new(row.contact, contacts.get(target, [])):
            contacts.setdefault(target, []).append(row.contact)
            ct = row.contact
            new_contacts.append((target, ct["name"], ct["title"], ct["email"], ct["phone"]))
            after.setdefault(target, {}).setdefault("contacts_added", []).append(ct["name"])

    for target in after:
        index.forget(target)
    # One UPDATE per set of filled columns, each an executemany over its employers.
    by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for target, changes in after.items():
        fields = {k: v for k, v in changes.items() if k in _FETCH}
        if fields:
            by_fields.setdefault(tuple(sorted(fields)), []).append(
                {"b_id": target, "b_now": now, **{f"b_{k}": v for k, v in fields.items()}})
    for names_, rows in by_fields.items():
        await db.execute(update(_table(Employer)).where(e.id == bindparam("b_id"))
                         .values({**{n: bindparam(f"b_{n}") for n in names_}, "updated_at": bindparam("b_now")}),
                         rows)
    await _insert_many(db, _table(EmployerAlias), _ALIAS_INSERT, new_aliases, _stamped(now))
    await _insert_many(db, _table(EmployerContact), _CONTACT_INSERT, new_contacts, _stamped(now))
    later.append((_table(AuditEvent), _AUDIT_INSERT, [
        (target, target, before.get(target) or None, changes,
         f"{note}, row(s) {', '.join(map(str, rows_by_target.get(target, [])))}")
        for target, changes in after.items()],
        _stamped(now, actor_id=actor_id, action="employer.update", entity_type="employer")))
    return {target for target, changes in after.items() if not _KEYED.isdisjoint(changes)}


def result_lines(result: ImportResult, limit: int = 50) -> list[str]:
    """The report the CLI prints: counts, rejected batches and the first errors."""
    c = result.counts
    verb = "would import" if result.dry_run else "imported"
    lines = [
        f"{result.total_rows} rows: {c['new']} new, {c['matched']} matched to existing employers, "
        f"{c['duplicate']} duplicates of earlier rows, {c['review']} need review (not imported), "
        f"{c['unchanged']} imported before, {c['invalid']} invalid",
    ]
    if result.rejected_batches:
        lines.append(f"{len(result.rejected_batches)} batch(es) with invalid rows {verb} nothing "
                     f"({c['rejected']} rows): " + ", ".join(
            f"#{b} (rows {f}-{t})" for b, f, t in result.rejected_batches[:20]))
    for err in result.errors[:limit]:
        lines.append(f"  {err}")
    if len(result.errors) > limit:
        lines.append(f"  ... and {len(result.errors) - limit} more errors")
    for s in result.samples.get("review", [])[:20]:
        lines.append(f"  row {s['row']} ({s['name']}) needs review: {s['explanation']}")
    lines.append(f"{'dry run, nothing written' if result.dry_run else 'done'} in {result.seconds:.1f} s"
                 + (f" (job #{result.job_id})" if result.job_id else ""))
    return lines


def cli_import(settings: Settings, path: Path, *, dry_run: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
               region: str | None = None, maps: Sequence[str] = ()) -> int:
    """``crm import employers``: exit 0 when every row went in, 1 when rows were invalid, 2 when the
    file was refused."""
    import asyncio

    import click
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from crm.db import make_engine

    mapping: dict[str, str] = {}
    for item in maps:
        header, sep, column = item.partition("=")
        if not sep:
            click.echo(f"--map {item!r}: expected HEADER=COLUMN", err=True)
            return 2
        mapping[header.strip()] = column.strip() or import_file.IGNORE
    data = path.read_bytes()

    async def go() -> ImportResult:
        engine = make_engine(settings)
        try:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), transient=False) as bar:
                task = bar.add_task("dry run" if dry_run else "importing", total=None)

                def progress(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                return await run_import(make_sessionmaker(engine), data, filename=path.name, mapping=mapping,
                                        region=region, dry_run=dry_run, batch_size=batch_size, on_progress=progress)
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(go())
    except ImportFileError as exc:
        click.echo(f"Error: {exc}. Nothing was written.", err=True)
        return 2
    for line in result_lines(result):
        click.echo(line)
    # The process ends now: spare it the collector's final pass over all the run cached.
    gc.freeze()
    return 1 if result.errors else 0


__all__ = ["ImportResult", "load_index", "load_reference", "result_lines", "run_import"]
