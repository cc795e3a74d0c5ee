"""The ``crm`` command: serve, db, seed, users (one entry point for everything operational)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm import migrate
from crm.db import make_engine, make_sessionmaker
from crm.employers.import_service import DEFAULT_BATCH_SIZE
from crm.files import replacing
from crm.settings import Settings

T = TypeVar("T")


def _settings() -> Settings:
    return Settings.from_env()


class DatabaseUnreachable(click.ClickException):
    """The configured database does not answer (wrong URL, server down, unreadable file)."""


def _where(settings: Settings) -> str:
    path = settings.sqlite_path
    return f"the database at {path if path is not None else _safe_url(settings.database_url)}"


def schema_problem(settings: Settings) -> str | None:
    """What keeps the configured database from serving this code (no OneDoor tables, behind, a
    revision these migrations do not know), or None when it is at the migrations' head."""
    where = _where(settings)
    path = settings.sqlite_path
    if path is not None and not path.exists():
        # Connecting would create an empty file: say what is missing without leaving one behind.
        return migrate.SchemaState(None, migrate.head_revisions()).problem(where)

    async def go() -> migrate.SchemaState:
        engine = make_engine(settings)
        try:
            async with engine.connect() as conn:
                return await migrate.schema_state(conn)
        finally:
            await engine.dispose()

    try:
        state = asyncio.run(go())
    except (OSError, SQLAlchemyError) as exc:
        reason = getattr(exc, "orig", None) or exc
        raise DatabaseUnreachable(f"cannot read {where}: {str(reason).splitlines()[0]}") from None
    return None if state.ready else state.problem(where)


def _migrated_settings() -> Settings:
    """The settings, once the database is known to be at the migrations' head: every command that
    reads or writes OneDoor's tables starts here, so an unmigrated database is one clear line
    (and exit 1), not a traceback ending in "no such table"."""
    settings = _settings()
    if problem := schema_problem(settings):
        raise click.ClickException(problem)
    return settings


