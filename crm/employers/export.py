"""CSV export of employers in the import's canonical columns (export → import changes nothing).

One row per contact (an employer without contacts gets one row): the import reads the repeated
employer as duplicates of its first row and adds each row's contact, so the round trip keeps every
contact. Merged tombstones are left out; they are not employers any more.

The file is meant for Excel (UTF-8 with a byte-order mark), so a cell that a spreadsheet would run
as a formula ("=1+2 Formula Co", a contact "-Minus Guy", every "+1..." phone) starts with an
apostrophe, as in every other CSV OneDoor hands out (``crm.csvfile``); the import takes off exactly
that apostrophe (``csvfile.read_cell``), so export → import stays lossless. Aliases share one cell,
separated by ";"; one that contains ";" is written in double quotes (``import_file.join_aliases``),
which the import reads back as one alias.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.csvfile import safe_cell
from crm.directory.models import County, Region
from crm.employers.import_file import COLUMNS, join_aliases
from crm.employers.models import Employer, EmployerAlias, EmployerContact, EmployerStatus
from crm.settings import Settings

PAGE = 2000  # employers per query: memory stays flat for 250,000 employers


def _employer_cells(e: Any, county: str | None, region: str | None, aliases: list[str]) -> dict[str, Any]:
    return {"legal_name": e.legal_name, "dba": e.dba, "website": e.website, "fein": e.fein, "phone": e.phone,
            "naics_code": e.naics_code, "size_band": e.size_band, "address_line": e.address_line, "city": e.city,
            "zip": e.zip, "county": county, "region": region, "aliases": join_aliases(aliases)}


async def export_rows(db: AsyncSession, region_id: int | None = None) -> AsyncIterator[list[str]]:
    """CSV rows (header first) of every live employer, optionally of one region, by id."""
    yield list(COLUMNS)
    e = Employer.__table__.c  # type: ignore[attr-defined]
    last_id = 0
    while True:
        stmt = (select(e.id, e.legal_name, e.dba, e.website, e.fein, e.phone, e.naics_code, e.size_band,
                       e.address_line, e.city, e.zip, County.name, Region.code)
                .outerjoin(County, County.id == e.county_id).outerjoin(Region, Region.id == e.region_id)
                .where(e.id > last_id, e.status != EmployerStatus.merged.value).order_by(e.id).limit(PAGE))
        if region_id is not None:
            stmt = stmt.where(e.region_id == region_id)
        page = (await db.execute(stmt)).all()
        if not page:
            return
        last_id = page[-1].id
        ids = [r.id for r in page]
        aliases: dict[int, list[str]] = defaultdict(list)
        for emp_id, name in await db.execute(select(EmployerAlias.employer_id, EmployerAlias.name)
                                             .where(EmployerAlias.employer_id.in_(ids))
                                             .order_by(EmployerAlias.employer_id, EmployerAlias.name)):
            aliases[emp_id].append(name)
        contacts: dict[int, list[tuple[str | None, str | None, str | None, str | None]]] = defaultdict(list)
        c = EmployerContact
        for emp_id, name, title, email, phone in await db.execute(
                select(c.employer_id, c.name, c.title, c.email, c.phone).where(c.employer_id.in_(ids))
                .order_by(c.employer_id, c.name, c.id)):
            contacts[emp_id].append((name, title, email, phone))
        for r in page:
            cells = _employer_cells(r, r[11], r[12], aliases.get(r.id, []))
            for contact in contacts.get(r.id) or [(None, None, None, None)]:
                row = {**cells, **dict(zip(("contact_name", "contact_title", "contact_email", "contact_phone"),
                                           contact, strict=True))}
                yield ["" if row[col] is None else safe_cell(str(row[col])) for col in COLUMNS]


async def write_csv(db: AsyncSession, out: io.TextIOBase | Any, region_id: int | None = None) -> int:
    """Write the export to a text stream; returns the number of data rows."""
    writer = csv.writer(out, lineterminator="\r\n")
    n = -1
    async for row in export_rows(db, region_id):
        writer.writerow(row)
        n += 1
    return n


def cli_export(settings: Settings, out: str, region: str | None) -> int:
    """``crm export employers``: write the CSV to ``out`` ("-" = standard output).

    The region is checked before anything is written, and the file is written beside ``out`` and
    renamed over it once complete: a refused or failed export leaves no file, and an earlier
    export at ``out`` as it was.
    """
    import asyncio
    import sys
    from pathlib import Path

    import click

    from crm.db import make_engine, make_sessionmaker
    from crm.files import replacing

    async def go() -> int:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as db:
                region_id = None
                if region:
                    region_id = await db.scalar(select(Region.id).where(Region.code == region.strip().upper()))
                    if region_id is None:
                        raise click.ClickException(f"unknown region code {region!r}")
                if out == "-":
                    return await write_csv(db, sys.stdout, region_id)
                with replacing(Path(out)) as tmp:
                    try:
                        # utf-8-sig: Excel opens it with the right accents; the import accepts the BOM.
                        fh = open(tmp, "w", encoding="utf-8-sig", newline="")  # noqa: ASYNC230 - the CLI's own loop
                    except OSError as exc:
                        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
                    with fh:
                        return await write_csv(db, fh, region_id)
        finally:
            await engine.dispose()

    n = asyncio.run(go())
    if out != "-":
        click.echo(f"exported {n} rows to {out}", err=True)
    return n
