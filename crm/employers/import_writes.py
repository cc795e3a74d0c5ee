"""CSV import of employers: write what a batch's plan says - new employers with their aliases and
contacts, matched and duplicate rows linked to theirs, audit events, search keys and row keys.

Writes skip Core's per-row parameter handling (``_bulk``); what nothing in the batch reads back
is handed to the run to send with the commit (bench/README.md, "import").
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any, cast

import msgspec
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from crm.audit.models import AuditEvent
from crm.auth.principal import Principal
from crm.employers import import_matching
from crm.employers.candidates import employer_search_key, record_keys, refresh_keys
from crm.employers.import_matching import KeyIndex, RowPlan
from crm.employers.import_models import ImportBatch, ImportRowKey
from crm.employers.import_reads import ID_CHUNK, chunks, table_of
from crm.employers.import_rows import Reference, ValidRow
from crm.employers.import_tuning import Stages
from crm.employers.matching import contact_is_new
from crm.employers.models import Employer, EmployerAlias, EmployerContact, EmployerStatus

_EMPLOYER_COLUMNS = ("legal_name", "name_key", "dba", "website", "domain", "fein", "phone", "naics_code",
                     "sector_code", "size_band", "address_line", "city", "zip", "county_id", "region_id")
_AUDITED = ("legal_name", "dba", "website", "domain", "fein", "phone", "naics_code", "size_band", "address_line",
            "city", "zip", "county_id", "region_id")
_FETCH = ("dba", "website", "domain", "fein", "phone", "naics_code", "sector_code", "size_band", "address_line",
          "city", "zip", "county_id", "region_id")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# What _link reads of the employers matched rows link to.
_E = table_of(Employer).c
_A = table_of(EmployerAlias).c
_C = table_of(EmployerContact).c
_CURRENT = select(_E.id, _E.name_key, *(_E[col] for col in _FETCH)).where(_E.id.in_(bindparam("ids", expanding=True)))
_ALIAS_KEYS = select(_A.employer_id, _A.name_key).where(_A.employer_id.in_(bindparam("ids", expanding=True)))
_CONTACTS = select(_C.employer_id, _C.name, _C.email).where(_C.employer_id.in_(bindparam("ids", expanding=True)))


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
class Bulk:
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
          same: dict[str, Any] | None = None, one_statement: bool = False) -> Bulk:
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
        return Bulk(table, None, [dict(zip(columns, row, strict=True)) | same for row in rows])
    sql, processors = _plain_insert(table, columns, tuple(same), dialect, one_statement)
    constants = tuple(process(value) if process else value
                      for process, value in zip(processors[len(columns):], same.values(), strict=True))
    for i, process in enumerate(processors[:len(columns)]):
        if process is not None:  # None values too: JSON stores None as 'null'
            rows = [(*row[:i], process(row[i]), *row[i + 1:]) for row in rows]
    if one_statement:
        # msgspec writes the array (UTF-8, no escapes needed) several times faster than json.dumps.
        return Bulk(table, sql, (*constants, msgspec.json.encode(rows).decode()))
    return Bulk(table, sql, [(*row, *constants) for row in rows] if constants else rows)


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


async def write(db: AsyncSession, plans: list[RowPlan], index: KeyIndex, rows_of_file: dict[int | str, int],
                actor: Principal | None, ref: Reference, job_id: int | None, number: int,
                known: dict[str, int], stages: Stages) -> list[Bulk]:
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
    later.append((table_of(ImportRowKey), _ROW_KEY_INSERT, keys, _stamped(now, job_id=job_id)))
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
    await _insert_many(db, table_of(EmployerAlias), _ALIAS_INSERT, aliases, _stamped(now))
    await _insert_many(db, table_of(EmployerContact), _CONTACT_INSERT, contacts, _stamped(now))
    later.append((table_of(AuditEvent), _AUDIT_INSERT, events,
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
    table = table_of(Employer)
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
    e = table_of(Employer).c
    current: dict[int, dict[str, Any]] = {}
    names: dict[int, set[str]] = {}
    contacts: dict[int, list[dict[str, Any]]] = {}
    for chunk in chunks(targets, ID_CHUNK):
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
        if row.contact and contact_is_new(row.contact, contacts.get(target, [])):
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
        await db.execute(update(table_of(Employer)).where(e.id == bindparam("b_id"))
                         .values({**{n: bindparam(f"b_{n}") for n in names_}, "updated_at": bindparam("b_now")}),
                         rows)
    await _insert_many(db, table_of(EmployerAlias), _ALIAS_INSERT, new_aliases, _stamped(now))
    await _insert_many(db, table_of(EmployerContact), _CONTACT_INSERT, new_contacts, _stamped(now))
    later.append((table_of(AuditEvent), _AUDIT_INSERT, [
        (target, target, before.get(target) or None, changes,
         f"{note}, row(s) {', '.join(map(str, rows_by_target.get(target, [])))}")
        for target, changes in after.items()],
        _stamped(now, actor_id=actor_id, action="employer.update", entity_type="employer")))
    return {target for target, changes in after.items() if not _KEYED.isdisjoint(changes)}

