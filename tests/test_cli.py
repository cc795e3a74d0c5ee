"""The `crm` command: upgrade from empty, idempotent seed, users and tokens, backup."""

import asyncio
import shutil
import sqlite3
from contextlib import closing

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from crm import migrate
from crm.cli import main
from crm.db import make_engine
from crm.migrate import head_revisions
from crm.notify.service import footer
from crm.settings import DEFAULT_SECRET, Settings


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    # The CLI reads its configuration from the environment, as in production.
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


def _run(*args, input=None):
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result


def test_db_upgrade_builds_an_empty_database_and_seed_is_idempotent(cli_env):
    assert _run("db", "upgrade").exit_code == 0
    first = _run("seed")
    assert first.exit_code == 0 and "regions +14, counties +58, sectors +20, services +14" in first.output
    second = _run("seed")
    assert "regions +0, counties +0, sectors +0, services +0, updated 0" in second.output
    with sqlite3.connect(cli_env / "cli.db") as db:
        assert db.execute("select count(*) from county").fetchone()[0] == 58


def test_users_create_and_token_then_the_token_authenticates(cli_env):
    _run("db", "upgrade")
    _run("seed")
    made = _run("users", "create", "Lead@Example.org", "--name", "Lee Lead", "--role", "lead", "--region",
                "LA-BASIN", "--password-stdin", input="a-long-password\n")
    assert made.exit_code == 0 and "lead@example.org" in made.output
    token = _run("users", "token", "lead@example.org").output.strip()
    assert token.startswith("od_")
    with sqlite3.connect(cli_env / "cli.db") as db:
        hashes = [r[0] for r in db.execute("select token_hash from api_token")]
    assert len(hashes) == 1 and token not in hashes


def test_a_user_created_without_a_password_is_told_how_to_get_one(cli_env, monkeypatch):
    monkeypatch.delenv("CRM_BASE_URL", raising=False)
    _migrated(cli_env)
    first = _run("users", "create", "chair@example.org", "--name", "Cy Chair", "--role", "chair")
    assert first.exit_code == 0 and "created user #1 chair@example.org" in first.output
    assert "no password: chair@example.org cannot sign in, and no admin can sign in to set one" in first.output
    assert "give it one with crm users password chair@example.org" in first.output
    admin = _run("users", "create", "boss@example.org", "--name", "Boss", "--role", "admin", "--password-stdin",
                 input="a-long-password\n")
    assert admin.exit_code == 0 and "no password" not in admin.output
    later = _run("users", "create", "spoc@example.org", "--name", "Sam Spoc", "--role", "spoc", "--region", "LA-BASIN")
    assert later.exit_code == 0
    assert ("no password: spoc@example.org cannot sign in until an admin sets one on "
            "http://127.0.0.1:8000/admin/users/3") in later.output


def test_users_password_gives_a_user_a_password_they_sign_in_with(cli_env):
    from crm.auth.passwords import verify_password

    _migrated(cli_env)
    _run("users", "create", "chair@example.org", "--name", "Cy Chair", "--role", "chair")
    short = _run("users", "password", "chair@example.org", input="short\n")
    assert short.exit_code == 1 and "the password: must be at least 10 characters" in short.output
    unknown = _run("users", "password", "nobody@example.org", input="a-long-password\n")
    assert unknown.exit_code == 1 and "no active user nobody@example.org" in unknown.output
    done = _run("users", "password", "Chair@Example.org", input="a-long-password\n")
    assert done.exit_code == 0 and "password set for chair@example.org" in done.output
    with sqlite3.connect(cli_env / "cli.db") as db:
        (stored,) = db.execute("select password_hash from user_account").fetchone()
        (note,) = db.execute("select note from audit_event where action = 'user.password'").fetchone()
    assert verify_password(stored, "a-long-password") and note == "set with crm users password"


def test_users_create_rejects_unknown_region_with_a_message(cli_env):
    _run("db", "upgrade")
    _run("seed")
    result = CliRunner().invoke(main, ["users", "create", "x@example.org", "--name", "X", "--role", "spoc",
                                       "--region", "NOWHERE"])
    assert result.exit_code != 0 and "unknown region code" in result.output


