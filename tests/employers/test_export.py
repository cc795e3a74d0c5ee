"""CSV export: canonical columns, one row per contact, and a round trip through import that changes nothing."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3

from click.testing import CliRunner
from sqlalchemy import func, select

from crm.audit.models import AuditEvent
from crm.auth.principal import Principal
from crm.cli import main
from crm.employers import service
from crm.employers.export import write_csv
from crm.employers.import_file import COLUMNS
from crm.employers.import_service import run_import
from crm.employers.models import Employer, EmployerAlias, EmployerContact
from crm.employers.schemas import ContactIn, EmployerIn


async def arrange(sessionmaker, world) -> None:
    admin = world.users["admin"]
    actor = Principal(id=admin.id, email=admin.email, name=admin.name, organization_id=None, organization_name=None,
                      roles={"admin": frozenset()})
    async with sessionmaker() as db, db.begin():
        await service.create_employer(db, actor, EmployerIn(
            legal_name="Harbor Freightways Inc", dba="Harbor Freight", website="https://www.harborfw.com/about",
            fein="12-3456789", phone="(213) 555-0101", naics_code="484110", size_band="50-249",
            address_line="100 Harbor Blvd", city="San Pedro", zip="90731", county="Los Angeles",
            aliases=["HFI", "Harbor Freight Lines, Inc."],
            contacts=[ContactIn(name="Ann Lee", title="HR Director", email="ann@harborfw.com", phone="213-555-0102"),
                      ContactIn(name="Bo Diaz", title="Dispatcher")]))
        await service.create_employer(db, actor, EmployerIn(legal_name="Bayside Robotics, \"BR\" Ltd.",
                                                            region="BAY-PENINSULA"))
        await service.create_employer(db, actor, EmployerIn(legal_name="Sierra Dental Group", county="Orange",
                                                            address_line="1 Main St, Suite 4", zip="92701"))


async def snapshot(db) -> tuple:
    await db.rollback()
    employers = [tuple(r) for r in await db.execute(select(Employer.__table__).order_by(Employer.id))]
    aliases = [tuple(r) for r in await db.execute(select(EmployerAlias.__table__).order_by(EmployerAlias.id))]
    contacts = [tuple(r) for r in await db.execute(select(EmployerContact.__table__).order_by(EmployerContact.id))]
    audit = await db.scalar(select(func.count()).select_from(AuditEvent))
    return employers, aliases, contacts, audit


async def export(sessionmaker, region_id: int | None = None) -> str:
    out = io.StringIO()
    async with sessionmaker() as db:
        await write_csv(db, out, region_id)
    return out.getvalue()


async def test_export_writes_canonical_columns_one_row_per_contact(sessionmaker, world):
    await arrange(sessionmaker, world)
    rows = list(csv.DictReader(io.StringIO(await export(sessionmaker))))
    assert list(rows[0].keys()) == list(COLUMNS)
    harbor = [r for r in rows if r["legal_name"] == "Harbor Freightways Inc"]
    assert [r["contact_name"] for r in harbor] == ["Ann Lee", "Bo Diaz"]
    assert harbor[0]["aliases"] == "HFI; Harbor Freight Lines, Inc." and harbor[0]["county"] == "Los Angeles"
    assert harbor[0]["region"] == "LA-BASIN" and harbor[0]["fein"] == "12-3456789"
    bay = next(r for r in rows if r["legal_name"].startswith("Bayside"))
    assert (bay["county"], bay["region"], bay["contact_name"]) == ("", "BAY-PENINSULA", "")


async def test_export_of_one_region_leaves_the_others_out(sessionmaker, world, factory):
    await arrange(sessionmaker, world)
    bay = await factory.region("BAY-PENINSULA")
    rows = list(csv.DictReader(io.StringIO(await export(sessionmaker, bay.id))))
    assert [r["legal_name"] for r in rows] == ['Bayside Robotics, "BR" Ltd.']


async def test_export_then_import_changes_nothing(sessionmaker, world, db):
    await arrange(sessionmaker, world)
    before = await snapshot(db)
    result = await run_import(sessionmaker, (await export(sessionmaker)).encode())
    assert result.errors == [] and result.counts["new"] == 0 and result.counts["review"] == 0
    assert result.counts["matched"] + result.counts["duplicate"] == 4
    assert await snapshot(db) == before


def test_cli_export_and_import_round_trip(tmp_path, settings, world):
    env = {"CRM_DATABASE_URL": settings.database_url}
    runner = CliRunner()
    path = tmp_path / "employers.csv"
    source = tmp_path / "in.csv"
    source.write_text("legal_name,zip,county,contact_name\nMojave Solar Works,93501,Kern,Ann Lee\n")
    dry = runner.invoke(main, ["import", "employers", str(source), "--dry-run"], env=env)
    assert dry.exit_code == 0 and "1 new" in dry.output and "nothing written" in dry.output
    assert runner.invoke(main, ["import", "employers", str(source)], env=env).exit_code == 0
    out = runner.invoke(main, ["export", "employers", "--out", str(path)], env=env)
    assert out.exit_code == 0, out.output
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel-friendly BOM, accepted by the import
    again = runner.invoke(main, ["import", "employers", str(path)], env=env)
    assert again.exit_code == 0 and "0 new" in again.output
    bad = runner.invoke(main, ["import", "employers", str(source), "--map", "zip=zipcode"], env=env)
    assert bad.exit_code == 2 and "'zipcode' (mapped from 'zip') is not a column to import into" in bad.output


async def test_an_alias_with_a_semicolon_goes_through_export_and_import_as_one_alias(sessionmaker, world, db):
    admin = world.users["admin"]
    actor = Principal(id=admin.id, email=admin.email, name=admin.name, organization_id=None, organization_name=None,
                      roles={"admin": frozenset()})
    async with sessionmaker() as session, session.begin():
        await service.create_employer(session, actor, EmployerIn(
            legal_name="Smith Jones Holdings", county="Los Angeles",
            aliases=["Smith; Jones LLC", "SJH", '"Smithy" Jones', 'The "SJ" Group']))
    text = await export(sessionmaker)
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["aliases"] == '"""Smithy"" Jones"; SJH; "Smith; Jones LLC"; The "SJ" Group'
    before = await snapshot(db)
    result = await run_import(sessionmaker, text.encode())
    assert result.errors == [] and result.counts["matched"] == 1
    assert await snapshot(db) == before  # no alias "Smith" and "Jones LLC" added beside "Smith; Jones LLC"
    await db.execute(EmployerAlias.__table__.delete())
    await db.execute(Employer.__table__.delete())
    await db.commit()
    assert (await run_import(sessionmaker, text.encode())).counts["new"] == 1
    await db.rollback()
    assert sorted(await db.scalars(select(EmployerAlias.name))) == ['"Smithy" Jones', "SJH", "Smith; Jones LLC",
                                                                   'The "SJ" Group']


