"""CSV import through its shell (`run_import`, the path the CLI and the upload page take), on every database."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from crm.audit.models import AuditEvent
from crm.employers.import_cli import result_lines
from crm.employers.import_file import ImportFileError
from crm.employers.import_models import ImportBatch, ImportRowKey
from crm.employers.import_service import run_import
from crm.employers.models import Employer, EmployerAlias, EmployerContact

HEADER = ["legal_name", "website", "fein", "phone", "address_line", "zip", "county", "aliases", "contact_name",
          "contact_email"]


def csv_bytes(rows: list[dict[str, str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, header, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow(row)
    return out.getvalue().encode()


def employer(name: str, n: int, **extra: str) -> dict[str, str]:
    """A distinct, valid employer row: its own street, ZIP and domain."""
    return {"legal_name": name, "website": f"{name.split()[0].lower()}{n}.com", "address_line": f"{100 + n} Main St",
            "zip": f"{90001 + n % 90:05d}", "county": "Los Angeles", **extra}


async def counts(db) -> tuple[int, ...]:
    return tuple([await db.scalar(select(func.count()).select_from(m)) or 0
                  for m in (Employer, EmployerAlias, EmployerContact, AuditEvent, ImportRowKey)])


async def test_dry_run_reports_invalid_rows_and_in_file_duplicates_and_writes_nothing(sessionmaker, db):
    data = csv_bytes([
        employer("Harbor Freightways Inc", 1, contact_name="Ann Lee", contact_email="ann@harbor1.com"),
        employer("Sierra Dental Group", 2, fein="12-34"),
        {**employer("Harbor Freightways", 1), "contact_name": "Bo Diaz"},  # same name key + ZIP as row 2
        employer("Pacific Bakery LLC", 3, county="Atlantis"),
        employer("Mojave Solar Works", 4),
    ])
    before = await counts(db)
    result = await run_import(sessionmaker, data, dry_run=True)
    assert (result.counts["new"], result.counts["duplicate"], result.counts["invalid"]) == (0, 0, 2)
    assert [(e.row, e.field) for e in result.errors] == [(3, "fein"), (5, "county")]
    assert "not a valid FEIN" in str(result.errors[0]) and "row 3, fein" in str(result.errors[0])
    assert result.rejected_batches == [(1, 2, 6)]
    # With batches of one row, the clean rows are planned: the duplicate is told apart from new rows.
    result = await run_import(sessionmaker, data, dry_run=True, batch_size=1)
    assert (result.counts["new"], result.counts["duplicate"], result.counts["invalid"]) == (2, 1, 2)
    assert result.samples["duplicate"][0]["row"] == 4 and result.samples["duplicate"][0]["duplicate_of"] == 2
    assert await counts(db) == before


async def test_a_batch_with_an_invalid_row_imports_nothing_while_clean_batches_commit(sessionmaker, db):
    rows = [employer(f"Company{i} Works", i) for i in range(6)]
    rows[3]["fein"] = "00-0000000"  # invalid prefix: batch 2 (rows 4-5 of the file... spreadsheet rows 4-5)
    result = await run_import(sessionmaker, csv_bytes(rows), batch_size=2)
    assert result.rejected_batches == [(2, 4, 5)]
    assert result.committed_batches == [1, 3]
    names = set(await db.scalars(select(Employer.legal_name)))
    assert names == {"Company0 Works", "Company1 Works", "Company4 Works", "Company5 Works"}
    statuses = list(await db.execute(select(ImportBatch.number, ImportBatch.status).order_by(ImportBatch.number)))
    assert [tuple(s) for s in statuses] == [(1, "committed"), (2, "rejected"), (3, "committed")]


async def test_a_row_with_more_fields_than_the_header_is_invalid_and_its_batch_imports_nothing(sessionmaker, db):
    # Read as it came, "Acme, Inc" was name "Acme", city "Inc", and Fresno was dropped without a word.
    data = b"legal_name,city\nMojave Solar Works,Lancaster\nAcme, Inc,Fresno\nZeta Widgets,Fresno,\n"
    result = await run_import(sessionmaker, data)
    assert [str(e) for e in result.errors] == [
        "row 3 has 3 fields; the header has 2: quote a value that contains a comma"]
    assert result.counts["invalid"] == 1 and result.rejected_batches == [(1, 2, 4)]
    assert await db.scalar(select(func.count()).select_from(Employer)) == 0
    # In batches of one row, the others go in; a trailing comma (an empty field past the header) is no error.
    result = await run_import(sessionmaker, data, batch_size=1)
    assert result.counts["new"] == 2 and result.rejected_batches == [(2, 3, 3)]
    await db.rollback()  # a fresh snapshot: the import committed in other connections
    stored = await db.execute(select(Employer.legal_name, Employer.city).order_by(Employer.legal_name))
    assert [tuple(r) for r in stored] == [("Mojave Solar Works", "Lancaster"), ("Zeta Widgets", "Fresno")]


async def test_second_run_of_a_clean_file_changes_nothing(sessionmaker, db):
    data = csv_bytes([
        employer("Harbor Freightways Inc", 1, aliases="HFI; Harbor Freight Lines", contact_name="Ann Lee",
                 contact_email="ann@harbor1.com"),
        {**employer("Harbor Freightways", 1), "contact_name": "Bo Diaz"},
        employer("Sierra Dental Group", 2, fein="12-3456789", phone="(213) 555-0101"),
    ])
    first = await run_import(sessionmaker, data)
    assert (first.counts["new"], first.counts["duplicate"]) == (2, 1)
    after_first = await counts(db)
    assert after_first[:3] == (2, 2, 2)  # two employers, two aliases, both contacts on Harbor
    second = await run_import(sessionmaker, data)
    assert second.counts["unchanged"] == 3 and second.counts["new"] == 0
    assert (await counts(db))[:4] == after_first[:4]


async def test_the_result_links_each_new_row_and_its_duplicates_to_the_employer_created(sessionmaker, db):
    data = csv_bytes([employer("Harbor Freightways Inc", 1), employer("Sierra Dental Group", 2),
                      {**employer("Harbor Freightways", 1), "contact_name": "Bo Diaz"}])
    preview = await run_import(sessionmaker, data, dry_run=True)
    assert [s["target"] for s in preview.samples["new"]] == [None, None]  # nothing created yet
    result = await run_import(sessionmaker, data)
    ids = dict((await db.execute(select(Employer.legal_name, Employer.id))).tuples().all())
    assert [(s["row"], s["target"]) for s in result.samples["new"]] == [
        (2, ids["Harbor Freightways Inc"]), (3, ids["Sierra Dental Group"])]
    assert [(s["duplicate_of"], s["target"]) for s in result.samples["duplicate"]] == [
        (2, ids["Harbor Freightways Inc"])]


async def test_two_files_naming_the_same_new_employers_imported_at_once_create_each_once(sessionmaker, db):
    """Each import matches against the index it read at its start: run side by side, both would create the
    employers neither had seen. They take turns (``one_import_at_a_time``), and the second matches the first's."""
    rows = [employer(f"Concurrent Fabricators {n}", n) for n in range(12)]
    a = csv_bytes([{**r, "contact_name": "Ann Lee", "contact_email": f"ann@a{n}.com"} for n, r in enumerate(rows)])
    b = csv_bytes([{**r, "contact_name": "Bo Diaz", "contact_email": f"bo@b{n}.com"} for n, r in enumerate(rows)])
    first, second = await asyncio.gather(run_import(sessionmaker, a, batch_size=4),
                                         run_import(sessionmaker, b, batch_size=4))
    assert sorted([first.counts["new"], second.counts["new"]]) == [0, 12]
    assert (await counts(db))[0] == 12


