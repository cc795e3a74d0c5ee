"""Alembic driven from code, so `crm db ...` and the tests use the same configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advanced_alchemy.types import GUID
from alembic import command
from alembic.config import Config

from crm.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
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
