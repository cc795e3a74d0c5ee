"""One frozen settings object, read from ``CRM_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_SECRET = "dev-insecure-secret-change-me"


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable about one OneDoor process."""

    database_url: str = "sqlite+aiosqlite:///var/onedoor.db"
    secret_key: str = DEFAULT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    env: str = "development"  # "development" | "production" | "test"
    scheduler_enabled: bool = True
    smtp_url: str | None = None
    mail_from: str = "OneDoor <no-reply@onedoor.local>"
    log_level: str = "INFO"
    session_max_age: int = 8 * 3600
    login_max_failures: int = 5
    login_window_seconds: int = 15 * 60
    db_pool_size: int = 10
    db_echo: bool = False
    # Seconds a signed-in principal is reused in-process before it is loaded again (0 = off).
    principal_cache_seconds: float = 5.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Build settings from ``CRM_*`` variables, falling back to defaults."""
        env = os.environ if environ is None else environ
        d = cls()
        return cls(
            database_url=env.get("CRM_DATABASE_URL") or d.database_url,
            secret_key=env.get("CRM_SECRET_KEY") or d.secret_key,
            base_url=(env.get("CRM_BASE_URL") or d.base_url).rstrip("/"),
            env=env.get("CRM_ENV") or d.env,
            scheduler_enabled=_bool(env.get("CRM_SCHEDULER"), d.scheduler_enabled),
            smtp_url=env.get("CRM_SMTP_URL") or None,
            mail_from=env.get("CRM_MAIL_FROM") or d.mail_from,
            log_level=(env.get("CRM_LOG_LEVEL") or d.log_level).upper(),
            session_max_age=int(env.get("CRM_SESSION_MAX_AGE") or d.session_max_age),
            db_pool_size=int(env.get("CRM_DB_POOL_SIZE") or d.db_pool_size),
            db_echo=_bool(env.get("CRM_DB_ECHO"), False),
            principal_cache_seconds=float(env.get("CRM_PRINCIPAL_CACHE_SECONDS") or d.principal_cache_seconds),
        )

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return Path(path) if path and path != ":memory:" else None

    @property
    def sync_database_url(self) -> str:
        """The same database for synchronous tools (Alembic runs async here; pg_dump needs this)."""
        return self.database_url.replace("+aiosqlite", "").replace("+asyncpg", "")

    def check(self) -> None:
        """Refuse configurations that must never run."""
        if self.is_production and self.secret_key == DEFAULT_SECRET:
            raise RuntimeError("CRM_SECRET_KEY must be set in production (CRM_ENV=production)")
        if self.is_production and len(self.secret_key) < 32:
            raise RuntimeError("CRM_SECRET_KEY must be at least 32 characters in production")