async def test_two_files_naming_the_same_new_employers_imported_at_once_by_two_processes_create_each_once(
        sessionmaker, db, settings):
    """As above, with the second import in another process (a thread with an event loop and engine of its
    own stands for one): on SQLite too, the turn is the database's, not the process's."""
    import threading

    from crm.db import make_engine, make_sessionmaker

    rows = [employer(f"Crossprocess Fabricators {n}", n) for n in range(12)]
    a = csv_bytes([{**r, "contact_name": "Ann Lee", "contact_email": f"ann@a{n}.com"} for n, r in enumerate(rows)])
    b = csv_bytes([{**r, "contact_name": "Bo Diaz", "contact_email": f"bo@b{n}.com"} for n, r in enumerate(rows)])

    async def elsewhere() -> int:
        engine = make_engine(settings)
        try:
            return (await run_import(make_sessionmaker(engine), b, batch_size=4)).counts["new"]
        finally:
            await engine.dispose()

    other: list[int] = []
    thread = threading.Thread(target=lambda: other.append(asyncio.run(elsewhere())))
    thread.start()
    here = await run_import(sessionmaker, a, batch_size=4)
    await asyncio.to_thread(thread.join, 60)
    assert sorted([here.counts["new"], *other]) == [0, 12]
    assert (await counts(db))[0] == 12


