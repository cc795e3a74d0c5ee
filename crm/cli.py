"""The ``crm`` command: serve, db, seed, users (one entry point for everything operational)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from crm import migrate
from crm.db import make_engine, make_sessionmaker
from crm.settings import Settings

T = TypeVar("T")


def _settings() -> Settings:
    return Settings.from_env()


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


@click.group()
def main() -> None:
    """OneDoor employer-engagement CRM."""


# --- serve -----------------------------------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="server processes")
@click.option("--demo", is_flag=True, help="migrate, load reference + demo data, print the demo logins")
def serve(host: str, port: int, workers: int, demo: bool) -> None:
    """Run the web server (uvicorn)."""
    import uvicorn

    settings = _settings()
    settings.check()
    if demo:
        _prepare_demo(settings)
    base = settings.base_url if os.environ.get("CRM_BASE_URL") else f"http://{host}:{port}"
    click.echo(f"OneDoor is starting at {base}  (database: {_safe_url(settings.database_url)})")
    uvicorn.run("crm.app:create_app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level.lower(), proxy_headers=True)


def _prepare_demo(settings: Settings) -> None:
    from crm.demo import load_demo
    from crm.seed import load_reference

    migrate.upgrade(settings)

    async def load(db: AsyncSession) -> Any:
        await load_reference(db)
        return await load_demo(db)

    report = run_db(settings, load)
    click.echo(str(report))
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
def backup(path: Path) -> None:
    """Write a consistent backup to PATH (SQLite online backup, or pg_dump custom format)."""
    settings = _settings()
    if settings.is_sqlite:
        source = settings.sqlite_path
        if source is None or not source.exists():
            raise click.ClickException(f"no SQLite database at {source}")
        # The online backup API copies a consistent snapshot even while the app is writing.
        with sqlite3.connect(source) as src, sqlite3.connect(path) as dst:
            src.backup(dst)
        click.echo(f"backed up {source} to {path}")
        return
    if not shutil.which("pg_dump"):
        raise click.ClickException("pg_dump is not installed")
    url = settings.sync_database_url.replace("postgresql+psycopg", "postgresql")
    result = subprocess.run(["pg_dump", "--format=custom", f"--file={path}", url], check=False)
    if result.returncode != 0:
        raise click.ClickException("pg_dump failed")
    click.echo(f"backed up to {path} (restore with pg_restore)")


# --- seed ------------------------------------------------------------------------------------

@main.command()
@click.option("--demo", is_flag=True, help="also load the deterministic demo world")
def seed(demo: bool) -> None:
    """Load reference data (regions, counties, NAICS sectors); idempotent."""
    from crm.seed import load_reference

    settings = _settings()
    if demo:
        _prepare_demo(settings)
        return
    click.echo(str(run_db(settings, load_reference)))


# --- users -----------------------------------------------------------------------------------

@main.group()
def users() -> None:
    """Create users and API tokens."""


@users.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", "roles", required=True, multiple=True,
              help="admin, lead, spoc, partner or chair (repeatable)")
@click.option("--region", default=None, help="region code for lead/spoc grants, e.g. LA-BASIN")
@click.option("--org", default=None, help="organization name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def users_create(email: str, name: str, roles: tuple[str, ...], region: str | None, org: str | None,
                 password_stdin: bool) -> None:
    """Create a user."""
    from crm.auth.service import create_user
    from crm.errors import Conflict, FieldError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        user = run_db(_settings(), lambda db: create_user(
            db, email=email, name=name, roles=[(r, region) for r in roles], organization=org, password=password))
    except (FieldError, Conflict) as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"created user #{user.id} {user.email}")


@users.command("token")
@click.argument("email")
@click.option("--label", default="cli")
def users_token(email: str, label: str) -> None:
    """Issue an API bearer token for EMAIL (printed once; stored hashed)."""
    from sqlalchemy import select

    from crm.auth.models import User
    from crm.auth.service import issue_token, normalize_email

    async def make(db: AsyncSession) -> str:
        user = await db.scalar(select(User).where(User.email == normalize_email(email)))
        if user is None or not user.is_active:
            raise click.ClickException(f"no active user {email}")
        return await issue_token(db, user, label)

    click.echo(run_db(_settings(), make))


if __name__ == "__main__":
    main()