def run_db(settings: Settings, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``fn`` in one transaction against the configured database."""

    async def go() -> T:
        engine = make_engine(settings)
        try:
            async with make_sessionmaker(engine)() as db, db.begin():
                return await fn(db)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def run_sessions(settings: Settings, fn: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Run ``fn`` with a sessionmaker: it opens and commits its own transactions."""

    async def go() -> T:
        engine = make_engine(settings)
        try:
            return await fn(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


@click.group()
def main() -> None:
    """OneDoor employer-engagement CRM."""


# --- serve -----------------------------------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="server processes")
@click.option("--http", "http_impl", type=click.Choice(["auto", "h11", "httptools"]), default="auto",
              show_default=True, help="HTTP parser (auto: httptools when installed)")
@click.option("--loop", type=click.Choice(["auto", "asyncio", "uvloop"]), default="auto", show_default=True,
              help="event loop (auto: uvloop when installed)")
@click.option("--demo", is_flag=True, help="migrate, load reference + demo data, print the demo logins")
def serve(host: str, port: int, workers: int, http_impl: str, loop: str, demo: bool) -> None:
    """Run the web server (uvicorn)."""
    import uvicorn

    settings = _settings()
    settings.check()
    if demo:
        _prepare_demo(settings)
    _refuse_unmigrated(settings)
    if workers > 1 and (loop == "asyncio" or (loop == "auto" and importlib.util.find_spec("uvloop") is None)):
        # uvicorn's shared socket for several workers is created without IPPROTO_TCP, so the asyncio
        # loop does not set TCP_NODELAY on accepted connections: keep-alive responses then wait out
        # the client's delayed ACK (~40 ms each). uvloop sets it on every connection.
        click.echo("warning: --workers > 1 with the asyncio loop leaves Nagle's algorithm on "
                   "(responses stall ~40 ms); install uvicorn[standard] or use --loop uvloop", err=True)
    if os.environ.get("CRM_BASE_URL"):
        base = settings.base_url
    else:
        base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        # Every worker reads its settings from the environment (create_app_from_env): the links in the
        # e-mails it sends then lead to where this server answers, not to the default's port 8000.
        os.environ["CRM_BASE_URL"] = base
        if host in ("0.0.0.0", "::"):
            click.echo(f"warning: e-mail links will point at {base}; set CRM_BASE_URL to the address "
                       "people reach OneDoor at", err=True)
    click.echo(f"OneDoor is starting at {base}  (database: {_safe_url(settings.database_url)})")
    uvicorn.run("crm.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level.lower(), proxy_headers=True, http=http_impl, loop=loop)


def _refuse_unmigrated(settings: Settings) -> None:
    """``crm serve`` on a database without OneDoor's tables, or behind the code, would answer every
    request with a 500: refuse to start and say what to run. A database that does not answer yet (a
    PostgreSQL still starting) only warns: the server starts, /readyz answers 503 until it does."""
    try:
        problem = schema_problem(settings)
    except DatabaseUnreachable as exc:
        click.echo(f"warning: {exc.message}; starting anyway, /readyz answers 503 until it answers", err=True)
        return
    if problem:
        hint = " (or `crm serve --demo` for a demo database)" if settings.is_sqlite else ""
        raise click.ClickException(problem + hint)


def _prepare_demo(settings: Settings) -> None:
    from crm.demo import load_demo
    from crm.seed import load_reference
    from crm.touches.demo import load_touches_demo

    migrate.upgrade(settings)

    async def load(db: AsyncSession) -> Any:
        from crm.employers.candidates import reindex_all
        from crm.employers.duplicates import scan_duplicates

        await load_reference(db)
        report = await load_demo(db)
        await reindex_all(db)  # the demo bulk-inserts employers: give them typeahead keys
        # Its planted near-duplicates wait in the review queue at once, not after the first daily scan.
        await scan_duplicates(db)
        return report

    report = run_db(settings, load)
    click.echo(str(report))
    click.echo(str(run_sessions(settings, lambda sessionmaker: load_touches_demo(
        sessionmaker, first=[email for _, email, _ in report.logins]))))
    click.echo("\nDemo logins (password: onedoor-demo):")
    for role, email, description in report.logins:
        click.echo(f"  {role:<8} {email:<42} {description}")
    click.echo("")


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


# --- db --------------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Schema migrations and backups."""


@db.command()
@click.argument("revision", default="heads")
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(_settings(), revision)
    click.echo(f"database at {revision}")


@db.command()
@click.argument("revision", default="-1")
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    migrate.downgrade(_settings(), revision)


@db.command()
def current() -> None:
    """Show the database's migration revision."""
    migrate.current(_settings())


@db.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="replace PATH if it exists (never the database itself)")
def backup(path: Path, force: bool) -> None:
    """Write a consistent backup of the configured database to PATH.

    SQLite: the online backup API (a copy that opens as a database). PostgreSQL: pg_dump
    --format=custom (restore with pg_restore; needs pg_dump on the PATH). PATH must not exist
    unless --force; it is written to a temporary file beside it first, so a failed backup leaves
    PATH as it was.
    """
    settings = _settings()
    _check_backup_target(path, force, settings.sqlite_path if settings.is_sqlite else None)
    if settings.is_sqlite:
        source = settings.sqlite_path
        if source is None or not source.exists():
            raise click.ClickException(f"no SQLite database at {source}")
        with replacing(path) as tmp:
            try:
                # The online backup API copies a consistent snapshot even while the app is writing.
                with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(tmp)) as dst:
                    src.backup(dst)
            except sqlite3.Error as exc:
                raise click.ClickException(f"cannot back up {source}: {exc}") from None
        click.echo(f"backed up {source} to {path}")
        return
    if not shutil.which("pg_dump"):
        raise click.ClickException("pg_dump is not installed (PostgreSQL backups are pg_dump archives)")
    url = make_url(settings.sync_database_url.replace("postgresql+psycopg", "postgresql"))
    # The password goes in the environment, not on pg_dump's command line (which `ps` shows).
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    dbname = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    with replacing(path) as tmp:
        result = subprocess.run(["pg_dump", "--format=custom", f"--file={tmp}", f"--dbname={dbname}"], check=False,
                                env=env)
        if result.returncode != 0:
            raise click.ClickException("pg_dump failed (its message is above); nothing was written")
    click.echo(f"backed up to {path} (restore with pg_restore)")


def _refuse_live_database(path: Path, source: Path | None, doing: str) -> None:
    """Refuse to write ``path`` when it is the SQLite database (or one of its journal files) by any name:
    resolved paths, so also through a symlink, and the same file under another name."""
    if source is None:
        return
    target, live = path.resolve(), source.resolve()
    if target == live or (path.exists() and source.exists() and os.path.samefile(path, source)):
        raise click.ClickException(f"{path} is the database {doing} ({source}): choose another file")
    if target in {live.with_name(live.name + suffix) for suffix in ("-wal", "-shm", "-journal")}:
        raise click.ClickException(f"{path} is a journal file of the database {doing} ({source})")


def _check_backup_target(path: Path, force: bool, source: Path | None) -> None:
    """Refuse a backup target that is the live database (or one of its journal files, by any name:
    resolved paths, so also through a symlink), an existing file unless --force, or in a folder
    that does not exist."""
    target = path.resolve()
    _refuse_live_database(path, source, "being backed up")
    if not target.parent.is_dir():
        raise click.ClickException(f"cannot write {path}: the folder {path.parent} does not exist")
    if path.exists():
        if not force:
            raise click.ClickException(f"{path} exists: use --force to replace it")
        if target.with_name(target.name + "-wal").exists():
            # A SQLite file with a write-ahead log beside it is open as a database (or was not closed
            # cleanly): replacing it under that log corrupts it, --force or not.
            raise click.ClickException(f"{path} is a SQLite database in use ({path}-wal exists): not replacing it")


# --- seed ------------------------------------------------------------------------------------

@main.command()
@click.option("--demo", is_flag=True, help="also load the deterministic demo world")
def seed(demo: bool) -> None:
    """Load reference data (regions, counties, NAICS sectors); idempotent."""
    from crm.seed import load_reference

    if demo:
        _prepare_demo(_settings())  # migrates first
        return
    click.echo(str(run_db(_migrated_settings(), load_reference)))


# --- users -----------------------------------------------------------------------------------

@main.group()
def users() -> None:
    """Create users and API tokens."""


# The options a user-creation problem names, as the command line spells them.
_USER_OPTIONS = {"email": "EMAIL", "name": "--name", "role": "--role", "region": "--region", "organization": "--org",
                 "password": "the password"}


async def _active_user(db: AsyncSession, email: str) -> Any:
    """The active user with this e-mail (any case), or a one-line error."""
    from sqlalchemy import select

    from crm.auth.models import User
    from crm.auth.service import normalize_email

    user = await db.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None or not user.is_active:
        raise click.ClickException(f"no active user {email}")
    return user


@users.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", "roles", required=True, multiple=True,
              help="admin, lead, spoc, partner or chair (repeatable)")