async def test_matched_row_links_to_the_existing_employer_and_fills_only_its_empty_fields(sessionmaker, db, factory):
    existing = await factory.employer("ACME Corporation", website="https://acme.com", zip="90012",
                                      address_line="100 Main St")
    data = csv_bytes([{"legal_name": "Acme Corp.", "website": "www.acme.com/jobs", "address_line": "100 Main St",
                       "zip": "90012", "county": "Los Angeles", "phone": "213-555-0199",
                       "contact_name": "Sandra Whitaker", "contact_email": "sandra@acme.com"}])
    result = await run_import(sessionmaker, data)
    assert result.counts["matched"] == 1 and result.counts["new"] == 0
    assert await db.scalar(select(func.count()).select_from(Employer)) == 1
    row = await db.get(Employer, existing.id, options=[selectinload(Employer.contacts)], populate_existing=True)
    assert row.website == "https://acme.com"  # kept: never overwritten
    assert row.phone == "+12135550199"  # filled: it was empty
    assert [c.email for c in row.contacts] == ["sandra@acme.com"]
    event = await db.scalar(select(AuditEvent).where(AuditEvent.employer_id == existing.id,
                                                     AuditEvent.action == "employer.update"))
    assert event is not None and event.after["phone"] == "+12135550199" and "CSV import" in event.note


async def test_review_level_match_is_reported_and_not_imported(sessionmaker, db, factory):
    await factory.employer("ACME Corporation", website="https://acme.com", zip="90012")
    data = csv_bytes([{"legal_name": "Acme Corp", "website": "acme-corp.net", "zip": "90012",
                       "county": "Los Angeles"}])
    result = await run_import(sessionmaker, data)
    assert result.counts["review"] == 1 and result.counts["new"] == 0
    assert "ACME Corporation" in result.samples["review"][0]["explanation"]
    assert await db.scalar(select(func.count()).select_from(Employer)) == 1


async def test_a_row_sharing_a_website_at_the_site_or_a_fein_elsewhere_is_for_review_not_new_or_filled_in(
        sessionmaker, db, factory):
    """Another name on the employer's own website and ZIP (a trade name, a new name) would be a second record of
    it; the company's FEIN at another ZIP may be another worksite, whose blanks the row must not fill."""
    store = await factory.employer("Downtown Discount Pet Supply", website="https://petsupply.example.net",
                                   zip="90501")
    await factory.employer("Harbor Tooling Inc", fein="48-6207672", zip="90012")
    data = csv_bytes([{"legal_name": "Totally Different Name", "website": "petsupply.example.net", "zip": "90501",
                       "county": "Los Angeles"},
                      {"legal_name": "Some Other Name Inc", "fein": "48-6207672", "zip": "90503",
                       "county": "Los Angeles", "phone": "213-555-0199"}])
    result = await run_import(sessionmaker, data)
    assert (result.counts["review"], result.counts["new"], result.counts["matched"]) == (2, 0, 0), result.counts
    why = [s["explanation"] for s in result.samples["review"]]
    assert f"employer #{store.id}" in why[0] and "same website and site under another name" in why[0]
    assert "same FEIN 48-6207672 in another place" in why[1]
    assert await db.scalar(select(func.count()).select_from(Employer)) == 2
    assert await db.scalar(select(func.count()).select_from(Employer).where(Employer.phone.is_not(None))) == 0


async def test_the_review_report_names_the_row_or_employer_a_row_may_be(sessionmaker, db, factory):
    acme = await factory.employer("ACME Corporation", website="https://acme.com", zip="90012")
    data = csv_bytes([{"legal_name": "Fresh Co", "website": "freshco.com", "zip": "90012"},
                      {"legal_name": "Fresh Co", "website": "fresh-co.net", "zip": "90013"},
                      {"legal_name": "Acme Corp", "website": "acme-corp.net", "zip": "90012"}])
    result = await run_import(sessionmaker, data, dry_run=True)
    why = {s["row"]: s["explanation"] for s in result.samples["review"]}
    assert why[3].startswith("row 2 (Fresh Co): review (same name")
    assert why[4].startswith(f"employer #{acme.id} (ACME Corporation): review (")
    lines = result_lines(result)
    assert f"  row 3 (Fresh Co) needs review: {why[3]}" in lines
    assert f"  row 4 (Acme Corp) needs review: {why[4]}" in lines


