"""Outbox delivery: due messages sent through an injected sender, retried with backoff, failed after N tries."""

import datetime as dt

from sqlalchemy import select

from crm.notify.models import OutboxMessage
from crm.notify.service import backoff, deliver_due, deliver_outbox, enqueue, page_link

NOW = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)


class FakeSmtp:
    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.sent: list[tuple[str, str, str]] = []

    async def __call__(self, to: str, subject: str, body: str) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("smtp down")
        self.sent.append((to, subject, body))


async def current(db) -> OutboxMessage:
    await db.rollback()  # end the read snapshot so the next select sees the job's commits
    return await db.scalar(select(OutboxMessage))


async def deliver(sessionmaker, now, sender, **kw):
    async with sessionmaker() as s, s.begin():
        return await deliver_due(s, now, sender, **kw)


async def queue(sessionmaker, to="pat@example.org", at=NOW):
    async with sessionmaker() as s, s.begin():
        enqueue(s, to, "Your touch request #1: queued", "Queued as touch #1", at)


async def test_due_message_is_sent_once_and_marked_sent(sessionmaker, db):
    await queue(sessionmaker)
    await queue(sessionmaker, to="later@example.org", at=NOW + dt.timedelta(hours=1))
    smtp = FakeSmtp()
    assert await deliver(sessionmaker, NOW, smtp) == (1, 0, 0)
    assert [to for to, _, _ in smtp.sent] == ["pat@example.org"]
    assert await deliver(sessionmaker, NOW, smtp) == (0, 0, 0)
    rows = {m.to_email: (m.status, m.sent_at) for m in await db.scalars(select(OutboxMessage))}
    assert rows == {"pat@example.org": ("sent", NOW), "later@example.org": ("pending", None)}


async def test_failed_send_is_retried_after_exponential_backoff(sessionmaker, db):
    await queue(sessionmaker)
    smtp = FakeSmtp(failures=2)
    assert await deliver(sessionmaker, NOW, smtp) == (0, 1, 0)
    message = await db.scalar(select(OutboxMessage))
    assert message.next_attempt_at == NOW + dt.timedelta(minutes=1) and "smtp down" in message.last_error
    assert await deliver(sessionmaker, NOW + dt.timedelta(seconds=30), smtp) == (0, 0, 0)  # not due yet
    assert await deliver(sessionmaker, NOW + dt.timedelta(minutes=1), smtp) == (0, 1, 0)
    message = await current(db)
    assert message.next_attempt_at == NOW + dt.timedelta(minutes=3)  # 1 + 2 minutes
    assert await deliver(sessionmaker, NOW + dt.timedelta(minutes=3), smtp) == (1, 0, 0)
    message = await current(db)
    assert (message.status, message.attempts, message.last_error) == ("sent", 3, None)


async def test_message_is_marked_failed_after_the_last_attempt(sessionmaker, db):
    await queue(sessionmaker)
    smtp = FakeSmtp(failures=99)
    later = NOW
    for _ in range(2):
        await deliver(sessionmaker, later, smtp, max_attempts=3)
        later += dt.timedelta(hours=7)
    assert await deliver(sessionmaker, later, smtp, max_attempts=3) == (0, 0, 1)
    message = await db.scalar(select(OutboxMessage))
    assert (message.status, message.attempts) == ("failed", 3)
    assert await deliver(sessionmaker, later + dt.timedelta(days=1), smtp, max_attempts=3) == (0, 0, 0)


def test_backoff_doubles_and_is_capped():
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(30) == dt.timedelta(hours=6)


async def test_without_smtp_url_the_job_leaves_messages_pending(sessionmaker, db, monkeypatch):
    monkeypatch.delenv("CRM_SMTP_URL", raising=False)
    await queue(sessionmaker)
    async with sessionmaker() as s, s.begin():
        assert await deliver_outbox(s, NOW) == "smtp unconfigured"
    message = await db.scalar(select(OutboxMessage))
    assert (message.status, message.attempts) == ("pending", 0)


async def test_the_smtp_job_ends_every_e_mail_with_where_to_act_on_it(sessionmaker, db, monkeypatch):
    """The stored body stays as written; what is sent ends with OneDoor's address (CRM_BASE_URL)."""
    import crm.notify.mailer as mailer

    smtp = FakeSmtp()
    monkeypatch.setenv("CRM_SMTP_URL", "smtp://mail.example.org:587")
    monkeypatch.setenv("CRM_BASE_URL", "https://onedoor.example.org")
    monkeypatch.setattr(mailer, "smtp_sender", lambda settings: smtp)
    await queue(sessionmaker)
    async with sessionmaker() as s, s.begin():
        assert await deliver_outbox(s, NOW) == "sent=1 retrying=0 failed=0"
    assert smtp.sent == [("pat@example.org", "Your touch request #1: queued",
                          "Queued as touch #1\n\n--\nOneDoor: https://onedoor.example.org/")]
    assert (await current(db)).body == "Queued as touch #1"


async def test_a_link_in_a_message_is_sent_starting_at_the_sites_address(sessionmaker):
    async with sessionmaker() as s, s.begin():
        enqueue(s, "pat@example.org", "Outcome of your request", "Interested." + page_link("/requests/12"), NOW)
    smtp = FakeSmtp()
    assert await deliver(sessionmaker, NOW, smtp, base_url="https://onedoor.example.org/") == (1, 0, 0)
    [(_, _, body)] = smtp.sent
    assert body == "Interested.\n\nOpen it: https://onedoor.example.org/requests/12"