def test_users_create_refuses_a_region_for_an_admin_and_gives_it_only_to_the_regional_roles(cli_env):
    _run("db", "upgrade")
    _run("seed")
    refused = _run("users", "create", "boss@example.org", "--name", "Boss", "--role", "admin", "--region", "LA-BASIN")
    assert refused.exit_code != 0 and "--region: an admin works in every region" in refused.output
    made = _run("users", "create", "both@example.org", "--name", "Both", "--role", "admin", "--role", "spoc",
                "--region", "LA-BASIN")
    assert made.exit_code == 0, made.output
    with sqlite3.connect(cli_env / "cli.db") as db:
        grants = db.execute("select u.email, g.role, r.code from role_grant g join user_account u on u.id = g.user_id"
                            " left join region r on r.id = g.region_id order by g.role").fetchall()
    assert grants == [("both@example.org", "admin", None), ("both@example.org", "spoc", "LA-BASIN")]


def test_users_create_gives_a_role_named_twice_once(cli_env):
    _run("db", "upgrade")
    _run("seed")
    made = _run("users", "create", "twice@example.org", "--name", "Twice", "--role", "admin", "--role", "admin",
                "--role", "spoc", "--role", "spoc", "--region", "LA-BASIN")
    assert made.exit_code == 0, made.output
    with sqlite3.connect(cli_env / "cli.db") as db:
        grants = db.execute("select g.role, r.code from role_grant g left join region r on r.id = g.region_id"
                            " order by g.role").fetchall()
    assert grants == [("admin", None), ("spoc", "LA-BASIN")]


def test_users_create_refuses_an_e_mail_address_with_a_space(cli_env):
    _run("db", "upgrade")
    _run("seed")
    refused = _run("users", "create", "a b@x.org", "--name", "Ann Bee", "--role", "chair")
    assert refused.exit_code != 0 and "EMAIL: is not a valid e-mail address" in refused.output
    with sqlite3.connect(cli_env / "cli.db") as db:
        assert db.execute("select count(*) from user_account").fetchone()[0] == 0


def test_users_create_names_every_mistake_at_once(cli_env):
    _run("db", "upgrade")
    _run("seed")
    result = _run("users", "create", "nobody", "--name", " ", "--role", "spoc", "--role", "lead",
                  "--password-stdin", input="short\n")
    assert result.exit_code != 0
    for said in ("EMAIL: is not a valid e-mail address", "--name: is required", "the password: must be at least 10",
                 "--region: a spoc must be given a region", "--region: a lead must be given a region"):
        assert said in result.output


def test_db_backup_writes_a_consistent_copy(cli_env):
    _run("db", "upgrade")
    _run("seed")
    target = cli_env / "backup.db"
    assert _run("db", "backup", str(target)).exit_code == 0
    with sqlite3.connect(target) as db:
        assert db.execute("select count(*) from region").fetchone()[0] == 14


def test_production_refuses_the_default_secret():
    with pytest.raises(RuntimeError, match="CRM_SECRET_KEY"):
        Settings(env="production", secret_key=DEFAULT_SECRET).check()
    Settings(env="production", secret_key="x" * 40).check()


def test_settings_come_from_crm_variables():
    s = Settings.from_env({"CRM_DATABASE_URL": "postgresql+asyncpg://db/x", "CRM_SCHEDULER": "0",
                           "CRM_BASE_URL": "https://onedoor.example/", "CRM_LOG_LEVEL": "debug"})
    assert s.database_url == "postgresql+asyncpg://db/x" and s.scheduler_enabled is False
    assert s.base_url == "https://onedoor.example" and s.secure_cookies and s.log_level == "DEBUG"


# --- db backup: never over something it should not replace ---------------------------------------

def _migrated(cli_env):
    assert _run("db", "upgrade").exit_code == 0
    assert _run("seed").exit_code == 0
    return cli_env / "cli.db"