async def test_unknown_column_refuses_the_file_until_it_is_mapped_or_ignored(sessionmaker, db):
    data = csv_bytes([{"legal_name": "Mojave Solar Works", "fien": "12-3456789"}], header=["legal_name", "fien"])
    with pytest.raises(ImportFileError, match="Unknown column.*fien"):
        await run_import(sessionmaker, data)
    assert await db.scalar(select(func.count()).select_from(Employer)) == 0
    await db.rollback()
    assert (await run_import(sessionmaker, data, mapping={"fien": "ignore"}, dry_run=True)).counts["new"] == 1
    result = await run_import(sessionmaker, data, mapping={"fien": "fein"})
    assert result.counts["new"] == 1
    assert await db.scalar(select(Employer.fein)) == "12-3456789"


async def test_rows_outside_the_chosen_region_are_refused(sessionmaker, db):
    data = csv_bytes([employer("Golden Gate Bakery", 1, county="San Francisco")])
    result = await run_import(sessionmaker, data, region="LA-BASIN")
    assert [(e.field, "limited to LA-BASIN" in e.message) for e in result.errors] == [("county", True)]
    assert await db.scalar(select(func.count()).select_from(Employer)) == 0


def _word(rng) -> str:
    return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(4)).capitalize()


def _write_big_csv(path, n: int) -> None:
    """``n`` unmistakably different employers (random pseudo-words), so every row is new."""
    import random

    rng = random.Random(7)
    path.write_bytes(csv_bytes([{"legal_name": f"{_word(rng)} {_word(rng)} Inc", "address_line": f"{100 + i} Main St",
                                 "zip": f"{90001 + i % 90:05d}", "county": "Los Angeles"} for i in range(n)]))


def test_killing_the_import_mid_run_leaves_only_whole_batches_and_a_rerun_completes(tmp_path, settings):
    import asyncio

    from crm.db import make_engine, make_sessionmaker

    n, size = 3000, 100
    path = tmp_path / "big.csv"
    _write_big_csv(path, n)
    env = {**os.environ, "CRM_DATABASE_URL": settings.database_url, "CRM_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-m", "crm.cli", "import", "employers", str(path), "--batch-size", str(size)]

    async def state() -> tuple[int, int, int]:
        engine = make_engine(settings)
        async with make_sessionmaker(engine)() as db:
            batches = await db.scalar(select(func.count()).select_from(ImportBatch)
                                      .where(ImportBatch.status == "committed")) or 0
            employers = await db.scalar(select(func.count()).select_from(Employer)) or 0
            keys = await db.scalar(select(func.count()).select_from(ImportRowKey)) or 0
        await engine.dispose()
        return batches, employers, keys

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and asyncio.run(state())[0] < 1:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    batches, employers, keys = asyncio.run(state())
    assert 1 <= batches < n // size, "the kill must land mid-run"
    assert employers == batches * size and keys == batches * size  # whole batches only

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{employers} imported before" in rerun.stdout
    _, employers, keys = asyncio.run(state())
    assert employers == n and keys == n


async def test_imported_employers_get_the_same_search_keys_refresh_keys_would_write(sessionmaker, db):
    from crm.employers.candidates import employer_search_key, refresh_keys

    data = csv_bytes([employer("Harbor Freightways Inc", 1, aliases="HFI; Harbor Freight Lines", phone="2135550101",
                               fein="12-3456789")], header=[*HEADER, "dba"])
    await run_import(sessionmaker, data)
    keys = employer_search_key.c

    async def stored() -> set[tuple[str, int]]:
        return {tuple(r) for r in await db.execute(select(keys.key, keys.employer_id))}

    written = await stored()
    assert written, "the import wrote no typeahead keys"
    await db.rollback()
    async with db.begin():
        await refresh_keys(db, [employer_id for _, employer_id in written])
    assert await stored() == written


