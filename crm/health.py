"""Unauthenticated probes: /healthz (process is up) and /readyz (database answers, at the code's schema)."""

from __future__ import annotations

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text

from crm.deps import Db
from crm.migrate import SchemaState, head_revisions, schema_state


@get("/healthz", exclude_from_auth=True, tags=["health"], sync_to_thread=False)
def healthz() -> dict[str, str]:
    # The benchmarks' ceiling (bench/intake): keep it free of any work.
    return {"status": "ok"}


@get("/readyz", exclude_from_auth=True, tags=["health"], responses={
    503: ResponseSpec(dict[str, str | None], generate_examples=False,
                      description="Not ready: the database does not answer, or is behind the code's migrations")})
async def readyz(db: Db) -> Response[dict[str, str | None]]:
    """Ready when the database answers and is at the migrations' head, or ahead of it (a rolling deploy
    migrated it for the next release): a process serving an unmigrated or behind database would answer
    every request with a 500."""
    expected = head_revisions()  # read once per process (warmed in the app's lifespan)
    try:
        # One indexed read of a one-row table, about what "SELECT 1" costs.
        current = tuple(sorted(await db.scalars(text("SELECT version_num FROM alembic_version"))))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; say why when we can
        await db.rollback()
        try:
            state = await schema_state(await db.connection())
        except Exception as again:  # noqa: BLE001 - the database does not answer
            return Response({"status": "unavailable", "error": type(again).__name__}, status_code=503)
        if state.ready:  # the table is there, the read failed for another reason
            return Response({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
        return _not_at_head(state)
    if current != expected:
        state = SchemaState(current, expected)
        if state.unknown:
            # Migrated ahead by a newer OneDoor: a rolling deploy migrates first, then replaces processes.
            # Pulling every old process out of the load balancer at once would be an outage; whether the old
            # code still works on the new schema is the release's to ensure (expand, then contract).
            # `crm serve` still refuses to start on such a database.
            return Response({"status": "ok", "schema": state.problem("the database")})
        return _not_at_head(state)
    return Response({"status": "ok"})


def _not_at_head(state: SchemaState) -> Response[dict[str, str | None]]:
    return Response({"status": "unavailable", "reason": state.problem("the database"),
                     "current": ", ".join(state.current) if state.current else None,
                     "expected": ", ".join(state.expected)}, status_code=503)