def _regions(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("select count(*) from region").fetchone()[0]


def test_db_backup_refuses_an_existing_file_unless_forced(cli_env):
    _migrated(cli_env)
    target = cli_env / "notes.txt"
    target.write_text("keep me")
    refused = _run("db", "backup", str(target))
    assert refused.exit_code == 1 and "exists: use --force" in refused.output
    assert target.read_text() == "keep me"
    forced = _run("db", "backup", "--force", str(target))  # a file that was no database: replaced whole
    assert forced.exit_code == 0 and _regions(target) == 14
    assert [p.name for p in cli_env.iterdir() if ".tmp" in p.name] == []


def test_db_backup_never_writes_over_the_database_it_backs_up(cli_env):
    live = _migrated(cli_env)
    (cli_env / "link.db").symlink_to(live)
    for spelling in (live, cli_env / "." / "cli.db", cli_env / "link.db", cli_env / "cli.db-wal"):
        result = _run("db", "backup", "--force", str(spelling))
        assert result.exit_code == 1 and not result.output.startswith("backed up")
        assert "database being backed up" in result.output
    assert _regions(live) == 14


def test_db_backup_will_not_replace_a_database_in_use_even_when_forced(cli_env):
    # CRM_DATABASE_URL points at one database, PATH is another one a server has open.
    _migrated(cli_env)
    other = cli_env / "other.db"
    with closing(sqlite3.connect(other)) as server:
        server.execute("pragma journal_mode=wal")
        server.execute("create table precious (x)")
        server.execute("insert into precious values (1)")
        server.commit()
        result = _run("db", "backup", "--force", str(other))
        assert result.exit_code == 1 and "in use" in result.output
        assert server.execute("select x from precious").fetchall() == [(1,)]


def test_db_backup_into_a_missing_folder_is_one_clear_line(cli_env):
    _migrated(cli_env)
    result = _run("db", "backup", str(cli_env / "nowhere" / "backup.db"))
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: cannot write {cli_env / 'nowhere' / 'backup.db'}: the folder " \
                                    f"{cli_env / 'nowhere'} does not exist"


def test_db_backup_on_postgresql_is_a_pg_dump_archive_and_refuses_an_existing_file(tmp_path, settings, is_pg):
    if not is_pg or not shutil.which("pg_dump"):
        pytest.skip("PostgreSQL with pg_dump only")
    env = {"CRM_DATABASE_URL": settings.database_url}
    target = tmp_path / "onedoor.dump"
    made = CliRunner().invoke(main, ["db", "backup", str(target)], env=env, catch_exceptions=False)
    assert made.exit_code == 0 and target.read_bytes().startswith(b"PGDMP")
    again = CliRunner().invoke(main, ["db", "backup", str(target)], env=env, catch_exceptions=False)
    assert again.exit_code == 1 and "exists: use --force" in again.output


# --- an unmigrated database: one line saying what to run ------------------------------------------

@pytest.mark.parametrize("command", [
    ["seed"],
    ["users", "create", "x@example.org", "--name", "X", "--role", "admin"],
    ["users", "token", "x@example.org"],
    ["employers", "reindex"],
    ["export", "employers"],
])
def test_commands_on_a_database_never_migrated_say_to_run_db_upgrade(cli_env, command):
    result = _run(*command)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: the database at {cli_env / 'cli.db'} has no OneDoor tables")
    assert "run `crm db upgrade` first" in result.output and len(result.output.splitlines()) == 1
    assert not (cli_env / "cli.db").exists()  # asking did not leave an empty database behind


def test_import_on_an_empty_database_file_says_to_run_db_upgrade(cli_env):
    sqlite3.connect(cli_env / "cli.db").close()  # the file is there, the tables are not
    source = cli_env / "in.csv"
    source.write_text("legal_name,zip\nMojave Solar Works,93501\n")
    result = _run("import", "employers", str(source))
    assert result.exit_code == 1 and "has no OneDoor tables" in result.output


def test_import_reports_every_problem_of_a_row(cli_env):
    _migrated(cli_env)
    source = cli_env / "in.csv"
    source.write_text("legal_name,fein,naics_code,zip,phone\n" + "x" * 201 + ",12-34,12a,9,555\n")
    result = _run("import", "employers", "--dry-run", str(source))
    assert result.exit_code == 1
    for said in ("row 2, legal_name: at most 200 characters", "row 2, fein: '12-34' is not a valid FEIN",
                 "row 2, phone: '555' is not a valid phone number", "row 2, naics_code: must be 2 to 6 digits",
                 "row 2, zip: '9' is not a ZIP code"):
        assert said in result.output


def test_import_names_a_row_with_more_fields_than_the_header(cli_env):
    _migrated(cli_env)
    source = cli_env / "in.csv"
    source.write_text("legal_name,city\nAcme, Inc,Fresno\n")
    result = _run("import", "employers", str(source))
    assert result.exit_code == 1
    assert "row 2 has 3 fields; the header has 2: quote a value that contains a comma" in result.output


def test_import_of_two_columns_with_one_header_says_to_rename_one(cli_env):
    _migrated(cli_env)
    source = cli_env / "in.csv"
    source.write_text("legal_name,Phone,Phone\nMojave Solar Works,2135550101,2135550102\n")
    result = _run("import", "employers", str(source), "--map", "Phone=phone")
    assert result.exit_code == 2 and "Unknown column" not in result.output
    assert "Columns 2 and 3 are both headed 'Phone'" in result.output and "rename one" in result.output


def test_import_names_every_problem_of_map_at_once(cli_env):
    _migrated(cli_env)
    source = cli_env / "in.csv"
    source.write_text("legal_name,fien\nMojave Solar Works,12-3456789\n")
    result = _run("import", "employers", str(source), "--map", "fien=bogus", "--map", "Fein=fein")
    assert result.exit_code == 2
    assert "'bogus' (mapped from 'fien') is not a column to import into" in result.output
    assert "'Fein' is not a column of the file; its columns are legal_name, fien" in result.output
    assert "Nothing was written" in result.output


def test_an_import_stopped_by_a_database_error_marks_its_job_failed_and_says_what_stays_imported(cli_env,
                                                                                                 monkeypatch):
    from sqlalchemy.exc import OperationalError

    from crm.employers import import_service

    path = _migrated(cli_env)
    source = cli_env / "in.csv"
    source.write_text("legal_name,zip\n" + "".join(f"Mojave Solar Works {n},93501\n" for n in range(6)))
    begin_write, batches = import_service.begin_write, []

    async def locked_at_the_second_batch(db, **kwargs):
        batches.append(1)
        if len(batches) == 2:  # as when another writer held SQLite's lock past busy_timeout
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        await begin_write(db, **kwargs)

    monkeypatch.setattr(import_service, "begin_write", locked_at_the_second_batch)
    result = _run("import", "employers", str(source), "--batch-size", "2")
    assert result.exit_code == 3
    assert ("Error: The import stopped on a database error (database is locked) after 1 of 3 batch(es) were "
            "imported; those stay imported, and a rerun of the file recognizes their rows.") in result.output
    assert "Job #1 is marked failed." in result.output and "Traceback" not in result.output
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("select status, error like '%database is locked%' from employer_import_job").fetchall() == [
            ("failed", 1)]
        assert db.execute("select count(*) from employer").fetchone()[0] == 2


def test_commands_on_a_database_behind_the_migrations_say_to_run_db_upgrade(settings, db):
    env = {"CRM_DATABASE_URL": settings.database_url}
    head = ", ".join(head_revisions())
    asyncio.run(_set_revision(settings, "0011"))
    try:
        result = CliRunner().invoke(main, ["seed"], env=env, catch_exceptions=False)
        assert result.exit_code == 1
        assert f"is behind (revision 0011, expected {head}): run `crm db upgrade` first" in result.output
    finally:
        asyncio.run(_set_revision(settings, head))
    assert CliRunner().invoke(main, ["seed"], env=env, catch_exceptions=False).exit_code == 0


async def _set_revision(settings, revision):
    engine = make_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    await engine.dispose()


def test_export_to_a_missing_folder_is_one_clear_line(cli_env):
    _migrated(cli_env)
    result = _run("export", "employers", "--out", str(cli_env / "nowhere" / "x.csv"))
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: cannot write {cli_env / 'nowhere' / 'x.csv'}: No such file or directory"


def test_export_to_an_unknown_region_leaves_no_file_behind(cli_env):
    _migrated(cli_env)
    target = cli_env / "f.csv"
    result = _run("export", "employers", "--region", "UNKNOWN", "--out", str(target))
    assert result.exit_code == 1 and "unknown region code 'UNKNOWN'" in result.output
    assert sorted(p.name for p in cli_env.iterdir() if not p.name.startswith("cli.db")) == []


def test_a_failed_export_leaves_the_earlier_file_as_it_was(cli_env, monkeypatch):
    _migrated(cli_env)
    target = cli_env / "employers.csv"
    target.write_text("the export of last week\n")
    assert _run("export", "employers", "--region", "UNKNOWN", "--out", str(target)).exit_code == 1
    assert target.read_text() == "the export of last week\n"

    async def half_written(db, out, region_id=None):
        out.write("legal_name\r\nHarbor")
        raise OSError("disk full")

    monkeypatch.setattr("crm.employers.export.write_csv", half_written)
    failed = CliRunner().invoke(main, ["export", "employers", "--out", str(target)])
    assert failed.exit_code != 0
    assert target.read_text() == "the export of last week\n"
    assert sorted(p.name for p in cli_env.iterdir() if not p.name.startswith("cli.db")) == ["employers.csv"]


def test_export_never_writes_over_the_database_it_exports_from(cli_env):
    live = _migrated(cli_env)
    for spelling in (live, cli_env / "." / "cli.db", cli_env / "cli.db-wal"):
        result = _run("export", "employers", "--out", str(spelling))
        assert result.exit_code == 1 and "database exported from" in result.output
    assert _regions(live) == 14


def test_export_replaces_an_earlier_file_once_written(cli_env):
    _migrated(cli_env)
    target = cli_env / "employers.csv"
    target.write_text("the export of last week\n")
    result = _run("export", "employers", "--region", "LA-BASIN", "--out", str(target))
    assert result.exit_code == 0 and f"exported 0 rows to {target}" in result.output
    assert target.read_text(encoding="utf-8-sig").startswith("legal_name,dba,website")
    assert sorted(p.name for p in cli_env.iterdir() if not p.name.startswith("cli.db")) == ["employers.csv"]


# --- serve -------------------------------------------------------------------------------------

@pytest.fixture
def started(monkeypatch):
    """uvicorn.run replaced: the calls `crm serve` made to start the server."""
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append((a, kw)))
    return calls


