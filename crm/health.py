"""Unauthenticated probes: /healthz (process is up) and /readyz (database answers)."""

from __future__ import annotations

from litestar import Response, get
from sqlalchemy import text

from crm.deps import Db


@get("/healthz", exclude_from_auth=True, tags=["health"], sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", exclude_from_auth=True, tags=["health"])
async def readyz(db: Db) -> Response[dict[str, str]]:
    try:
        await db.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return Response({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
    return Response({"status": "ok"})
