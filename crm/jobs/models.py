"""Scheduler slot claims: of several processes, exactly one runs each job slot."""

from __future__ import annotations

import datetime as dt

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base


class JobRun(Base):
    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job_name", "slot_start", name="uq_job_run_slot"),)

    job_name: Mapped[str] = mapped_column(String(64))
    slot_start: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    result: Mapped[str | None] = mapped_column(String(500), default=None)