FORMULA_NAMES = ["=1+2 Formula Co", "@Sum Industries", "'Twas Bakery", "'=Quoted Formula LLC"]


async def arrange_formulas(sessionmaker, world) -> None:
    admin = world.users["admin"]
    actor = Principal(id=admin.id, email=admin.email, name=admin.name, organization_id=None, organization_name=None,
                      roles={"admin": frozenset()})
    async with sessionmaker() as db, db.begin():
        for i, name in enumerate(FORMULA_NAMES):
            await service.create_employer(db, actor, EmployerIn(
                legal_name=name, county="Los Angeles", zip=f"9000{i}", phone="(213) 555-0101",
                aliases=["-Dash Alias", "=HYPERLINK(\"http://x\")"] if i == 0 else [],
                contacts=[ContactIn(name="-Minus Guy", title="=cmd|' /C calc'!A0", phone="213-555-0102"),
                          ContactIn(name="+x", title="@x")] if i == 0 else []))


async def test_export_quotes_every_cell_a_spreadsheet_would_run_as_a_formula(sessionmaker, world):
    await arrange_formulas(sessionmaker, world)
    rows = list(csv.DictReader(io.StringIO(await export(sessionmaker))))
    cells = [cell for row in rows for cell in row.values()]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert [r["legal_name"] for r in rows] == ["'=1+2 Formula Co", "'=1+2 Formula Co", "'@Sum Industries",
                                                "'Twas Bakery", "''=Quoted Formula LLC"]
    assert {r["contact_name"] for r in rows} >= {"'-Minus Guy", "'+x"}
    assert rows[0]["phone"] == "'+12135550101"


async def test_export_import_into_a_fresh_database_export_is_byte_identical_with_formula_like_names(
        tmp_path, settings, world, sessionmaker):
    await arrange_formulas(sessionmaker, world)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    fresh = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    for url, command in ((settings.database_url, ["export", "employers", "--out", str(first)]),
                         (fresh, ["db", "upgrade"]), (fresh, ["seed"]), (fresh, ["import", "employers", str(first)]),
                         (fresh, ["export", "employers", "--out", str(second)])):
        # In a thread: the command runs its own event loop, as from a shell.
        result = await asyncio.to_thread(CliRunner().invoke, main, command, env={"CRM_DATABASE_URL": url},
                                         catch_exceptions=False)
        assert result.exit_code == 0, result.output
    assert second.read_bytes() == first.read_bytes()
    names = [r["legal_name"] for r in csv.DictReader(io.StringIO(second.read_text("utf-8-sig")))]
    assert "'Twas Bakery" in names  # an apostrophe the name has is not taken for the export's
    with sqlite3.connect(tmp_path / "fresh.db") as db:
        stored = {r[0] for r in db.execute("select legal_name from employer")}
        contacts = {r[0] for r in db.execute("select name from employer_contact")}
    assert stored == set(FORMULA_NAMES) and contacts == {"-Minus Guy", "+x"}


def test_cli_import_says_a_bad_naics_code_in_words(tmp_path, settings, world):
    source = tmp_path / "in.csv"
    source.write_text("legal_name,zip,county,naics_code\nMojave Solar Works,93501,Kern,12a\n")
    result = CliRunner().invoke(main, ["import", "employers", str(source)],
                                env={"CRM_DATABASE_URL": settings.database_url})
    assert result.exit_code == 1 and "row 2, naics_code: must be 2 to 6 digits" in result.output
    assert "regex" not in result.output