@click.option("--region", default=None,
              help="region code of the lead/spoc roles, e.g. LA-BASIN (admin, partner and chair take none)")
@click.option("--org", default=None, help="organization name")
@click.option("--password-stdin", is_flag=True,
              help="read the password from standard input (without one the user cannot sign in until an admin "
                   "sets it on /admin/users)")
def users_create(email: str, name: str, roles: tuple[str, ...], region: str | None, org: str | None,
                 password_stdin: bool) -> None:
    """Create a user."""
    from sqlalchemy import func, select

    from crm.auth.models import REGION_SCOPED, Role, RoleGrant, User
    from crm.auth.service import create_user
    from crm.errors import Conflict, FieldError

    settings = _migrated_settings()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    # One --region for every --role: it goes to the roles that take one (``--role admin --role spoc
    # --region X`` is an admin everywhere and a SPOC in X). Given with none of them, it reaches every role
    # and is refused as meaningless there, not dropped in silence.
    scoped = {r.value for r in REGION_SCOPED}
    takes_region = any(r in scoped for r in roles)
    grants = [(r, region if r in scoped or not takes_region else None) for r in roles]

    async def create(db: AsyncSession) -> tuple[User, int | None]:
        user = await create_user(db, email=email, name=name, roles=grants, organization=org, password=password)
        if password is not None:
            return user, None
        return user, await db.scalar(select(func.count()).select_from(User).join(RoleGrant).where(
            RoleGrant.role == Role.admin.value, User.is_active, User.password_hash.is_not(None)))

    try:
        user, admins = run_db(settings, create)
    except FieldError as exc:
        raise click.ClickException("; ".join(
            f"{_USER_OPTIONS.get(field, field)}: {message}" for field, message in dict.fromkeys(exc.fields))) from None
    except Conflict as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"created user #{user.id} {user.email}")
    # There is no sign-up or password-reset flow: a password comes from here or from an admin.
    if admins:
        click.echo(f"no password: {user.email} cannot sign in until an admin sets one on "
                   f"{settings.base_url}/admin/users/{user.id} (\"Set password\") or you run "
                   f"crm users password {user.email}; API tokens (crm users token {user.email}) work without one")
    elif admins == 0:
        click.echo(f"no password: {user.email} cannot sign in, and no admin can sign in to set one on "
                   f"{settings.base_url}/admin/users/{user.id}: give it one with crm users password {user.email}")


