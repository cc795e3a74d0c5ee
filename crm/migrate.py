"""Alembic driven from code, so `crm db ...` and the tests use the same configuration."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from advanced_alchemy.types import GUID
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(settings: Settings | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if settings is not None:
        cfg.attributes["settings"] = settings
    return cfg


def upgrade(settings: Settings, revision: str = "heads") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str = "-1") -> None:
    command.downgrade(alembic_config(settings), revision)


def current(settings: Settings) -> None:
    command.current(alembic_config(settings), verbose=False)


def revision(settings: Settings, message: str, rev_id: str | None = None) -> None:
    command.revision(alembic_config(settings), message=message, autogenerate=True, rev_id=rev_id)


def compare_type(context: Any, inspected_column: Any, metadata_column: Any, inspected_type: Any,
                 metadata_type: Any) -> bool | None:
    """Alembic type comparison, minus one false positive: SQLite reflects advanced-alchemy's
    GUID (stored as 16 bytes) as NUMERIC(16)."""
    if isinstance(metadata_type, GUID) and context.dialect.name == "sqlite":
        return False
    return None


# --- is the database at the migrations' head? (crm serve, /readyz, the CLI's commands) --------

@cache
def head_revisions() -> tuple[str, ...]:
    """The migrations' head revision(s): read from the scripts once per process (it imports every
    migration file, ~0.5 s), since the code cannot change under a running process."""
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


@dataclass(frozen=True, slots=True)
class SchemaState:
    """The database's Alembic revision(s) against the code's; ``current`` None: no OneDoor tables."""

    current: tuple[str, ...] | None
    expected: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return self.current == self.expected

    @property
    def unknown(self) -> bool:
        """At a revision these migrations do not have: a newer OneDoor migrated it, or another application's."""
        known = _known_revisions()
        return bool(self.current) and any(rev not in known for rev in self.current or ())

    def problem(self, where: str) -> str:
        """What is wrong, for an operator: ``where`` names the database ("the database at …")."""
        expected = ", ".join(self.expected)
        if not self.current:
            return f"{where} has no OneDoor tables (expected revision {expected}): run `crm db upgrade` first"
        current = ", ".join(self.current)
        if self.unknown:
            return (f"{where} is at revision {current}, which this version of OneDoor does not know (expected "
                    f"{expected}): it was migrated by a newer OneDoor, or belongs to another application")
        return f"{where} is behind (revision {current}, expected {expected}): run `crm db upgrade` first"


@cache
def _known_revisions() -> frozenset[str]:
    return frozenset(s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def _revisions(connection: Connection) -> tuple[str, ...] | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return tuple(sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars()))


async def schema_state(connection: AsyncConnection) -> SchemaState:
    """The database's revision(s) against the migrations' head; reads the schema, writes nothing."""
    return SchemaState(await connection.run_sync(_revisions), head_revisions())


def stamp_head(connection: Connection) -> None:
    """Record a schema built by ``metadata.create_all`` as at head (tests and benchmarks build it so;
    a test checks that models and migrations do not drift)."""
    MigrationContext.configure(connection).stamp(ScriptDirectory.from_config(alembic_config()), "heads")
