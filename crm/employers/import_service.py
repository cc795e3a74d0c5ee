"""CSV import of employers, the shell: load what planning needs, write each batch in one transaction.

``run_import`` is the one code path behind ``crm import employers``, the upload page (as a
background task in the server process) and ``bench/import_bench``. Per batch it loads the
candidate employers the key index names (one query), asks the pure planner
(``importer.plan_batch``) and writes employers, aliases, contacts, audit events, search keys, row
keys, the batch row and the job's progress in one transaction - so a killed process leaves only
whole batches behind, and a rerun recognizes those rows by their row keys.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.audit.models import AuditEvent
from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.db import begin_write
from crm.directory.models import County, Region
from crm.employers import importer
from crm.employers.candidates import employer_search_key, load_candidates, record_keys, refresh_keys
from crm.employers.import_models import ImportBatch, ImportJob, ImportRowKey, ImportStatus
from crm.employers.importer import (
    COLUMNS,
    DEFAULT_BATCH_SIZE,
    CsvTable,
    ImportFileError,
    KeyIndex,
    Reference,
    RowError,
    RowPlan,
    ValidRow,
)
from crm.employers.matching import EmployerRecord, name_key
from crm.employers.models import Employer, EmployerAlias, EmployerContact, EmployerStatus
from crm.settings import Settings

log = logging.getLogger("crm.import")

Progress = Callable[[int, int], None]
SAMPLE = 200  # rows of each kind kept in a job's report for the preview page
STALE_AFTER = dt.timedelta(minutes=10)  # a running job without heartbeat this long was interrupted
_EMPLOYER_COLUMNS = ("legal_name", "name_key", "dba", "website", "domain", "fein", "phone", "naics_code",
                     "sector_code", "size_band", "address_line", "city", "zip", "county_id", "region_id")
_AUDITED = ("legal_name", "dba", "website", "domain", "fein", "phone", "naics_code", "size_band", "address_line",
            "city", "zip", "county_id", "region_id")
_FETCH = ("dba", "website", "domain", "fein", "phone", "naics_code", "sector_code", "size_band", "address_line",
          "city", "zip", "county_id", "region_id")
_CHUNK = 500


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


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
    fein_ids, domain_ids = index.by_fein.setdefault, index.by_domain.setdefault
    name_ids, zip_ids = index.by_name.setdefault, index.by_zip_prefix.setdefault
    e = _table(Employer).c
    result = await db.stream(select(e.id, e.name_key, e.zip, e.domain, e.fein, e.dba)
                             .where(e.status != EmployerStatus.merged.value))
    # KeyIndex.add inlined with bound setdefault: this loop runs 250,000 times at California scale.
    async for part in result.partitions(20_000):
        for emp_id, key, zip_code, domain, fein, dba in part:
            name_ids(key, []).append(emp_id)
            if fein:
                fein_ids(fein, []).append(emp_id)
            if domain:
                domain_ids(domain, []).append(emp_id)
            if zip_code and key:
                zip_ids(f"{zip_code}:{key.replace(' ', '')[:4]}", []).append(emp_id)
            if dba and (dba_key := name_key(dba)):
                name_ids(dba_key, []).append(emp_id)
    a = _table(EmployerAlias).c
    result = await db.stream(select(a.employer_id, a.name_key))
    async for part in result.partitions(20_000):
        for emp_id, key in part:
            name_ids(key, []).append(emp_id)
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
    started = time.perf_counter()
    if batch_size < 1:
        raise ImportFileError("batch size must be at least 1")
    table = importer.read_csv(data)
    wanted = {**importer.guess_mapping(table.headers), **(mapping or {})}
    columns = importer.check_mapping(table.headers, wanted)
    result = ImportResult(dry_run=dry_run, total_rows=len(table.rows))
    result.unknown_ignored = [h for h in table.headers if wanted.get(h) == importer.IGNORE]

    async with sessionmaker() as db:
        ref = await load_reference(db, region, actor)
    validated = _validate(table, columns, ref, result)

    now = _now()
    if job_id is None and not dry_run:
        async with sessionmaker() as db, db.begin():
            await mark_stale_jobs(db, now)
            job = ImportJob(created_by_id=actor.id if actor else None, source="cli", filename=filename[:255],
                            file_sha256=importer.file_sha256(data), file_size=len(data), headers=table.headers,
                            mapping={h: columns.get(i, importer.IGNORE) for i, h in enumerate(table.headers)},
                            region_id=ref.default_region_id, status=ImportStatus.running.value,
                            batch_size=batch_size, total_rows=len(table.rows), heartbeat_at=now)
            db.add(job)
        job_id = job.id
    result.job_id = job_id
    if job_id is not None:
        await _update_job(sessionmaker, job_id, total_rows=len(table.rows), processed_rows=0, heartbeat_at=now,
                          status=ImportStatus.previewing.value if dry_run else ImportStatus.running.value)

    async with sessionmaker() as db:
        index = await load_index(db)
    rows_of_file: dict[int | str, int] = {}
    file_records: dict[int | str, EmployerRecord] = {}
    processed = 0
    for number, start in enumerate(range(0, len(validated), batch_size), start=1):
        chunk = validated[start:start + batch_size]
        first, last = chunk[0][0], chunk[-1][0]
        bad = [item for item in chunk if not isinstance(item[1], ValidRow)]
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
            await _batch(sessionmaker, rows, number, index, rows_of_file, file_records, result, actor, ref,
                         job_id, dry_run)
        processed += len(chunk)
        if job_id is not None:
            await _update_job(sessionmaker, job_id, processed_rows=processed, heartbeat_at=_now(),
                              counts=dict(result.counts))
        if on_progress is not None:
            on_progress(processed, len(validated))

    result.seconds = time.perf_counter() - started
    if job_id is not None:
        await _update_job(sessionmaker, job_id, processed_rows=processed, counts=dict(result.counts),
                          report=result.summary(), finished_at=_now(), heartbeat_at=_now(),
                          status=ImportStatus.previewed.value if dry_run else ImportStatus.done.value,
                          **({} if dry_run else {"content": None}))
    log.info("employer_import", extra={"job_id": job_id, "rows": len(validated), "dry_run": dry_run,
                                       "counts": dict(result.counts), "seconds": round(result.seconds, 2)})
    return result


def _validate(table: CsvTable, columns: dict[int, str], ref: Reference,
              result: ImportResult) -> list[tuple[int, ValidRow | list[RowError]]]:
    out: list[tuple[int, ValidRow | list[RowError]]] = []
    for number, raw in importer.raw_rows(table, columns):
        outcome = importer.validate_row(number, raw, ref)
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
                 dry_run: bool) -> None:
    async with sessionmaker() as db:
        if not dry_run:
            # The write lock first: what we read to decide is what we write against (SQLite;
            # a no-op on PostgreSQL, where row keys' unique index catches a concurrent rerun).
            await begin_write(db)
        ids = sorted({i for row in rows for i in index.candidates(row) if isinstance(i, int)})
        records: dict[int | str, EmployerRecord] = dict(file_records)
        for chunk in _chunks(ids):
            for cand in await load_candidates(db, list(chunk)):
                records[cand.id] = cand.record
        known: dict[str, int] = {}
        keys = [row.row_key for row in rows]
        for chunk in _chunks(keys):
            for key, emp_id in await db.execute(select(ImportRowKey.row_key, ImportRowKey.employer_id)
                                                .where(ImportRowKey.row_key.in_(chunk))):
                known[key] = emp_id
        plans = importer.plan_batch(rows, index, records, known, rows_of_file)
        for plan in plans:
            result.counts[plan.action] += 1
            result.sample(plan)
        if dry_run:
            file_records.update({k: v for k, v in records.items() if isinstance(k, str)})
            return
        try:
            await _write(db, plans, index, rows_of_file, actor, ref, job_id, number, known)
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        result.committed_batches.append(number)


async def _write(db: AsyncSession, plans: list[RowPlan], index: KeyIndex, rows_of_file: dict[int | str, int],
                 actor: Principal | None, ref: Reference, job_id: int | None, number: int,
                 known: dict[str, int]) -> None:
    note = f"CSV import job #{job_id}" if job_id else "CSV import"
    actor_id = actor.id if actor else None
    new = [p for p in plans if p.action == "new" and p.row is not None]
    new_ids: dict[str, int] = {}
    if new:
        new_ids = await _insert_employers(db, new)
        for plan in new:
            ident = cast(str, plan.target)
            index.rename(ident, new_ids[ident])
            rows_of_file[new_ids[ident]] = plan.number
        aliases = [{"employer_id": new_ids[cast(str, p.target)], "name": a, "name_key": k}
                   for p in new for a, k in cast(ValidRow, p.row).aliases]
        contacts = [dict(cast(dict[str, Any], p.row.contact), employer_id=new_ids[cast(str, p.target)])
                    for p in new if p.row is not None and p.row.contact]
        if aliases:
            await db.execute(insert(_table(EmployerAlias)), aliases)
        if contacts:
            await db.execute(insert(_table(EmployerContact)), contacts)
        await db.execute(insert(_table(AuditEvent)), [{
            "actor_id": actor_id, "action": "employer.create", "entity_type": "employer",
            "entity_id": new_ids[cast(str, p.target)], "employer_id": new_ids[cast(str, p.target)],
            "before": None, "after": {k: cast(ValidRow, p.row).values.get(k) for k in _AUDITED}
            | {"status": EmployerStatus.active.value}, "note": f"{note}, row {p.number}",
        } for p in new])

    linked = [p for p in plans if p.action in ("matched", "duplicate") and p.row is not None]
    changed = await _link(db, linked, new_ids, actor_id, ref, note) if linked else set()
    if new:
        await _insert_search_keys(db, new, new_ids)
    if changed:
        await refresh_keys(db, changed)

    seen: set[str] = set(known)
    keys = []
    for plan in plans:
        if plan.row is None or plan.action not in ("new", "matched", "duplicate") or plan.row.row_key in seen:
            continue
        seen.add(plan.row.row_key)
        target = new_ids.get(plan.target, plan.target) if isinstance(plan.target, str) else plan.target
        keys.append({"row_key": plan.row.row_key, "employer_id": target, "job_id": job_id})
    if keys:
        await db.execute(insert(_table(ImportRowKey)), keys)
    if job_id is not None:
        counts = Counter(p.action for p in plans)
        db.add(ImportBatch(job_id=job_id, number=number, first_row=plans[0].number, last_row=plans[-1].number,
                           status="committed", counts=dict(counts)))
        await db.flush()


async def _insert_search_keys(db: AsyncSession, new: list[RowPlan], new_ids: dict[str, int]) -> None:
    """Typeahead/intake search keys of the new employers: what ``candidates.refresh_keys`` writes
    (``candidates.record_keys`` of the employer's record), computed from the rows in hand instead of reading
    the employers back."""
    rows = []
    for plan in new:
        row, emp_id = cast(ValidRow, plan.row), new_ids[cast(str, plan.target)]
        # The record the planner compared (equal by value, so the matcher's feature cache hits).
        keys = record_keys(row.record(cast(str, plan.target)))
        rows += [{"key": key, "employer_id": emp_id} for key in sorted(keys)]
    if rows:
        await db.execute(insert(employer_search_key), rows)


async def _insert_employers(db: AsyncSession, new: list[RowPlan]) -> dict[str, int]:
    """Bulk-insert the new rows' employers; returns ``row:N`` → employer id."""
    table = _table(Employer)
    rows = [{**{c: cast(ValidRow, p.row).values.get(c) for c in _EMPLOYER_COLUMNS},
             "status": EmployerStatus.active.value, "merged_into_id": None, "do_not_contact": False,
             "preferred_channel": None, "notes": None} for p in new]
    identity = [(r["name_key"], r["zip"], r["address_line"], r["fein"], r["domain"]) for r in rows]
    by_identity = {ident: i for i, ident in enumerate(identity)}
    out: dict[str, int] = {}
    if len(by_identity) == len(rows):
        # Ordered RETURNING makes SQLite insert row by row; these rows are told apart by their keys.
        result = await db.execute(insert(table).returning(table.c.id, table.c.name_key, table.c.zip,
                                                          table.c.address_line, table.c.fein, table.c.domain), rows)
        for emp_id, *ident in result:
            out[cast(str, new[by_identity[tuple(ident)]].target)] = emp_id  # type: ignore[index]
    else:
        result = await db.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
        for plan, emp_id in zip(new, result.scalars(), strict=True):
            out[cast(str, plan.target)] = emp_id
    return out


async def _link(db: AsyncSession, linked: list[RowPlan], new_ids: dict[str, int], actor_id: int | None,
                ref: Reference, note: str) -> set[int]:
    """Matched and duplicate rows: fill the employer's empty fields, add aliases and contacts."""
    targets = sorted({new_ids.get(p.target, 0) if isinstance(p.target, str) else cast(int, p.target)
                      for p in linked} - {0})
    e = _table(Employer).c
    current: dict[int, dict[str, Any]] = {}
    names: dict[int, set[str]] = {}
    contacts: dict[int, list[dict[str, Any]]] = {}
    for chunk in _chunks(targets):
        for row in await db.execute(select(e.id, e.name_key, *(e[c] for c in _FETCH)).where(e.id.in_(chunk))):
            current[row[0]] = dict(zip(_FETCH, row[2:], strict=True))
            names[row[0]] = {row[1]}
        a = _table(EmployerAlias).c
        for emp_id, key in await db.execute(select(a.employer_id, a.name_key).where(a.employer_id.in_(chunk))):
            names[emp_id].add(key)
        c = _table(EmployerContact).c
        for emp_id, cname, email in await db.execute(select(c.employer_id, c.name, c.email)
                                                     .where(c.employer_id.in_(chunk))):
            contacts.setdefault(emp_id, []).append({"name": cname, "email": email})

    before: dict[int, dict[str, Any]] = {}
    after: dict[int, dict[str, Any]] = {}
    new_aliases: list[dict[str, Any]] = []
    new_contacts: list[dict[str, Any]] = []
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
        changes = importer.fill_empty(values, row.values)
        if changes:
            before.setdefault(target, {}).update({k: values.get(k) for k in changes})
            after.setdefault(target, {}).update(changes)
            values.update(changes)
        for alias, key in [(row.values["legal_name"], row.values["name_key"]), *row.aliases]:
            if key and key not in names[target]:
                names[target].add(key)
                new_aliases.append({"employer_id": target, "name": alias, "name_key": key})
                after.setdefault(target, {}).setdefault("aliases_added", []).append(alias)
        if row.contact and importer.contact_is_new(row.contact, contacts.get(target, [])):
            contacts.setdefault(target, []).append(row.contact)
            new_contacts.append(dict(row.contact, employer_id=target))
            after.setdefault(target, {}).setdefault("contacts_added", []).append(row.contact["name"])

    for target, changes in after.items():
        fields = {k: v for k, v in changes.items() if k in _FETCH}
        if fields:
            await db.execute(update(Employer).where(Employer.id == target).values(**fields))
    if new_aliases:
        await db.execute(insert(_table(EmployerAlias)), new_aliases)
    if new_contacts:
        await db.execute(insert(_table(EmployerContact)), new_contacts)
    if after:
        await db.execute(insert(_table(AuditEvent)), [{
            "actor_id": actor_id, "action": "employer.update", "entity_type": "employer", "entity_id": target,
            "employer_id": target, "before": before.get(target) or None, "after": changes,
            "note": f"{note}, row(s) {', '.join(map(str, rows_by_target.get(target, [])))}",
        } for target, changes in after.items()])
    return set(after)


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
        lines.append(f"  review row {s['row']} {s['name']}: {s['explanation']}")
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

    from crm.db import make_engine, make_sessionmaker

    mapping: dict[str, str] = {}
    for item in maps:
        header, sep, column = item.partition("=")
        if not sep:
            click.echo(f"--map {item!r}: expected HEADER=COLUMN", err=True)
            return 2
        mapping[header.strip()] = column.strip() or importer.IGNORE
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
    return 1 if result.errors else 0


__all__ = ["COLUMNS", "ImportFileError", "ImportResult", "load_index", "load_reference", "result_lines",
           "run_import"]
