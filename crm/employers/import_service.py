"""CSV import of employers, the run: read the file, then per batch validate, plan and write its rows
in one transaction.

``run_import`` is the one code path behind ``crm import employers``, the upload page (as a
background task in the server process) and ``bench/import_bench``. Per batch it validates the
rows, loads the candidate employers the key index names and the planner would compare (one
query), asks the pure planner (``import_matching.plan_batch``) and writes employers, aliases, contacts,
audit events, search keys, row keys, the batch row and the job's progress in one transaction -
so a killed process leaves only whole batches behind, and a rerun recognizes those rows by their
row keys. All-or-nothing per batch: a batch with any invalid row imports nothing.

Where the time goes and why it is arranged so (bench/README.md, "import"): the key index of every
employer is read once (``import_reads``); writes skip Core's per-row parameter handling
(``import_writes``); and while SQLite commits a batch in its driver thread (which needs no GIL), the
main thread validates the next batch and finds its candidates - the two cores work at once
(``import_tuning`` holds the process and connection settings that help).

Real imports run one at a time (``one_import_at_a_time``): each matches its rows against the key index it
read when it started, so a second import running beside it would not know the employers the first is
creating, and both would create them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.auth.principal import Principal
from crm.db import begin_write, let_waiting_writers_in
from crm.employers import import_file, import_matching, import_rows
from crm.employers.import_file import ImportFileError, RawRow
from crm.employers.import_matching import KeyIndex, RowPlan
from crm.employers.import_models import ImportBatch, ImportJob, ImportStatus
from crm.employers.import_reads import known_row_keys, load_index, load_records, load_reference
from crm.employers.import_rows import Reference, RowError, ValidRow
from crm.employers.import_tuning import Stages, batch_sessions, run_settings, settle
from crm.employers.import_writes import Bulk, write
from crm.employers.matching import EmployerRecord
from crm.employers.matching.pairwise import features
from crm.sqlite_waiting import exclusive, lock_file

log = logging.getLogger("crm.import")

# A fixed key of PostgreSQL's advisory lock space (``lock_keys`` uses hashed names): "OneDoor import".
_IMPORT_LOCK = 0x0D00_1A9F
_sqlite_imports: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def one_import_at_a_time(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """Wait for any other import to finish, then hold the turn until this one has. PostgreSQL: a session
    advisory lock on a connection of its own (not in a transaction meanwhile; a killed process lets go of
    it with its connection), so imports of every server process and the CLI take turns. SQLite: this
    process's imports queue in turn, then the one at the head takes the lock file beside the database
    (``crm.sqlite_waiting.exclusive``; a killed process lets go of it too), which every process's imports
    take in turn."""
    engine = sessionmaker.kw["bind"]
    if engine.dialect.name != "postgresql":
        turn = _sqlite_imports.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with turn, exclusive(lock_file(engine.url.database, "-import")):
            yield
        return
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _IMPORT_LOCK})
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _IMPORT_LOCK})
            await conn.commit()

# Rows per all-or-nothing batch (one transaction). 2,000 rather than 1,000 halves the per-batch
# flush and commit overhead (bench.import_bench, 100,000 rows: 29.5 s -> 24.2 s) while a bad row
# still holds back at most 2,000 others -- and the dry run lists every bad row before anything runs.
DEFAULT_BATCH_SIZE = 2000

Progress = Callable[[int, int], None]
SAMPLE = 200  # rows of each kind kept in a job's report for the preview page
STALE_AFTER = dt.timedelta(minutes=10)  # a running job without heartbeat this long was interrupted


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

    def name_written(self, written: Mapping[str, int]) -> None:
        """Link the sampled new rows, and duplicates of them, to the employers a committed batch created
        (planned, they were rows of the file)."""
        for action, row_of in (("new", "row"), ("duplicate", "duplicate_of")):
            for sample in self.samples.get(action, ()):
                if sample["target"] is None and sample[row_of] is not None:
                    sample["target"] = written.get(f"row:{sample[row_of]}")

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
    with run_settings():
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
    own_job = job_id is None and not dry_run
    if own_job:
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
    try:
        if job_id is not None:
            await _update_job(sessionmaker, job_id, total_rows=len(table.rows), processed_rows=0, heartbeat_at=now,
                              status=ImportStatus.previewing.value if dry_run else ImportStatus.running.value)

        async with AsyncExitStack() as turn:
            if not dry_run:
                with stages("wait for another import"):
                    await turn.enter_async_context(one_import_at_a_time(sessionmaker))
            with stages("index"):
                async with sessionmaker() as db:
                    index = await load_index(db)
            async with batch_sessions(sessionmaker, dry_run) as batch_sessionmaker:
                processed = await _run_batches(sessionmaker, batch_sessionmaker, raw, batch_size, index, result,
                                               actor, ref, job_id, dry_run, on_progress)

        result.seconds = time.perf_counter() - started
        if job_id is not None:
            await _update_job(sessionmaker, job_id, processed_rows=processed, counts=dict(result.counts),
                              report=result.summary(), finished_at=_now(), heartbeat_at=_now(),
                              status=ImportStatus.previewed.value if dry_run else ImportStatus.done.value,
                              **({} if dry_run else {"content": None}))
    except Exception as exc:
        if not own_job:  # the upload page's job: its background task marks it failed
            raise
        raise await _stopped(sessionmaker, cast(int, job_id), result, batch_size, exc) from exc
    log.info("employer_import", extra={"job_id": job_id, "rows": len(raw), "dry_run": dry_run,
                                       "counts": dict(result.counts), "seconds": round(result.seconds, 2)})
    return result


class ImportStopped(Exception):
    """A real run that created its job (the CLI's) stopped part-way: the job is marked failed (unless the
    database refused that too); the batches committed before stay imported."""

    def __init__(self, message: str, job_id: int, marked: bool) -> None:
        super().__init__(message)
        self.job_id, self.marked = job_id, marked


async def _stopped(sessionmaker: async_sessionmaker[AsyncSession], job_id: int, result: ImportResult,
                   batch_size: int, exc: Exception) -> ImportStopped:
    """Mark the run's job failed, saying why and what stays imported; the error to raise."""
    cause = f"a database error ({exc.orig})" if isinstance(exc, DBAPIError) else \
        f"an internal error ({type(exc).__name__}: {exc})"
    batches = -(-result.total_rows // batch_size)
    message = (f"The import stopped on {cause} after {len(result.committed_batches)} of {batches} batch(es) were "
               "imported; those stay imported, and a rerun of the file recognizes their rows.")
    try:
        await _update_job(sessionmaker, job_id, status=ImportStatus.failed.value, error=message,
                          counts=dict(result.counts), finished_at=_now(), heartbeat_at=_now())
    except Exception:  # the database may refuse this too (still locked): the stale sweep marks it later
        return ImportStopped(message, job_id, marked=False)
    return ImportStopped(message, job_id, marked=True)


async def _run_batches(sessionmaker: async_sessionmaker[AsyncSession],
                       batch_sessionmaker: async_sessionmaker[AsyncSession],
                       raw: list[RawRow], batch_size: int, index: KeyIndex,
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
            settle()
    return processed


@dataclass
class Prepared:
    """A batch's rows, validated, and (when all are valid and it was found early) its candidates."""

    rows: list[tuple[int, ValidRow | list[RowError]]]
    candidate_ids: list[int] | None = None


def _validate(raw: Sequence[RawRow], ref: Reference,
              result: ImportResult) -> list[tuple[int, ValidRow | list[RowError]]]:
    out: list[tuple[int, ValidRow | list[RowError]]] = []
    for number, cells, misfit in raw:
        # A row that does not fit the header is invalid as a whole: its cells are not where the header says.
        outcome = [RowError(number, "", misfit)] if misfit else import_rows.validate_row(number, cells, ref)
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
                 following: Sequence[RawRow] | None) -> tuple[bool, Prepared | None]:
    """Plan one batch and (unless dry) write it in one transaction, the job's progress included.

    ``prepared``: this batch's candidate ids if the previous batch found them already. While
    this batch commits, the ``following`` rows are validated and their candidates found.
    Returns whether the batch was written (with the job's progress), and the following batch if
    prepared.
    """
    stages = result.stages
    async with sessionmaker() as db:
        if not dry_run:
            with stages("other writers' turn"):
                # SQLite: the previous batch has just committed; without this the next would take the
                # lock again before a writer waiting in SQLite's busy handler (which polls) found it free.
                await let_waiting_writers_in(db)
        with stages("retrieve"):
            if not dry_run:
                # The write lock first: what we read to decide is what we write against (SQLite;
                # a no-op on PostgreSQL, where row keys' unique index catches a concurrent rerun).
                await begin_write(db, inline=False)  # its commit overlaps the next batch's planning
            ids = prepared if prepared is not None else _candidate_ids(rows, index)
            records: dict[int | str, EmployerRecord] = dict(file_records)
            records.update(await load_records(db, ids))
            known = await known_row_keys(db, [row.row_key for row in rows])
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
                later = await write(db, plans, index, rows_of_file, actor, ref, job_id, number, known, stages)
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
                    settle()
                finally:
                    await committing
        except BaseException:
            await db.rollback()
            raise
        result.committed_batches.append(number)
        result.name_written(index.written)
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


async def _finish(db: AsyncSession, later: list[Bulk]) -> None:
    # Only driver calls here: this runs while the main thread is busy elsewhere (see _batch).
    for bulk in later:
        await bulk.run(db)
    await db.commit()


_YIELD_EVERY = 50  # rows of _prepare between two turns of the event loop


async def _prepare(raw: Sequence[RawRow], ref: Reference, result: ImportResult,
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


__all__ = ["ImportResult", "ImportStopped", "run_import"]
