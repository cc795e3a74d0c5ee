"""CSV import bookkeeping: one job per run (progress the page polls), its batches, and row keys.

Row keys make reruns idempotent: every row an import linked to an employer (created or matched)
leaves the fingerprint of its normalized values, so the same row in a later run is recognized as
"imported before" without asking the matcher again. Batches are written in the same transaction
as the employers they create, so a committed batch is always whole.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from crm.db import Base


class ImportStatus(StrEnum):
    uploaded = "uploaded"  # web: file stored, columns to be mapped
    previewing = "previewing"  # dry run in progress
    previewed = "previewed"  # dry run done; the user may start the real run
    running = "running"
    done = "done"
    failed = "failed"
    interrupted = "interrupted"  # the process running it stopped (no heartbeat)


ACTIVE_STATUSES = (ImportStatus.previewing.value, ImportStatus.running.value)


class ImportJob(Base):
    __tablename__ = "employer_import_job"
    __table_args__ = (
        CheckConstraint(
            "status IN ('uploaded','previewing','previewed','running','done','failed','interrupted')",
            name="status_known",
        ),
    )

    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True, default=None
    )
    source: Mapped[str] = mapped_column(String(8), default="web")  # "web" | "cli"
    filename: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_size: Mapped[int] = mapped_column(default=0)
    # The uploaded bytes live in the database (not on one server's disk) so any app process can
    # run the preview and the import; cleared when the import finishes.
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, default=None))
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="SET NULL"), default=None)
    dry_run: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.uploaded.value)
    batch_size: Mapped[int] = mapped_column(default=1000)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class ImportBatch(Base):
    """One committed (or rejected) batch of a real run."""

    __tablename__ = "employer_import_batch"
    __table_args__ = (UniqueConstraint("job_id", "number"),)

    job_id: Mapped[int] = mapped_column(ForeignKey("employer_import_job.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    first_row: Mapped[int] = mapped_column()
    last_row: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))  # "committed" | "rejected"
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class ImportRowKey(Base):
    """Fingerprint of an imported row → the employer it was linked to."""

    __tablename__ = "employer_import_row"

    row_key: Mapped[str] = mapped_column(String(32), unique=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("employer_import_job.id", ondelete="SET NULL"), index=True, default=None
    )