async def test_a_row_matches_an_employer_an_earlier_batch_of_the_same_file_created(sessionmaker, db):
    # Batches of one row: each batch's candidates are found while the previous one commits.
    data = csv_bytes([
        employer("Harbor Freightways Inc", 1, phone="213-555-0101"),
        {**employer("Harbor Freightways", 1), "zip": "", "contact_name": "Bo Diaz"},  # same site, no ZIP
        employer("Sierra Dental Group", 2),
    ])
    result = await run_import(sessionmaker, data, batch_size=1)
    assert (result.counts["new"], result.counts["duplicate"]) == (2, 1)
    assert result.samples["duplicate"][0]["duplicate_of"] == 2
    assert await db.scalar(select(func.count()).select_from(Employer)) == 2
    contacts = list(await db.scalars(select(EmployerContact.name)))
    assert contacts == ["Bo Diaz"]


async def test_a_row_repeated_in_a_later_batch_is_its_duplicate_as_the_preview_said_not_imported_before(
        sessionmaker, db):
    data = csv_bytes([employer("Harbor Freightways Inc", 1), employer("Sierra Dental Group", 2),
                      employer("Harbor Freightways Inc", 1)])  # row 4 repeats row 2 word for word
    preview = await run_import(sessionmaker, data, dry_run=True, batch_size=2)
    result = await run_import(sessionmaker, data, batch_size=2)
    for said in (preview, result):
        assert (said.counts["new"], said.counts["duplicate"], said.counts["unchanged"]) == (2, 1, 0)
        assert said.samples["duplicate"][0]["duplicate_of"] == 2
    assert await db.scalar(select(func.count()).select_from(Employer)) == 2
    again = await run_import(sessionmaker, data, batch_size=2)  # another run of the file: imported before
    assert (again.counts["unchanged"], again.counts["new"], again.counts["duplicate"]) == (3, 0, 0)


async def test_a_file_with_the_exports_apostrophes_imports_each_cell_as_written(sessionmaker, db):
    data = (b"legal_name,city,contact_name,contact_phone\n"
            b"'+1 Rooter Plumbing,Fresno,Ann Lee,'+15595550100\n"
            b"Zeta Widgets Quux,Fresno,Bo Chan,'+15595550101\n")
    result = await run_import(sessionmaker, data)
    assert result.errors == [] and result.counts["new"] == 2
    stored = await db.execute(select(Employer.legal_name, Employer.city, EmployerContact.name, EmployerContact.phone)
                              .join(EmployerContact).order_by(Employer.legal_name))
    assert [tuple(r) for r in stored] == [("+1 Rooter Plumbing", "Fresno", "Ann Lee", "+15595550100"),
                                          ("Zeta Widgets Quux", "Fresno", "Bo Chan", "+15595550101")]


async def test_names_with_accents_quotes_and_emoji_are_stored_as_written(sessionmaker, db):
    name = 'Café "Ölé" Bäckerei 🍞 Inc'
    data = csv_bytes([employer(name, 1, aliases="Bäckerei Ölé; L'Atelier", contact_name="Zoë Ñúñez",
                               contact_email="zoe@cafe1.com")])
    await run_import(sessionmaker, data)
    assert await db.scalar(select(Employer.legal_name)) == name
    assert set(await db.scalars(select(EmployerAlias.name))) == {"Bäckerei Ölé", "L'Atelier"}
    assert await db.scalar(select(EmployerContact.name)) == "Zoë Ñúñez"
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "employer.create"))
    assert event.after["legal_name"] == name and event.before is None and "row 2" in event.note


async def test_an_import_in_a_server_process_leaves_its_frozen_startup_heap_frozen(sessionmaker):
    import gc

    # `crm serve` freezes its startup heap (crm.app.create_app_from_env); an upload import runs there.
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        await run_import(sessionmaker, csv_bytes([employer("Mojave Solar Works", 1)]))
        # Still frozen (the run's garbage cycles were collected once before it was frozen again).
        assert gc.isenabled() and gc.get_freeze_count() > frozen // 2
    finally:
        gc.unfreeze()


async def test_the_import_leaves_the_connection_and_the_process_settings_as_it_found_them(sessionmaker, is_pg):
    import gc

    from sqlalchemy import text

    engine = sessionmaker.kw["bind"]
    interval = sys.getswitchinterval()
    await run_import(sessionmaker, csv_bytes([employer("Mojave Solar Works", 1)]))
    assert gc.isenabled() and gc.get_freeze_count() == 0 and sys.getswitchinterval() == interval
    if not is_pg:
        # Every pooled connection (the run borrowed one and tuned it) is back to the defaults.
        connections = [await engine.connect() for _ in range(3)]
        for conn in connections:
            assert (await conn.execute(text("PRAGMA cache_size"))).scalar() == -2000
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == 1000
            await conn.close()
