"""Server-side sessions kept in the database, so every app process sees the same sessions."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar.store import SQLAlchemyStore, StoreModelMixin


class SessionRecord(StoreModelMixin):
    __tablename__ = "session_store"


def make_session_store(alchemy_config: object) -> SQLAlchemyStore:  # type: ignore[type-arg]
    return SQLAlchemyStore(alchemy_config, model=SessionRecord, namespace="sessions")  # type: ignore[arg-type]