@users.command("password")
@click.argument("email")
def users_password(email: str) -> None:
    """Set EMAIL's password: typed twice at a terminal, else the first line of standard input.

    For a user created without one, or an admin locked out: their browser sessions end, API tokens stay.
    """

    from crm.admin.service import set_password
    from crm.errors import FieldError

    settings = _migrated_settings()
    if sys.stdin.isatty():
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")

    async def change(db: AsyncSession) -> str:
        user = await _active_user(db, email)
        await set_password(db, None, user, password, note="set with crm users password")
        return user.email

    try:
        changed = run_db(settings, change)
    except FieldError as exc:
        raise click.ClickException("; ".join(f"the password: {m}" for _, m in exc.fields)) from None
    click.echo(f"password set for {changed}; their browser sessions were signed out")


@users.command("token")
@click.argument("email")
@click.option("--label", default="cli")
def users_token(email: str, label: str) -> None:
    """Issue an API bearer token for EMAIL (printed once; stored hashed)."""
    from crm.auth.service import issue_token

    async def make(db: AsyncSession) -> str:
        return await issue_token(db, await _active_user(db, email), label)

    click.echo(run_db(_migrated_settings(), make))


# --- employers -------------------------------------------------------------------------------

@main.group()
def employers() -> None:
    """Employer maintenance."""


@employers.command("reindex")
def employers_reindex() -> None:
    """Rebuild every employer's typeahead/intake search keys (after a migration or a bulk load)."""
    from crm.employers.candidates import reindex_all

    count, keys = run_db(_migrated_settings(), reindex_all)
    click.echo(f"reindexed {count} employers ({keys} search keys)")


@employers.command("fill-counties")
def employers_fill_counties() -> None:
    """Give employers with a California ZIP and no county their ZIP's county (rerunnable, audited)."""
    from crm import clock
    from crm.employers.zips import fill_counties

    report = run_db(_migrated_settings(), lambda db: fill_counties(db, clock.now()))
    click.echo(f"gave {report.filled} employers their ZIP's county"
               + (f"; {report.elsewhere} have a ZIP in another region than theirs and were left as they are"
                  if report.elsewhere else ""))


@employers.command("scan-duplicates")
def employers_scan_duplicates() -> None:
    """Scan every employer for likely duplicates and fill the leads' review queue (rerunnable)."""
    from rich.console import Console
    from rich.table import Table

    from crm.employers.duplicates import scan_duplicates

    settings = _migrated_settings()
    console = Console()
    with console.status("scanning employers for duplicates..."):
        report = run_db(settings, scan_duplicates)
    table = Table(title="Duplicate scan", show_header=False)
    for label, value in (("employers scanned", report.employers), ("likely pairs", report.pairs),
                         ("new in the review queue", report.new), ("updated", report.updated),
                         ("unchanged", report.unchanged), ("remembered (not a duplicate / merged)", report.remembered),
                         ("dropped (no longer found)", report.dropped), ("seconds", f"{report.seconds:.1f}")):
        table.add_row(label, str(value))
    console.print(table)


# --- import / export (CSV) -------------------------------------------------------------------

@main.group("import")
def import_() -> None:
    """Import data from CSV files."""


@import_.command("employers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="validate and match only; print what would happen, write nothing")
@click.option("--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True, type=click.IntRange(1, 100_000),
              help="rows per all-or-nothing batch (one transaction each)")
@click.option("--region", default=None, help="region code: rows without county/region land here; others refused")
@click.option("--map", "maps", multiple=True, metavar="HEADER=COLUMN",
              help="map a CSV header to a column (or =ignore to drop it); repeatable")
def import_employers(path: Path, dry_run: bool, batch_size: int, region: str | None, maps: tuple[str, ...]) -> None:
    """Import employers from a CSV file (canonical columns: see `crm export employers`)."""
    from crm.employers.import_cli import cli_import

    raise SystemExit(cli_import(_migrated_settings(), path, dry_run=dry_run, batch_size=batch_size, region=region,
                                maps=maps))


@main.group("export")
def export_() -> None:
    """Export data as CSV files."""


@export_.command("employers")
@click.option("--out", "out", default="-", type=click.Path(dir_okay=False, allow_dash=True),
              help="file to write (default: standard output)")
@click.option("--region", default=None, help="only employers of this region code")
def export_employers(out: str, region: str | None) -> None:
    """Export employers as CSV in the columns `crm import employers` reads."""
    from crm.employers.export import cli_export

    settings = _migrated_settings()
    if out != "-":
        _refuse_live_database(Path(out), settings.sqlite_path if settings.is_sqlite else None, "exported from")
    cli_export(settings, out, region)


if __name__ == "__main__":
    main()
