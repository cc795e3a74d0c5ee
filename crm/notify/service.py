"""The outbox: notifications are rows written in the caller's transaction, delivered later with retry.

Writing the message with the change it announces means a rolled-back change never mails anyone,
and a mail server that is down never fails a partner's request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.notify.models import OutboxMessage
from crm.settings import Settings

log = logging.getLogger("crm.notify")

# (to, subject, body) -> None; raises on failure. Injected so tests and other transports plug in.
Sender = Callable[[str, str, str], Awaitable[None]]

MAX_ATTEMPTS = 8
BASE_DELAY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(hours=6)
BATCH = 100

_warned_unconfigured = False

# Where an e-mail's link starts: the address OneDoor is served at (CRM_BASE_URL), filled in when the message
# is sent, not when it is written (a message queued before the address changed links to the new one).
SITE = "{onedoor}"


def page_link(path: str) -> str:
    """A line of an e-mail body linking to ``path`` ("/requests/12"): where to act on it."""
    return f"\n\nOpen it: {SITE}{path}"


def as_sent(body: str, base_url: str) -> str:
    """The body with its links made absolute."""
    return body.replace(SITE, base_url.rstrip("/"))


def enqueue(db: AsyncSession, to_email: str, subject: str, body: str, now: dt.datetime) -> OutboxMessage:
    """Queue one e-mail; it is sent only if the surrounding transaction commits."""
    message = OutboxMessage(to_email=to_email, subject=subject[:250], body=body, status="pending",
                            attempts=0, next_attempt_at=now)
    db.add(message)
    return message


def message_row(to_email: str, subject: str, body: str, now: dt.datetime) -> dict[str, Any]:
    """The same message as ``enqueue`` as a plain row, for writing several with one ``insert_messages``."""
    created = dt.datetime.now(dt.UTC)
    return {"to_email": to_email, "subject": subject[:250], "body": body, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": created, "updated_at": created}


_INSERT = insert(cast(Table, OutboxMessage.__table__))


async def insert_messages(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Queue ``message_row`` messages with one multi-row INSERT; sent only if the transaction commits."""
    if rows:
        # executemany of one prebuilt statement; SQLAlchemy sends it as a single multi-row INSERT.
        await (await db.connection()).execute(_INSERT, rows)


def backoff(attempts: int) -> dt.timedelta:
    """Delay before retry number ``attempts`` + 1: doubling from a minute, capped at six hours."""
    return min(BASE_DELAY * (2 ** max(attempts - 1, 0)), MAX_DELAY)


def footer(base_url: str) -> str:
    """What ends every e-mail: where to act on it (each role's home page leads to its requests or queue)."""
    return f"\n\n--\nOneDoor: {base_url}/"


async def deliver_due(db: AsyncSession, now: dt.datetime, sender: Sender, *,
                      max_attempts: int = MAX_ATTEMPTS, batch: int = BATCH,
                      signature: str = "", base_url: str = "") -> tuple[int, int, int]:
    """Try every pending message due by ``now``, each ending with ``signature``, its links starting with
    ``base_url``; returns (sent, retrying, failed)."""
    stmt = (select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(batch))
    if db.get_bind().dialect.name == "postgresql":
        # Two processes delivering at once must not send the same message twice.
        stmt = stmt.with_for_update(skip_locked=True)
    sent = retrying = failed = 0
    for message in list(await db.scalars(stmt)):
        message.attempts += 1
        try:
            await sender(message.to_email, message.subject, as_sent(message.body, base_url) + signature)
        except Exception as exc:  # noqa: BLE001 - any transport failure is retried, never raised
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if message.attempts >= max_attempts:
                message.status = "failed"
                failed += 1
                log.warning("outbox_failed", extra={"message_id": message.id, "attempts": message.attempts})
            else:
                message.next_attempt_at = now + backoff(message.attempts)
                retrying += 1
            continue
        message.status = "sent"
        message.sent_at = now
        message.last_error = None
        sent += 1
    return sent, retrying, failed


async def deliver_outbox(db: AsyncSession, now: dt.datetime) -> str:
    """Scheduler job: deliver due messages over SMTP; without CRM_SMTP_URL they stay pending."""
    global _warned_unconfigured
    settings = Settings.from_env()
    if not settings.smtp_url:
        if not _warned_unconfigured:
            log.info("outbox_smtp_unconfigured")
            _warned_unconfigured = True
        return "smtp unconfigured"
    from crm.notify.mailer import smtp_sender

    sent, retrying, failed = await deliver_due(db, now, smtp_sender(settings), signature=footer(settings.base_url),
                                               base_url=settings.base_url)
    return f"sent={sent} retrying={retrying} failed={failed}"
