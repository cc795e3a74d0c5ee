"""Notification e-mail queued in the database, delivered by the scheduler with retry."""

from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base


class OutboxMessage(Base):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('pending','sent','failed')", name="status_known"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )

    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
