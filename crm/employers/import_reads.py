"""CSV import of employers: what a run reads to plan - the county/region reference, the key index of
every employer, a batch's candidate employers and the row keys earlier imports recorded.

Read in bulk (the shell of ``import_matching``'s pure planner): the key index once per run, the
rest with one query per batch and table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.auth.models import Role
from crm.auth.principal import Principal
from crm.directory.models import County, Region
from crm.employers import import_matching
from crm.employers.import_file import ImportFileError
from crm.employers.import_matching import KeyIndex
from crm.employers.import_models import ImportRowKey
from crm.employers.import_rows import Reference
from crm.employers.matching import EmployerRecord, name_key
from crm.employers.models import Employer, EmployerAlias, EmployerStatus


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


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
    e = table_of(Employer).c
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
    a = table_of(EmployerAlias).c
    alias_rows = await db.stream(select(a.employer_id, a.name_key))
    async for aliases in alias_rows.partitions(50_000):
        for emp_id, key in aliases:
            brief.pop(emp_id, None)
            if key:
                import_matching.put_id(by_name, key, emp_id)
    return index


ID_CHUNK = 2000  # ids per IN (...) list: well under both databases' bound-parameter limits
_E = table_of(Employer).c
_A = table_of(EmployerAlias).c
_RECORDS = (select(_E.id, _E.legal_name, _E.dba, _E.domain, _E.fein, _E.phone, _E.address_line, _E.city, _E.zip)
            .where(_E.id.in_(bindparam("ids", expanding=True)), _E.status != EmployerStatus.merged.value))
_ALIASES = (select(_A.employer_id, _A.name).where(_A.employer_id.in_(bindparam("ids", expanding=True)))
            .order_by(_A.employer_id, _A.name))
_K = table_of(ImportRowKey).c
_ROW_KEYS = select(_K.row_key, _K.employer_id).where(_K.row_key.in_(bindparam("keys", expanding=True)))


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
    for chunk in chunks(ids, ID_CHUNK):
        params = {"ids": list(chunk)}
        rows += (await conn.execute(_RECORDS, params)).all()
        for emp_id, name in await conn.execute(_ALIASES, params):
            aliases.setdefault(emp_id, []).append(name)
    for emp_id, legal_name, dba, domain, fein, phone, address, city, zip_ in rows:
        names = aliases.get(emp_id, ())
        out[emp_id] = EmployerRecord(id=emp_id, name=legal_name, aliases=(dba, *names) if dba else tuple(names),
                                     domain=domain, fein=fein, phone=phone, address=address, city=city, zip=zip_)
    return out


async def known_row_keys(db: AsyncSession, keys: Sequence[str]) -> dict[str, int]:
    """Row keys that earlier imports (or earlier batches) wrote → their employer."""
    known: dict[str, int] = {}
    for chunk in chunks(keys, ID_CHUNK):
        for key, emp_id in await db.execute(_ROW_KEYS, {"keys": list(chunk)}):
            known[key] = emp_id
    return known