def test_serve_refuses_a_database_that_was_never_migrated(cli_env, started):
    result = _run("serve")
    assert result.exit_code == 1 and "has no OneDoor tables" in result.output and "crm db upgrade" in result.output
    assert started == []


def test_serve_starts_on_a_migrated_database_and_demo_migrates_a_fresh_one_first(cli_env, started, monkeypatch):
    monkeypatch.setattr("crm.cli._prepare_demo", migrate.upgrade)  # the demo data itself: tests/test_demo.py
    assert _run("serve", "--demo").exit_code == 0
    assert len(started) == 1


def test_serve_without_crm_base_url_links_e_mails_to_the_port_it_serves_on(cli_env, monkeypatch):
    monkeypatch.setattr("crm.cli._prepare_demo", migrate.upgrade)
    monkeypatch.setenv("CRM_BASE_URL", "")  # unset (an empty value is), and put back after the test
    seen = []
    # What each worker's app is built from (crm.app.create_app_from_env), read when the server starts.
    monkeypatch.setattr("uvicorn.run", lambda *a, **kw: seen.append(Settings.from_env().base_url))
    result = _run("serve", "--demo", "--port", "8611")
    assert result.exit_code == 0 and "OneDoor is starting at http://127.0.0.1:8611 " in result.output
    assert seen == ["http://127.0.0.1:8611"]
    assert footer(seen[0]).endswith("OneDoor: http://127.0.0.1:8611/")
    # Set explicitly, it stays what it was.
    monkeypatch.setenv("CRM_BASE_URL", "https://onedoor.example/")
    assert _run("serve", "--port", "8611").exit_code == 0 and seen[-1] == "https://onedoor.example"
    monkeypatch.setenv("CRM_BASE_URL", "")
    on_all = _run("serve", "--host", "0.0.0.0", "--port", "8612")
    assert seen[-1] == "http://0.0.0.0:8612" and "set CRM_BASE_URL" in on_all.output


def test_seed_demo_leaves_its_planted_duplicates_waiting_for_review(cli_env):
    """The demo's near-duplicate employers are in the lead's review queue at once (it read "0 pairs" until
    the first daily scan, never with the scheduler off)."""
    result = _run("seed", "--demo")
    assert result.exit_code == 0 and "Demo logins" in result.output
    with sqlite3.connect(cli_env / "cli.db") as db:
        assert db.execute("select count(*) from duplicate_candidate where status = 'open'").fetchone()[0] > 0
